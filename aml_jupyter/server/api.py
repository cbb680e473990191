"""The aml REST API as plain handlers, independent of any web framework.

``aml server`` serves it on uvicorn (server/team.py: bearer tokens per user, then roles), and the
Jupyter server extension mounts the same :class:`TrackingAPI` under ``{base_url}aml/api/v1/``
(Jupyter's own authentication, then roles). The routes, and the action each needs, are the table in
server/routes.py; docs/openapi.yaml describes them. Inputs are checked in full before anything is
written: a bad metric in a batch of a thousand writes none of them (400). Every write, execute
and owner action is recorded in the store's audit log (who, what, when, from where), but for a
live run's own metric batches and heartbeats.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..entities.lifecycle import HEARTBEATING, RunStatus
from ..errors import (
    AmlError,
    AttemptSuperseded,
    InvalidInput,
    NoProgramFound,
    NotFound,
    RunStateError,
    SnapshotError,
    Throttled,
    UntrustedCode,
)
from ..services import runs
from ..workspace import Workspace
from .calls import MAX_JSON_BYTES, Call, Caller, Response, Upload, error
from .mlflow.wire import mlflow_error
from .routes import MLFLOW, Route, match

log = logging.getLogger("aml_jupyter.server")


class TrackingAPI:
    """The API of one workspace: ``dispatch`` answers a request already authenticated and
    authorized (the Jupyter extension and ``aml server`` each do both their own way).

    Example:
        >>> api = TrackingAPI(ws)  # doctest: +SKIP
        >>> api.dispatch("GET", "/api/v1/health", "", b"", Caller("alice")).status  # doctest: +SKIP
        200
    """

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._runs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def dispatch(
        self, method: str, path: str, query: str, body: bytes, caller: Caller, upload: Upload | None = None
    ) -> Response:
        """Answer a request whose caller may do what its route needs; never raises. MLflow's routes
        answer in MLflow's words (server/mlflow/wire.py), and a path of its API that aml does not
        offer is a 501 (which MLflow's client does not retry)."""
        response = self._dispatch(method, path, query, body, caller, upload)
        return mlflow_error(response) if path.startswith(MLFLOW) else response

    def _dispatch(
        self, method: str, path: str, query: str, body: bytes, caller: Caller, upload: Upload | None = None
    ) -> Response:
        route, params, other = match(method, path)
        if route is None:
            if other:
                return error(405, f"{method} is not allowed on {path}", "MethodNotAllowed")
            return error(404, f"no such endpoint: {method} {path}", "NotFound")
        response = self._answer(route, Call(params, parse_qs(query), body, caller, upload))
        # Every write, allowed or refused; a live run's own stream only when refused.
        if route.audited or (route.action != "read" and response.status >= 400):
            self.audit(caller, route.action, method, path, response.status)
        return response

    def audit(self, caller: Caller, action: str, method: str, path: str, status: int) -> None:
        """Record one write, execute or owner request (allowed or refused) in the audit log; a
        store that cannot take the entry is logged, never raised: the request is done either way."""
        try:
            self._audit(caller, action, method, path, status)
        except AmlError as exc:
            log.error("could not write the audit entry for %s %s by %s: %s", method, path, caller.user, exc)

    def _audit(self, caller: Caller, action: str, method: str, path: str, status: int) -> None:
        from ..services.access import audit

        audit(self.ws, caller.user, action, method, path, status, caller.address)

    def precheck_upload(self, path: str, query: str) -> Response | None:
        """Before an artifact's body is read: the refusal its run would earn (not live, another
        attempt's), else None. A 5 GB upload to an ended run is refused before a byte is stored.

        Example:
            >>> api.precheck_upload("/api/v1/runs/1a2b3c4d/artifacts/m.bin", "")  # doctest: +SKIP
        """
        route, params, _ = match("PUT", path)
        if route is None or not route.upload:
            return None
        call = Call(params, parse_qs(query), b"", Caller("-"))
        answer = self._guarded(route, lambda: (self.live_run(params["run"], call=call), None)[1])
        return answer

    def _answer(self, route: Route, call: Call) -> Response:
        if route.method in ("POST", "PUT") and not route.upload:
            if len(call.body) > MAX_JSON_BYTES:
                return error(413, f"a JSON body may hold at most {MAX_JSON_BYTES} bytes", "TooLarge")
        answer = self._guarded(route, lambda: route.handler(self, call))
        assert answer is not None
        return answer

    def _guarded(self, route: Route, fn: Any) -> Response | None:
        try:
            return fn()  # type: ignore[no-any-return]
        except NotFound as exc:
            return error(404, str(exc), type(exc).__name__)
        except RunStateError as exc:
            return error(409, str(exc), type(exc).__name__)
        except SnapshotError as exc:  # e.g. restoring into a folder that is not empty
            return error(409, str(exc), type(exc).__name__)
        except NoProgramFound as exc:  # the examples contradict each other, or nothing fits them
            return error(422, str(exc), type(exc).__name__)
        except UntrustedCode as exc:  # someone else's pickle or recipe code, and no "trusted": true
            return error(403, str(exc), type(exc).__name__)
        except Throttled as exc:
            return error(429, str(exc), type(exc).__name__)
        except RecursionError:  # JSON nested thousands deep
            return error(400, "bad request: the body nests too deep", "InvalidInput")
        except (InvalidInput, ValueError, TypeError, KeyError, OverflowError) as exc:
            text = str(exc) if isinstance(exc, AmlError) else f"bad request: {str(exc)[:300]}"
            return error(400, text, type(exc).__name__)
        except AmlError as exc:
            return error(500, str(exc), type(exc).__name__)
        except OSError as exc:  # the server's own fault (a full disk, a lost file): said, in JSON
            log.exception("%s %s failed", route.method, route.path)
            return error(500, f"the server could not do it: {exc.strerror or exc}", "OSError")
        except Exception as exc:  # a defect of ours: a JSON 500 that dispatch audits, its traceback in the log only
            log.exception("%s %s failed", route.method, route.path)
            return error(
                500, f"internal error ({type(exc).__name__}); the server's log has the details", "InternalError"
            )

    def new_folder(self, call: Call, field: str) -> Path:
        """The folder inside the project that the body's ``field`` names (never one outside it)."""
        from ..paths import check_relative_name, safe_join

        value = call.json().get(field)
        if not isinstance(value, str):
            raise InvalidInput(f'"{field}" must name a new folder inside the project')
        return safe_join(self.ws.root, check_relative_name(value, "folder"))

    def live_run(self, run_id: str, queued_too: bool = False, call: Call | None = None) -> Any:
        # A Run the server writes through for a remote job; only while that run is live, and only
        # for the job's current attempt when the caller names its own (?attempt=N). One light query
        # per request: a job's batches arrive several times a second.
        from ..errors import RunNotFound
        from ..tracking.run import Run

        state = runs.live_state(self.ws, run_id)
        if state is None:
            raise RunNotFound(f"no run with id {run_id!r}", run_id=run_id)
        _, full, status, current, _ = state
        if status not in HEARTBEATING and not (queued_too and status == RunStatus.QUEUED):
            raise RunStateError(f"run {full[:8]} is {status}; only a live run takes new data")
        given = call.query.get("attempt") if call is not None else None
        mine = given[0] if given else None
        if mine is not None and current is not None and mine != current:
            raise AttemptSuperseded.taken_over(mine, current, run_id=full)
        with self._lock:
            run = self._runs.get(full)
        if run is None:
            record = runs.get(self.ws, full)
            with self._lock:
                run = self._runs.setdefault(full, Run(self.ws, record, active=True))
        return run

    def forget_run(self, run_id: str) -> Any:
        """Drop the live run the server writes through for ``run_id`` (its run is ending); the Run, or None."""
        with self._lock:
            return self._runs.pop(run_id, None)
