"""Faults around local jobs: floods of output, bursts of submissions, a cancelled notebook."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import JobError
from aml_jupyter.jobs.logs import LOG_CAP_BYTES
from aml_jupyter.services.jobs import cancel
from aml_jupyter.services.submit import submit
from aml_jupyter.workspace import Workspace
from tests.conftest import eventually

from .helpers import AML, wait_for, write_notebook


def test_100_mb_of_output_is_capped_and_rotated(ws: Workspace) -> None:
    (ws.root / "loud.py").write_text(
        "import sys\nline = 'x' * 1023 + '\\n'\nfor i in range(100_000):\n    sys.stdout.write(line)\n"
        "print('the end', flush=True)\n"
    )
    # A fresh process runs the command, so the peak memory it reports is this command's alone.
    wrapper = (
        "import resource, subprocess, sys\n"
        "p = subprocess.run(sys.argv[1:], capture_output=True)\n"
        "sys.stderr.buffer.write(p.stderr)\n"
        "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        "sys.stdout.write(p.stdout.decode())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, AML, "-w", str(ws.root), "submit", "loud.py", "--wait", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    first, _, rest = proc.stdout.partition("\n")
    code, peak_kb = map(int, first.split())
    assert code == 0, proc.stderr[-2000:]
    assert peak_kb / 1024 < 300, f"the supervisor held the output in memory ({peak_kb / 1024:.0f} MB)"
    run = aml.get_run(json.loads(rest)["id"], workspace=ws)
    sizes = {a.name: a.size for a in run.artifacts}
    assert set(sizes) == {"logs/stdout.txt", "logs/stdout.1.txt"}
    assert all(size <= LOG_CAP_BYTES for size in sizes.values())
    latest = run.artifact_path("logs/stdout.txt").read_text()
    assert latest.startswith("[aml: earlier output was rotated") and latest.rstrip().endswith("the end")


def test_a_burst_of_50_submissions_is_queued_not_lost(ws: Workspace) -> None:
    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + "\n[targets.local]\nmax_concurrent = 2\nmax_queued = 50\n")
    ws = Workspace.open(ws.root)
    flag = ws.root / "go"
    (ws.root / "wait.py").write_text(
        f"import os, time\nwhile not os.path.exists({str(flag)!r}):\n    time.sleep(0.05)\nprint('done')\n"
    )
    with ThreadPoolExecutor(8) as pool:
        ids = [r["id"] for r in pool.map(lambda i: submit("wait.py", {"i": i}, workspace=ws), range(50))]
    assert len(set(ids)) == 50
    with pytest.raises(JobError, match="already has 50 runs queued or running"):
        submit("wait.py", workspace=ws)
    with pytest.raises(JobError, match="already has 50 runs queued or running"):
        aml.run_cell("y = 1", outputs=["y"], workspace=ws)  # `%%aml run` is bounded the same way
    frame = aml.search_runs(workspace=ws)
    assert len(frame) == 50
    # Two start (max_concurrent); the rest wait their turn, queued.
    eventually(lambda: (aml.search_runs(workspace=ws)["status"] == "running").sum() == 2, what="2 running")
    assert (aml.search_runs(workspace=ws)["status"] == "queued").sum() == 48
    flag.touch()
    for run_id in ids:
        assert wait_for(ws, run_id, {"completed", "failed", "cancelled"}, timeout=180) == "completed"
    assert sorted(int(p) for p in aml.search_runs(workspace=ws)["params.i"]) == list(range(50))


def test_cancel_a_running_notebook_stops_its_kernel(ws: Workspace) -> None:
    write_notebook(ws.root / "slow.ipynb", "n = 1", "import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(120)")
    result = submit("slow.ipynb", workspace=ws)
    wait_for(ws, result["id"], {"running"})

    def printed_pid() -> str:
        out = subprocess.run(
            [AML, "-w", str(ws.root), "logs", result["id"]], capture_output=True, text=True, timeout=30
        )
        return out.stdout.strip() if out.stdout.strip().isdigit() else ""

    pid = int(eventually(printed_pid, 60, "the kernel printing its pid"))
    cancel(ws, result["id"])
    assert wait_for(ws, result["id"], {"cancelled", "failed", "completed"}, timeout=30) == "cancelled"
    eventually(lambda: not _alive(pid), 10, "the notebook's kernel ending with the cancel")


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("then_cancel", [False, True])
def test_a_killed_supervisor_takes_its_job_with_it(ws: Workspace, then_cancel: bool) -> None:
    import os
    import signal

    (ws.root / "slow.py").write_text("import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(120)\n")
    result = submit("slow.py", workspace=ws)  # a detached supervisor
    wait_for(ws, result["id"], {"running"})

    def job_pid() -> int:
        out = subprocess.run([AML, "-w", str(ws.root), "logs", result["id"]], capture_output=True, text=True).stdout
        return int(out.strip()) if out.strip().isdigit() else 0

    child = eventually(job_pid, 60, "the job printing its pid")
    supervisor = int(aml.get_run(result["id"], workspace=ws).tags["aml.supervisor_pid"])
    if then_cancel:
        ws.store.set_tags(aml.get_run(result["id"], workspace=ws).info.pk, {"aml.cancel": "1"})
    os.kill(supervisor, signal.SIGKILL)
    eventually(lambda: not _alive(supervisor), 10, "the supervisor going")
    eventually(lambda: not _alive(child), 10, "the job dying with its supervisor")  # not left behind
    want = "cancelled" if then_cancel else "failed"
    assert wait_for(ws, result["id"], {"failed", "cancelled", "lost", "completed"}, timeout=10) == want
    assert "its supervisor (pid" in aml.get_run(result["id"], workspace=ws).info.error
    again = subprocess.run([AML, "-w", str(ws.root), "cancel", result["id"]], capture_output=True, text=True)
    assert again.returncode == 1 and "already ended" in again.stderr
