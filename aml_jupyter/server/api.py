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

import json
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from ..entities.lifecycle import HEARTBEATING, RunStatus
from ..entities.records import number_from_json, to_jsonable
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
from ..services import runs, snapshots
from ..workspace import Workspace
from .routes import Route, match

log = logging.getLogger("aml_jupyter.server")
MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024
MAX_PAGE = 1000  # runs in one page of GET /runs; larger asks are capped, not refused
MAX_SNAPSHOT_FILES = 10_000  # a listing for a panel, not an archive (GET snapshots/{snapshot} is that)
MAX_POINTS = 10_000  # points in one downsampled metric series


@dataclass
class Response:
    """What a handler answers: status, content type, and a body, or a file to stream as the body."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None

    @staticmethod
    def json(status: int, value: Any) -> Response:
        return Response(status, json.dumps(to_jsonable(value), allow_nan=False).encode())


def body_limit(route: Route | None) -> int:
    """The most bytes a request to ``route`` may carry, checked before any is read: an artifact
    upload's limit, a JSON body's, or none at all for a path that is no route.

    Example:
        >>> body_limit(None)
        0
    """
    if route is None:
        return 0
    return MAX_ARTIFACT_BYTES if route.path.endswith("/artifacts/{name}") else MAX_JSON_BYTES


def _error(status: int, message: str, kind: str) -> Response:
    return Response.json(status, {"error": message, "type": kind})


@dataclass(frozen=True)
class Caller:
    """Who sends a request, for the audit log: a user name and the client's address; for the
    ``me`` route, the actions the caller's role allows (the surface asks its own authorizer)."""

    user: str
    address: str | None = None
    actions: frozenset[str] | None = None
    token_id: str | None = None  # the per-user token that authenticated the call, if one did
    run_id: str | None = None  # a run-scoped token's run (the job of that run is calling)
    server: bool = False  # the server's own token (a job of a target, in older set-ups)


