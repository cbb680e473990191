"""The websocket of run events, ``{base_url}aml/api/v1/events``: status changes of every run, and
the new lines of the runs a client follows.

Server to client, one JSON object a message::

    {"type": "status", "run_id": "...", "status": "running", "error": null}
    {"type": "log", "run_id": "...", "lines": ["epoch 3 ..."]}

Client to server: ``{"follow": RUN_ID}`` (its stdout from the start, then as it grows) and
``{"unfollow": RUN_ID}``. Opening it needs the ``read`` action, like every read route.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async
from tornado import web
from tornado.ioloop import PeriodicCallback
from tornado.websocket import WebSocketClosedError, WebSocketHandler

from ..entities.lifecycle import is_live

POLL_S = 0.5
MAX_FOLLOWED = 20


def changed_runs(ws: Any, since_ms: int) -> list[tuple[str, str, str | None]]:
    """(id, status, error) of runs that are live, or that ended or started since ``since_ms``.

    Example:
        >>> changed_runs(ws, 0)  # doctest: +SKIP
        [('3f2a...', 'completed', None)]
    """
    from ..services.runs import changed_since

    return changed_since(ws, since_ms)


class AmlEventsHandler(WebSocketMixin, WebSocketHandler, ExtensionHandlerMixin, JupyterHandler):
    """One client's stream of run events."""

    auth_resource = "aml"

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        allowed = await ensure_async(self.authorizer.is_authorized(self, self.current_user, "read", "aml:runs"))
        if not allowed:
            raise web.HTTPError(403, "reading run events needs a role that allows read")
        if self.settings.get("aml_workspace") is None:
            raise web.HTTPError(503, self.settings.get("aml_workspace_error", "no workspace"))
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        super().open()
        self.ws_ = self.settings["aml_workspace"]
        self.known: dict[str, tuple[str, str | None]] = {}
        self.followed: dict[str, int] = {}  # run id -> characters of its stdout already sent
        self.since = int(time.time() * 1000) - 60_000
        self.first = True
        self.timer = PeriodicCallback(self._poll, POLL_S * 1000)
        self.timer.start()

    def on_message(self, message: str | bytes) -> None:
        try:
            request = json.loads(message)
        except ValueError:
            self._send({"type": "error", "error": "messages are JSON objects"})
            return
        if not isinstance(request, dict):
            self._send({"type": "error", "error": "messages are JSON objects"})
        elif isinstance(request.get("follow"), str):
            if len(self.followed) >= MAX_FOLLOWED:
                self._send({"type": "error", "error": f"at most {MAX_FOLLOWED} runs followed at once"})
            else:
                self.followed.setdefault(request["follow"], 0)
        elif isinstance(request.get("unfollow"), str):
            self.followed.pop(request["unfollow"], None)
        else:
            self._send({"type": "error", "error": 'send {"follow": RUN_ID} or {"unfollow": RUN_ID}'})

    def on_close(self) -> None:
        self.timer.stop()

    def _send(self, event: dict[str, Any]) -> None:
        try:
            self.write_message(json.dumps(event))
        except WebSocketClosedError:
            self.timer.stop()

    async def _poll(self) -> None:
        now = int(time.time() * 1000)
        rows = await asyncio.to_thread(changed_runs, self.ws_, self.since)
        self.since = now - 2_000  # overlap: a run that ends between two polls is never missed
        for run_id, status, error in rows:
            if self.known.get(run_id) != (status, error):
                self.known[run_id] = (status, error)
                if not self.first or is_live(status):
                    self._send({"type": "status", "run_id": run_id, "status": status, "error": error})
        self.first = False
        for run_id in list(self.followed):
            lines, sent = await asyncio.to_thread(self._new_lines, run_id, self.followed[run_id])
            if run_id in self.followed:
                self.followed[run_id] = sent
            if lines:
                self._send({"type": "log", "run_id": run_id, "lines": lines})

    def _new_lines(self, run_id: str, sent: int) -> tuple[list[str], int]:
        from ..errors import NotFound
        from ..services.jobs import read_log
        from ..services.runs import get

        try:
            text = read_log(self.ws_, get(self.ws_, run_id), "stdout")
        except NotFound:
            return [f"no run {run_id}"], sent
        complete = text[: text.rfind("\n") + 1]  # whole lines only; the rest comes next time
        return complete[sent:].splitlines(), max(sent, len(complete))
