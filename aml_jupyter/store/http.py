"""One run of ``aml server`` over HTTP: the transport the job engine's remote backend and the SDK's
:class:`~aml_jupyter.tracking.remote.RemoteRun` share (the token, the attempt fence, errors as aml's own).
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from typing import Any
from urllib.parse import quote, urlencode

from ..errors import (
    AccessDenied,
    AmlError,
    AttemptSuperseded,
    InvalidInput,
    NotFound,
    RunStateError,
    StoreUnreachable,
)

BATCH = 5000  # metric points a request carries at most


class ServerClient:
    """Requests to a server's REST API, ``{uri}/api/v1/...``, with a bearer token: ``aml server``
    (``http://host:8765``) or Jupyter with the extension (``http://host:8888/aml``).

    Example:
        >>> ServerClient("http://10.0.0.5:8765", token="...").request("GET", "/me")["role"]  # doctest: +SKIP
        'contributor'
    """

    def __init__(self, uri: str, token: str | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.token = token or os.environ.get("AML_TRACKING_TOKEN", "")

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        content_type: str = "application/json",
        query: dict[str, Any] | None = None,
        raw: bool = False,
    ) -> Any:
        """``method`` on ``/api/v1{path}``: the JSON answer (the bytes with ``raw``); a refusal is
        raised as aml's own error (401/403 :class:`AccessDenied`, 404 :class:`NotFound`...)."""
        attempt = os.environ.get("AML_ATTEMPT") if method != "GET" else None
        pairs = [(k, v) for k, vs in (query or {}).items() for v in (vs if isinstance(vs, list) else [vs])]
        if attempt and attempt.isdigit():
            pairs.append(("attempt", attempt))
        url = f"{self.uri}/api/v1{path}" + ("?" + urlencode(pairs) if pairs else "")
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                data = resp.read()
                return data if raw else json.loads(data or b"null")
        except urllib.error.HTTPError as exc:
            raise self._refusal(exc) from None
        except urllib.error.URLError as exc:  # nobody answered: said once, in aml's words
            raise StoreUnreachable(f"cannot reach {self.uri}: {exc.reason}", uri=self.uri) from None

    def _refusal(self, exc: urllib.error.HTTPError) -> AmlError:
        try:
            answer = json.loads(exc.read())
            detail, named = answer.get("error", exc.reason), answer.get("type")
        except ValueError:
            detail, named = exc.reason, None
        if named == "AttemptSuperseded":
            return AttemptSuperseded(f"tracking server: {detail} (HTTP {exc.code})")
        if exc.code == 401:  # no token, a wrong one, or one revoked since: the same remedy
            return AccessDenied(
                f"{self.uri} refused the token (HTTP 401: {detail}); sign in again with `aml login {self.uri}`"
            )
        kind = {400: InvalidInput, 403: AccessDenied, 404: NotFound, 409: RunStateError}.get(exc.code, AmlError)
        return kind(f"tracking server: {detail} (HTTP {exc.code})")


class TrackingClient(ServerClient):
    """Requests to one run's routes, ``{uri}/api/v1/runs/{run_id}``, with a bearer token.

    Its constructor reads the run, so a wrong address, token or run fails at once.

    Example:
        >>> client = TrackingClient("http://10.0.0.5:8765", run_id, token="...")  # doctest: +SKIP
        >>> client.record["status"]  # doctest: +SKIP
        'running'
    """

    def __init__(self, uri: str, run_id: str, token: str | None = None, record: dict[str, Any] | None = None) -> None:
        super().__init__(uri, token)
        self.id = run_id
        self.base = f"{self.uri}/api/v1/runs/{run_id}"
        self.record = record if record is not None else self._request("GET", "")
        # Metric points waiting for the server, and the batch sent but not acknowledged, with its
        # id: sent again unchanged, so the server, which keeps each run's batch ids, stores it once
        # even if it did store it before its answer was lost.
        self._points: list[dict[str, Any]] = []
        self._unanswered: tuple[str, list[dict[str, Any]]] | None = None
        self._points_lock = threading.Lock()

    def _request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> Any:
        return self.request(method, f"/runs/{self.id}{path}", body, content_type)

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        return self._request("POST", path, json.dumps(payload, allow_nan=True).encode())

    def queue_points(self, points: list[dict[str, Any]]) -> int:
        """Add metric points (``key``, ``value``, ``step``, ``timestamp``) to send; returns how many wait."""
        with self._points_lock:
            self._points.extend(points)
            return len(self._points)

    def points_waiting(self) -> bool:
        """Whether any point is not yet stored by the server."""
        with self._points_lock:
            return bool(self._points) or self._unanswered is not None

    def send_batch(self) -> bool:
        """Send the next batch of waiting points, the unanswered one first; False when none waits.

        Whatever the server says is raised, and the batch stays to go again unchanged, except a
        refusal for good (:class:`AttemptSuperseded`: a newer attempt owns the run), which drops it.
        """
        if self._unanswered is None:
            with self._points_lock:
                batch, self._points = self._points[:BATCH], self._points[BATCH:]
            if not batch:
                return False
            self._unanswered = (uuid.uuid4().hex, batch)
        batch_id, batch = self._unanswered
        try:
            self._post("/metrics", {"metrics": batch, "batch": batch_id})
        except AttemptSuperseded:
            self._unanswered = None
            raise
        self._unanswered = None
        return True

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set tags."""
        self._post("/tags", {"tags": {k: v if isinstance(v, str) else json.dumps(v) for k, v in tags.items()}})

    def put_artifact(self, name: str, data: bytes, media_type: str = "application/octet-stream") -> Any:
        """Store ``data`` as the run's artifact ``name``."""
        return self._request("PUT", "/artifacts/" + quote(name), data, media_type)

    def heartbeat(self) -> bool:
        """Tell the server the job is alive; returns whether a cancel was requested."""
        return bool(self._post("/heartbeat", {}).get("cancel_requested"))
