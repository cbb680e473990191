"""The dask target on a real embedded cluster: scripts, notebooks and cells, cancel, faults."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.compute import dask_cluster
from aml_jupyter.errors import TargetUnavailable
from aml_jupyter.services.cell_jobs import run_cell
from aml_jupyter.services.jobs import cancel
from aml_jupyter.services.submit import submit
from aml_jupyter.workspace import Workspace

from ..settings import reconfigure
from .helpers import cli, wait_for, write_notebook

SETTINGS = """
[targets.dask]
workers = 2
idle_timeout = 600

[targets.dask_retry]
type = "dask"
retries = 1

[targets.gpu_jobs]
type = "dask"
gpus = 1

[targets.nowhere]
type = "dask"
address = "tcp://127.0.0.1:9"
"""


def _stop(ws: Workspace) -> None:
    state = dask_cluster.embedded_state(ws)
    dask_cluster.stop_embedded(ws)
    if state is not None:  # by its pid, whatever stop_embedded managed
        try:
            os.kill(int(state["pid"]), signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="module")
def dws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One workspace and its embedded Dask cluster for the whole module, stopped by pid at the end."""
    project = tmp_path_factory.mktemp("dask") / "project"
    project.mkdir()
    ws = aml.Workspace.init(project, name="dask-tests")
    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + SETTINGS)
    ws.close()
    ws = Workspace.open(project)
    yield ws
    _stop(ws)
    ws.close()


