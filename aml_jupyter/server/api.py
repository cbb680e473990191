"""The tracking REST API as plain handlers, independent of any web framework.

``aml server`` serves it with the standard library; the Jupyter server extension can mount the
same :class:`TrackingAPI`. Every request carries ``Authorization: Bearer TOKEN``; a bad token is
401 and changes nothing. Inputs are checked in full before anything is written: a bad metric in
a batch of a thousand writes none of them (400).

    GET  /api/v1/health                          {"ok": true, "workspace": NAME}
    GET  /api/v1/runs?filter=F&experiment=E&max_results=N
    GET  /api/v1/runs/RUN                        the run's record (as `aml runs show --json`)
    POST /api/v1/runs/RUN/metrics                {"metrics": [{"key", "value", "step"?, "timestamp"?}]}
    POST /api/v1/runs/RUN/params                 {"params": {...}}
    POST /api/v1/runs/RUN/tags                   {"tags": {...}}
    POST /api/v1/runs/RUN/heartbeat              {"ok", "cancel_requested"}
    POST /api/v1/runs/RUN/transition             {"event", "error"?, "traceback"?}: the run's new status
    POST /api/v1/runs/RUN/clear_metrics          (a retried job starts its metrics again)
    GET  /api/v1/snapshots/ID                    a snapshot's files as a tar archive
    PUT  /api/v1/runs/RUN/artifacts/NAME         the file's bytes
    GET  /api/v1/runs/RUN/artifacts/NAME         the file's bytes
"""

from __future__ import annotations

import hmac
import json
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, unquote

from ..errors import AmlError, IllegalTransition, InvalidInput, NotFound, RunStateError
from ..tables import to_jsonable
from ..workspace import Workspace

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024
_SPELLED = {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}
_SNAPSHOT = re.compile(r"^/api/v1/snapshots/([0-9a-f]{40,64})$")
_RUN = re.compile(r"^/api/v1/runs/([0-9a-f]{4,32})(/.*)?$")


