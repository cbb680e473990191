"""Running one job to its end, wherever it runs: in a supervisor on this machine or on a Dask worker.

:func:`run_job` takes a queued run, prepares it (its snapshot materialized as the working folder),
runs it by kind (a script as a child process, a notebook through papermill, a cell in this process
or a child), captures its output into rotating logs, stores logs, outputs and the executed notebook
as artifacts, and ends the run: completed, failed with the cause, or cancelled. A cancel request
(the tag ``aml.cancel``, set by ``aml cancel``) is polled for and stops the job where it runs.
It reaches the run through the workspace folder, or through ``aml server`` on a worker that cannot
open that folder (:mod:`~aml_jupyter.jobs.backends`).

When a Dask worker dies mid-job, the scheduler runs the task again: the new attempt finds the run
still ``running``, and either starts over (metrics of the lost attempt dropped, so none are
counted twice) while attempts remain under the target's ``retries``, or fails the run, naming why.
Each attempt's process writes with its number (``AML_ATTEMPT``): once a newer attempt has taken
the run, an older one that outlived its worker is refused (``AttemptSuperseded``) and stops.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import socket
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from ..compute.user_env import user_environment
from ..entities.lifecycle import AttemptAction, RunEvent, RunStatus, attempt_decision, died_message
from ..entities.tags import CANCEL_TAG as CANCEL_TAG  # one name, for the job engine's modules
from ..errors import InvalidInput, JobError
from ..workspace import Workspace
from .backends import JobRecord, LocalBackend, RemoteBackend
from .logs import RotatingLog, log_files, tail

POLL_S = 0.25


class JobCancelled(BaseException):
    """Raised inside a job's thread when the job is cancelled (BaseException: user code can't swallow it)."""


class Job:
    """What a kind's runner needs: the run, its folders, logs and environment, and a way to be stopped."""

    def __init__(self, svc: LocalBackend | RemoteBackend, job_dir: Path, src: Path | None, echo: bool) -> None:
        self.svc = svc
        self.record = svc.load()
        self.dir = job_dir
        self.src = src
        self.stdout = RotatingLog(job_dir / "stdout.txt", echo=sys.stdout.buffer if echo else None)
        self.stderr = RotatingLog(job_dir / "stderr.txt", echo=sys.stderr.buffer if echo else None)
        self.env = {
            "AML_RUN_ID": self.record.id,
            **svc.job_env(self.record),
            "AML_OUTPUT_DIR": str((src or job_dir) / "outputs"),
            "AML_JOB_DIR": str(job_dir),
            "AML_ATTEMPT": self.record.tags.get("aml.attempt", "1"),
            "PYTHONUNBUFFERED": "1",
        }
        # What its child processes see: no more than compute/user_env.py lets through.
        self.child_env = user_environment(self.env, svc.pass_env())
        self.cancelled = threading.Event()
        self.thread = threading.get_ident()
        self.stopper: Any = None  # set by the runner: how to stop what it started
        self.outputs: bytes | None = None
        self.sampler: Any = None  # what the machine does meanwhile (sysmetrics.py)

    def stop(self) -> None:
        """Cancel: remember it, then stop the job by the runner's means (or interrupt its thread)."""
        self.cancelled.set()
        if self.stopper is not None:
            self.stopper()
        else:
            interrupt_thread(self.thread)


def backend_for(
    run_id: str, root: str, tracking_uri: str | None = None, token: str | None = None
) -> LocalBackend | RemoteBackend:
    """How this worker reaches the run: the workspace folder when it can open it, else ``aml server``.

    ``token`` is the run-scoped token its launcher made, for a job that logs through ``aml server``.

    Example:
        >>> backend_for(run_id, "/not/here", "http://10.0.0.2:8765").remote  # doctest: +SKIP
        True
    """
    if root and (Path(root) / ".aml").is_dir():
        return LocalBackend(Workspace.open(root), run_id, token)  # one instance per folder per process
    if tracking_uri:
        return RemoteBackend(tracking_uri, run_id, token)
    raise JobError(
        f"this worker cannot open the workspace at {root} and its target has no tracking_uri: "
        "give the workers the project folder (a shared file system) or run `aml server` and set tracking_uri"
    )


def interrupt_thread(ident: int) -> None:
    """Raise :class:`JobCancelled` in thread ``ident`` at its next Python instruction.

    Example:
        >>> interrupt_thread(0)
    """
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(JobCancelled))


