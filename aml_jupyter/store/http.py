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
from urllib.parse import quote

from ..errors import AccessDenied, AmlError, AttemptSuperseded, InvalidInput, NotFound, RunStateError

BATCH = 5000  # metric points a request carries at most


class TrackingClient:
    """Requests to one run's routes, ``{uri}/api/v1/runs/{run_id}``, with a bearer token.

    Its constructor reads the run, so a wrong address, token or run fails at once.

    Example:
        >>> client = TrackingClient("http://10.0.0.5:8765", run_id, token="...")  # doctest: +SKIP
        >>> client.record["status"]  # doctest: +SKIP
        'running'
    """

    def __init__(self, uri: str, run_id: str, token: str | None = None) -> None:
        self.id = run_id
        self.uri = uri.rstrip("/")
        self.base = f"{self.uri}/api/v1/runs/{run_id}"
        self.token = token or os.environ.get("AML_TRACKING_TOKEN", "")
        self.record = self._request("GET", "")
        # Metric points waiting for the server, and the batch sent but not acknowledged, with its
        # id: sent again unchanged, so the server, which keeps each run's batch ids, stores it once
        # even if it did store it before its answer was lost.
        self._points: list[dict[str, Any]] = []
        self._unanswered: tuple[str, list[dict[str, Any]]] | None = None
        self._points_lock = threading.Lock()

    def _request(
        self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"
    ) -> Any:
        attempt = os.environ.get("AML_ATTEMPT") if method != "GET" else None
        query = f"?attempt={attempt}" if attempt and attempt.isdigit() else ""
        req = urllib.request.Request(self.base + path + query, data=body, method=method)
        req.add_header("Authorization", f"Bearer {self.token}")
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read())
                detail, named = answer.get("error", exc.reason), answer.get("type")
            except ValueError:
                detail, named = exc.reason, None
            kind = {400: InvalidInput, 401: AccessDenied, 403: AccessDenied, 404: NotFound, 409: RunStateError}.get(
                exc.code, AmlError
            )
            if named == "AttemptSuperseded":
                kind = AttemptSuperseded
            raise kind(f"tracking server: {detail} (HTTP {exc.code})") from None

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