@dataclass(frozen=True)
class Upload:
    """A request body the server streamed to ``path`` (constant memory), with its SHA-256 and size."""

    path: Path
    digest: str
    size: int


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it: path parameters, query, body and who sent it.

    Example:
        >>> Call({"run": "1a2b"}, {}, b'{"tags": {"a": 1}}', Caller("alice")).json()
        {'tags': {'a': 1}}
    """

    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    caller: Caller
    upload: Upload | None = None  # an artifact's body, streamed to a file and hashed on the way

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body is ``{}``)."""
        payload = json.loads(self.body or b"{}")
        if not isinstance(payload, dict):
            raise InvalidInput("the body must be a JSON object")
        return payload


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
        """Answer a request whose caller may do what its route needs; never raises."""
        route, params, other = match(method, path)
        if route is None:
            if other:
                return _error(405, f"{method} is not allowed on {path}", "MethodNotAllowed")
            return _error(404, f"no such endpoint: {method} {path}", "NotFound")
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
        if route is None or route.handler != "put_artifact":
            return None
        call = Call(params, parse_qs(query), b"", Caller("-"))
        answer = self._guarded(route, lambda: (self._live_run(params["run"], call=call), None)[1])
        return answer

    def _answer(self, route: Route, call: Call) -> Response:
        if route.method in ("POST", "PUT") and not route.path.endswith("/artifacts/{name}"):
            if len(call.body) > MAX_JSON_BYTES:
                return _error(413, f"a JSON body may hold at most {MAX_JSON_BYTES} bytes", "TooLarge")
        handler = getattr(self, "h_" + route.handler)
        answer = self._guarded(route, lambda: handler(call))
        assert answer is not None
        return answer

    def _guarded(self, route: Route, fn: Any) -> Response | None:
        try:
            return fn()  # type: ignore[no-any-return]
        except NotFound as exc:
            return _error(404, str(exc), type(exc).__name__)
        except RunStateError as exc:
            return _error(409, str(exc), type(exc).__name__)
        except SnapshotError as exc:  # e.g. restoring into a folder that is not empty
            return _error(409, str(exc), type(exc).__name__)
        except NoProgramFound as exc:  # the examples contradict each other, or nothing fits them
            return _error(422, str(exc), type(exc).__name__)
        except UntrustedCode as exc:  # someone else's pickle or recipe code, and no "trusted": true
            return _error(403, str(exc), type(exc).__name__)
        except Throttled as exc:
            return _error(429, str(exc), type(exc).__name__)
        except RecursionError:  # JSON nested thousands deep
            return _error(400, "bad request: the body nests too deep", "InvalidInput")
        except (InvalidInput, ValueError, TypeError, KeyError, OverflowError) as exc:
            text = str(exc) if isinstance(exc, AmlError) else f"bad request: {str(exc)[:300]}"
            return _error(400, text, type(exc).__name__)
        except AmlError as exc:
            return _error(500, str(exc), type(exc).__name__)
        except OSError as exc:  # the server's own fault (a full disk, a lost file): said, in JSON
            log.exception("%s %s failed", route.method, route.path)
            return _error(500, f"the server could not do it: {exc.strerror or exc}", "OSError")
        except Exception as exc:  # a defect of ours: a JSON 500 that dispatch audits, its traceback in the log only
            log.exception("%s %s failed", route.method, route.path)
            return _error(
                500, f"internal error ({type(exc).__name__}); the server's log has the details", "InternalError"
            )

    # reading -------------------------------------------------------------------------------

    def h_health(self, call: Call) -> Response:
        return Response.json(200, {"ok": True, "workspace": self.ws.name})

    def h_experiments(self, call: Call) -> Response:
        return Response.json(200, {"experiments": runs.experiments(self.ws)})

    def h_search(self, call: Call) -> Response:
        from ..services.search import page

        return Response.json(200, page(self.ws, call.query, MAX_PAGE))

    def h_me(self, call: Call) -> Response:
        from ..services.access import ACTIONS

        allowed = call.caller.actions if call.caller.actions is not None else ACTIONS["owner"]
        return Response.json(200, {"user": call.caller.user, "actions": sorted(allowed)})

    def h_keys(self, call: Call) -> Response:
        from ..services.search import keys

        return Response.json(200, keys(self.ws, call.query.get("experiment") or None))

    def h_groups(self, call: Call) -> Response:
        from ..services.search import groups

        return Response.json(200, groups(self.ws, call.query))

    def h_job_parameters(self, call: Call) -> Response:
        from ..services.jobs import job_parameters

        path = (call.query.get("path") or [""])[0]
        if not path:
            raise InvalidInput('"path" (a notebook or script of the project) is required')
        return Response.json(200, job_parameters(self.ws, path))

    def h_record(self, call: Call) -> Response:
        return Response.json(200, runs.show(self.ws, call.params["run"]))

    def h_metric_series(self, call: Call) -> Response:
        from ..services.downsample import metric_series

        wanted = int((call.query.get("max_points") or ["1000"])[0])
        if not 2 <= wanted <= MAX_POINTS:
            raise InvalidInput(f"max_points must be from 2 to {MAX_POINTS}")
        return Response.json(200, metric_series(self.ws, call.params["run"], unquote(call.params["key"]), wanted))

    def h_metric_series_of_runs(self, call: Call) -> Response:
        from ..services.downsample import metric_series_of_runs
        from ..services.search import whole_number

        wanted = whole_number((call.query.get("max_points") or ["1000"])[0], "max_points")
        if not 2 <= wanted <= MAX_POINTS:
            raise InvalidInput(f"max_points must be from 2 to {MAX_POINTS}")
        key = unquote(call.params["key"])
        found = metric_series_of_runs(self.ws, call.query.get("run") or [], key, wanted)
        return Response.json(200, {"key": key, "series": found})

    def h_list_artifacts(self, call: Call) -> Response:
        record = runs.get(self.ws, call.params["run"])
        items = [{"name": a.name, "size": a.size, "media_type": a.media_type} for a in record.artifacts]
        return Response.json(200, {"artifacts": items})

    def h_get_artifact(self, call: Call) -> Response:
        from ..tracking.run import Run

        path_ = Run(self.ws, runs.get(self.ws, call.params["run"])).artifact_path(unquote(call.params["name"]))
        return Response(200, b"", "application/octet-stream", file=path_)  # streamed by the server

    def h_snapshot(self, call: Call) -> Response:
        return Response(200, snapshots.archive(self.ws, call.params["snapshot"]), "application/x-tar")

    def h_models(self, call: Call) -> Response:
        from ..services.models import list_models

        return Response.json(200, {"models": list_models(workspace=self.ws)})

    def h_model_versions(self, call: Call) -> Response:
        from ..services.models import list_versions

        versions = list_versions(unquote(call.params["model"]), workspace=self.ws)
        return Response.json(200, {"versions": [v.to_dict() for v in versions]})

    def h_run_models(self, call: Call) -> Response:
        from ..services.models import versions_of_run

        return Response.json(200, {"versions": versions_of_run(call.params["run"], workspace=self.ws)})

    def h_deployments(self, call: Call) -> Response:
        from ..services.deployments import list_deployments

        return Response.json(200, {"deployments": list_deployments(workspace=self.ws)})

    def h_datasets(self, call: Call) -> Response:
        from ..services.datasets import list_datasets

        return Response.json(200, {"datasets": list_datasets(workspace=self.ws)})

    def h_targets(self, call: Call) -> Response:
        from ..services.jobs import targets

        return Response.json(200, {"targets": targets(self.ws)})

    def h_templates(self, call: Call) -> Response:
        from ..templates import list_templates

        return Response.json(200, {"templates": list_templates()})

    def h_new_project(self, call: Call) -> Response:
        from ..templates import new_project

        folder = self._new_folder(call, "folder")
        made = new_project(folder, call.params["template"], shown=str(call.json().get("folder")))
        files = sorted(p.relative_to(made).as_posix() for p in made.rglob("*") if p.is_file() and ".aml" not in p.parts)
        return Response.json(201, {"folder": made.relative_to(self.ws.root).as_posix(), "files": files})

    def _new_folder(self, call: Call, field: str) -> Path:
        """The folder inside the project that the body's ``field`` names (never one outside it)."""
        from ..paths import check_relative_name, safe_join

        value = call.json().get(field)
        if not isinstance(value, str):
            raise InvalidInput(f'"{field}" must name a new folder inside the project')
        return safe_join(self.ws.root, check_relative_name(value, "folder"))

    def h_audit(self, call: Call) -> Response:
        from ..services.access import audit_entries

        limit = min(int((call.query.get("max_results") or ["100"])[0]), MAX_PAGE)
        return Response.json(200, {"entries": audit_entries(self.ws, max(limit, 1))})

    def h_get_roles(self, call: Call) -> Response:
        from ..services.access import stored_groups, stored_roles

        return Response.json(200, {"roles": stored_roles(self.ws), "groups": stored_groups(self.ws)})

    def h_put_roles(self, call: Call) -> Response:
        from ..services.access import set_roles, stored_groups

        payload = call.json()
        roles, groups = payload.get("roles", {}), payload.get("groups", {})
        if not isinstance(roles, dict):
            raise InvalidInput('"roles" must be an object: user or group name -> role, or null to take it away')
        if not isinstance(groups, dict):
            raise InvalidInput('"groups" must be an object: group name -> the list of its members ([] deletes it)')
        given = set_roles(self.ws, roles, groups)
        return Response.json(200, {"roles": given, "groups": stored_groups(self.ws)})

    def h_preview(self, call: Call) -> Response:
        from ..services.search import whole_number
        from .preview import preview

        raw = (call.query.get("head") or [""])[0]
        head = whole_number(raw, "head") if raw else None
        content, media_type, headers = preview(self.ws, call.params["run"], unquote(call.params["name"]), head)
        return Response(200, content, media_type, headers)

    def h_snapshot_files(self, call: Call) -> Response:
        files = snapshots.files(self.ws, call.params["snapshot"])
        return Response.json(200, {"files": files[:MAX_SNAPSHOT_FILES], "total": len(files)})

    def h_snapshot_diff(self, call: Call) -> Response:
        changes, patch = snapshots.diff(self.ws, call.params["snapshot"], call.params["other"])
        return Response.json(200, {"changes": [{"status": s, "path": p} for s, p in changes], "patch": patch})

    def h_dataset_preview(self, call: Call) -> Response:
        from ..services.datasets import dataset_rows

        rows = min(int((call.query.get("rows") or ["20"])[0]), MAX_PAGE)
        return Response.json(
            200, dataset_rows(self.ws, unquote(call.params["dataset"]), max(rows, 1), user=call.caller.user)
        )

    def h_dataset_profile(self, call: Call) -> Response:
        from ..services.datasets import dataset_profile

        columns = dataset_profile(self.ws, unquote(call.params["dataset"]), user=call.caller.user)
        return Response.json(200, {"columns": columns})

    def h_learn(self, call: Call) -> Response:
        from ..services.by_example import learn_column

        return Response.json(200, learn_column(call.json(), call.caller.user))

    # writing -------------------------------------------------------------------------------

    def h_restore(self, call: Call) -> Response:
        dest = self._new_folder(call, "to")
        files = snapshots.restore(self.ws, call.params["snapshot"], dest)
        return Response.json(201, {"folder": str(dest), "files": files})

    def h_register(self, call: Call) -> Response:
        from ..services.models import register_model

        payload = call.json()
        run, artifact = payload.get("run"), payload.get("artifact")
        if not isinstance(run, str) or not isinstance(artifact, str):
            raise InvalidInput('"run" (an id) and "artifact" (a name among its artifacts) are required')
        tags, description = payload.get("tags"), payload.get("description")
        if tags is not None and not isinstance(tags, dict):
            raise InvalidInput('"tags" must be an object')
        if description is not None and not isinstance(description, str):
            raise InvalidInput('"description" must be text')
        sample = payload.get("sample_input")
        if sample is not None and not (
            isinstance(sample, list) and sample and all(isinstance(r, list) for r in sample)
        ):
            raise InvalidInput('"sample_input" must be a list of rows (lists), as a scoring request sends them')
        mv = register_model(
            unquote(call.params["model"]),
            run=run,
            artifact=artifact,
            tags=tags,
            description=description,
            sample_input=sample,
            workspace=self.ws,
            user=call.caller.user,
        )
        return Response.json(201, mv.to_dict())

    def h_approve(self, call: Call) -> Response:
        from ..services.models import approve

        ref = f"{unquote(call.params['model'])}:{int(call.params['version'])}"
        return Response.json(200, approve(ref, call.caller.user, workspace=self.ws).to_dict())

    def h_deploy(self, call: Call) -> Response:
        from ..services.deployments import deploy

        payload = call.json()
        model, name, port = payload.get("model"), payload.get("name"), payload.get("port")
        if not isinstance(model, str) or not isinstance(name, str):
            raise InvalidInput('"model" (NAME, NAME:VERSION or NAME@ALIAS) and "name" are required')
        if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
            raise InvalidInput('"port" must be a whole number')
        trusted = payload.get("trusted", False)
        if not isinstance(trusted, bool):
            raise InvalidInput('"trusted" must be true or false')
        deployed = deploy(model, name, port=port, workspace=self.ws, trusted=trusted, user=call.caller.user)
        return Response.json(201, deployed)

    def h_undeploy(self, call: Call) -> Response:
        from ..services.deployments import delete

        delete(call.params["deployment"], workspace=self.ws)
        return Response.json(200, {"deleted": call.params["deployment"]})

    def h_create_run(self, call: Call) -> Response:
        from ..services.runs import create_from_client

        return Response.json(201, create_from_client(self.ws, call.json(), call.caller.user, call.caller.token_id))

    def h_delete_run(self, call: Call) -> Response:
        return Response.json(200, {"deleted": runs.delete(self.ws, [call.params["run"]])})

    def h_cancel(self, call: Call) -> Response:
        from ..services.jobs import cancel

        run_id = cancel(self.ws, call.params["run"])
        return Response.json(200, {"id": run_id, "status": runs.get(self.ws, run_id).status})

    def h_submit(self, call: Call) -> Response:
        from ..services.submit import submit

        payload = call.json()
        path, args = payload.get("path"), payload.get("args") or []
        if not isinstance(path, str):
            raise InvalidInput('"path" (a script or notebook of the project) is required')
        if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
            raise InvalidInput('"args" must be a list of strings')
        job_params = payload.get("params") or {}
        if not isinstance(job_params, dict):
            raise InvalidInput('"params" must be an object')
        texts = {k: payload.get(k) for k in ("target", "experiment", "name")}
        if not all(v is None or isinstance(v, str) for v in texts.values()):
            raise InvalidInput('"target", "experiment" and "name" must be text')
        result = submit(
            path,
            job_params,
            args,
            target=texts["target"] or "local",
            experiment=texts["experiment"] or "default",
            name=texts["name"],
            workspace=self.ws,
        )
        return Response.json(201, result)

    def h_rerun(self, call: Call) -> Response:
        from ..services.rerun import rerun

        edits = call.json().get("params") or {}
        if not isinstance(edits, dict):
            raise InvalidInput('"params" must be an object of the params to change')
        return Response.json(201, rerun(self.ws, call.params["run"], edits))

    def _live_run(self, run_id: str, queued_too: bool = False, call: Call | None = None) -> Any:
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

    def h_log_metrics(self, call: Call) -> Response:
        from ..entities.validation import (
            MAX_POINTS_PER_BATCH,
            check_count,
            check_key,
            check_metric_value,
            check_step,
            check_timestamp,
        )

        run_id, payload = call.params["run"], call.json()

        points = payload.get("metrics")
        if not isinstance(points, list):
            raise InvalidInput('"metrics" must be a list of {"key", "value", "step", "timestamp"}')
        check_count(points, "metric points", MAX_POINTS_PER_BATCH)
        checked = []
        for p in points:  # all checked before any is written
            if not isinstance(p, dict):
                raise InvalidInput("each metric point must be an object")
            key = check_key(p.get("key"))
            raw = number_from_json(p.get("value"))  # JSON has no NaN or infinities: they come spelled out
            checked.append(
                (
                    key,
                    check_metric_value(raw, key),
                    None if p.get("step") is None else check_step(p["step"], key),
                    None if p.get("timestamp") is None else check_timestamp(p["timestamp"]),
                )
            )
        check_count({key for key, *_ in checked}, "distinct metric keys")
        run = self._live_run(run_id, call=call)
        if payload.get("batch") is not None:  # sent with an id: stored once, however often it comes
            stored = runs.log_batch_once(self.ws, run.pk, payload["batch"], checked)
            return Response.json(200, {"written": len(checked) if stored else 0, "duplicate": not stored})
        by_key: dict[str, list[tuple[Any, Any, Any]]] = {}
        for key, value, step, ts in checked:
            by_key.setdefault(key, []).append((value, step, ts))
        for key, rows in by_key.items():
            steps, stamps = [r[1] for r in rows], [r[2] for r in rows]
            whole = all(x is not None for x in steps) or all(x is None for x in steps)
            if whole and (all(x is not None for x in stamps) or all(x is None for x in stamps)):
                # One series per key, in the order sent: checked once above, packed without a loop.
                run.log_batch(
                    key,
                    [r[0] for r in rows],
                    None if steps[0] is None else steps,
                    None if stamps[0] is None else stamps,
                )
            else:  # some points name their step or time and some do not: one at a time, as sent
                for value, step, ts in rows:
                    run.log(key, value, step, ts)
        run.flush()  # acknowledged means durable
        return Response.json(200, {"written": len(checked)})

    def h_log_params(self, call: Call) -> Response:
        values = runs.client_values(call.json().get("params"), "params")
        self._live_run(call.params["run"], call=call).log_params(values)
        return Response.json(200, {"written": len(values)})

    def h_set_tags(self, call: Call) -> Response:
        run = self._live_run(call.params["run"], queued_too=True, call=call)
        own_job = call.caller.server or call.caller.run_id == run.id
        tags = runs.client_tags(call.json().get("tags"), job_of_run=own_job)
        run.set_tags(tags)
        return Response.json(200, {"written": len(tags)})

    def h_adopt_names(self, call: Call) -> Response:
        payload = call.json()
        experiment, name = payload.get("experiment"), payload.get("name")
        if not isinstance(experiment, str | None) or not isinstance(name, str | None):
            raise InvalidInput('"experiment" and "name" are text')
        record = runs.get(self.ws, call.params["run"])
        runs.adopt_names(self.ws, record.id, experiment, name)
        after = runs.get(self.ws, record.id)
        return Response.json(200, {"experiment": after.experiment, "name": after.name})

    def h_transition(self, call: Call) -> Response:
        run_id, payload = call.params["run"], call.json()
        from ..entities.lifecycle import RunEvent

        events = [e.value for e in RunEvent]
        if payload.get("event") not in events:
            raise InvalidInput(f'"event" must be one of {", ".join(events)}, not {payload.get("event")!r}')
        event = RunEvent(str(payload["event"]))
        error, trace = payload.get("error"), payload.get("traceback")
        if not isinstance(error, str | None) or not isinstance(trace, str | None):
            raise InvalidInput('"error" and "traceback" must be strings')
        record = runs.get(self.ws, run_id)
        with self._lock:
            run = self._runs.pop(record.id, None)
        if run is not None:
            run.flush()  # what the job logged through this server goes in before the run ends
        status, _ = runs.end(self.ws, record.pk, event, error, trace)  # ended by someone else: as it stands
        return Response.json(200, {"status": status})

    def h_clear_metrics(self, call: Call) -> Response:
        run = self._live_run(call.params["run"], call=call)
        runs.clear_metrics(self.ws, run.pk)
        return Response.json(200, {"ok": True})

    def h_heartbeat(self, call: Call) -> Response:
        run = self._live_run(call.params["run"], call=call)
        return Response.json(200, {"ok": True, "cancel_requested": runs.beat(self.ws, run.pk)})

    def h_put_artifact(self, call: Call) -> Response:
        run_id, name = call.params["run"], unquote(call.params["name"])
        if len(call.body) > MAX_ARTIFACT_BYTES:
            return _error(413, f"an artifact may hold at most {MAX_ARTIFACT_BYTES} bytes", "TooLarge")
        from ..paths import check_relative_name

        logical = check_relative_name(name, "artifact name")
        run = self._live_run(run_id, call=call)
        if call.upload is not None:
            up = call.upload
            record = run._log_staged(up.path, up.digest, up.size, logical, "application/octet-stream")
        else:
            record = run._log_bytes(call.body, logical, "application/octet-stream")
        return Response.json(200, {"name": record.name, "digest": record.digest, "size": record.size})