def run_job(
    run_id: str,
    root: str,
    payload: bytes | None = None,
    echo: bool = False,
    tracking_uri: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Run the queued run ``run_id`` of the workspace at ``root`` to its end.

    Returns ``{"id", "status", "error", "outputs"}`` (``outputs``: a cell's pickled outputs). A
    worker that cannot open ``root`` goes through ``aml server`` at ``tracking_uri``, with ``token``
    (the run-scoped one its launcher made) or else the worker's ``AML_TRACKING_TOKEN``.

    Example:
        >>> run_job(run_id, str(ws.root))["status"]  # doctest: +SKIP
        'completed'
    """
    svc = backend_for(run_id, root, tracking_uri, token)
    record = svc.load()
    status = RunStatus(record.status)
    result: dict[str, Any] = {"id": record.id, "status": status.value, "error": record.error, "outputs": None}
    retries = int(record.tags.get("aml.retries", "0"))
    action, attempt = attempt_decision(status, int(record.tags.get("aml.attempt", "0")), retries)
    if action is AttemptAction.LEAVE:  # cancelled while it waited in a queue, or ended by its submitter
        return result
    if action is AttemptAction.GIVE_UP:  # a previous attempt's worker died mid-job, past the retries
        died = died_message(attempt, retries)
        result.update(status=svc.transition(RunEvent.FAIL, died), error=died)
        return result
    if action is AttemptAction.RETRY:
        # Fence first: from this tag on, the old attempt's process (if it outlived its worker)
        # cannot write; then start over.
        svc.set_tags({"aml.attempt": str(attempt)})
        svc.clear_metrics()
    svc.set_tags({"aml.attempt": str(attempt), "aml.host": socket.gethostname(), "aml.job_pid": str(os.getpid())})
    if status is RunStatus.QUEUED and svc.transition(RunEvent.PREPARE) != RunStatus.PREPARING.value:
        return {**result, "status": svc.status()}  # cancelled between the two reads
    job_dir = svc.home / "jobs" / f"{record.id}.{attempt}"
    svc.start_heartbeats()  # while preparing too: building an environment takes a while
    try:
        shutil.rmtree(job_dir, ignore_errors=True)
        job_dir.mkdir(parents=True)
        src = None
        if record.snapshot_id and not (record.source_kind == "cell" and payload is not None and _on_worker()):
            src = job_dir / "src"
            svc.restore_snapshot(record.snapshot_id, src)
            (src / "outputs").mkdir(exist_ok=True)
            if record.tags.get("aml.data"):
                svc.link_data(json.loads(record.tags["aml.data"]), src)
        if record.tags.get("aml.requirements"):
            _prepare_environment(svc, record, src)
        job = Job(svc, job_dir, src, echo)
        svc.set_tags({"aml.job_dir": str(job_dir)})
        if status is not RunStatus.RUNNING:
            svc.transition(RunEvent.START)
    except BaseException as exc:
        failed = str(exc) if isinstance(exc, JobError) else f"could not start the job: {type(exc).__name__}: {exc}"
        svc.stop_heartbeats()
        result.update(status=svc.transition(RunEvent.FAIL, failed), error=failed)
        svc.end_tokens()
        shutil.rmtree(job_dir, ignore_errors=True)
        return result
    job.sampler = _start_sampling(svc)
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


def _prepare_environment(svc: LocalBackend | RemoteBackend, record: JobRecord, src: Path | None) -> None:
    # The run's own virtual environment: built or reused, its interpreter and lock recorded.
    from ..compute.environments import ensure_environment

    if src is None:
        raise JobError(
            "a cell on a Dask worker runs in the worker's own environment; requirements need a script, "
            "a notebook or the local target"
        )
    from ..paths import safe_join

    try:  # a tag is a value someone wrote: only a file of the snapshot is installed from
        requirements = safe_join(src, record.tags["aml.requirements"])
    except (InvalidInput, ValueError) as exc:
        raise JobError(f"the requirements file {record.tags['aml.requirements']!r} is refused: {exc}") from None
    env = ensure_environment(svc.home, requirements, ["ipykernel"] if record.source_kind == "notebook" else [])
    svc.set_tags({"aml.python": str(env.python), "aml.env": env.key[:16]})
    svc.log_bytes(env.lock.encode(), "environment/lock.txt")


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
        while not self.done.wait(POLL_S):
            try:
                if self.job.svc.cancel_requested():
                    self.job.stop()
                    return
            except Exception:  # a busy store now is no reason to stop watching
                continue


def _start_sampling(svc: LocalBackend | RemoteBackend) -> Any:
    # This process and its children (the script, the notebook's kernel): every kind of job alike,
    # and a script that never imports aml_jupyter has its system metrics too.
    interval = svc.system_interval()
    if interval is None:
        return None
    from ..entities.tags import gpus_tag
    from ..sysmetrics import Sampler

    try:
        sampler = Sampler(svc.log_system, interval, on_gpus=lambda gpus: svc.set_tags(gpus_tag(gpus))).start()
    except Exception as exc:  # never the job's problem
        print(f"aml_jupyter: no system metrics for this run: {exc}", file=sys.stderr)
        return None
    return sampler


def _finish(job: Job, event: RunEvent, why: str | None, trace: str | None) -> str:
    svc = job.svc
    if job.sampler is not None:
        job.sampler.stop()  # its last sample is written with the job's other points
        svc.flush_system()
    svc.stop_heartbeats()  # everything the job logged is written first
    for which in ("stdout", "stderr"):
        for f in log_files(job.dir, which):
            if f.stat().st_size:
                svc.log_file(f, f"logs/{f.name}")
    kernel_log = job.dir / "kernel.txt"
    if kernel_log.exists() and kernel_log.stat().st_size:
        svc.log_file(kernel_log, "logs/kernel.txt")
    executed = job.dir / "notebook.ipynb"
    if executed.exists():
        svc.log_file(executed, "notebook.ipynb")
    outputs = (job.src or job.dir) / "outputs"
    refused = []
    if outputs.is_dir():
        for f in sorted(p for p in outputs.rglob("*") if p.is_file() and not p.is_symlink()):
            rel = f.relative_to(outputs).as_posix()
            try:
                svc.log_file(f, f"outputs/{rel}")
            except InvalidInput:
                refused.append(rel)
    if refused:
        svc.set_tags({"aml.outputs_not_kept": ", ".join(refused)[:2000]})
    if event is not RunEvent.COMPLETE and trace is None:
        trace = tail(job.dir, "stderr")
    status = svc.transition(event, why if event is not RunEvent.COMPLETE else None, trace)
    svc.end_tokens()
    shutil.rmtree(job.dir, ignore_errors=True)
    return str(status)
