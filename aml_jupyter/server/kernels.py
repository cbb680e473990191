"""Runs that live in a kernel end with it: the server extension's side of tracking/kernel.py.

A run started in a kernel (``aml.start_run`` in a notebook, ``%aml history on``) carries its
kernel's id, process and host. The extension then ends it:

- ``cancelled`` when its kernel is interrupted, restarted or shut down through this server
  (Jupyter's kernel action events);
- ``failed`` ("the kernel died") when its kernel dies (the kernel manager's restarter), or when
  its kernel process on this host is gone for longer than a short grace, whoever ran it;
- at server start, runs still ``running`` whose kernel process is gone are ended ``failed``
  (reconciled: the server, or the machine, stopped under them).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

from ..entities.lifecycle import RunEvent
from ..processes import pid_alive

KERNEL_ACTIONS = "https://events.jupyter.org/jupyter_server/kernel_actions/v1"
GRACE_S = 1.5  # a process seen gone this long, and no shutdown or restart explains it: it died


def kernel_runs(ws: Any, kernel_id: str | None = None) -> list[dict[str, Any]]:
    """Running runs started in a kernel (``kernel_id``'s only, when given): pk, id, kernel, pid, host.

    Example:
        >>> kernel_runs(ws, "5d2c...")  # doctest: +SKIP
        [{'pk': 7, 'id': '3f2a...', 'kernel_id': '5d2c...', 'pid': 4242, 'host': 'box'}]
    """
    from ..services import runs as run_service

    rows = run_service.kernel_runs(ws, kernel_id)
    return [
        {"pk": pk, "id": rid, "kernel_id": k, "pid": int(p) if p and p.isdigit() else None, "host": h}
        for pk, rid, k, p, h in rows
    ]


def end_runs(ws: Any, runs: list[dict[str, Any]], event: RunEvent, cause: str) -> list[str]:
    """End these runs (those already ended by someone else are left as they are); their ids."""
    from ..services import runs as run_service

    return [run["id"] for run in runs if run_service.end(ws, run["pk"], event, cause)[1]]


def orphans(ws: Any) -> list[dict[str, Any]]:
    """Kernel runs of this host whose kernel process is gone.

    Example:
        >>> [r["id"] for r in orphans(ws)]  # doctest: +SKIP
        []
    """
    here = socket.gethostname()
    return [r for r in kernel_runs(ws) if r["host"] == here and r["pid"] is not None and not pid_alive(r["pid"])]


class KernelRunWatcher:
    """Ends kernel runs as their kernels end; started by the extension with its server.

    Example:
        >>> KernelRunWatcher(ws, serverapp).start()  # doctest: +SKIP
    """

    def __init__(self, ws: Any, serverapp: Any, every: float = 1.0) -> None:
        self.ws = ws
        self.serverapp = serverapp
        self.every = every
        self.explained: dict[str, float] = {}  # kernel id -> when this server ended or restarted it
        self.gone_since: dict[str, float] = {}  # run id -> when its process was first seen gone
        self.log = serverapp.log

    def start(self) -> None:
        from tornado.ioloop import PeriodicCallback

        ended = end_runs(
            self.ws, orphans(self.ws), RunEvent.FAIL, "its kernel was gone when the Jupyter server started"
        )
        if ended:
            self.log.info("aml: ended %d run(s) whose kernel had gone: %s", len(ended), ", ".join(i[:8] for i in ended))
        self.serverapp.event_logger.add_listener(schema_id=KERNEL_ACTIONS, listener=self._on_action)
        self._timer = PeriodicCallback(self._check, self.every * 1000)
        self._timer.start()

    async def _on_action(self, logger: Any, schema_id: str, data: dict[str, Any]) -> None:
        action, kernel_id = data.get("action"), data.get("kernel_id")
        if not kernel_id or data.get("status") != "success":
            return
        if action == "start":
            self._watch_restarts(kernel_id)
            return
        if action not in ("interrupt", "restart", "shutdown"):
            return
        if action == "restart" and self.explained.pop(f"died:{kernel_id}", None):
            return  # the restarter's own restart after a death: those runs already failed
        if action != "interrupt":
            self.explained[kernel_id] = time.monotonic()
        runs = await asyncio.to_thread(kernel_runs, self.ws, kernel_id)
        verb = {"interrupt": "interrupted", "restart": "restarted", "shutdown": "shut down"}[action]
        await asyncio.to_thread(end_runs, self.ws, runs, RunEvent.CANCEL, f"its kernel was {verb}")

    def _watch_restarts(self, kernel_id: str) -> None:
        # The restarter fires "restart" when the kernel died and it starts a new one, "dead" when it
        # gives up: both mean the runs in the old process died with it.
        try:
            km = self.serverapp.kernel_manager.get_kernel(kernel_id)
        except KeyError:
            return

        def died() -> None:
            self.explained[f"died:{kernel_id}"] = time.monotonic()
            end_runs(self.ws, kernel_runs(self.ws, kernel_id), RunEvent.FAIL, "its kernel died")

        km.add_restart_callback(died, "restart")
        km.add_restart_callback(died, "dead")

    async def _check(self) -> None:
        now = time.monotonic()
        gone = await asyncio.to_thread(orphans, self.ws)
        late = []
        for run in gone:
            first = self.gone_since.setdefault(run["id"], now)
            explained = self.explained.get(run["kernel_id"])
            if explained is not None and now - explained < 30:
                continue  # shut down or restarted here: cancelled by the event
            if now - first >= GRACE_S:
                late.append(run)
        self.gone_since = {k: v for k, v in self.gone_since.items() if any(r["id"] == k for r in gone)}
        if late:
            await asyncio.to_thread(end_runs, self.ws, late, RunEvent.FAIL, "its kernel died")
