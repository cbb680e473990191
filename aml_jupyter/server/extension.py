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
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.application import ExtensionApp
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import ensure_async
from tornado import web
from traitlets import Unicode

from ..services.runs import upload_folder
from .api import TrackingAPI
from .calls import Caller, Upload, body_limit, error
from .mlflow.wire import mlflow_error
from .routes import MLFLOW, match

PREFIX = "/api/v1/"
# A body over its limit, up to this many times the limit (and at least 256 MiB), is let through
# unkept before the 413 is said; a larger one is cut off.
DRAIN, DRAIN_AT_LEAST = 4, 256 << 20


@web.stream_request_body
class AmlApiHandler(ExtensionHandlerMixin, APIHandler):
    """Every route of the API: authenticated, authorized by its action and checked against its
    body limit in ``prepare()``, before one byte of the body is read; then the body arrives in
    chunks (an artifact's straight into a staged file, hashed on the way) and the TrackingAPI answers.
    """

    auth_resource = "aml"
    _refused = False
    _too_large = False

    def _api(self) -> TrackingAPI | None:
        api: TrackingAPI | None = self.settings.get("aml_api")
        return api

    def _fail(self, status: int, message: str, kind: str) -> None:
        # Said in JSON, as aml server says it (in MLflow's words on MLflow's routes); the unread
        # body closes the connection.
        self._answer(error(status, message, kind))

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if self._finished:  # Jupyter refused it (login, host, XSRF)
            return
        if self.current_user is None:
            raise web.HTTPError(403)
        self._parts: list[bytes] = []
        self._size = 0
        self._sink: Any = None
        self._route: Any = None
        api = self._api()
        if api is None:
            return self._fail(503, self.settings.get("aml_workspace_error", "no workspace"), "NoWorkspace")
        method = self.request.method or "GET"
        # The path as sent, still percent-encoded, as aml server hands it over: the handlers decode
        # names once (tornado's own decoding of ``rest`` would make that twice).
        raw = self.request.path
        if "/aml/mlflow/" in raw:  # MLflow's API for its clients: {base_url}aml/mlflow/api/2.0/...
            self._path = "/mlflow/" + raw[raw.index("/aml/mlflow/") + len("/aml/mlflow/") :]
        else:
            self._path = PREFIX + raw[raw.index("/aml/api/v1/") + len("/aml/api/v1/") :]
        if method == "PATCH" and not self._path.startswith(MLFLOW):
            raise web.HTTPError(405)  # PATCH is MLflow's (its logged models), never aml's own API's
        route, _, _ = match(method, self._path)
        self._route = route
        self._caller = Caller(self.current_user.username, self.request.remote_ip)
        self._limit = body_limit(route)
        if route is None:
            return
        allowed = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, route.action, route.resource)
        )
        if not allowed:
            await asyncio.to_thread(api.audit, self._caller, route.action, method, self._path, 403)
            return self._fail(403, f"{route.action} on {route.resource} needs a role that allows it", "Forbidden")
        if route.name == "me":  # what the panels may offer: asked of this server's authorizer
            actions = [
                a
                for a in ("read", "write", "execute", "admin")
                if await ensure_async(self.authorizer.is_authorized(self, self.current_user, a, "aml"))
            ]
            self._caller = Caller(self._caller.user, self._caller.address, frozenset(actions))
        declared = self.request.headers.get("Content-Length")
        if declared is not None and not declared.strip().isdigit():
            return self._fail(400, "the body needs a Content-Length of whole bytes", "BadRequest")
        if declared is not None and int(declared) > self._limit:
            await asyncio.to_thread(api.audit, self._caller, route.action, method, self._path, 413)
            if int(declared) > self._drain():  # too much even to let pass: cut off now
                return self._fail(413, f"the body may hold at most {self._limit} bytes", "TooLarge")
            # An HTTP client reads the answer once it has sent its body: it is let through,
            # kept nowhere, so that the client reads the 413 rather than a reset connection.
            self._too_large = True
        self.request.connection.set_max_body_size(self._drain() + 1)  # type: ignore[union-attr]
        if route.upload:
            refused = await asyncio.to_thread(api.precheck_upload, self._path, self.request.query)
            if refused is not None:
                await asyncio.to_thread(api.audit, self._caller, route.action, method, self._path, refused.status)
                return self._answer(refused)
            self._sink = _Staged(upload_folder(api.ws))

    def _drain(self) -> int:
        return max(DRAIN * self._limit, DRAIN_AT_LEAST)

    def data_received(self, chunk: bytes) -> None:
        if self._refused:
            return
        self._size += len(chunk)
        if self._size > self._limit and not self._too_large:
            self._too_large = True
            self._parts = []
            if self._sink is not None:
                self._sink.abandon()
                self._sink = None
        if self._too_large:
            if self._size > self._drain():
                self._fail(413, f"the body may hold at most {self._limit} bytes", "TooLarge")
            return
        if self._sink is not None:
            self._sink.write(chunk)
        else:
            self._parts.append(chunk)

    def on_finish(self) -> None:
        if getattr(self, "_sink", None) is not None:
            self._sink.abandon()  # adopted by the store already, or never to be

    async def _serve(self, rest: str) -> None:
        if self._refused or self._finished:
            return
        if self._too_large:
            return self._fail(413, f"the body may hold at most {self._limit} bytes", "TooLarge")
        api = self._api()
        assert api is not None
        upload = None
        if self._sink is not None:
            upload = Upload(*self._sink.done())
        query = self.request.query
        started = time.perf_counter()
        response = await asyncio.to_thread(
            api.dispatch, self.request.method or "GET", self._path, query, b"".join(self._parts), self._caller, upload
        )
        self.set_header("Server-Timing", f"app;dur={(time.perf_counter() - started) * 1000:.2f}")
        await self._send(response)

    def _answer(self, response: Any) -> None:
        if getattr(self, "_path", "").startswith(MLFLOW):
            response = mlflow_error(response)
        self._refused = True
        self.set_status(response.status)
        self.set_header("Content-Type", response.content_type)
        self.set_header("Connection", "close")
        self.finish(response.body, set_content_type=response.content_type)

    async def _send(self, response: Any) -> None:
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

    @web.authenticated
    async def patch(self, rest: str) -> None:  # MLflow's logged-model routes
        await self._serve(rest)


class _Staged:
    """An artifact's body written to a file beside the artifact store as it arrives, hashed on the way."""

    def __init__(self, folder: Any) -> None:
        import hashlib
        import tempfile

        fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-upload-")
        self.path = Path(name)
        self.out = os.fdopen(fd, "wb")
        self.hash = hashlib.sha256()
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.hash.update(chunk)
        self.out.write(chunk)
        self.size += len(chunk)

    def done(self) -> tuple[Path, str, int]:
        self.out.close()
        return self.path, self.hash.hexdigest(), self.size

    def abandon(self) -> None:
        self.out.close()
        self.path.unlink(missing_ok=True)


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
        # The server's kernels log into the workspace it serves, not one the caller's shell named.
        os.environ["AML_WORKSPACE"] = str(ws.root)
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
        self.handlers.append((r"/aml/mlflow/(.*)", AmlApiHandler))


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    return [{"module": "aml_jupyter.server.extension", "app": AmlExtension}]
