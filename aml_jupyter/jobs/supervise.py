"""Starting a queued run on its target and, when asked, following it to its end.

- ``local``: a supervisor runs :func:`~aml_jupyter.jobs.execute.run_job` on this machine: in this
  process when the caller waits, else in a detached process (``python -m aml_jupyter.jobs.supervise
  --detach RUN``) that outlives the caller. At most ``max_concurrent`` local jobs run at once; the
  others wait, ``queued``, for a slot (a lock file each), so a burst of submissions is queued, not lost.
- ``dask``: the job is a Dask task calling ``run_job`` on a worker. A caller that waits follows
  it (logs streamed, worker loss and scheduler loss turned into a failed run with the cause); one
  that does not hands it to the scheduler with ``fire_and_forget``: the task ends the run itself.
"""

from __future__ import annotations

import fcntl
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from ..compute.targets import Target, get_target
from ..compute.user_env import aml_environment
from ..entities.lifecycle import RunEvent
from ..entities.tags import CLUSTER_PID, SUPERVISOR_PID
from ..errors import IllegalTransition, JobError, TargetUnavailable
from ..processes import detach_if_asked, start_detached
from ..workspace import Workspace
from .backends import LocalBackend
from .execute import CANCEL_TAG, run_job
from .logs import job_folder

JOB_TOKEN_VAR = "AML_JOB_TOKEN"  # how a detached supervisor gets its job's run-scoped token


