"""Running one job to its end, wherever it runs: in a supervisor on this machine or on a Dask worker.

:func:`run_job` takes a queued run, prepares it (its snapshot materialized as the working folder),
runs it by kind (a script as a child process, a notebook through papermill, a cell in this process
or a child), captures its output into rotating logs, stores logs, outputs and the executed notebook
as artifacts, and ends the run: completed, failed with the cause, or cancelled. A cancel request
(the tag ``aml.cancel``, set by ``aml cancel``) is polled for and stops the job where it runs.

When a Dask worker dies mid-job, the scheduler runs the task again: the new attempt finds the run
still ``running``, and either starts over (metrics of the lost attempt dropped, so none are
counted twice) while attempts remain under the target's ``retries``, or fails the run, naming why.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from ..errors import IllegalTransition, InvalidPath, JobError
from ..tracking.lifecycle import RunEvent, RunStatus
from ..workspace import Workspace
from .logs import RotatingLog, log_files, tail

CANCEL_TAG = "aml.cancel"
POLL_S = 0.25
_workspaces: dict[str, Workspace] = {}
_ws_lock = threading.Lock()


class JobCancelled(BaseException):
    """Raised inside a job's thread when the job is cancelled (BaseException: user code can't swallow it)."""


def workspace_at(root: str) -> Workspace:
    """The workspace at ``root``, opened once per process (a Dask worker runs many jobs).

    Example:
        >>> workspace_at(ws_root).root  # doctest: +SKIP
        PosixPath('/home/me/project')
    """
    with _ws_lock:
        ws = _workspaces.get(root)
        if ws is None:
            ws = _workspaces[root] = Workspace.open(root)
        return ws


class Job:
    """What a kind's runner needs: the run, its folders, logs and environment, and a way to be stopped."""

    def __init__(self, ws: Workspace, run_id: str, job_dir: Path, src: Path | None, echo: bool) -> None:
        self.ws = ws
        self.record = ws.store.get_run(run_id, check_lost=False)
        self.dir = job_dir
        self.src = src
        self.stdout = RotatingLog(job_dir / "stdout.txt", echo=sys.stdout.buffer if echo else None)
        self.stderr = RotatingLog(job_dir / "stderr.txt", echo=sys.stderr.buffer if echo else None)
        self.env = {
            "AML_RUN_ID": self.record.id,
            "AML_WORKSPACE": str(ws.root),
            # A target may have its jobs log over HTTP to `aml server` (tracking_uri) instead.
            "AML_TRACKING_URI": self.record.tags.get("aml.tracking_uri") or ws.store_url,
            "AML_OUTPUT_DIR": str((src or job_dir) / "outputs"),
            "AML_JOB_DIR": str(job_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self.cancelled = threading.Event()
        self.thread = threading.get_ident()
        self.stopper: Any = None  # set by the runner: how to stop what it started
        self.outputs: bytes | None = None

    def stop(self) -> None:
        """Cancel: remember it, then stop the job by the runner's means (or interrupt its thread)."""
        self.cancelled.set()
        if self.stopper is not None:
            self.stopper()
        else:
            interrupt_thread(self.thread)


def interrupt_thread(ident: int) -> None:
    """Raise :class:`JobCancelled` in thread ``ident`` at its next Python instruction.

    Example:
        >>> interrupt_thread(0)
    """
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(JobCancelled))


def run_job(run_id: str, root: str, payload: bytes | None = None, echo: bool = False) -> dict[str, Any]:
    """Run the queued run ``run_id`` of the workspace at ``root`` to its end.

    Returns ``{"id", "status", "error", "outputs"}`` (``outputs``: a cell's pickled outputs).

    Example:
        >>> run_job(run_id, str(ws.root))["status"]  # doctest: +SKIP
        'completed'
    """
    ws = workspace_at(root)
    store = ws.store
    record = store.get_run(run_id, check_lost=False)
    status = RunStatus(record.status)
    result: dict[str, Any] = {"id": record.id, "status": status.value, "error": record.error, "outputs": None}
    if status.is_terminal:  # cancelled while it waited in a queue, or ended by its submitter
        return result
    attempt = int(record.tags.get("aml.attempt", "0")) + 1
    if status is not RunStatus.QUEUED:
        # A previous attempt's worker died mid-job and the scheduler gave the task out again.
        retries = int(record.tags.get("aml.retries", "0"))
        if attempt > retries + 1:
            died = (
                f"the worker running it died (attempt {attempt - 1} of {retries + 1}): os._exit, a crash, "
                "or the worker was killed or ran out of memory"
            )
            result.update(status=_end(ws, record.pk, RunEvent.FAIL, died), error=died)
            return result
        store.clear_metrics(record.pk)
    store.set_tags(
        record.pk, {"aml.attempt": str(attempt), "aml.host": socket.gethostname(), "aml.job_pid": str(os.getpid())}
    )
    try:
        if status is RunStatus.QUEUED:
            store.transition(record.pk, RunEvent.PREPARE)
    except IllegalTransition:  # cancelled between the two reads
        return {**result, "status": store.status_of(record.pk)}
    job_dir = ws.aml_dir / "jobs" / f"{record.id}.{attempt}"
    ws.writer.watch(record.pk)  # heartbeats while preparing too: building an environment takes a while
    try:
        shutil.rmtree(job_dir, ignore_errors=True)
        job_dir.mkdir(parents=True)
        src = None
        if record.snapshot_id and not (record.source_kind == "cell" and payload is not None and _on_worker()):
            src = job_dir / "src"
            ws.snapshot_store.restore(record.snapshot_id, src)
            (src / "outputs").mkdir(exist_ok=True)
        if record.tags.get("aml.requirements"):
            _prepare_environment(ws, record, src)
        job = Job(ws, record.id, job_dir, src, echo)
        store.set_tags(record.pk, {"aml.job_dir": str(job_dir)})
        if status is not RunStatus.RUNNING:
            store.transition(record.pk, RunEvent.START)
    except BaseException as exc:
        failed = str(exc) if isinstance(exc, JobError) else f"could not start the job: {type(exc).__name__}: {exc}"
        result.update(status=_end(ws, record.pk, RunEvent.FAIL, failed), error=failed)
        shutil.rmtree(job_dir, ignore_errors=True)
        return result
    watcher = _CancelWatcher(job)
    watcher.start()
    event: RunEvent = RunEvent.COMPLETE
    why: str | None = None
    trace: str | None = None
    try:
        from .kinds import RUNNERS

        RUNNERS[record.source_kind or "script"](job, payload)
    except JobCancelled:
        event = RunEvent.CANCEL
    except KeyboardInterrupt:
        event, why = RunEvent.CANCEL, "interrupted"
    except JobError as exc:
        event, why = RunEvent.FAIL, str(exc)
    except BaseException as exc:
        event, why, trace = RunEvent.FAIL, f"{type(exc).__name__}: {exc}", traceback.format_exc()
    finally:
        watcher.done.set()
    if job.cancelled.is_set():
        event, why = RunEvent.CANCEL, "cancelled (aml cancel)"
    job.stdout.close()
    job.stderr.close()
    final = _finish(job, event, why, trace)
    result.update(status=final, error=why if final != "completed" else None, outputs=job.outputs)
    return result


def _prepare_environment(ws: Workspace, record: Any, src: Path | None) -> None:
    # The run's own virtual environment: built or reused, its interpreter and lock recorded.
    from ..compute.environments import ensure_environment

    if src is None:
        raise JobError(
            "a cell on a Dask worker runs in the worker's own environment; requirements need a script, "
            "a notebook or the local target"
        )
    env = ensure_environment(
        ws.aml_dir, src / record.tags["aml.requirements"], ["ipykernel"] if record.source_kind == "notebook" else []
    )
    ws.store.set_tags(record.pk, {"aml.python": str(env.python), "aml.env": env.key[:16]})
    digest, size = ws.artifacts.put_bytes(env.lock.encode())
    ws.store.add_artifact(record.pk, "environment/lock.txt", digest, size, "text/plain")
    record.tags.update({"aml.python": str(env.python)})


def _on_worker() -> bool:
    try:
        from distributed import get_worker

        get_worker()
        return True
    except (ImportError, ValueError):
        return False


class _CancelWatcher(threading.Thread):
    def __init__(self, job: Job) -> None:
        super().__init__(daemon=True, name=f"aml-cancel-{job.record.id[:8]}")
        self.job = job
        self.done = threading.Event()

    def run(self) -> None:
        store, pk = self.job.ws.store, self.job.record.pk
        while not self.done.wait(POLL_S):
            try:
                if store.get_tag(pk, CANCEL_TAG):
                    self.job.stop()
                    return
            except Exception:  # a busy store now is no reason to stop watching
                continue


def _end(ws: Workspace, pk: int, event: RunEvent, why: str | None, trace: str | None = None) -> str:
    try:
        return ws.store.transition(
            pk, event, error=why if event is not RunEvent.COMPLETE else None, error_traceback=trace
        ).value
    except IllegalTransition:  # someone else ended it first (its submitter, a lost-run sweep)
        return str(ws.store.status_of(pk))


def _finish(job: Job, event: RunEvent, why: str | None, trace: str | None) -> str:
    from ..tracking.run import Run

    ws, store, pk = job.ws, job.ws.store, job.record.pk
    ws.writer.flush()
    ws.writer.live_runs.discard(pk)
    # Through the Run API, so output names meet the same rules as any artifact name.
    run = Run(ws, store.runs_by_pk([pk])[0], active=True)
    for which in ("stdout", "stderr"):
        for f in log_files(job.dir, which):
            if f.stat().st_size:
                run.log_artifact(f, f"logs/{f.name}")
    kernel_log = job.dir / "kernel.txt"
    if kernel_log.exists() and kernel_log.stat().st_size:
        run.log_artifact(kernel_log, "logs/kernel.txt")
    executed = job.dir / "notebook.ipynb"
    if executed.exists():
        run.log_artifact(executed, "notebook.ipynb")
    outputs = (job.src or job.dir) / "outputs"
    refused = []
    if outputs.is_dir():
        for f in sorted(p for p in outputs.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = f.relative_to(outputs).as_posix()
            try:
                run.log_artifact(f, f"outputs/{rel}")
            except InvalidPath:
                refused.append(rel)
    if refused:
        store.set_tags(pk, {"aml.outputs_not_kept": ", ".join(refused)[:2000]})
    if event is not RunEvent.COMPLETE and trace is None:
        trace = tail(job.dir, "stderr")
    status = _end(ws, pk, event, why, trace)
    shutil.rmtree(job.dir, ignore_errors=True)
    return status
