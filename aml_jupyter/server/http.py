"""``aml server``: the tracking API over HTTP, with the standard library's threading server.

For workers that cannot reach the workspace file: a job whose ``AML_TRACKING_URI`` is
``http://HOST:PORT`` (and ``AML_TRACKING_TOKEN`` the token) logs through this server.

A request is answered in this order, so that nobody without the token costs the server more than
its headers: the token, the route, the declared ``Content-Length`` against that route's limit, and
only then the body, read under a deadline (a client that sends less than it declared is cut off).
"""

from __future__ import annotations

import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..workspace import Workspace
from .api import Response, TrackingAPI, _error, body_limit
from .routes import match

READ_TIMEOUT_S = 30.0  # a body that stops arriving for this long ends its connection
BACKLOG = 512  # connections waiting to be accepted; socketserver's default of 5 refuses bursts


class _Server(ThreadingHTTPServer):
    request_queue_size = BACKLOG
    daemon_threads = True


def _declared_length(headers: Any) -> int | None:
    # None for a length that is not a plain non-negative decimal (or a chunked body we do not take).
    if headers.get("Transfer-Encoding"):
        return None
    raw = headers.get("Content-Length")
    if raw is None:
        return 0
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) <= 19 else None


def make_server(
    ws: Workspace, host: str, port: int, token: str, read_timeout: float = READ_TIMEOUT_S
) -> ThreadingHTTPServer:
    """An HTTP server for the workspace's tracking API (not started); a connection that sends
    nothing for ``read_timeout`` seconds is closed.

    Example:
        >>> server = make_server(ws, "127.0.0.1", 0, "s3cret")  # doctest: +SKIP
        >>> server.server_address[1] > 0  # doctest: +SKIP
        True
    """
    api = TrackingAPI(ws, token)

    class Handler(BaseHTTPRequestHandler):
        server_version = "aml-tracking/1"
        protocol_version = "HTTP/1.1"  # keep-alive: a remote job's batches reuse one connection
        timeout = read_timeout

        def _send(self, response: Response, close: bool = False) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            if close:  # the body was not read: the connection cannot carry another request
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(response.body)

        def _answer(self) -> None:
            headers = dict(self.headers.items())
            if not api.authorized(headers):
                self._send(_error(401, "missing or wrong token (Authorization: Bearer TOKEN)", "Unauthorized"), True)
                return
            route, _, _ = match(self.command, self.path.partition("?")[0])
            length = _declared_length(self.headers)
            if length is None:
                self._send(_error(400, "the body needs a Content-Length of whole bytes", "BadRequest"), True)
                return
            limit = body_limit(route) if route is not None else 0
            if length > limit and route is not None:
                self._send(_error(413, f"the body may hold at most {limit} bytes", "TooLarge"), True)
                return
            if route is None and length:  # the unknown path is named; its body is not read
                self._send(api.handle(self.command, self.path, headers, b"", self.client_address[0]), True)
                return
            try:
                body = self.rfile.read(length) if length else b""
            except TimeoutError:
                self.close_connection = True
                return
            if len(body) < length:  # the client closed before sending what it declared
                self.close_connection = True
                return
            self._send(api.handle(self.command, self.path, headers, body, self.client_address[0]))

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            pass

    return _Server((host, port), Handler)


def serve(ws: Workspace, host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> None:
    """Serve until interrupted, printing the address; the token is printed only when this call
    made it (a token given on the command line or in the environment is the caller's to know).

    Example:
        >>> serve(Workspace.open("."), port=8765)  # doctest: +SKIP
    """
    made = token is None
    token = token or secrets.token_urlsafe(24)
    server = make_server(ws, host, port, token)
    address = f"http://{host}:{server.server_address[1]}"
    print(f"aml tracking server for workspace {ws.name!r} at {address}", flush=True)
    shown = token if made else "<the token you gave>"
    print(f"jobs log here with AML_TRACKING_URI={address} AML_TRACKING_TOKEN={shown}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("aml tracking server stopped", file=sys.stderr)
