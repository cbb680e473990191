"""Every example notebook runs top to bottom in a real kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.conftest import REPO

pytestmark = pytest.mark.slow
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AML_WORKSPACE", str(tmp_path / "ws"))
    if path.name == "dashboard.ipynb":  # a viewer: it shows a workspace that exists
        import aml_jupyter as aml

        aml.Workspace.init(tmp_path / "ws", name="shown").close()
        monkeypatch.setenv("AML_DASHBOARD_REFRESH", "0")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if "aml.Workspace" in "".join(c.source for c in nb.cells):
        assert (tmp_path / "ws" / ".aml" / "store.db").is_file()
