"""Reaching the Dask cluster of a ``dask`` target.

With ``address`` set, the target connects to that scheduler. Without one it uses the workspace's
**embedded cluster**: a daemon process (``python -m aml_jupyter.compute.dask_daemon``) that holds
a ``LocalCluster`` (or a ``dask_cuda.LocalCUDACluster`` with ``gpu = true``). Whichever needs it
first (the kernel running ``%%aml run``, the ``aml`` command, a job's supervisor, the server
extension) starts it; all of them then share it through ``.aml/dask/cluster-KEY.json`` (address
and pid). KEY names the Python environment: kernels of two environments each get a cluster of
their own, since a worker runs the code of whoever submits it. It shuts itself down after
``idle_timeout`` seconds without tasks (600 by default); ``aml cluster stop`` stops it at once.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import TargetUnavailable
from ..processes import pid_alive, start_detached
from .user_env import aml_environment

if TYPE_CHECKING:
    from ..workspace import Workspace
    from .targets import Target

CONNECT_TIMEOUT_S = 3.0
START_TIMEOUT_S = 90.0
_clients: dict[str, Any] = {}
_lock = threading.Lock()


def environment_key() -> str:
    """A short name for this Python environment (its ``sys.prefix``), for the cluster file.

    Example:
        >>> len(environment_key())
        12
    """
    import hashlib

    return hashlib.sha256(os.path.realpath(sys.prefix).encode()).hexdigest()[:12]


def state_file(ws: Workspace | Path) -> Path:
    """Where the embedded cluster of this Python environment writes its address and pid.

    Example:
        >>> state_file(Path("/p")).name.startswith("cluster-")
        True
    """
    root = ws.root if not isinstance(ws, Path) else ws
    return root / ".aml" / "dask" / f"cluster-{environment_key()}.json"


def embedded_state(ws: Workspace) -> dict[str, Any] | None:
    """The running embedded cluster's ``{"address", "pid", ...}``, or None if none is alive.

    Example:
        >>> embedded_state(ws) is None  # doctest: +SKIP
        True
    """
    try:
        state = json.loads(state_file(ws).read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if state.get("address") else None


def _say(line: str) -> None:
    print(f"aml: {line}", file=sys.stderr, flush=True)


def _start_daemon(ws: Workspace, target: Target) -> dict[str, Any]:
    folder = state_file(ws).parent
    folder.mkdir(parents=True, exist_ok=True)
    lock_path = folder / "start.lock"
    import fcntl

    with open(lock_path, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two processes asking at once start one cluster
        state = embedded_state(ws)
        if state is not None:
            return state
        state_file(ws).unlink(missing_ok=True)
        settings = json.dumps({k: v for k, v in target.settings.items() if k != "description"})
        with open(folder / "daemon.log", "ab") as log:
            # It outlives the kernel or command that started it.
            # Its workers open the store themselves (so they keep its credentials), never the owner token.
            start_detached(
                "aml_jupyter.compute.dask_daemon", [str(ws.root), settings], ws.root, env=aml_environment(), log=log
            )
        # Its first start takes seconds: said as it goes (on stderr, which a notebook shows too).
        _say(f"starting the embedded Dask cluster of {ws.name!r} (first use; it is shared afterwards)")
        started = time.monotonic()
        deadline, next_word = started + START_TIMEOUT_S, started + 5
        while time.monotonic() < deadline:
            try:
                state = json.loads(state_file(ws).read_text())
            except (OSError, ValueError):
                if time.monotonic() > next_word:
                    _say(f"... still starting ({time.monotonic() - started:.0f} s; its log: {folder / 'daemon.log'})")
                    next_word += 5
                time.sleep(0.1)
                continue
            if state.get("error"):
                raise TargetUnavailable(f"target {target.name!r}: {state['error']}", target=target.name)
            _say(f"the embedded Dask cluster is up at {state.get('address')} ({time.monotonic() - started:.1f} s)")
            return dict(state)
    raise TargetUnavailable(
        f"target {target.name!r}: the embedded Dask cluster did not start within {START_TIMEOUT_S:.0f} s; "
        f"see {folder / 'daemon.log'}",
        target=target.name,
    )


def connect(ws: Workspace, target: Target) -> Any:
    """A ``distributed.Client`` for the target: its scheduler, or the embedded cluster (started if needed).

    An unreachable scheduler is a :class:`TargetUnavailable` within a few seconds.

    Example:
        >>> client = connect(ws, get_target(ws, "dask"))  # doctest: +SKIP
    """
    try:
        from distributed import Client
    except ImportError:
        raise TargetUnavailable(
            f"target {target.name!r} needs Dask: pip install 'aml_jupyter[jobs]'", target=target.name
        ) from None
    address = str(target.settings.get("address") or "")
    if not address:
        address = str(_start_daemon(ws, target)["address"])
    with _lock:
        client = _clients.get(address)
        if client is not None and client.status == "running":
            return client
        try:
            client = Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)  # type: ignore[no-untyped-call]
        except (OSError, TimeoutError) as exc:
            raise TargetUnavailable(
                f"target {target.name!r}: cannot reach the Dask scheduler at {address} ({type(exc).__name__}: {exc})",
                target=target.name,
                address=address,
            ) from None
        if not _clients:
            atexit.register(close_clients)  # jobs submitted without waiting reach the scheduler first
        _clients[address] = client
        return client


def close_clients() -> None:
    """Close this process's clients, after the scheduler has what they sent (a command that
    submitted a job without waiting calls this before it exits, or the job would be lost).

    Example:
        >>> close_clients()
    """
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.close()


def stop_embedded(ws: Workspace, timeout: float = 30.0) -> int | None:
    """Stop the workspace's embedded cluster; returns the daemon's pid, or None if none ran.

    Example:
        >>> stop_embedded(ws)  # doctest: +SKIP
        41234
    """
    state = embedded_state(ws)
    if state is None:
        return None
    pid = int(state["pid"])
    with _lock:
        client = _clients.pop(str(state["address"]), None)
    if client is not None:
        client.close()
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    else:
        os.kill(pid, signal.SIGKILL)
    state_file(ws).unlink(missing_ok=True)
    return pid


def gpu_resources(client: Any) -> int:
    """The most GPUs any one worker of the cluster offers (its ``GPU`` resource).

    Example:
        >>> gpu_resources(client)  # doctest: +SKIP
        0
    """
    workers = client.scheduler_info(n_workers=-1).get("workers", {}).values()
    return max((int(w.get("resources", {}).get("GPU", 0)) for w in workers), default=0)