def test_script_on_dask_with_the_cli(dws: Workspace) -> None:
    (dws.root / "train.py").write_text(
        "import argparse, aml_jupyter as aml\np = argparse.ArgumentParser(); p.add_argument('--lr', type=float)\n"
        "a = p.parse_args()\nfor i in range(3):\n    aml.log('loss', a.lr / (i + 1))\nprint('trained on dask')\n"
    )
    proc = cli(dws, "submit", "train.py", "-p", "lr", "0.3", "--target", "dask", "--wait", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "completed"
    shown = json.loads(cli(dws, "runs", "show", result["id"], "--json").stdout)
    assert shown["compute_target"] == "dask" and shown["metrics"] == {"loss": pytest.approx(0.1)}
    assert "trained on dask" in cli(dws, "logs", result["id"]).stdout
    state = dask_cluster.embedded_state(dws)
    assert state is not None and "embedded Dask cluster" in cli(dws, "cluster", "status").stdout


def test_submitting_without_waiting_from_a_process_that_exits(dws: Workspace) -> None:
    (dws.root / "quick.py").write_text("import aml_jupyter as aml\naml.log('z', 1)\n")
    proc = cli(dws, "submit", "quick.py", "--target", "dask", "--json")
    assert proc.returncode == 0, proc.stderr
    by_cli = json.loads(proc.stdout)["id"]
    code = f"import aml_jupyter as aml\nprint(aml.submit('quick.py', target='dask', workspace={str(dws.root)!r})['id'])"
    by_sdk = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    for run_id in (by_cli, by_sdk.stdout.strip()):
        assert wait_for(dws, run_id, {"completed", "failed"}, timeout=60) == "completed"


def test_notebook_on_dask(dws: Workspace) -> None:
    write_notebook(dws.root / "nb.ipynb", "lr = 0.1", "import aml_jupyter as aml\naml.log('acc', lr * 2)")
    result = submit("nb.ipynb", {"lr": 0.25}, target="dask", wait=True, workspace=dws)
    assert result["status"] == "completed"
    run = aml.get_run(result["id"], workspace=dws)
    assert run.metrics == {"acc": 0.5} and "notebook.ipynb" in [a.name for a in run.artifacts]


def test_cell_on_dask_ships_inputs_and_outputs(dws: Workspace) -> None:
    seen: list[bytes] = []
    result = run_cell(
        "print('rows', len(rows))\nmodel = {'w': sum(rows) * C}\naml.log('acc', 0.9)",
        {"rows": [1, 2, 3]},
        ["model"],
        {"C": 0.5},
        target="dask",
        on_output=lambda which, data: seen.append(data),
        workspace=dws,
    )
    assert result["status"] == "completed" and result["outputs"] == {"model": {"w": 3.0}}
    assert b"rows 3" in b"".join(seen)
    run = aml.get_run(result["id"], workspace=dws)
    assert run.metrics == {"acc": 0.9} and run.params == {"C": "0.5"} and run.info.source_kind == "cell"
    assert run.artifact_path("cell.py").read_text().startswith("print('rows'")


def test_cell_sees_only_what_it_was_given(dws: Workspace) -> None:
    result = run_cell("y = hidden + 1", {"x": 1}, ["y"], target="dask", workspace=dws)
    assert result["status"] == "failed" and result["outputs"] is None
    assert "name 'hidden' is not defined in this run" in result["error"]
    assert "pass it with --inputs hidden" in result["error"]


def test_cancel_a_running_cell_and_script(dws: Workspace) -> None:
    box: dict[str, object] = {}
    worker = threading.Thread(
        target=lambda: box.update(
            run_cell("import time\nwhile True:\n    time.sleep(0.05)", target="dask", workspace=dws)
        )
    )
    worker.start()
    deadline = time.monotonic() + 30
    while aml.search_runs("attributes.status = 'running'", workspace=dws).empty:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    running = aml.search_runs("attributes.status = 'running'", workspace=dws).iloc[0]["run_id"]
    cancel(dws, running)
    worker.join(30)
    assert box["status"] == "cancelled"
    (dws.root / "forever.py").write_text("import time\nprint('up', flush=True)\nwhile True:\n    time.sleep(1)\n")
    queued = submit("forever.py", target="dask", workspace=dws)
    wait_for(dws, queued["id"], {"running"})
    assert cli(dws, "cancel", queued["id"]).returncode == 0
    assert wait_for(dws, queued["id"], {"cancelled", "failed", "completed"}, timeout=30) == "cancelled"


def test_a_killed_worker_fails_the_run_with_the_cause(dws: Workspace) -> None:
    result = run_cell("import os\nos._exit(1)", target="dask", workspace=dws)
    assert result["status"] == "failed"
    assert "worker running it died" in result["error"]
    assert aml.get_run(result["id"], workspace=dws).status == "failed"


def test_retry_after_worker_loss_does_not_duplicate_metrics(dws: Workspace, tmp_path: Path) -> None:
    marker = tmp_path / "first-attempt-done"
    source = (
        "import os\nfor i in range(3):\n    aml.log('m', i)\n"
        "if not os.path.exists(marker):\n    open(marker, 'w').close()\n    aml.flush()\n    os._exit(1)\n"
    )
    result = run_cell(source, params={"marker": str(marker)}, target="dask_retry", workspace=dws)
    assert result["status"] == "completed", result["error"]
    run = aml.get_run(result["id"], workspace=dws)
    assert run.tags["aml.attempt"] == "2"
    assert run.metric_history("m")["value"].tolist() == [0.0, 1.0, 2.0]  # the lost attempt's points are gone


def test_unreachable_scheduler_fails_fast(dws: Workspace) -> None:
    (dws.root / "ok.py").write_text("print(1)\n")
    started = time.monotonic()
    with pytest.raises(TargetUnavailable, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        submit("ok.py", target="nowhere", wait=True, workspace=dws)
    assert time.monotonic() - started < 15
    failed = aml.search_runs("attributes.compute_target = 'nowhere'", workspace=dws)
    assert failed["status"].tolist() == ["failed"]
    proc = cli(dws, "submit", "ok.py", "--target", "nowhere")
    assert proc.returncode == 1 and "cannot reach the Dask scheduler" in proc.stderr


def test_gpus_that_no_worker_has(dws: Workspace) -> None:
    with pytest.raises(TargetUnavailable, match="asks 1 GPU"):
        run_cell("x = 1", target="gpu_jobs", workspace=dws)


def test_gpu_cluster_without_dask_cuda(ws: Workspace) -> None:
    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + '\n[targets.cuda]\ntype = "dask"\ngpu = true\n')
    try:
        with pytest.raises(TargetUnavailable, match="dask-cuda|no CUDA GPU"):
            run_cell("x = 1", target="cuda", workspace=Workspace.open(ws.root))
    finally:
        _stop(ws)


def test_a_lost_scheduler_fails_the_run(ws: Workspace) -> None:
    (ws.root / "long.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    box: dict[str, object] = {}
    worker = threading.Thread(target=lambda: box.update(submit("long.py", target="dask", wait=True, workspace=ws)))
    worker.start()
    try:
        run_id = aml.search_runs(workspace=ws).iloc[0]["run_id"] if not aml.search_runs(workspace=ws).empty else None
        deadline = time.monotonic() + 60
        while run_id is None or aml.get_run(run_id, workspace=ws).status != "running":
            assert time.monotonic() < deadline
            time.sleep(0.1)
            frame = aml.search_runs(workspace=ws)
            run_id = frame.iloc[0]["run_id"] if not frame.empty else None
        state = dask_cluster.embedded_state(ws)
        assert state is not None
        os.kill(int(state["pid"]), signal.SIGKILL)  # the scheduler and its workers' nannies go with it
        worker.join(90)
        assert not worker.is_alive()
        assert box["status"] in ("failed", "lost")
        record = aml.get_run(run_id, workspace=ws).info
        assert record.status in ("failed", "lost") and record.error
    finally:
        _stop(ws)


def test_a_killed_cluster_daemon_ends_its_runs_failed_or_cancelled(ws: Workspace) -> None:
    # Submitted without waiting: nobody follows the futures, so only the store can tell.
    (ws.root / "long.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(120)\n")
    try:
        ids = [submit("long.py", target="dask", workspace=ws)["id"] for _ in range(2)]
        for run_id in ids:
            wait_for(ws, run_id, {"running"})
        state = dask_cluster.embedded_state(ws)
        assert state is not None
        os.kill(int(state["pid"]), signal.SIGKILL)  # its workers, and the jobs in them, go with it
        gone = cli(ws, "cancel", ids[1])  # nothing left to stop: it ends cancelled at once
        assert gone.returncode == 0, gone.stderr
        assert wait_for(ws, ids[1], {"cancelled", "failed", "lost"}, timeout=10) == "cancelled"
        assert wait_for(ws, ids[0], {"failed", "lost", "cancelled"}, timeout=10) == "failed"
        error = aml.get_run(ids[0], workspace=ws).info.error
        assert error and f"embedded Dask cluster running it (pid {state['pid']})" in error
    finally:
        _stop(ws)


def test_each_python_environment_has_its_own_embedded_cluster(
    ws: Workspace, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = dask_cluster.state_file(ws)
    other_env = tmp_path / "other-venv"
    other_env.mkdir()
    monkeypatch.setattr(sys, "prefix", str(other_env))
    there = dask_cluster.state_file(ws)
    assert here != there and here.parent == there.parent == ws.aml_dir / "dask"
    here.parent.mkdir(parents=True)
    here.write_text(json.dumps({"address": "tcp://127.0.0.1:1", "pid": os.getpid()}))
    assert dask_cluster.embedded_state(ws) is None  # the other environment's cluster is not ours


def test_an_idle_cluster_is_quiet_and_stops_sooner() -> None:
    import copy

    import dask

    from aml_jupyter.compute import dask_daemon

    assert dask_daemon.IDLE_TIMEOUT_S == 600
    saved = copy.deepcopy(dask.config.config)  # make_cluster sets the daemon's own process-wide config
    try:
        with pytest.raises(Exception):  # noqa: B017 - any refusal will do: only the settings are looked at
            dask_daemon.make_cluster({"gpu": True})
        assert dask.config.get("distributed.worker.profile.enabled") is False
        assert dask.config.get("distributed.scheduler.idle-timeout") == "600s"
    finally:
        dask.config.config.clear()
        dask.config.config.update(saved)


def test_the_first_start_of_the_cluster_is_said_as_it_goes(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    from aml_jupyter.compute.targets import get_target

    try:
        dask_cluster.connect(ws, get_target(ws, "dask"))
        err = capsys.readouterr().err
        assert "aml: starting the embedded Dask cluster of 'test'" in err
        assert "aml: the embedded Dask cluster is up at tcp://" in err
        dask_cluster.connect(ws, get_target(ws, "dask"))
        assert "starting" not in capsys.readouterr().err  # shared afterwards: said once
    finally:
        dask_cluster.close_clients()
        _stop(ws)


def test_the_cli_writes_lines_as_they_come_when_piped() -> None:
    code = "import sys\nfrom aml_jupyter.cli import main\nmain(['-w', '/nonexistent', 'runs', 'list'])\n"
    code += "print(sys.stdout.line_buffering)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip() == "True"


def test_a_job_asking_gpus_goes_to_a_worker_that_declares_them(ws: Workspace) -> None:
    # CPU workers declaring a GPU resource, as dask-cuda's workers do: placement without a GPU.
    from distributed import Nanny, Scheduler, SpecCluster

    workers = {
        "cpu": {"cls": Nanny, "options": {"nthreads": 1}},
        "gpu": {"cls": Nanny, "options": {"nthreads": 1, "resources": {"GPU": 1}}},
    }
    scheduler = {"cls": Scheduler, "options": {"port": 0, "dashboard_address": ":0"}}
    with SpecCluster(workers=workers, scheduler=scheduler, silence_logs=50) as cluster:
        targets = "".join(
            f'[targets.{name}]\ntype = "dask"\naddress = "{cluster.scheduler_address}"\ngpus = {gpus}\n'
            for name, gpus in (("one_gpu", 1), ("two_gpus", 2))
        )
        ws = reconfigure(ws, targets)
        cell = "from distributed import get_worker\nworker = get_worker().name"
        for _ in range(3):  # never the worker without one
            done = run_cell(cell, outputs=["worker"], target="one_gpu", workspace=ws)
            assert done["status"] == "completed" and done["outputs"] == {"worker": "gpu"}
        started = time.monotonic()
        with pytest.raises(TargetUnavailable, match=r"asks 2 GPU\(s\) per job.*the most is 1"):
            run_cell(cell, outputs=["worker"], target="two_gpus", workspace=ws)
        assert time.monotonic() - started < 10  # at once, not after waiting for a worker that never comes
        refused = aml.search_runs("attributes.compute_target = 'two_gpus'", workspace=ws)
        assert refused["status"].tolist() == ["failed"]
