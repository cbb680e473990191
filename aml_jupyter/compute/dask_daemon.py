"""``python -m aml_jupyter.compute.dask_daemon [--detach] ROOT SETTINGS_JSON``: the embedded Dask cluster.

Started by :func:`aml_jupyter.compute.dask_cluster.connect`; writes ``.aml/dask/cluster-KEY.json``
(address, pid, dashboard) once the cluster is up, or ``{"error": ...}`` if it cannot start (no
dask-cuda or no GPU for ``gpu = true``). Ends on SIGTERM or after ``idle_timeout`` seconds idle.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any


def _write(path: Path, state: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    os.replace(tmp, path)


IDLE_TIMEOUT_S = 600
# An idle cluster's own upkeep, sampled slower (measured on 2 cores, 2 workers: 20% of a core at
# Dask's defaults, 2% with these): its profiler, system and memory monitors, loop ticks, stealing.
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "2s",
    "distributed.scheduler.work-stealing-interval": "1s",
}


def make_cluster(settings: dict[str, Any]) -> Any:
    """The cluster the settings ask for: LocalCUDACluster for ``gpu = true``, else LocalCluster.

    Example:
        >>> make_cluster({"workers": 2})  # doctest: +SKIP
        LocalCluster(..., workers=2, threads=2, memory=...)
    """
    import dask

    # Retries after a worker dies are counted by the jobs themselves (aml.attempt), up to 3.
    dask.config.set({"distributed.scheduler.allowed-failures": 3, "distributed.worker.daemon": False})
    workers = int(settings.get("workers", 2))
    threads = int(settings.get("threads", 1))
    idle = settings.get("idle_timeout", IDLE_TIMEOUT_S)
    if idle:
        dask.config.set({"distributed.scheduler.idle-timeout": f"{int(idle)}s"})
    dask.config.set(QUIET)
    if settings.get("gpu"):
        try:
            from dask_cuda import LocalCUDACluster
        except ImportError:
            raise RuntimeError("gpu = true needs dask-cuda: pip install 'aml_jupyter[cuda]'") from None
        try:
            # One worker per GPU, each declaring it: a target's `gpus = 1` is placed, `gpus = 2` refused at once.
            return LocalCUDACluster(
                threads_per_worker=threads, scheduler_port=0, dashboard_address=":0", resources={"GPU": 1}
            )
        except Exception as exc:
            raise RuntimeError(
                f"gpu = true, but no CUDA GPU could be used here ({type(exc).__name__}: {exc})"
            ) from None
    from distributed import LocalCluster

    # No GPU resource is declared here: a target's `gpus = N` is what a job asks, and a cluster of
    # CPU workers has none to give (the job is refused at once, saying so).
    return LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers,
        threads_per_worker=threads,
        processes=True,
        scheduler_port=0,
        dashboard_address=":0",
    )


def main(root: str, settings_json: str) -> int:
    """Start the cluster, publish its address, wait until told to stop or idle.

    Example:
        >>> main("/home/me/project", "{}")  # doctest: +SKIP
    """
    from .dask_cluster import state_file

    state_path = state_file(Path(root))  # the daemon runs on the interpreter that started it
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        cluster = make_cluster(json.loads(settings_json))
    except Exception as exc:
        _write(state_path, {"error": str(exc), "pid": os.getpid()})
        return 1
    _write(
        state_path,
        {"address": cluster.scheduler_address, "pid": os.getpid(), "dashboard": cluster.dashboard_link},
    )
    try:
        while not stop.wait(1.0):
            if cluster.status.name in ("closed", "failed") or cluster.scheduler.status.name in ("closed", "failed"):
                break  # the scheduler's idle timeout closed it
    finally:
        try:
            if json.loads(state_path.read_text()).get("pid") == os.getpid():
                state_path.unlink()
        except (OSError, ValueError):
            pass
        cluster.close(timeout=20)
    return 0


if __name__ == "__main__":
    from ..processes import detach_if_asked

    argv = detach_if_asked(sys.argv[1:])
    sys.exit(main(argv[0], argv[1]))
