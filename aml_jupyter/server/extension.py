"""The Jupyter server extension: the aml REST API beside the notebooks, at ``{base_url}aml/api/v1/``.

Enabled on install (``jupyter_server_config.d/aml_jupyter.json``). Every request is authenticated
by Jupyter (token, cookie with its XSRF check, or JupyterHub) and then authorized for the action
its route needs (server/routes.py) by the server's authorizer (``AmlAuthorizer`` for roles);
write, execute and admin requests, refused ones included, go to the audit log. The handlers are
the same :class:`~aml_jupyter.server.api.TrackingAPI` that ``aml server`` serves.

Voila's routes, when its extension is enabled too, answer to the same authorizer
(server/voila_guard.py). Runs started in the server's kernels are ended as their kernels end
(server/kernels.py). The
workspace is ``c.AmlExtension.workspace``, else ``$AML_WORKSPACE``, else the one holding the
server's root folder.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async
from tornado import web
from traitlets import Unicode

from .api import Caller, TrackingAPI, body_limit
from .routes import match

PREFIX = "/api/v1/"


class AmlApiHandler(ExtensionHandlerMixin, APIHandler):
    """Every route of the API: authorized by its action, then answered by the TrackingAPI."""

    auth_resource = "aml"

    def _api(self) -> TrackingAPI | None:
        api: TrackingAPI | None = self.settings.get("aml_api")
        return api

    async def _serve(self, rest: str) -> None:
        api = self._api()
        if api is None:
            self.set_status(503)
            self.finish({"error": self.settings.get("aml_workspace_error", "no workspace"), "type": "NoWorkspace"})
            return
        method = self.request.method or "GET"
        # The path as sent, still percent-encoded, as aml server hands it over: the handlers decode
        # names once (tornado's own decoding of ``rest`` would make that twice).
        raw = self.request.path
        path = PREFIX + raw[raw.index("/aml/api/v1/") + len("/aml/api/v1/") :]
        route, _, _ = match(method, path)
        caller = Caller(self.current_user.username, self.request.remote_ip)
        if route is not None:
            allowed = await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, route.action, route.resource)
            )
            if not allowed:
                await asyncio.to_thread(api.audit, caller, route.action, method, path, 403)
                raise web.HTTPError(403, f"{route.action} on {route.resource} needs a role that allows it")
            if route.handler == "me":  # what the panels may offer: asked of this server's authorizer
                actions = [
                    a
                    for a in ("read", "write", "execute", "admin")
                    if await ensure_async(self.authorizer.is_authorized(self, self.current_user, a, "aml"))
                ]
                caller = Caller(caller.user, caller.address, frozenset(actions))
            limit = body_limit(route)
            if len(self.request.body or b"") > limit:
                raise web.HTTPError(413, f"the body may hold at most {limit} bytes")
        query = self.request.query
        started = time.perf_counter()
        response = await asyncio.to_thread(api.dispatch, method, path, query, self.request.body or b"", caller)
        self.set_header("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.2f}")
        self.set_status(response.status)
        self.set_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.set_header(name, value)
        if response.content_type != "application/json" and "Content-Disposition" not in response.headers:
            self.set_header("Content-Disposition", "attachment")  # bytes of artifacts: never rendered here
        self.set_header("X-Content-Type-Options", "nosniff")
        if response.file is not None:  # an artifact: sent a megabyte at a time, never read whole
            self.set_header("Content-Length", str(response.file.stat().st_size))
            with open(response.file, "rb") as f:
                while chunk := f.read(1 << 20):
                    self.write(chunk)
                    await self.flush()
            self.finish()
            return
        self.finish(response.body, set_content_type=response.content_type)

    @web.authenticated
    async def get(self, rest: str) -> None:
        await self._serve(rest)

    @web.authenticated
    async def post(self, rest: str) -> None:
        await self._serve(rest)

    @web.authenticated
    async def put(self, rest: str) -> None:
        await self._serve(rest)

    @web.authenticated
    async def delete(self, rest: str) -> None:
        await self._serve(rest)


class AmlExtension(ExtensionApp):
    """The aml extension of a Jupyter server.

    Example:
        >>> AmlExtension.name
        'aml_jupyter'
    """

    name = "aml_jupyter"
    workspace = Unicode("", config=True, help="the aml workspace folder (default: $AML_WORKSPACE, else root_dir's)")

    def initialize_settings(self) -> None:
        from ..errors import AmlError
        from ..workspace import Workspace

        server = self.serverapp
        if server is None:  # never: Jupyter makes an extension's settings once its server exists
            raise RuntimeError("the aml extension was initialized without a Jupyter server")
        where = self.workspace or os.environ.get("AML_WORKSPACE") or server.root_dir
        try:
            ws = Workspace.open(where)
        except AmlError as exc:
            self.log.warning("aml: no workspace for the REST API (%s); it answers 503 until one exists", exc)
            self.settings.update(aml_api=None, aml_workspace=None, aml_workspace_error=str(exc))
            return
        self.settings.update(aml_api=TrackingAPI(ws), aml_workspace=ws)
        self.log.info("aml: REST API for workspace %r at %saml/api/v1/", ws.name, server.base_url)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        # Every extension has added its handlers by now: Voila's go behind the authorizer
        # (server/voila_guard.py) before the first request is read.
        from .voila_guard import guard_voila

        guarded = guard_voila(serverapp.web_app)
        if guarded:
            self.log.info("aml: %d Voila route(s) answer to the server's authorizer", guarded)
        # Once the event loop runs: runs started in kernels end with their kernels (server/kernels.py).
        ws = self.settings.get("aml_workspace")
        if ws is not None:
            from .kernels import KernelRunWatcher

            self._watcher = KernelRunWatcher(ws, serverapp)
            self._watcher.start()

    def initialize_handlers(self) -> None:
        from .events import AmlEventsHandler

        # The websocket first: its path would otherwise be one of the API's.
        self.handlers.append((r"/aml/api/v1/events", AmlEventsHandler))
        self.handlers.append((r"/aml/api/v1/(.*)", AmlApiHandler))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "aml_jupyter.server.extension", "app": AmlExtension}]