@dataclass
class Response:
    """What a handler answers: status, content type, body."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @staticmethod
    def json(status: int, value: Any) -> Response:
        return Response(status, json.dumps(to_jsonable(value), allow_nan=False).encode())


def _error(status: int, message: str, kind: str) -> Response:
    return Response.json(status, {"error": message, "type": kind})


class TrackingAPI:
    """The API of one workspace.

    Example:
        >>> api = TrackingAPI(ws, token="s3cret")  # doctest: +SKIP
        >>> api.handle("GET", "/api/v1/health", {"Authorization": "Bearer s3cret"}, b"").status  # doctest: +SKIP
        200
    """

    def __init__(self, ws: Workspace, token: str) -> None:
        if not token:
            raise InvalidInput("the tracking API needs a token")
        self.ws = ws
        self.token = token
        self._runs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def authorized(self, headers: dict[str, str]) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        scheme, _, token = given.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), self.token.encode())

    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Response:
        """Answer one request; never raises."""
        if not self.authorized(headers):
            return _error(401, "missing or wrong token (Authorization: Bearer TOKEN)", "Unauthorized")
        path, _, query = target.partition("?")
        try:
            return self._route(method, path, parse_qs(query), body)
        except NotFound as exc:
            return _error(404, str(exc), type(exc).__name__)
        except RunStateError as exc:
            return _error(409, str(exc), type(exc).__name__)
        except (InvalidInput, ValueError, TypeError, KeyError) as exc:
            return _error(400, str(exc) if isinstance(exc, AmlError) else f"bad request: {exc}", type(exc).__name__)
        except AmlError as exc:
            return _error(500, str(exc), type(exc).__name__)

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: bytes) -> Response:
        if path == "/api/v1/health" and method == "GET":
            return Response.json(200, {"ok": True, "workspace": self.ws.name})
        if path == "/api/v1/runs" and method == "GET":
            return self._search(query)
        snap = _SNAPSHOT.match(path)
        if snap and method == "GET":
            return Response(200, self.ws.snapshot_store.archive(snap.group(1)), "application/x-tar")
        m = _RUN.match(path)
        if not m:
            return _error(404, f"no such endpoint: {method} {path}", "NotFound")
        run_id, rest = m.group(1), m.group(2) or ""
        if rest == "" and method == "GET":
            return Response.json(200, self._record(run_id))
        if rest.startswith("/artifacts/"):
            name = unquote(rest[len("/artifacts/") :])
            if method == "PUT":
                return self._put_artifact(run_id, name, body)
            if method == "GET":
                from ..tracking.run import Run

                path_ = Run(self.ws, self.ws.store.get_run(run_id)).artifact_path(name)
                return Response(200, path_.read_bytes(), "application/octet-stream")
        if method == "POST" and rest in ("/metrics", "/params", "/tags", "/heartbeat", "/transition", "/clear_metrics"):
            if len(body) > MAX_JSON_BYTES:
                return _error(413, f"a JSON body may hold at most {MAX_JSON_BYTES} bytes", "TooLarge")
            payload = json.loads(body or b"{}")
            if not isinstance(payload, dict):
                raise InvalidInput("the body must be a JSON object")
            handler = {
                "/metrics": self._metrics,
                "/params": self._params,
                "/tags": self._tags,
                "/transition": self._transition,
                "/clear_metrics": self._clear_metrics,
            }.get(rest, self._heartbeat)
            return handler(run_id, payload)
        return _error(405, f"{method} is not allowed on {path}", "MethodNotAllowed")

    def _search(self, query: dict[str, list[str]]) -> Response:
        from ..tracking.queries import search_runs

        frame = search_runs(
            (query.get("filter") or [""])[0] or None,
            experiments=query.get("experiment"),
            max_results=int((query.get("max_results") or ["1000"])[0]),
            workspace=self.ws,
        )
        return Response.json(200, frame.to_dict("records"))

    def _record(self, run_id: str) -> dict[str, Any]:
        record = self.ws.store.get_run(run_id)
        data = record.to_dict()
        data["artifacts"] = [a.name for a in record.artifacts]
        return data

    def _live_run(self, run_id: str, queued_too: bool = False) -> Any:
        # A Run the server writes through for a remote job; only while that run is live.
        from ..tracking.run import Run

        record = self.ws.store.get_run(run_id)
        if record.status not in ("preparing", "running") and not (queued_too and record.status == "queued"):
            raise RunStateError(f"run {record.id[:8]} is {record.status}; only a live run takes new data")
        with self._lock:
            run = self._runs.get(record.id)
            if run is None:
                run = self._runs[record.id] = Run(self.ws, record, active=True)
        return run

    def _metrics(self, run_id: str, payload: dict[str, Any]) -> Response:
        from ..tracking.validation import check_key, check_metric_value, check_step, check_timestamp

        points = payload.get("metrics")
        if not isinstance(points, list):
            raise InvalidInput('"metrics" must be a list of {"key", "value", "step", "timestamp"}')
        checked = []
        for p in points:  # all checked before any is written
            if not isinstance(p, dict):
                raise InvalidInput("each metric point must be an object")
            key = check_key(p.get("key"))
            raw = p.get("value")
            if raw in _SPELLED:  # JSON has no NaN or infinities: they come spelled out
                raw = _SPELLED[raw]
            checked.append(
                (
                    key,
                    check_metric_value(raw, key),
                    None if p.get("step") is None else check_step(p["step"], key),
                    None if p.get("timestamp") is None else check_timestamp(p["timestamp"]),
                )
            )
        run = self._live_run(run_id)
        for key, value, step, ts in checked:
            run.log(key, value, step, ts)
        run.flush()  # acknowledged means durable
        return Response.json(200, {"written": len(checked)})

    def _params(self, run_id: str, payload: dict[str, Any]) -> Response:
        params = payload.get("params")
        if not isinstance(params, dict):
            raise InvalidInput('"params" must be an object')
        self._live_run(run_id).log_params(params)
        return Response.json(200, {"written": len(params)})

    def _tags(self, run_id: str, payload: dict[str, Any]) -> Response:
        tags = payload.get("tags")
        if not isinstance(tags, dict):
            raise InvalidInput('"tags" must be an object')
        self._live_run(run_id, queued_too=True).set_tags(tags)
        return Response.json(200, {"written": len(tags)})

    def _transition(self, run_id: str, payload: dict[str, Any]) -> Response:
        from ..tracking.lifecycle import RunEvent

        event = RunEvent(str(payload.get("event")))
        error, trace = payload.get("error"), payload.get("traceback")
        if not isinstance(error, str | None) or not isinstance(trace, str | None):
            raise InvalidInput('"error" and "traceback" must be strings')
        record = self.ws.store.get_run(run_id)
        with self._lock:
            run = self._runs.pop(record.id, None)
        if run is not None:
            run.flush()  # what the job logged through this server goes in before the run ends
        status: str | None
        try:
            status = self.ws.store.transition(record.pk, event, error=error, error_traceback=trace).value
        except IllegalTransition:  # ended by someone else first: say how it stands
            status = self.ws.store.status_of(record.pk)
        return Response.json(200, {"status": status})

    def _clear_metrics(self, run_id: str, payload: dict[str, Any]) -> Response:
        run = self._live_run(run_id)
        self.ws.store.clear_metrics(run.pk)
        return Response.json(200, {"ok": True})

    def _heartbeat(self, run_id: str, payload: dict[str, Any]) -> Response:
        run = self._live_run(run_id)
        self.ws.store.heartbeat([run.pk])
        cancel = self.ws.store.get_tag(run.pk, "aml.cancel")
        return Response.json(200, {"ok": True, "cancel_requested": bool(cancel)})

    def _put_artifact(self, run_id: str, name: str, body: bytes) -> Response:
        if len(body) > MAX_ARTIFACT_BYTES:
            return _error(413, f"an artifact may hold at most {MAX_ARTIFACT_BYTES} bytes", "TooLarge")
        from ..paths import check_relative_name

        logical = check_relative_name(name, "artifact name")
        run = self._live_run(run_id)
        record = run._log_bytes(body, logical, "application/octet-stream")
        return Response.json(200, {"name": record.name, "digest": record.digest, "size": record.size})