def launch(
    ws: Workspace,
    run_id: str,
    *,
    wait: bool,
    echo: bool = False,
    payload: bytes | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Start the queued run on its target; with ``wait``, return its result when it ends.

    ``token``: the run-scoped token of a job that logs through ``aml server`` (its launcher in
    services/ makes it; services/access.py job_token).

    Example:
        >>> launch(ws, run_id, wait=True)["status"]  # doctest: +SKIP
        'completed'
    """
    record = ws.store.get_run(run_id)
    target = get_target(ws, record.compute_target or "local")
    if target.type == "dask":
        return run_on_dask(
            ws, run_id, target, payload, wait=wait, on_output=_echo_to_terminal() if echo else None, token=token
        )
    if wait:
        with local_slot(ws, target):
            # Who supervises it: if this process dies, readers end the run (store/sql/runs.py).
            ws.store.set_tags(record.pk, {SUPERVISOR_PID: str(os.getpid()), "aml.host": socket.gethostname()})
            return run_job(run_id, str(ws.root), payload, echo=echo, token=token)
    # The supervisor outlives this process.
    # The supervisor is aml's own code and opens the store (it may need PGPASSWORD or the bucket's
    # keys); what it starts for the user gets no more than compute.user_env lets through. The
    # server's owner token it never needs.
    env = aml_environment({"AML_WORKSPACE": str(ws.root)})
    env.pop(JOB_TOKEN_VAR, None)  # never one a caller of this process had
    if token:
        env[JOB_TOKEN_VAR] = token
    start_detached("aml_jupyter.jobs.supervise", [run_id], ws.root, env=env)
    return {"id": run_id, "status": "queued", "error": None, "outputs": None}


class local_slot:  # noqa: N801 (used as a context manager, like open)
    """Hold one of the target's ``max_concurrent`` slots (a lock file each) while a local job runs."""

    def __init__(self, ws: Workspace, target: Target) -> None:
        self.folder = ws.aml_dir / "jobs" / "slots"
        self.n = max(1, int(target.settings.get("max_concurrent", os.cpu_count() or 1)))
        self.handle: IO[str] | None = None

    def __enter__(self) -> local_slot:
        self.folder.mkdir(parents=True, exist_ok=True)
        while True:
            for i in range(self.n):
                f = open(self.folder / f"{i}.lock", "a")  # noqa: SIM115 (held until __exit__)
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    f.close()
                    continue
                self.handle = f
                return self
            time.sleep(0.2)

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            self.handle.close()  # closing releases the lock


def _echo_to_terminal() -> Callable[[str, bytes], None]:
    def write(which: str, data: bytes) -> None:
        stream = sys.stdout if which == "stdout" else sys.stderr
        stream.write(data.decode("utf-8", "replace"))
        stream.flush()

    return write


class LogFollower:
    """Reads what a job appends to its log files (following rotation) and hands it to ``on_output``."""

    def __init__(self, ws: Workspace, run_id: str, on_output: Callable[[str, bytes], None]) -> None:
        self.ws, self.run_id, self.on_output = ws, run_id, on_output
        self.pk = ws.store.get_run(run_id).pk
        self.offsets = {"stdout": 0, "stderr": 0}
        self.folder: Path | None = None

    def poll(self) -> None:
        if self.folder is None:
            self.folder = job_folder(self.ws.aml_dir, self.ws.store.get_tag(self.pk, "aml.job_dir"))
            if self.folder is None:
                return
        for which in ("stdout", "stderr"):
            path = self.folder / f"{which}.txt"
            try:
                with open(path, "rb") as f:
                    size = os.fstat(f.fileno()).st_size
                    if size < self.offsets[which]:  # rotated: a new file began
                        self.offsets[which] = 0
                    f.seek(self.offsets[which])
                    data = f.read()
            except OSError:
                continue
            if data:
                self.offsets[which] += len(data)
                self.on_output(which, data)

    def finish(self) -> None:
        """Hand over what is left once the job ended: its folder is gone, its logs are artifacts."""
        self.poll()
        record = self.ws.store.get_run(self.run_id)
        stored = {a.name: a for a in record.artifacts}
        for which in ("stdout", "stderr"):
            art = stored.get(f"logs/{which}.txt")
            if art is None:
                continue
            data = self.ws.artifacts.read_bytes(art.digest)
            if len(data) > self.offsets[which]:
                self.on_output(which, data[self.offsets[which] :])
                self.offsets[which] = len(data)


def run_on_dask(
    ws: Workspace,
    run_id: str,
    target: Target,
    payload: bytes | None,
    *,
    wait: bool,
    on_output: Callable[[str, bytes], None] | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Run the job as a Dask task; with ``wait``, follow it to its end and return its result.

    ``token``: the run-scoped token for workers that log through the target's ``tracking_uri``.

    Example:
        >>> run_on_dask(ws, run_id, get_target(ws, "dask"), None, wait=True)["status"]  # doctest: +SKIP
        'completed'
    """
    from ..compute.dask_cluster import connect, gpu_resources

    try:
        client = connect(ws, target)
        gpus = int(target.settings.get("gpus", 0))
        if gpus and gpu_resources(client) < gpus:
            raise TargetUnavailable(
                f"target {target.name!r} asks {gpus} GPU(s) per job, but no worker of its cluster offers that many "
                f"(the most is {gpu_resources(client)})",
                target=target.name,
            )
    except TargetUnavailable as exc:
        LocalBackend(ws, run_id).transition(RunEvent.FAIL, str(exc))
        raise
    if not target.settings.get("address"):
        from ..compute.dask_cluster import embedded_state

        state = embedded_state(ws)
        if state is not None:
            # The cluster's daemon runs its workers: if it dies, so does the job (readers then end the run).
            tags = {CLUSTER_PID: str(state["pid"]), "aml.cluster_host": socket.gethostname()}
            ws.store.set_tags(ws.store.get_run(run_id).pk, tags)
    uri = target.settings.get("tracking_uri") or None  # for workers that cannot open the workspace
    future = client.submit(
        run_job,
        run_id,
        str(ws.root),
        payload,
        False,
        uri,
        token if uri else None,  # scoped to this run, never the server's
        key=f"aml-job-{run_id}",
        pure=False,
        resources={"GPU": gpus} if gpus else None,
    )
    if not wait:
        from distributed import fire_and_forget

        fire_and_forget(future)  # type: ignore[no-untyped-call]
        return {"id": run_id, "status": "queued", "error": None, "outputs": None}
    return follow(ws, run_id, future, on_output)


def follow(ws: Workspace, run_id: str, future: Any, on_output: Callable[[str, bytes], None] | None) -> dict[str, Any]:
    """Wait for a job's Dask future, streaming its logs; a lost worker or scheduler fails the run.

    Ctrl-C (or SIGTERM to a supervisor) asks the job to stop and waits for it to end cancelled.

    Example:
        >>> follow(ws, run_id, future, None)["status"]  # doctest: +SKIP
        'completed'
    """
    from distributed.scheduler import KilledWorker

    done = threading.Event()
    future.add_done_callback(lambda _: done.set())
    follower = LogFollower(ws, run_id, on_output) if on_output else None
    try:
        while not done.wait(0.1):
            if follower is not None:
                follower.poll()
    except KeyboardInterrupt:
        request_cancel(ws, run_id)
        done.wait(30)
    if follower is not None:
        follower.finish()
    try:
        result: dict[str, Any] = future.result(timeout=5)
        return result
    except KilledWorker:
        why = "the Dask worker running it died (os._exit, a crash, or it was killed or ran out of memory)"
    except Exception as exc:  # the scheduler went away, the future was cancelled with it
        why = f"lost the Dask scheduler while the job ran ({type(exc).__name__}: {exc})"
    status = LocalBackend(ws, run_id).transition(RunEvent.FAIL, why)
    return {"id": run_id, "status": status, "error": why, "outputs": None}


def request_cancel(ws: Workspace, run_id: str) -> None:
    """Ask a job to stop where it runs (its watcher polls the tag); a queued run is cancelled at once.

    Example:
        >>> request_cancel(ws, run_id)  # doctest: +SKIP
    """
    record = ws.store.get_run(run_id)  # the tag first: an orphaned job then ends cancelled
    ws.store.set_tags(record.pk, {CANCEL_TAG: str(int(time.time()))})
    if record.status == "queued":
        try:
            ws.store.transition(record.pk, RunEvent.CANCEL, error="cancelled before it started (aml cancel)")
        except IllegalTransition:
            pass  # it started meanwhile: its watcher sees the tag


def main() -> int:
    """``python -m aml_jupyter.jobs.supervise [--detach] RUN_ID`` (started by ``aml submit``)."""
    args = detach_if_asked(sys.argv[1:])
    ws = Workspace.open(os.environ.get("AML_WORKSPACE") or None)
    run_id = args[0]
    # SIGTERM to the supervisor cancels its job the same way `aml cancel` does.
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=request_cancel, args=(ws, run_id)).start())
    token = os.environ.pop(JOB_TOKEN_VAR, None)  # its launcher's run-scoped token, for this job alone
    try:
        status = launch(ws, run_id, wait=True, token=token)["status"]
    except JobError:
        return 1
    return 0 if status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
