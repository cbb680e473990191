"""The warm process: the quick `aml` commands and the local target's cells fork from it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.launch import is_quick
from aml_jupyter.warm import owned
from aml_jupyter.warm.client import runtime_dir, spawn
from aml_jupyter.warm.protocol import Reader, send
from aml_jupyter.workspace import Workspace

from .conftest import eventually, stop_warm_servers

AML = str(Path(sys.executable).with_name("aml"))


def _pid_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def warm_dir() -> object:
    import shutil
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="aml-w-")) / "warm"  # short: a socket's path is limited
    yield folder
    for pid in stop_warm_servers(folder):
        eventually(lambda pid=pid: _pid_gone(pid), 10, f"warm server {pid} to stop")
    shutil.rmtree(folder.parent, ignore_errors=True)


def _aml(ws: Workspace, warm_dir: Path, *args: str, idle: str = "60") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AML_WARM_DIR": str(warm_dir), "AML_WARM_IDLE_S": idle}
    env.pop("AML_WARM", None)
    return subprocess.run([AML, *args], cwd=ws.root, env=env, capture_output=True, text=True, timeout=120)


def _server(warm_dir: Path) -> int:
    pid_files = eventually(lambda: list(warm_dir.glob("cli-*.sock.pid")), 60, "the warm server to answer")
    return int(pid_files[0].read_text())


def test_a_quick_command_answers_the_same_from_the_warm_process(ws: Workspace, warm_dir: Path) -> None:
    with aml.start_run(experiment="warm", workspace=ws) as run:
        run.log("acc", 0.5)
    first = _aml(ws, warm_dir, "runs", "list", "--json")  # runs here, starts the warm process
    pid = _server(warm_dir)
    again = _aml(ws, warm_dir, "runs", "list", "--json")
    assert first.returncode == again.returncode == 0, first.stderr + again.stderr
    assert again.stdout == first.stdout and run.id in again.stdout
    # The error path too: the message on stderr and the exit code, with the caller's folder.
    missing = _aml(ws, warm_dir, "runs", "show", "ffff")
    assert missing.returncode == 1 and "matches no run" in missing.stderr and not missing.stdout
    usage = _aml(ws, warm_dir, "runs", "list", "--order-by", "metrics.acc DOWN")
    assert usage.returncode == 1 and "DOWN" in usage.stderr
    # The caller's environment decides the workspace, not the server's.
    elsewhere = subprocess.run(
        [AML, "experiments", "list"],
        cwd="/",
        env={**os.environ, "AML_WARM_DIR": str(warm_dir), "AML_WORKSPACE": str(ws.root)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert elsewhere.returncode == 0 and "warm" in elsewhere.stdout
    assert not _pid_gone(pid)  # the same server answered them all


def test_the_warm_process_stops_when_idle_and_long_commands_never_use_it(ws: Workspace, warm_dir: Path) -> None:
    _aml(ws, warm_dir, "runs", "list", idle="4")
    pid = _server(warm_dir)
    eventually(lambda: _pid_gone(pid), 30, "the idle warm server to exit")
    assert not list(warm_dir.glob("cli-*"))  # its socket and pid file went with it
    assert not is_quick(["server"]) and not is_quick(["logs", "abcd", "-f"]) and not is_quick(["submit", "x.py"])
    assert is_quick(["-w", "ws", "runs", "show", "abcd"])


def test_a_server_for_newer_code_stops_the_stale_ones(ws: Workspace, warm_dir: Path) -> None:
    from aml_jupyter.warm.client import interpreter_key

    warm_dir.mkdir(mode=0o700, parents=True)
    stale = warm_dir / f"cli-{interpreter_key()}-0000000000000000.sock"  # this interpreter, older code
    other = warm_dir / "cli-ffffffff-0000000000000000.sock"  # another interpreter's: left alone
    procs = [
        subprocess.Popen([sys.executable, "-m", "aml_jupyter.warm", "--socket", str(p), "--idle", "60"])
        for p in (stale, other)
    ]
    try:
        eventually(lambda: stale.exists() and other.exists(), 60, "the two servers to bind")
        _aml(ws, warm_dir, "runs", "list")  # starts the server of today's code, which stops the stale one
        assert procs[0].wait(60) == 0 and not stale.exists()
        assert procs[1].poll() is None
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_a_killed_caller_takes_its_warm_child_along(warm_dir: Path) -> None:
    folder = warm_dir
    folder.mkdir(mode=0o700)
    path = folder / "t.sock"
    server = subprocess.Popen([sys.executable, "-m", "aml_jupyter.warm", "--socket", str(path), "--idle", "60"])
    try:
        eventually(path.exists, 30, "the server to bind")
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            child = spawn(path, "time:sleep", [60], fds=[devnull, devnull, devnull], session=True)
        finally:
            os.close(devnull)
        assert child is not None and child.pid != server.pid
        assert not _pid_gone(child.pid)
        child.close()  # as a kernel killed outright would
        eventually(lambda: _pid_gone(child.pid), 10, "the warm child to die with its caller")
        # A request without descriptors is refused in words, and the server goes on serving.
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(str(path))
        send(sock, {"call": "os:getpid"})
        answer, _ = Reader(sock).receive()
        sock.close()
        assert answer is not None and "stdin, stdout and stderr" in answer["error"]
        assert server.poll() is None
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(10) == 0
    assert not path.exists()


def test_a_warm_folder_open_to_others_is_never_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("AML_WARM_DIR", str(shared))
    assert runtime_dir() is None
    monkeypatch.setenv("AML_WARM_DIR", str(tmp_path / "mine"))
    assert runtime_dir() == tmp_path / "mine" and (tmp_path / "mine").stat().st_mode & 0o777 == 0o700


def test_local_cells_fork_from_this_process_warm_server(ws: Workspace) -> None:
    owned.stop()
    try:
        source = "import os, numpy as np\nparent = os.getppid()\nv = float(np.random.rand())\nprint('hi')"
        first = aml.run_cell(source, outputs=["parent", "v"], workspace=ws)  # runs as before, starts the server
        assert first["status"] == "completed", first["error"]
        eventually(lambda: owned.warm_socket(), 60, "this process's warm server to answer")
        server = owned._state["proc"].pid
        runs = [aml.run_cell(source, outputs=["parent", "v"], workspace=ws) for _ in range(2)]
        assert all(r["status"] == "completed" for r in runs), [r["error"] for r in runs]
        assert [r["outputs"]["parent"] for r in runs] == [server, server]
        assert runs[0]["outputs"]["v"] != runs[1]["outputs"]["v"]  # reseeded, as a fresh process is
        assert aml.get_run(runs[1]["id"], workspace=ws).artifact_path("logs/stdout.txt").read_text() == "hi\n"
        failed = aml.run_cell("raise ValueError('bad cell')", workspace=ws)
        assert failed["status"] == "failed" and "ValueError: bad cell" in failed["error"]
        _a_warm_cell_is_cancelled_with_its_process_group(ws)  # and a cancelled one, with what it started
    finally:
        owned.stop()


def _a_warm_cell_is_cancelled_with_its_process_group(ws: Workspace) -> None:
    # On the warm server of the test above: starting one takes seconds.
    import threading

    from aml_jupyter.jobs.supervise import request_cancel

    box: dict[str, object] = {}
    code = (
        "import subprocess, sys, time\n"
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(p.pid, flush=True)\ntime.sleep(60)"
    )
    worker = threading.Thread(target=lambda: box.update(r=aml.run_cell(code, name="long", workspace=ws)))
    started = time.monotonic()
    worker.start()
    running = "attributes.name = 'long' and attributes.status = 'running'"
    run = eventually(lambda: [r["id"] for r in aml.list_runs(running, workspace=ws)], 60, "the cell to run")[0]
    grandchild = int(eventually(lambda: _stdout_of(ws, run), 30, "the cell's first line"))
    request_cancel(ws, run)
    worker.join(60)
    assert box["r"]["status"] == "cancelled" and time.monotonic() - started < 50  # type: ignore[index]
    eventually(lambda: _pid_gone(grandchild), 10, "what the cell started to stop too")


def _stdout_of(ws: Workspace, run_id: str) -> str:
    job_dir = aml.get_run(run_id, workspace=ws).tags.get("aml.job_dir")
    log = Path(job_dir) / "stdout.txt" if job_dir else None
    return log.read_text().strip() if log and log.exists() else ""
