"""`aml submit` on the local target: a supervised child process in a materialized snapshot."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.compute.targets import list_targets
from aml_jupyter.errors import ConfigError, InvalidKey, InvalidPath, InvalidValue
from aml_jupyter.services.submit import submit
from aml_jupyter.workspace import Workspace
from tests.conftest import eventually

AML = str(Path(sys.executable).with_name("aml"))
TRAIN = """
import argparse, os
import aml_jupyter as aml
p = argparse.ArgumentParser(); p.add_argument("--lr", type=float); p.add_argument("--epochs", type=int)
a = p.parse_args()
for e in range(a.epochs):
    aml.log("loss", a.lr / (e + 1))
    print("epoch", e, flush=True)
with open(os.path.join(os.environ["AML_OUTPUT_DIR"], "model.txt"), "w") as f:
    f.write("weights")
print("cwd", os.getcwd())
"""


def _cli(ws: Workspace, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AML, "-w", str(ws.root), *args], capture_output=True, text=True, timeout=timeout)


def test_submit_and_wait(ws: Workspace) -> None:
    (ws.root / "train.py").write_text(TRAIN)
    proc = _cli(ws, "submit", "train.py", "-p", "lr", "0.5", "--wait", "--json", "--", "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "completed"
    shown = json.loads(_cli(ws, "runs", "show", result["id"], "--json").stdout)
    assert shown["params"] == {"lr": "0.5"} and shown["metrics"] == {"loss": 0.5 / 3}
    assert [a["name"] for a in shown["artifacts"]] == [
        "logs/stdout.txt",
        "outputs/model.txt",
    ]  # an empty stderr is not kept
    assert shown["compute_target"] == "local" and shown["source_kind"] == "script"
    logs = _cli(ws, "logs", result["id"]).stdout
    assert "epoch 2" in logs
    cwd = logs.split("cwd ", 1)[1].strip()
    assert Path(cwd) != ws.root and not Path(cwd).exists()  # a materialized copy, removed after
    assert not (ws.aml_dir / "jobs" / result["id"]).exists()


def test_a_failing_script_fails_the_run(ws: Workspace) -> None:
    (ws.root / "bad.py").write_text(
        "import os, sys\nprint('about to fail', file=sys.stderr, flush=True)\nos._exit(3)\n"
    )
    proc = _cli(ws, "submit", "bad.py", "--wait")
    assert proc.returncode == 1
    run = aml.search_runs(workspace=ws).iloc[0]
    record = aml.get_run(run["run_id"], workspace=ws).info
    assert record.status == "failed" and record.error == "the script exited with code 3: about to fail"
    assert "about to fail" in (record.error_traceback or "")


def test_ignored_data_is_explained_and_can_be_passed(ws: Workspace) -> None:
    (ws.root / "data").mkdir()
    (ws.root / "data" / "train.csv").write_text("x\n1\n2\n")
    (ws.root / ".gitignore").write_text("*.log\ndata/\n")
    (ws.root / "sub").mkdir()
    (ws.root / "sub" / "settings.txt").write_text("lr=0.5\n")
    (ws.root / "sub" / "read.py").write_text(
        "import aml_jupyter as aml\n"
        "with open('settings.txt') as f:\n    aml.log('setting', float(f.read().split('=')[1]))\n"  # its own folder
        "with open('../data/train.csv') as f:\n    aml.log('rows', len(f.read().split()) - 1)\n"
    )
    failed = submit("sub/read.py", wait=True, workspace=ws)
    error = aml.get_run(failed["id"], workspace=ws).info.error
    assert failed["status"] == "failed" and "FileNotFoundError" in error
    assert "data/train.csv is in the project but was left out of the run's snapshot by .gitignore:2: data/" in error
    assert "--data data/train.csv" in error
    done = submit("sub/read.py", data=["data/train.csv"], wait=True, workspace=ws)
    run = aml.get_run(done["id"], workspace=ws)
    assert done["status"] == "completed", run.info.error
    assert run.metrics == {"setting": 0.5, "rows": 2.0}
    assert (ws.root / "data" / "train.csv").read_text() == "x\n1\n2\n"  # read in place, untouched
    for bad in ("nope.csv", "../outside", ".aml"):
        with pytest.raises(InvalidPath):
            submit("sub/read.py", data=[bad], workspace=ws)


def test_detached_submit_follow_and_cancel(ws: Workspace) -> None:
    (ws.root / "slow.py").write_text("import time\nprint('started', flush=True)\ntime.sleep(60)\n")
    result = submit("slow.py", workspace=ws)
    assert result["status"] == "queued"
    eventually(lambda: aml.get_run(result["id"], workspace=ws).status == "running", 30, "the run starting")
    eventually(lambda: "started" in _cli(ws, "logs", result["id"]).stdout, 30, "the job's first output")
    follow = subprocess.Popen(
        [AML, "-w", str(ws.root), "logs", result["id"], "--follow"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert _cli(ws, "cancel", result["id"]).returncode == 0
        out, _ = follow.communicate(timeout=30)
    finally:
        follow.kill()
    assert "started" in out
    eventually(lambda: aml.get_run(result["id"], workspace=ws).status != "running", 30, "the run ending")
    assert aml.get_run(result["id"], workspace=ws).status == "cancelled"
    again = _cli(ws, "cancel", result["id"])
    assert again.returncode == 1 and "already ended" in again.stderr


def test_bad_submissions_write_nothing(ws: Workspace, tmp_path: Path) -> None:
    (ws.root / "ok.py").write_text("print(1)\n")
    outside = tmp_path / "outside.py"
    outside.write_text("print(1)\n")
    (ws.root / ".amlignore").write_text("ignored.py\n")
    (ws.root / "ignored.py").write_text("print(1)\n")
    for call, error, match in [
        (lambda: submit("ok.py", target="gpu-farm", workspace=ws), InvalidValue, "unknown target"),
        (lambda: submit(outside, workspace=ws), InvalidPath, "not in the project"),
        (lambda: submit(ws.root / "missing.py", workspace=ws), InvalidPath, "no such file"),
        (lambda: submit(ws.root / "ignored.py", workspace=ws), InvalidPath, "ignored"),
        (lambda: submit("ok.py", {"a b\n": 1}, workspace=ws), InvalidKey, "control"),
    ]:
        with pytest.raises(error, match=match):
            call()
    assert len(aml.search_runs(workspace=ws)) == 0


def test_targets(ws: Workspace) -> None:
    assert [t.name for t in list_targets(ws)] == ["dask", "local"]
    listed = json.loads(_cli(ws, "targets", "--json").stdout)
    assert {t["name"]: t["runs_jobs"] for t in listed} == {"dask": True, "local": True}
    ws2 = ws
    path = ws2.aml_dir / "aml.toml"
    path.write_text(path.read_text() + '\n[targets.cluster]\ntype = "dask"\naddress = "tcp://10.0.0.5:8786"\n')
    assert "cluster" in [t.name for t in list_targets(ws2)]
    path.write_text(path.read_text() + '\n[targets.weird]\ntype = "slurm"\n')
    with pytest.raises(ConfigError, match="type must be one of"):
        list_targets(ws2)


def test_a_job_takes_the_experiment_and_name_its_script_asks_for(ws: Workspace) -> None:
    # Before: `python train.py` recorded churn/find-best, `aml submit train.py` the same work in
    # `default` under its id (the job's start_run dropped both).
    (ws.root / "named.py").write_text(
        "import aml_jupyter as aml\n"
        "with aml.start_run(experiment='churn', name='find-best'):\n    aml.log('acc', 0.9)\n"
    )
    done = submit("named.py", wait=True, workspace=ws)
    assert done["status"] == "completed", done["error"]
    record = ws.store.get_run(done["id"])
    assert (record.experiment, record.name) == ("churn", "find-best") and record.metrics == {"acc": 0.9}
    chosen = submit("named.py", experiment="nightly", name="n-1", wait=True, workspace=ws)
    record = ws.store.get_run(chosen["id"])
    assert (record.experiment, record.name) == ("nightly", "n-1")  # what the submission named wins


def test_a_variable_the_job_no_longer_sees_is_named_with_the_way_to_pass_it(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATA_ROOT", "/srv/data")
    (ws.root / "env.py").write_text("import os\nprint(os.environ['DATA_ROOT'])\n")
    done = submit("env.py", wait=True, workspace=ws)
    assert done["status"] == "failed" and "pass_env" in done["error"] and "DATA_ROOT" in done["error"]
    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + '\n[targets.local]\npass_env = ["DATA_ROOT"]\n')
    passed = submit("env.py", wait=True, workspace=Workspace.open(ws.root))
    assert passed["status"] == "completed", passed["error"]
