"""%load_ext aml_jupyter and the %aml line magic, in a real IPython shell."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from IPython.core.interactiveshell import InteractiveShell

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace


@pytest.fixture
def shell(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> Iterator[InteractiveShell]:
    monkeypatch.chdir(ws.root)
    sh = InteractiveShell.instance()
    sh.run_line_magic("load_ext", "aml_jupyter")
    yield sh
    InteractiveShell.clear_instance()


def test_magics_show_run_history(shell: InteractiveShell, ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    for c in (0.1, 1.0):
        with aml.start_run("iris", params={"C": c}) as run:
            aml.log("acc", c)
    frame = shell.run_line_magic("aml", "runs metrics.acc > 0.5 --experiment iris")
    assert frame["params.C"].tolist() == ["1.0"]
    assert len(shell.run_line_magic("aml", "runs")) == 2
    best = shell.run_line_magic("aml", "best acc --experiment iris")
    assert best.id == run.id
    assert shell.run_line_magic("aml", f"show {run.id[:8]}")["params"] == {"C": "1.0"}
    assert shell.run_line_magic("aml", "experiments")[0]["name"] == "iris"
    assert shell.run_line_magic("aml", "show nosuchrun") is None
    assert "aml: error" in capsys.readouterr().out
    assert shell.run_line_magic("aml", "frobnicate") is None


def test_job_magics(shell: InteractiveShell, ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    (ws.root / "job.py").write_text("print('hello from the job')\n")
    targets = shell.run_line_magic("aml", "targets")
    assert {t["name"] for t in targets} == {"local", "dask"}
    result = shell.run_line_magic("aml", "submit job.py --wait")
    assert result["status"] == "completed"
    capsys.readouterr()
    shell.run_line_magic("aml", f"logs {result['id'][:8]}")
    assert "hello from the job" in capsys.readouterr().out
    assert shell.run_line_magic("aml", f"cancel {result['id'][:8]}") is None
    assert "not a submitted run that is still going" in capsys.readouterr().out


@pytest.mark.sqlite_only
def test_template_magics(shell: InteractiveShell, ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    listed = shell.run_line_magic("aml", "templates")
    assert "tabular-classification" in listed["name"].tolist()
    assert shell.run_line_magic("aml", "new churn --template tabular-classification") is None
    assert (ws.root / "churn" / "train.py").is_file() and "created" in capsys.readouterr().out
    shell.run_line_magic("aml", "new churn --template tabular-classification")  # not empty now
    out = capsys.readouterr().out
    assert "aml: error" in out and "not an empty folder" in out


def test_the_magic_and_the_cli_take_the_same_submit_arguments() -> None:
    from aml_jupyter.cli import build_parser
    from aml_jupyter.magics import _parser

    argv = ["submit", "train.py", "--name", "n", "--data", "d", "--requirements", "r.txt", "-p", "a", "1", "--wait"]
    magic, cli = vars(_parser().parse_args(argv)), vars(build_parser().parse_args(argv))
    shared = set(magic) - {"command"}
    assert {"name", "data", "requirements", "param", "wait"} <= shared
    assert {k: magic[k] for k in shared} == {k: cli[k] for k in shared}
