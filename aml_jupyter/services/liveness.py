"""The lost-run policy: when a live run is taken for dead, and what it ends as.

A run is live while something logs to it. Its heartbeat stops when its process, kernel or worker
dies without a word: past the store's ``heartbeat_timeout`` it ends ``lost``. A local job whose
supervisor on this machine is gone (its process id no longer alive), or whose embedded Dask cluster
is gone, ends at once rather than two minutes later: ``failed``, or ``cancelled`` when a cancel was
asked. Readers in this layer (getting a run, searching, deleting) sweep first, at most once a
second per process; the store itself never decides this and never writes on a read.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING

from ..entities.lifecycle import RunEvent
from ..entities.tags import CLUSTER_PID, SUPERVISOR_PID
from ..errors import IllegalTransition
from ..processes import pid_alive

if TYPE_CHECKING:
    from ..workspace import Workspace

SWEEP_EVERY_S = 1.0
_last_sweep: dict[int, float] = {}  # per store (by id): when this process last looked
_lock = threading.Lock()


def sweep(ws: Workspace, force: bool = False) -> int:
    """End the runs whose process is known gone; how many ended ``lost`` for want of a heartbeat.

    Example:
        >>> sweep(ws, force=True)  # doctest: +SKIP
        0
    """
    store = ws.store
    now = time.monotonic()
    with _lock:
        if not force and now - _last_sweep.get(id(store), 0.0) < SWEEP_EVERY_S:
            return 0
        _last_sweep[id(store)] = now
    for pid_tag, host_tag, what in (
        (SUPERVISOR_PID, "aml.host", "its supervisor"),
        (CLUSTER_PID, "aml.cluster_host", "the embedded Dask cluster running it"),
    ):
        _end_jobs_of_dead(ws, pid_tag, host_tag, what)
    return store.mark_silent_runs_lost()


def _end_jobs_of_dead(ws: Workspace, pid_tag: str, host_tag: str, what: str) -> None:
    # A local job's supervisor killed outright takes its job with it (jobs/script.py), as the
    # embedded Dask cluster's daemon takes its workers: nothing is left to end the run, so say so now.
    here = socket.gethostname()
    for pk, pid, where, cancelled in ws.store.live_runs_tagged(pid_tag, host_tag):
        if where != here or not str(pid).isdigit() or pid_alive(int(pid)):
            continue
        event = RunEvent.CANCEL if cancelled else RunEvent.FAIL
        try:
            ws.store.transition(pk, event, error=f"{what} (pid {pid}) ended before the job did; the job ended with it")
        except IllegalTransition:
            continue  # ended meanwhile
