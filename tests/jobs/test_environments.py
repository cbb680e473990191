"""Runs in their own environments: built from a requirements file, cached by its hash, locked."""

from __future__ import annotations

import importlib.metadata as md
import sys

import pytest

import aml_jupyter as aml
from aml_jupyter.compute.environments import requirement_lines
from aml_jupyter.errors import InvalidPath, InvalidValue
from aml_jupyter.services.submit import submit
from aml_jupyter.workspace import Workspace

from .helpers import write_notebook

# A package the project's own environment has (so the installer finds it in its cache).
PINNED = f"tenacity=={md.version('tenacity')}"
PROBE = (
    "import sys, importlib.util, tenacity, aml_jupyter as aml\n"
    "print(sys.executable)\n"
    "print('optuna visible:', importlib.util.find_spec('optuna') is not None)\n"
    "aml.log('ok', 1)\n"
)


def test_a_script_runs_in_its_own_cached_environment(ws: Workspace) -> None:
    (ws.root / "requirements.txt").write_text(f"# pinned\n{PINNED}\n")
    (ws.root / "probe.py").write_text(PROBE)
    first = submit("probe.py", requirements="requirements.txt", wait=True, workspace=ws)
    assert first["status"] == "completed", first["error"]
    run = aml.get_run(first["id"], workspace=ws)
    out = run.artifact_path("logs/stdout.txt").read_text().splitlines()
    env_python = run.tags["aml.python"]
    assert out[0] == env_python and env_python != sys.executable and env_python.startswith(str(ws.aml_dir))
    assert out[1] == "optuna visible: False"  # isolated: only what was asked for, and aml's own needs
    assert run.metrics == {"ok": 1.0}
    lock = run.artifact_path("environment/lock.txt").read_text()
    assert PINNED in lock and "sqlalchemy==" in lock.lower()
    ready = ws.aml_dir / "envs" / run.tags["aml.env"] / ".ready"
    built_at = ready.stat().st_mtime_ns
    second = submit("probe.py", requirements="requirements.txt", wait=True, workspace=ws)
    again = aml.get_run(second["id"], workspace=ws)
    assert again.tags["aml.env"] == run.tags["aml.env"] and ready.stat().st_mtime_ns == built_at  # reused


def test_a_notebook_kernel_uses_the_environment(ws: Workspace) -> None:
    (ws.root / "environment.yml").write_text(f"name: demo\ndependencies:\n  - python=3.11\n  - pip:\n    - {PINNED}\n")
    write_notebook(ws.root / "nb.ipynb", "x = 1", "import sys, aml_jupyter as aml\nprint(sys.executable)")
    result = submit("nb.ipynb", requirements="environment.yml", wait=True, workspace=ws)
    assert result["status"] == "completed", result["error"]
    run = aml.get_run(result["id"], workspace=ws)
    assert run.tags["aml.python"] in run.artifact_path("logs/stdout.txt").read_text()


def test_an_environment_that_cannot_be_built_fails_the_run(ws: Workspace) -> None:
    (ws.root / "requirements.txt").write_text("this-package-does-not-exist-aml==0.0.1\n")
    (ws.root / "probe.py").write_text(PROBE)
    result = submit("probe.py", requirements="requirements.txt", wait=True, workspace=ws)
    assert result["status"] == "failed"
    error = aml.get_run(result["id"], workspace=ws).info.error
    assert error.startswith("could not build the environment") and "this-package-does-not-exist-aml" in error
    assert not [p for p in (ws.aml_dir / "envs").iterdir() if p.is_dir()]  # nothing half-built is kept


def test_bad_requirement_files_are_refused_before_anything_is_recorded(
    ws: Workspace, tmp_path: pytest.TempPathFactory
) -> None:
    (ws.root / "probe.py").write_text(PROBE)
    (ws.root / "broken.yml").write_text("dependencies: [unclosed\n")
    with pytest.raises(InvalidPath, match="no such file"):
        submit("probe.py", requirements="missing.txt", workspace=ws)
    with pytest.raises(InvalidValue, match="not valid YAML"):
        submit("probe.py", requirements="broken.yml", workspace=ws)
    assert aml.search_runs(workspace=ws).empty


def test_requirement_lines_of_a_plain_file(ws: Workspace) -> None:
    path = ws.root / "r.txt"
    path.write_text("# comment\n\nnumpy>=1.26\n  pandas\n")
    assert requirement_lines(path) == ["numpy>=1.26", "pandas"]
