"""Runs started in a real kernel of the Jupyter server end with it: interrupt, restart and shutdown
cancel them, a killed kernel fails them, and a new server reconciles what an old one left."""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from jupyter_client import BlockingKernelClient

import aml_jupyter as aml
from aml_jupyter.entities.kernel import ENDED_WITH_KERNEL as ENDED
from aml_jupyter.entities.records import RunRecord
from tests.conftest import eventually

from .conftest import Server, start_server, stop_server


def _client(server: Server, kernel_id: str, timeout: float = 90) -> BlockingKernelClient:
    """A client of the kernel once the kernel itself says it is ready: it answered our
    kernel_info request on the shell channel and its status for that request reached us on iopub.

    jupyter_client's own wait_for_ready gives up as soon as one heartbeat is late (1 s), which a
    kernel that is restarting on a busy machine often is; a restart may also move the kernel to new
    ports, so each try reads the connection file afresh."""
    deadline = time.monotonic() + timeout
    while True:
        client = BlockingKernelClient()
        client.load_connection_file(str(server.root / "runtime" / f"kernel-{kernel_id}.json"))
        client.start_channels()
        if _answers(client, min(deadline, time.monotonic() + 10)):
            return client
        client.stop_channels()
        assert time.monotonic() < deadline, f"kernel {kernel_id} did not answer kernel_info"


def _answers(client: BlockingKernelClient, until: float) -> bool:
    while time.monotonic() < until:
        msg_id = client.kernel_info()
        try:
            while client.get_shell_msg(timeout=1)["parent_header"].get("msg_id") != msg_id:
                pass
            while client.get_iopub_msg(timeout=1)["parent_header"].get("msg_id") != msg_id:
                pass
        except queue.Empty:
            continue
        return True
    return False


def _start_run_in(server: Server, kernel_id: str, name: str) -> str:
    client = _client(server, kernel_id)
    try:
        code = (
            "import aml_jupyter as aml\n"
            f"r = aml.start_run('kernels', name={name!r}, workspace={str(server.ws.root)!r})\n"
            "r.log('x', 1.0)\nprint(r.id)\n"
        )
        out: list[str] = []
        reply = client.execute_interactive(
            code, timeout=60, output_hook=lambda m: out.append(m["content"].get("text", ""))
        )
        assert reply["content"]["status"] == "ok", reply["content"]
        return "".join(out).strip()
    finally:
        client.stop_channels()


def _status(server: Server, run_id: str, want: str, timeout: float = 20) -> RunRecord:
    def reached() -> RunRecord | None:
        record = server.ws.store.get_run(run_id)  # the store's word, not a Run object's cache
        return record if record.status == want else None

    return eventually(reached, timeout, f"run {run_id[:8]} becoming {want}")


def test_kernel_actions_end_the_runs_in_it(server: Server) -> None:
    status, kernel, _ = server.call("POST", "api/kernels", "owner", {"name": "python3"})
    assert status == 201
    kid = kernel["id"]
    run_id = _start_run_in(server, kid, "interrupted")
    tags = aml.get_run(run_id, workspace=server.ws).info.tags
    assert tags["aml.kernel_id"] == kid and tags["aml.host"] == socket.gethostname()
    assert server.call("POST", f"api/kernels/{kid}/interrupt", "owner", {})[0] == 204
    assert _status(server, run_id, "cancelled").error == "its kernel was interrupted"

    run_id = _start_run_in(server, kid, "restarted")
    assert server.call("POST", f"api/kernels/{kid}/restart", "owner", {})[0] == 200
    # The kernel ends it as it exits, or the server's restart event does: cancelled either way.
    assert _status(server, run_id, "cancelled").error in ("its kernel was restarted", ENDED)

    run_id = _start_run_in(server, kid, "killed")
    pid = int(aml.get_run(run_id, workspace=server.ws).info.tags["aml.kernel_pid"])
    os.kill(pid, signal.SIGKILL)  # the kernel dies under the run
    assert _status(server, run_id, "failed").error == "its kernel died"

    # The restarter brought a new kernel up under the same id; shutting it down cancels its runs.
    run_id = _start_run_in(server, kid, "shut down")
    assert server.call("DELETE", f"api/kernels/{kid}", "owner")[0] == 204
    assert _status(server, run_id, "cancelled").error in ("its kernel was shut down", ENDED)


def test_a_new_server_reconciles_runs_whose_kernel_is_gone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = aml.Workspace.init(tmp_path / "project", name="reconcile")
    # A shell that exported another workspace: the server's kernels still log into the one it serves.
    elsewhere = aml.Workspace.init(tmp_path / "elsewhere", name="elsewhere")
    elsewhere.close()
    monkeypatch.setenv("AML_WORKSPACE", str(elsewhere.root))
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    tags = {"aml.kernel_id": "feed", "aml.kernel_pid": str(gone.pid), "aml.host": socket.gethostname()}
    orphan = aml.start_run("kernels", name="orphan", workspace=ws)
    ws.store.set_tags(orphan.pk, tags)
    alive = aml.start_run("kernels", name="still here", workspace=ws)  # this process: alive
    ws.store.set_tags(alive.pk, {**tags, "aml.kernel_pid": str(os.getpid())})
    server = start_server(tmp_path, ws, extra=[f"--AmlExtension.workspace={ws.root}"])
    try:
        reconciled = _status(server, orphan.id, "failed", timeout=30)
        assert reconciled.error == "its kernel was gone when the Jupyter server started"
        assert ws.store.get_run(alive.id).status == "running"
        kid = server.call("POST", "api/kernels", "owner", {"name": "python3"})[1]["id"]
        client = _client(server, kid)
        try:
            out: list[str] = []
            client.execute_interactive(
                "import os; print(os.environ['AML_WORKSPACE'])",
                timeout=60,
                output_hook=lambda m: out.append(m["content"].get("text", "")),
            )
        finally:
            client.stop_channels()
        assert "".join(out).strip() == str(ws.root)
        server.call("DELETE", f"api/kernels/{kid}", "owner")
    finally:
        stop_server(server, server.proc)  # type: ignore[attr-defined]
        alive.end()
        orphan._active = False
        ws.close()
