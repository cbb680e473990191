"""``aml server``: the tracking API over HTTP, with the standard library's threading server.

For workers that cannot reach the workspace file: a job whose ``AML_TRACKING_URI`` is
``http://HOST:PORT`` (and ``AML_TRACKING_TOKEN`` the token) logs through this server.
"""

from __future__ import annotations

import secrets
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..workspace import Workspace
from .api import MAX_ARTIFACT_BYTES, TrackingAPI


def make_server(ws: Workspace, host: str, port: int, token: str) -> ThreadingHTTPServer:
    """An HTTP server for the workspace's tracking API (not started).

    Example:
        >>> server = make_server(ws, "127.0.0.1", 0, "s3cret")  # doctest: +SKIP
        >>> server.server_address[1] > 0  # doctest: +SKIP
        True
    """
    api = TrackingAPI(ws, token)

    class Handler(BaseHTTPRequestHandler):
        server_version = "aml-tracking/1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_ARTIFACT_BYTES:
                self.send_error(413, "request body too large")
                return
            body = self.rfile.read(length) if length else b""
            response = api.handle(self.command, self.path, dict(self.headers.items()), body, self.client_address[0])
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_DELETE = _answer

        def log_message(self, format: str, *args: Any) -> None:  # quiet: one line per request is noise
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    return server


def serve(ws: Workspace, host: str = "127.0.0.1", port: int = 8765, token: str | None = None) -> None:
    """Serve until interrupted, printing the address and the token to use.

    Example:
        >>> serve(Workspace.open("."), port=8765)  # doctest: +SKIP
    """
    token = token or secrets.token_urlsafe(24)
    server = make_server(ws, host, port, token)
    address = f"http://{host}:{server.server_address[1]}"
    print(f"aml tracking server for workspace {ws.name!r} at {address}", flush=True)
    print(f"jobs log here with AML_TRACKING_URI={address} AML_TRACKING_TOKEN={token}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        print("aml tracking server stopped", file=sys.stderr)
