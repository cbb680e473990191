"""The aml command: every sub-command, its --json form and its one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.cli.main import main
from aml_jupyter.workspace import Workspace


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def two_runs(ws: Workspace, tmp_path: Path) -> list[str]:
    art = tmp_path / "model.bin"
    art.write_bytes(b"weights")
    ids = []
    for lr in (0.1, 0.01):
        (ws.root / "train.py").write_text(f"LR = {lr}\n")
        with aml.start_run("iris", params={"lr": lr}, workspace=ws) as run:
            for step in range(3):
                run.log("loss", 1.0 / (step + 1) + lr)
            run.log("acc", 0.9 + lr)
            run.log_artifact(art)
        ids.append(run.id)
    return ids


def test_init(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "init", str(tmp_path / "p"), "--name", "proj", "--json")
    assert code == 0 and json.loads(out)["name"] == "proj"
    code, _, err = cli(capsys, "init", str(tmp_path / "p"))
    assert code == 1 and err.startswith("aml: error:") and "already holds" in err and len(err.splitlines()) == 1
    Workspace.open(tmp_path / "p").close()


def test_runs_list_search_show(ws: Workspace, two_runs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    w = ["-w", str(ws.root)]
    code, out, _ = cli(capsys, *w, "runs", "list", "--json")
    runs = json.loads(out)
    assert code == 0 and [r["id"] for r in runs] == two_runs[::-1]
    assert runs[0]["metrics"]["acc"] == pytest.approx(0.91) and runs[0]["params"]["lr"] == "0.01"
    code, out, _ = cli(capsys, *w, "runs", "list")
    assert "2 run(s)" in out and two_runs[0][:8] in out
    code, out, _ = cli(capsys, *w, "runs", "search", "metrics.acc > 0.95", "--json")
    assert [r["id"] for r in json.loads(out)] == [two_runs[0]]
    code, out, _ = cli(capsys, *w, "runs", "list", "--order-by", "metrics.acc ASC", "--json")
    assert [r["id"] for r in json.loads(out)] == two_runs[::-1]
    code, out, _ = cli(capsys, *w, "runs", "show", two_runs[0][:6])
    assert "lr = 0.1" in out and "model.bin" in out
    code, out, _ = cli(capsys, *w, "runs", "show", two_runs[0], "--json")
    shown = json.loads(out)
    assert shown["status"] == "completed" and shown["environment"]["python"]["version"]
    code, out, _ = cli(capsys, *w, "experiments", "list", "--json")
    assert json.loads(out)[0]["runs"] == 2


def test_compare_metrics_artifacts(
    ws: Workspace, two_runs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ["-w", str(ws.root)]
    code, out, _ = cli(capsys, *w, "runs", "compare", *two_runs, "--json")
    data = json.loads(out)
    assert data["rows"][0] == "params.lr" and data["columns"][-1] == "differs"
    code, out, _ = cli(capsys, *w, "metrics", two_runs[0], "loss", "--json")
    assert [p["step"] for p in json.loads(out)] == [0, 1, 2]
    code, out, _ = cli(capsys, *w, "artifacts", "list", two_runs[0], "--json")
    assert json.loads(out)[0]["name"] == "model.bin"
    dest = tmp_path / "out.bin"
    code, out, _ = cli(capsys, *w, "artifacts", "get", two_runs[0], "model.bin", "--to", str(dest))
    assert code == 0 and dest.read_bytes() == b"weights"
    code, _, err = cli(capsys, *w, "artifacts", "get", two_runs[0], "model.bin", "--to", str(dest))
    assert code == 1 and "--force" in err
    code, _, err = cli(capsys, *w, "artifacts", "get", two_runs[0], "../../etc/passwd", "--to", str(tmp_path))
    assert code == 1 and "no artifact" in err


def test_snapshot_restore_and_diff(
    ws: Workspace, two_runs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    w = ["-w", str(ws.root)]
    code, out, _ = cli(capsys, *w, "snapshot", "restore", two_runs[0], "--to", str(tmp_path / "r"))
    assert code == 0 and (tmp_path / "r" / "train.py").read_text() == "LR = 0.1\n"
    code, _, err = cli(capsys, *w, "snapshot", "restore", two_runs[0], "--to", str(tmp_path / "r"))
    assert code == 1 and "not empty" in err
    code, out, _ = cli(capsys, *w, "snapshot", "diff", two_runs[0], two_runs[1])
    assert "modified  train.py" in out and "-LR = 0.1" in out and "+LR = 0.01" in out
    code, out, _ = cli(capsys, *w, "snapshot", "diff", two_runs[0], two_runs[1], "--json")
    assert json.loads(out)["changes"] == [{"status": "M", "path": "train.py"}]


def test_delete_and_gc(ws: Workspace, two_runs: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    w = ["-w", str(ws.root)]
    code, out, _ = cli(capsys, *w, "runs", "delete", two_runs[0], "--json")
    assert json.loads(out) == {"deleted": [two_runs[0]]}
    code, out, _ = cli(capsys, *w, "gc", "--dry-run", "--min-age", "0", "--json")
    report = json.loads(out)
    # the artifact is shared with the remaining run, so it stays; the first snapshot goes
    assert report["artifacts"] == [] and len(report["snapshots"]) == 1
    code, out, _ = cli(capsys, *w, "gc", "--min-age", "0")
    assert "removed 0 artifact file(s), 0 bytes, and 1 snapshot(s)" in out


@pytest.mark.parametrize(
    "args,needle",
    [
        (["runs", "show", "nope"], "matches no run"),
        (["runs", "search", "metrics.acc > 'x'"], "compares with a number"),
        (["runs", "list", "--max-results", "1000000000"], "max_results"),
        (["metrics", "abcd", "../x"], "matches no run"),
    ],
)
def test_errors_are_one_line(
    ws: Workspace, two_runs: list[str], capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, out, err = cli(capsys, "-w", str(ws.root), *args)
    assert code == 1 and out == "" and needle in err and err.count("\n") == 1 and "Traceback" not in err


def test_console_script_outside_a_workspace(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("aml")
    warm = {k: os.environ[k] for k in ("AML_WARM_DIR", "AML_WARM_IDLE_S") if k in os.environ}  # the suite's own
    proc = subprocess.run(
        [str(exe), "runs", "list"], cwd=tmp_path, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", **warm}
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("aml: error: no workspace in") and "Traceback" not in proc.stderr
    proc = subprocess.run([str(exe), "frobnicate"], capture_output=True, text=True)
    assert proc.returncode == 2


def test_version_and_defaults_in_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"aml_jupyter {aml.__version__}"
    with pytest.raises(SystemExit):
        main(["runs", "list", "--help"])
    assert "(default: 1000)" in " ".join(capsys.readouterr().out.split())


def test_an_order_it_cannot_follow_is_an_error(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "-w", str(ws.root), "runs", "list", "--order-by", "metrics.acc DOWN")
    assert code == 1 and "then ASC or DESC" in err


def test_restore_to_a_relative_folder(
    two_runs: list[str], ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ws.root)
    code, out, _ = cli(capsys, "snapshot", "restore", two_runs[0][:8], "--to", "../restored")
    assert code == 0 and "restored 1 file(s)" in out
    assert (ws.root.parent / "restored" / "train.py").read_text() == "LR = 0.1\n"


def test_names_that_match_nothing_are_said_with_the_known_ones(
    ws: Workspace, two_runs: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before: an empty table and exit 0 for a metric no run has; params listed alphabetically.
    w = ["-w", str(ws.root)]
    code, out, err = cli(capsys, *w, "runs", "list", "--filter", "metrics.acx > 0.5")
    assert code == 0 and "0 run(s)" in out and "no run has a metric 'acx' (did you mean 'acc'?)" in err
    code, _, err = cli(capsys, *w, "metrics", two_runs[0], "los")
    assert code == 1 and "has no metric 'los' (did you mean 'loss'?)" in err
    typo = two_runs[0][:6] + ("0" if two_runs[0][6] != "0" else "1")
    code, _, err = cli(capsys, *w, "runs", "show", typo)
    assert code == 1 and f"(did you mean '{two_runs[0][:7]}'?)" in err
    code, out, _ = cli(capsys, *w, "runs", "list", "--columns", "acc,params.lr")
    assert out.splitlines()[0].split()[-2:] == ["acc", "p:lr"]
    code, _, err = cli(capsys, *w, "runs", "list", "--columns", "nope")
    assert code == 1 and "no metric or param 'nope'" in err
    code, out, _ = cli(capsys, *w, "experiments")  # alone: the list
    assert code == 0 and "iris" in out
    code, out, _ = cli(capsys, "init", str(ws.root), "--exist-ok")
    assert code == 0 and out.startswith("Found workspace")


def test_the_params_that_vary_are_the_ones_shown(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    for lr in (0.1, 0.5):
        shared = {"a_const": 1, "b_const": 2, "c_const": 3, "early_stop": "yes"}
        with aml.start_run("sweep", params={"lr": lr, **shared}, workspace=ws):
            pass
    code, out, _ = cli(capsys, "-w", str(ws.root), "runs", "list")
    assert "p:lr" in out.splitlines()[0]  # swept, so shown though four others sort before it


def test_a_cell_output_it_did_not_define_is_named_with_what_it_did() -> None:
    from aml_jupyter.errors import JobError
    from aml_jupyter.jobs.cell_code import exec_cell

    with pytest.raises(JobError, match="did not define its output\\(s\\) modle \\(did you mean 'model'\\?\\)"):
        exec_cell("model = 1\nscore = 2\n", None, ["modle"], {}, None, None)
