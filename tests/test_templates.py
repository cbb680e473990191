"""The project gallery: `aml templates`, `aml new`, and every template's own smoke test."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from aml_jupyter.cli.main import main
from aml_jupyter.templates import list_templates, new_project

pytestmark = pytest.mark.slow
NAMES = [t["name"] for t in list_templates()]


def test_the_gallery_lists_six_templates(capsys: pytest.CaptureFixture[str]) -> None:
    assert len(NAMES) >= 6
    assert main(["templates", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in listed] == NAMES and all(t["title"] and t["description"] for t in listed)


def test_bad_names_and_folders_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["new", str(tmp_path / "a"), "--template", "nope"]) == 1
    err = capsys.readouterr().err
    assert "no template 'nope'; the templates are: " + ", ".join(NAMES) in err
    assert not (tmp_path / "a").exists()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    assert main(["new", str(busy), "-t", NAMES[0]]) == 1
    assert "exists and is not an empty folder" in capsys.readouterr().err
    assert [p.name for p in busy.iterdir()] == ["notes.txt"]


@pytest.mark.parametrize("name", NAMES)
def test_each_template_runs_its_smoke_test(name: str, tmp_path: Path) -> None:
    folder = new_project(tmp_path / f"my-{name}", name)
    assert (folder / "README.md").read_text().startswith(f"# my-{name}")
    assert (folder / "requirements.txt").is_file() and (folder / ".aml").is_dir()
    assert not list(folder.rglob("*.jinja")) and not (folder / "about.json").exists()
    script = "sweep.py" if (folder / "sweep.py").exists() else "train.py"
    proc = subprocess.run([sys.executable, script, "--smoke"], cwd=folder, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-3000:]


def test_a_value_is_a_name_never_code_and_a_failed_project_leaves_nothing(tmp_path: Path) -> None:
    # Before: `aml new --experiment 'x" if __import__("os")... else "x'` wrote the value into
    # train.py unescaped, and the generated script ran the payload.
    from aml_jupyter.errors import InvalidName

    payload = 'x" if __import__("os").system("touch pwned") else "x'
    with pytest.raises(InvalidName):
        new_project(tmp_path / "p", "mlp-per-epoch", {"experiment": payload})
    assert not (tmp_path / "p").exists()
    inner = new_project(tmp_path / "p", "mlp-per-epoch", {"experiment": "it's-fine"})
    assert "it's-fine" in (inner / "train.py").read_text()
    nested = new_project(inner / "sub" / "q", "mlp-per-epoch")  # inside a workspace: one of its folders
    assert not (nested / ".aml").exists() and (inner / ".aml").is_dir()
