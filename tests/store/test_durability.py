"""Faults: SIGTERM, SIGKILL, many writer processes, lost heartbeats (SECURITY.md J, K)."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import time
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.entities.lifecycle import RunStatus
from aml_jupyter.workspace import Workspace
from tests.conftest import eventually, run_child, start_child, write_settings

# Each fault on SQLite; the ones a server store could get wrong (concurrent writers, a killed
# writer, heartbeats) on PostgreSQL too.
pytestmark = [pytest.mark.slow, pytest.mark.sqlite_only]


def _integrity(ws: Workspace) -> str:
    if not ws.store.db.is_sqlite:  # a server keeps its own files whole; what matters is read back above
        return "ok"
    con = sqlite3.connect(ws.aml_dir / "store.db")
    try:
        return str(con.execute("pragma integrity_check").fetchone()[0])
    finally:
        con.close()


def _heartbeat_at(ws: Workspace, run_id: str) -> int:
    return ws.store.get_run(run_id).heartbeat_at or 0  # a read of the store: it never writes


def _wait_for_line(proc, text: str, timeout: float = 30) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if text in line:
            return str(line)
        if not line and proc.poll() is not None:
            raise AssertionError(f"child ended early: {proc.stderr.read()}")
    raise AssertionError(f"child never printed {text!r}")


def test_normal_exit_without_with_completes_and_writes_everything(ws: Workspace) -> None:
    out = run_child(
        """
        import aml_jupyter as aml
        run = aml.start_run("e")
        for i in range(5000):
            aml.log("x", float(i))
        print(run.id)
    """,
        cwd=ws.root,
    )
    assert out.returncode == 0, out.stderr
    run = aml.get_run(out.stdout.strip(), workspace=ws)
    assert run.status == "completed"
    assert len(run.metric_history("x")) == 5000


def test_uncaught_exception_without_with_fails_the_run(ws: Workspace) -> None:
    out = run_child(
        """
        import aml_jupyter as aml
        run = aml.start_run("e")
        aml.log("x", 1.0)
        print(run.id, flush=True)
        raise ValueError("bad data")
    """,
        cwd=ws.root,
    )
    assert out.returncode == 1 and "bad data" in out.stderr
    run = aml.get_run(out.stdout.strip(), workspace=ws)
    assert run.status == "failed" and "bad data" in (run.info.error or "")
    assert run.metrics == {"x": 1.0}


@pytest.mark.parametrize("with_block", [True, False])
def test_a_full_disk_ends_the_run_failed_not_running(ws: Workspace, with_block: bool) -> None:
    # SQLite says "database or disk is full" for the metric batch; the small status update still fits.
    out = run_child(
        f"""
        import sqlite3
        import aml_jupyter as aml
        from sqlalchemy.exc import OperationalError
        from aml_jupyter.store.sql.metrics import MetricStore

        def full(self, conn, series):
            raise OperationalError("INSERT", {{}}, sqlite3.OperationalError("database or disk is full"))

        run = aml.start_run("e")
        print(run.id, flush=True)
        aml.log("x", 1.0)
        MetricStore._write_series = full
        for i in range(100):
            aml.log("x", float(i))
        if {with_block}:
            with run:
                pass
    """,
        cwd=ws.root,
    )
    run = aml.get_run(out.stdout.split()[0], workspace=ws)
    assert run.status == "failed", out.stderr
    assert "could not take this run's last" in run.info.error and "disk is full" in run.info.error
    assert "disk is full" in out.stderr  # the process said so too
    assert _integrity(ws) == "ok"


def test_sigterm_cancels_and_writes_everything(ws: Workspace) -> None:
    with start_child(
        """
        import time, aml_jupyter as aml
        with aml.start_run("e") as run:
            for i in range(20000):
                aml.log("x", float(i))
            print("ready", run.id, flush=True)
            time.sleep(60)
    """,
        cwd=ws.root,
    ) as proc:
        run_id = _wait_for_line(proc, "ready").split()[1]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
    run = aml.get_run(run_id, workspace=ws)
    assert run.status == "cancelled"
    assert len(run.metric_history("x")) == 20000
    assert _integrity(ws) == "ok"


def test_sigkill_loses_at_most_the_flush_interval(ws: Workspace) -> None:
    with start_child(
        """
        import time, aml_jupyter as aml
        with aml.start_run("e") as run:
            print("ready", run.id, flush=True)
            i = 0
            while True:
                aml.log("x", float(i))
                i += 1
                time.sleep(0.0005)
    """,
        cwd=ws.root,
    ) as proc:
        run_id = _wait_for_line(proc, "ready").split()[1]
        # Several flushes stored, so the kill lands mid-stream.
        eventually(lambda: len(aml.get_run(run_id, workspace=ws).metric_history("x")) > 1000, what="1,000 points")
        killed_at_ms = time.time() * 1000
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert _integrity(ws) == "ok"
    history = aml.get_run(run_id, workspace=ws).metric_history("x")
    assert len(history) > 500
    last_ms = history["timestamp"].iloc[-1].value / 1e6
    # default flush interval 0.5 s; allow 0.3 s for a loaded CI machine
    assert killed_at_ms - last_ms < 800, f"lost {killed_at_ms - last_ms:.0f} ms of points"
    assert history["step"].tolist() == list(range(len(history)))  # no gap, no partial batch


@pytest.mark.both_stores
def test_sigkill_mid_transaction_leaves_whole_batches(ws: Workspace) -> None:
    with start_child(
        """
        import aml_jupyter as aml
        from aml_jupyter.workspace import Workspace
        ws = Workspace.open(".")
        with aml.start_run("e") as run:
            print("ready", run.id, flush=True)
            step = 0
            while True:  # each batch of 5000 points is one transaction
                ws.store.write_metrics([(run.pk, "x", step + i, 1.0, 0) for i in range(5000)])
                step += 5000
    """,
        cwd=ws.root,
    ) as proc:
        run_id = _wait_for_line(proc, "ready").split()[1]
        # Two batches stored, so the kill lands inside a later one.
        eventually(lambda: len(aml.get_run(run_id, workspace=ws).metric_history("x")) >= 10000, what="2 batches")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert _integrity(ws) == "ok"
    n = len(aml.get_run(run_id, workspace=ws).metric_history("x"))
    assert n > 0 and n % 5000 == 0


@pytest.mark.both_stores
def test_eight_processes_logging_at_once_lose_nothing(ws: Workspace) -> None:
    code = """
        import sys, aml_jupyter as aml
        with aml.start_run("parallel", params={"worker": sys.argv[1] if len(sys.argv) > 1 else "?"}) as run:
            for i in range(3000):
                aml.log("x", float(i))
                if i % 1000 == 0:
                    aml.set_tags({"progress": str(i)})
            run.log_batch("y", [float(v) for v in range(2000)])
    """
    with contextlib.ExitStack() as stack:
        procs = [stack.enter_context(start_child(code, cwd=ws.root)) for _ in range(8)]
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read() if p.stderr else ""
    frame = aml.search_runs(experiments="parallel", workspace=ws)
    assert len(frame) == 8 and set(frame["status"]) == {"completed"}
    for run_id in frame["run_id"]:
        run = aml.get_run(run_id, workspace=ws)
        assert run.metric_history("x")["value"].tolist() == [float(i) for i in range(3000)]
        assert len(run.metric_history("y")) == 2000
    assert _integrity(ws) == "ok"


@pytest.mark.both_stores
def test_a_run_whose_process_died_is_marked_lost(ws: Workspace) -> None:
    ws = write_settings(
        ws,
        """
        [tracking]
        heartbeat_interval = 0.2
        heartbeat_timeout = 1.0
    """,
    )
    with start_child(
        """
        import time, aml_jupyter as aml
        with aml.start_run("e") as run:
            aml.log("x", 1.0)
            print("ready", run.id, flush=True)
            time.sleep(60)
    """,
        cwd=ws.root,
    ) as proc:
        run_id = _wait_for_line(proc, "ready").split()[1]
        started = ws.store.get_run(run_id).start_time

        def beat_past_the_timeout() -> bool:
            return _heartbeat_at(ws, run_id) - started > 1500

        eventually(beat_past_the_timeout, what="a heartbeat 1.5 s after the start")
        assert aml.get_run(run_id, workspace=ws).status == "running"  # heartbeats keep it alive
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    # The store never decides a run is lost, and a read never writes: the services' readers do.
    eventually(lambda: time.time() * 1000 - _heartbeat_at(ws, run_id) > 1100, what="the heartbeat timeout")
    assert ws.store.get_run(run_id).status == "running"
    run = eventually(lambda: (r := aml.get_run(run_id, workspace=ws)).status == "lost" and r, what="lost")
    assert run.status == "lost" and "heartbeat" in (run.info.error or "")
    assert run.metrics == {"x": 1.0}
    frame = aml.search_runs(workspace=ws)
    assert frame["status"].tolist() == ["lost"]


def test_job_logs_to_the_run_named_in_its_environment(ws: Workspace) -> None:
    from aml_jupyter.entities.lifecycle import RunStatus

    exp = ws.store.experiment_id("jobs", create=True)
    record = ws.store.create_run(exp, source_kind="script", user="u", status=RunStatus.RUNNING)
    out = run_child(
        """
        import aml_jupyter as aml
        aml.log("x", 2.0)
        aml.log_params({"from": "job"})
    """,
        cwd=Path("/"),
        env={"AML_RUN_ID": record.id, "AML_WORKSPACE": str(ws.root)},
    )
    assert out.returncode == 0, out.stderr
    run = aml.get_run(record.id, workspace=ws)
    assert run.metrics == {"x": 2.0} and run.params == {"from": "job"}
    assert run.status == "running"  # the launcher, not the job, ends it


def test_a_superseded_attempt_cannot_write_its_run(ws: Workspace) -> None:
    # A job's process outlives its Dask worker; the scheduler runs the job again (attempt 2),
    # which starts over. The old process's writes are refused from then on: nothing counts twice.
    store = ws.store
    record = store.create_run(
        store.experiment_id("jobs", create=True),
        source_kind="script",
        user="t",
        status=RunStatus.RUNNING,
        tags={"aml.attempt": "1"},
    )
    env = {"AML_RUN_ID": record.id, "AML_ATTEMPT": "1", "AML_WORKSPACE": str(ws.root)}
    with start_child(
        """
        import sys, time
        import aml_jupyter as aml
        run = aml.start_run("jobs")
        step = 0
        while True:
            aml.log("m", float(step), step=step)
            step += 1
            if step == 20:
                aml.flush()
                print("flushed", flush=True)
            time.sleep(0.01)
        """,
        cwd=ws.root,
        env=env,
    ) as child:
        _wait_for_line(child, "flushed")
        store.set_tags(record.pk, {"aml.attempt": "2"})  # the retry takes over and starts over
        store.clear_metrics(record.pk)
        out, err = child.communicate(timeout=30)  # its next write is refused, and it stops
    assert child.returncode != 0 and "AttemptSuperseded" in err and "attempt 2 has taken over" in err
    assert store.metric_history(record.pk, "m")[0].tolist() == []  # not one point of attempt 1 came back
    assert _integrity(ws) == "ok"
