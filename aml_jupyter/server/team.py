"""``aml server``: the team tracking server, the REST API on Starlette and uvicorn.

The same route table and handlers as the Jupyter extension (:class:`~aml_jupyter.server.api.TrackingAPI`),
the same roles, groups and audit log (:mod:`aml_jupyter.services.access`). Callers present a
bearer token: one made by ``aml tokens create`` names its user, whose role decides what they may
do; the server's own token (``--token`` / ``$AML_SERVER_TOKEN``), which remote jobs of a compute
target carry, acts as an owner.

A request is answered in this order, so that nobody without a token costs the server more than
its headers: the token, the route, the caller's role, the declared ``Content-Length`` against the
route's limit, and only then the body, read under a deadline (a client that stops sending is cut
off with a 408). Artifact uploads are streamed to a file next to the artifact store and hashed on
the way (constant memory, whatever their size), downloads are streamed from the file; JSON answers
are gzipped for clients that take it. ``GET /health`` (no token) says whether the store answers;
``GET /metrics`` (any valid token) gives Prometheus figures (server/telemetry.py).
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import os
import queue
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import FileResponse
from starlette.responses import Response as HTTPResponse
from starlette.routing import Route

from ..errors import AmlError, InvalidInput
from ..services import access, stores
from ..services.runs import upload_folder
from ..workspace import Workspace
from . import telemetry
from .api import TrackingAPI
from .calls import MAX_JSON_BYTES, Caller, Response, Upload, error
from .connections import GuardedHttpToolsProtocol
from .mlflow.wire import mlflow_error
from .routes import MLFLOW, match

READ_TIMEOUT_S = 30.0  # a body that stops arriving for this long ends its connection
MAX_UPLOAD_BYTES = 1 << 40  # streamed to disk, so the disk is the limit rather than memory
GZIP_MIN_BYTES = 1024
ROLE_TTL_S = 2.0  # roles change rarely; a change is seen within this many seconds
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
SERVER_USER = "token"  # the audit log's name for the server's own token
UNAUTHORIZED = "missing or wrong token (Authorization: Bearer TOKEN)"


class TeamServer:
    """The ASGI application of one workspace (``.app``), and what it keeps between requests.

    Example:
        >>> server = TeamServer(ws, token="s3cret")  # doctest: +SKIP
        >>> handle = start_in_thread(server.app)  # doctest: +SKIP
    """

    def __init__(
        self,
        ws: Workspace,
        token: str | None = None,
        default_role: str | None = "reader",
        read_timeout: float = READ_TIMEOUT_S,
        max_upload: int = MAX_UPLOAD_BYTES,
        role_ttl: float = ROLE_TTL_S,
    ) -> None:
        if token is not None and not token:
            raise InvalidInput("the server's token may not be empty")
        if default_role not in (*access.ROLES, None, ""):
            raise InvalidInput(f"--default-role must be one of {', '.join(access.ROLES)} or empty")
        self.ws = ws
        self.token = token
        self.default_role = default_role or None
        self.read_timeout = read_timeout
        self.max_upload = max_upload
        self.role_ttl = role_ttl
        self.api = TrackingAPI(ws)
        self._roles: dict[str, tuple[float, str | None]] = {}
        self.app = Starlette(
            routes=[
                Route("/health", self.health, methods=["GET", "HEAD"]),
                Route("/metrics", self.metrics, methods=["GET"]),
                Route("/api/v1/{rest:path}", self.endpoint, methods=METHODS),
                Route("/mlflow/{rest:path}", self.endpoint, methods=METHODS),  # MLflow's API, for its clients
            ]
        )

    # who is calling --------------------------------------------------------------------------

    def _role(self, principal: access.Principal) -> str | None:
        if principal.token_id is None:
            return "owner"  # the server's own token
        now = time.monotonic()
        cached = self._roles.get(principal.user)
        if cached is not None and now - cached[0] < self.role_ttl:
            return cached[1]
        role = access.role_of(self.ws, principal.user, self.default_role)
        self._roles[principal.user] = (now, role)
        return role

    def _is_server_token(self, header: str) -> bool:
        scheme, _, given = header.partition(" ")
        return (
            self.token is not None
            and scheme.lower() == "bearer"
            and hmac.compare_digest(given.strip().encode(), self.token.encode())
        )

    def _authenticate(
        self, header: str, path: str, method: str = "GET"
    ) -> tuple[access.Principal | None, str | None, str]:
        # (principal, role, refusal): a thread's work, as it reads the store.
        scheme, _, given = header.partition(" ")
        given = given.strip()
        if scheme.lower() != "bearer" or not given:
            return None, None, UNAUTHORIZED
        if self.token is not None and hmac.compare_digest(given.encode(), self.token.encode()):
            return access.Principal(SERVER_USER), "owner", ""
        try:
            principal = access.authenticate(self.ws, given)
        except access.TokenRefused as refused:
            run = _run_in(path) if method in ("POST", "PUT") else None
            if run:  # a job still writing with it: its run ends, saying why, instead of hanging live
                access.end_run_of_refused_token(self.ws, run, refused)
            route, _, _ = match(method, path)
            if route is not None and route.action != "read":  # a known token's write: audited, refused
                who = Caller(str(refused.token["user"]), None, token_id=str(refused.token["id"]))
                self.api.audit(who, route.action, method, path, 401)
            return None, None, str(refused)
        if principal is None:
            return None, None, UNAUTHORIZED
        return principal, access.scoped_role(principal, self._role(principal)), ""

    # endpoints -------------------------------------------------------------------------------

    async def health(self, request: Request) -> HTTPResponse:
        """Liveness and readiness: 200 when the store answers, else 503 (no token needed)."""
        try:
            await asyncio.to_thread(stores.ping, self.ws)
        except (AmlError, OSError) as exc:
            return _json(503, {"ok": False, "error": f"the store does not answer ({type(exc).__name__})"})
        return _json(200, {"ok": True})

    async def metrics(self, request: Request) -> HTTPResponse:
        """Prometheus figures, summed over the workers; any valid token may read them."""
        principal, _, refusal = await asyncio.to_thread(
            self._authenticate, request.headers.get("authorization", ""), "/metrics"
        )
        if principal is None:
            return _to_http(error(401, refusal, "Unauthorized"), close=True)
        body, kind = telemetry.exposition()
        return HTTPResponse(body, 200, media_type=kind)

    async def endpoint(self, request: Request) -> HTTPResponse:
        """Every route of the API: token, route, role, length, then the body and the handler."""
        started = time.perf_counter()
        method = request.method
        raw = request.scope.get("raw_path")
        path = raw.decode("latin-1").partition("?")[0] if raw else quote(request.url.path)
        route, _, _ = match(method, path)
        label = route.path if route is not None else "unknown"
        response, close = await self._answer(request, method, path, route)
        if path.startswith(MLFLOW):  # refusals made here too, in MLflow's words
            response = mlflow_error(response)
        http = _to_http(response, close, request.headers.get("accept-encoding", ""))
        elapsed = time.perf_counter() - started
        http.headers["Server-Timing"] = f"app;dur={elapsed * 1000:.2f}"
        telemetry.observe(method, label, response.status, elapsed)
        return http

    async def _answer(self, request: Request, method: str, path: str, route: Any) -> tuple[Response, bool]:
        header = request.headers.get("authorization", "")
        principal: access.Principal | None
        role: str | None
        if self._is_server_token(header):  # a job's own token: no store to read, no thread to wait for
            principal, role, refusal = access.Principal(SERVER_USER), "owner", ""
        else:
            principal, role, refusal = await asyncio.to_thread(self._authenticate, header, path, method)
        if principal is None:
            return error(401, refusal, "Unauthorized"), True
        actions = frozenset(a for a in ("read", "write", "execute", "admin") if access.allows(role, a))
        caller = Caller(
            principal.user,
            request.client.host if request.client else None,
            actions,
            token_id=principal.token_id,
            run_id=principal.run_id,
            server=principal.token_id is None,
        )
        query = request.url.query
        if not access.scope_allows(principal, method, path):
            await asyncio.to_thread(self.api.audit, caller, route.action if route else "read", method, path, 403)
            return error(403, "this token is scoped to its job's run and may touch nothing else", "Forbidden"), True
        if route is None:  # 404 or 405, said without reading a body
            answer = await asyncio.to_thread(self.api.dispatch, method, path, query, b"", caller)
            return answer, True
        if not access.allows(role, route.action):
            await asyncio.to_thread(self.api.audit, caller, route.action, method, path, 403)
            return error(403, f"{route.action} on {route.resource} needs a role that allows it", "Forbidden"), True
        limit = self.max_upload if route.upload else MAX_JSON_BYTES
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.strip().isdigit() or len(declared.strip()) > 19):
            return error(400, "the body needs a Content-Length of whole bytes", "BadRequest"), True
        if declared is not None and int(declared) > limit:
            await asyncio.to_thread(self.api.audit, caller, route.action, method, path, 413)
            return error(413, f"the body may hold at most {limit} bytes", "TooLarge"), True
        if route.upload:
            return await self._upload(request, method, path, query, caller, limit)
        body = await self._read(request, limit)
        if isinstance(body, Response):
            return body, True
        answer = await asyncio.to_thread(self.api.dispatch, method, path, query, body, caller)
        if route.name == "log_metrics" and answer.status == 200:
            telemetry.count_points(int(json.loads(answer.body).get("written", 0)))
        return answer, False

    async def _pump(self, request: Request, sink: Any) -> None:
        # Each chunk to ``sink``; TimeoutError once the body stops arriving for read_timeout
        # seconds (one deadline pushed forward per chunk: no task or timer made per chunk).
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.read_timeout) as deadline:
            async for chunk in request.stream():
                wait = sink(chunk)
                if wait is not None:  # the sink is behind (a slow disk): wait for it off the loop
                    await wait
                deadline.reschedule(loop.time() + self.read_timeout)

    async def _read(self, request: Request, limit: int) -> bytes | Response:
        parts: list[bytes] = []
        size = 0

        def keep(chunk: bytes) -> None:
            nonlocal size
            size += len(chunk)
            if size > limit:
                raise _TooLarge
            parts.append(chunk)

        try:
            await self._pump(request, keep)
        except _TooLarge:
            return error(413, f"the body may hold at most {limit} bytes", "TooLarge")
        except TimeoutError:
            return error(408, f"the body stopped arriving for {self.read_timeout:g} s", "Timeout")
        except ClientDisconnect:
            return error(400, "the client went away before sending its body", "BadRequest")
        return b"".join(parts)

    async def _upload(
        self, request: Request, method: str, path: str, query: str, caller: Caller, limit: int
    ) -> tuple[Response, bool]:
        refused = await asyncio.to_thread(self.api.precheck_upload, path, query)
        if refused is not None:
            await asyncio.to_thread(self.api.audit, caller, "write", method, path, refused.status)
            return refused, True
        folder = await asyncio.to_thread(upload_folder, self.ws)
        fd, name = tempfile.mkstemp(dir=folder, prefix=".tmp-upload-")
        staged = Path(name)
        sink = _StagedFile(fd, limit)
        try:
            try:
                await self._pump(request, sink.put)
                digest, size = await asyncio.to_thread(sink.close)
            except _TooLarge:
                await asyncio.to_thread(self.api.audit, caller, "write", method, path, 413)
                return error(413, f"the body may hold at most {limit} bytes", "TooLarge"), True
            except TimeoutError:
                return error(408, f"the body stopped arriving for {self.read_timeout:g} s", "Timeout"), True
            except ClientDisconnect:
                return error(400, "the client went away before the upload ended", "BadRequest"), True
            except OSError as exc:  # a full disk: the server's fault, said in JSON
                return error(500, f"the server could not store the upload: {exc.strerror or exc}", "OSError"), True
            finally:
                sink.abandon()
            telemetry.count_bytes("in", size)
            upload = Upload(staged, digest, size)
            answer = await asyncio.to_thread(self.api.dispatch, method, path, query, b"", caller, upload)
            return answer, False
        finally:
            staged.unlink(missing_ok=True)  # adopted files are gone already; anything else goes


class _TooLarge(Exception):
    pass


class _StagedFile:
    """An upload's body on its way to a file: the event loop hands chunks over, a thread hashes
    and writes them (both let go of the GIL), so receiving, hashing and writing overlap. At most
    ``QUEUED`` chunks wait: memory stays flat however large the upload."""

    QUEUED = 32

    def __init__(self, fd: int, limit: int) -> None:
        self.out = os.fdopen(fd, "wb", buffering=0)
        self.limit = limit
        self.size = 0
        self.hash = hashlib.sha256()
        self.chunks: queue.Queue[bytes | None] = queue.Queue(self.QUEUED)
        self.failed: BaseException | None = None
        self.thread = threading.Thread(target=self._drain, daemon=True, name="aml-upload-writer")
        self.thread.start()

    def _drain(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.failed is None:
                try:
                    self.hash.update(chunk)
                    view = memoryview(chunk)
                    while view:  # a raw file may take less than it is given
                        written = self.out.write(view)
                        if not written:
                            raise OSError("the staging file took no bytes")
                        view = view[written:]
                except BaseException as exc:  # noqa: BLE001 - a full disk: said when the upload ends
                    self.failed = exc

    def put(self, chunk: bytes) -> Any:
        self.size += len(chunk)
        if self.size > self.limit:
            raise _TooLarge
        if self.failed is not None:
            raise self.failed
        try:
            self.chunks.put_nowait(chunk)
        except queue.Full:  # the disk is QUEUED chunks behind: the caller awaits room
            return asyncio.to_thread(self.chunks.put, chunk)
        return None

    def close(self) -> tuple[str, int]:
        self.chunks.put(None)
        self.thread.join()
        self.out.close()
        if self.failed is not None:
            raise self.failed
        return self.hash.hexdigest(), self.size

    def abandon(self) -> None:
        if self.thread.is_alive():
            self.chunks.put(None)
            self.thread.join()
        self.out.close()


class _FileResponse(FileResponse):
    chunk_size = 1 << 20  # a megabyte per read: Starlette's 64 KiB makes downloads CPU-bound


def _run_in(path: str) -> str | None:
    # The run a path names (/api/v1/runs/RUN/...), for ending a job whose token was revoked.
    parts = path.split("/")
    if len(parts) > 4 and parts[3] == "runs":
        return parts[4]
    return None


def _json(status: int, value: Any) -> HTTPResponse:
    return HTTPResponse(json.dumps(value).encode(), status, media_type="application/json")


def _to_http(response: Response, close: bool = False, accept: str = "") -> HTTPResponse:
    headers = dict(response.headers)
    headers["X-Content-Type-Options"] = "nosniff"
    if response.content_type != "application/json" and "Content-Disposition" not in headers:
        headers["Content-Disposition"] = "attachment"  # artifact bytes: never rendered by a browser
    if close:  # the body was not read: the connection cannot carry another request
        headers["Connection"] = "close"
    if response.file is not None:
        telemetry.count_bytes("out", response.file.stat().st_size)
        return _FileResponse(response.file, response.status, headers, media_type=response.content_type)
    body = response.body
    if response.content_type == "application/json" and len(body) >= GZIP_MIN_BYTES and "gzip" in accept.lower():
        body = gzip.compress(body, 5)
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    return HTTPResponse(body, response.status, headers, media_type=response.content_type)


# running it ------------------------------------------------------------------------------------


class ServerHandle:
    """A uvicorn server running in a thread of this process (tests, benchmarks, notebooks).

    Example:
        >>> handle = start_in_thread(TeamServer(ws, token="t").app)  # doctest: +SKIP
        >>> handle.url  # doctest: +SKIP
        'http://127.0.0.1:40123'
        >>> handle.stop()  # doctest: +SKIP
    """

    def __init__(self, server: Any, thread: threading.Thread, url: str) -> None:
        self.server, self.thread, self.url = server, thread, url
        self.port = int(url.rsplit(":", 1)[1])

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def start_in_thread(app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> ServerHandle:
    """Start ``app`` on uvicorn in a daemon thread; returns once it accepts connections.

    Example:
        >>> handle = start_in_thread(TeamServer(ws, token="t").app)  # doctest: +SKIP
    """
    import uvicorn

    from .connections import protocol

    options.setdefault("http", protocol())
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", access_log=False, lifespan="off", **options)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True, name="aml-team-server")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise AmlError(f"the server did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    scheme = "https" if options.get("ssl_certfile") else "http"
    return ServerHandle(server, thread, f"{scheme}://{host}:{bound}")


def app_from_environment() -> Any:
    """The application for a uvicorn worker process (``--workers N``): the workspace and settings
    come from the environment ``aml server`` set before starting its workers.

    Example:
        >>> app_from_environment()  # doctest: +SKIP
    """
    ws = Workspace.open(os.environ["AML_SERVER_WORKSPACE"])
    return TeamServer(
        ws,
        token=os.environ.get("AML_SERVER_TOKEN") or None,
        default_role=os.environ.get("AML_SERVER_DEFAULT_ROLE", "reader"),
    ).app


def _free_port(host: str) -> int:
    import socket

    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def serve(
    ws: Workspace,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    workers: int = 1,
    certfile: str | None = None,
    keyfile: str | None = None,
    default_role: str = "reader",
) -> None:
    """Serve until interrupted, printing the address; the server's own token is printed only when
    this call made it (a token given on the command line or in the environment is the caller's).

    Example:
        >>> serve(Workspace.open("."), port=8765, workers=4)  # doctest: +SKIP
    """
    import uvicorn

    if workers < 1 or workers > 64:
        raise InvalidInput("--workers must be from 1 to 64")
    if bool(certfile) != bool(keyfile):
        raise InvalidInput("TLS needs both --certfile and --keyfile")
    for f in (certfile, keyfile):
        if f and not Path(f).is_file():
            raise InvalidInput(f"{f}: no such file")
    made = token is None
    token = token or secrets.token_urlsafe(24)
    app = TeamServer(ws, token=token, default_role=default_role)  # settings checked before anything starts
    port = port or _free_port(host)
    scheme = "https" if certfile else "http"
    address = f"{scheme}://{host}:{port}"
    print(f"aml tracking server for workspace {ws.name!r} at {address} ({workers} worker(s))", flush=True)
    # Jobs get a token of their own run (services/access.py), never this one: it is an owner's.
    print(f"jobs log here with AML_TRACKING_URI={address} (each with a token scoped to its run)", flush=True)
    if made:
        print(f"the server's own (owner) token, shown only now: {token}", flush=True)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_level": "warning",
        "access_log": False,
        "lifespan": "off",
        "timeout_keep_alive": 30,
        "ssl_certfile": certfile,
        "ssl_keyfile": keyfile,
        "http": GuardedHttpToolsProtocol,  # a deadline for headers, a cap of connections per client
    }
    try:
        if workers == 1:
            uvicorn.run(app.app, **options)
        else:
            with tempfile.TemporaryDirectory(prefix="aml-server-metrics-") as shared:
                os.environ.update(
                    AML_SERVER_WORKSPACE=str(ws.root),
                    AML_SERVER_TOKEN=token,
                    AML_SERVER_DEFAULT_ROLE=default_role,
                    PROMETHEUS_MULTIPROC_DIR=shared,
                )
                ws.close()  # each worker opens its own connections
                uvicorn.run("aml_jupyter.server.team:app_from_environment", factory=True, workers=workers, **options)
    except KeyboardInterrupt:
        pass
    finally:
        print("aml tracking server stopped", file=sys.stderr)
