"""Runs: searching them, one run's record, and what a run's client logs to it (metrics, params, tags,
its status); the one metric-batch validator is services/runs.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...entities.lifecycle import RunEvent
from ...errors import InvalidInput
from ...services import runs
from ..answers import OBJ, STR
from ..calls import MAX_PAGE, MAX_POINTS, Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


SEARCH_QUERY: list[dict[str, Any]] = [
    {"name": "filter", "in": "query", "schema": STR, "description": "e.g. metrics.acc > 0.9 and params.C = '1'"},
    {"name": "experiment", "in": "query", "schema": STR, "description": "repeatable"},
    {"name": "order_by", "in": "query", "schema": STR, "description": "e.g. metrics.acc DESC; repeatable"},
    {"name": "max_results", "in": "query", "schema": {"type": "integer", "minimum": 1}, "description": "cap 1000"},
    {"name": "page_token", "in": "query", "schema": STR, "description": "next_page_token of the last page"},
    {
        "name": "offset",
        "in": "query",
        "schema": {"type": "integer", "minimum": 0},
        "description": "start at this match instead of a page_token (a scrolled table)",
    },
    {"name": "count", "in": "query", "schema": {"type": "boolean"}, "description": "true adds total"},
]

KEYS_QUERY: list[dict[str, Any]] = [
    {"name": "experiment", "in": "query", "schema": STR, "description": "repeatable; all runs when absent"}
]

GROUPS_QUERY: list[dict[str, Any]] = [
    {"name": "by", "in": "query", "required": True, "schema": STR, "description": "params.KEY or tags.KEY"},
    {"name": "metric", "in": "query", "schema": STR, "description": "a metric key: each group's best value"},
    {"name": "goal", "in": "query", "schema": {"enum": ["max", "min"]}},
    {"name": "filter", "in": "query", "schema": STR},
    {"name": "experiment", "in": "query", "schema": STR, "description": "repeatable"},
]

CREATE_RUN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["experiment"],
    "properties": {"experiment": STR, "name": STR, "params": OBJ, "tags": OBJ, "parent": STR},
}

LOG_METRICS_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["metrics"],
    "properties": {
        "metrics": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "value"],
                "properties": {
                    "key": STR,
                    "value": {"oneOf": [{"type": "number"}, {"enum": ["NaN", "Infinity", "-Infinity"]}]},
                    "step": {"type": "integer"},
                    "timestamp": {"type": "integer"},
                },
            },
        },
        "batch": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{8,64}$",
            "description": "an id for the batch, the same when it is sent again: a batch is stored once per "
            "run and id (each point then names its step and timestamp); the answer says duplicate: true "
            "for one stored before",
        },
    },
}

LOG_PARAMS_BODY: dict[str, Any] = {"type": "object", "required": ["params"], "properties": {"params": OBJ}}

SET_TAGS_BODY: dict[str, Any] = {"type": "object", "required": ["tags"], "properties": {"tags": OBJ}}

ADOPT_NAMES_BODY: dict[str, Any] = {"type": "object", "properties": {"experiment": STR, "name": STR}}

TRANSITION_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["event"],
    "properties": {"event": {"enum": [e.value for e in RunEvent]}, "error": STR, "traceback": STR},
}

METRIC_SERIES_QUERY: list[dict[str, Any]] = [
    {"name": "max_points", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 10000}},
    {"name": "all", "in": "query", "schema": {"type": "boolean"}, "description": "true: every point, none dropped"},
]

METRIC_SERIES_OF_RUNS_QUERY: list[dict[str, Any]] = [
    {"name": "run", "in": "query", "required": True, "schema": STR, "description": "a run id; 1 to 50, repeated"},
    {"name": "max_points", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 10000}},
]


def search(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs``: runs matching a filter, a page at a time.

    Example:
        >>> api.dispatch("GET", "/api/v1/runs", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.search import page

    return Response.json(200, page(api.ws, call.query, MAX_PAGE))


def keys(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/keys``: the param, metric and tag keys runs hold.

    Example:
        >>> api.dispatch("GET", "/api/v1/keys", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.search import keys

    return Response.json(200, keys(api.ws, call.query.get("experiment") or None))


def groups(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/groups``: runs grouped by a param or tag, best metric each.

    Example:
        >>> api.dispatch("GET", "/api/v1/groups", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.search import groups

    return Response.json(200, groups(api.ws, call.query))


def create_run(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs``: create a run (status running).

    Example:
        >>> api.dispatch("POST", "/api/v1/runs", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    from ...services.runs import create_from_client

    return Response.json(201, create_from_client(api.ws, call.json(), call.caller.user, call.caller.token_id))


def record(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs/{run}``: one run: params, metrics, tags, artifacts.

    Example:
        >>> api.dispatch("GET", "/api/v1/runs/1a2b3c4d", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    return Response.json(200, runs.show(api.ws, call.params["run"]))


def delete_run(api: TrackingAPI, call: Call) -> Response:
    """``DELETE /api/v1/runs/{run}``: delete an ended run.

    Example:
        >>> api.dispatch("DELETE", "/api/v1/runs/1a2b3c4d", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"deleted": runs.delete(api.ws, [call.params["run"]])})


def log_metrics(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/metrics``: log metric points.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/metrics", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    run_id, payload = call.params["run"], call.json()
    checked = runs.metric_batch(payload.get("metrics"))  # all checked before any is written
    run = api.live_run(run_id, call=call)
    if payload.get("batch") is not None:  # sent with an id: stored once, however often it comes
        stored = runs.log_batch_once(api.ws, run.pk, payload["batch"], checked)
        return Response.json(200, {"written": len(checked) if stored else 0, "duplicate": not stored})
    runs.write_points(run, checked)
    return Response.json(200, {"written": len(checked)})


def log_params(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/params``: log params.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/params", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    values = runs.client_values(call.json().get("params"), "params")
    api.live_run(call.params["run"], call=call).log_params(values)
    return Response.json(200, {"written": len(values)})


def set_tags(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/tags``: set tags.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/tags", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    run = api.live_run(call.params["run"], queued_too=True, call=call)
    own_job = call.caller.server or call.caller.run_id == run.id
    tags = runs.client_tags(call.json().get("tags"), job_of_run=own_job)
    run.set_tags(tags)
    return Response.json(200, {"written": len(tags)})


def adopt_names(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/names``: a job's run takes the experiment and name its script asks for, where its
    submission named none.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/names", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    payload = call.json()
    experiment, name = payload.get("experiment"), payload.get("name")
    if not isinstance(experiment, str | None) or not isinstance(name, str | None):
        raise InvalidInput('"experiment" and "name" are text')
    record = runs.get(api.ws, call.params["run"])
    runs.adopt_names(api.ws, record.id, experiment, name)
    after = runs.get(api.ws, record.id)
    return Response.json(200, {"experiment": after.experiment, "name": after.name})


def heartbeat(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/heartbeat``: keep a remote run alive.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/heartbeat", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    run = api.live_run(call.params["run"], call=call)
    return Response.json(200, {"ok": True, "cancel_requested": runs.beat(api.ws, run.pk)})


def transition(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/transition``: change a run's status.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/transition", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    run_id, payload = call.params["run"], call.json()
    from ...entities.lifecycle import RunEvent

    events = [e.value for e in RunEvent]
    if payload.get("event") not in events:
        raise InvalidInput(f'"event" must be one of {", ".join(events)}, not {payload.get("event")!r}')
    event = RunEvent(str(payload["event"]))
    error, trace = payload.get("error"), payload.get("traceback")
    if not isinstance(error, str | None) or not isinstance(trace, str | None):
        raise InvalidInput('"error" and "traceback" must be strings')
    record = runs.get(api.ws, run_id)
    run = api.forget_run(record.id)
    if run is not None:
        run.flush()  # what the job logged through this server goes in before the run ends
    status, _ = runs.end(api.ws, record.pk, event, error, trace)  # ended by someone else: as it stands
    return Response.json(200, {"status": status})


def clear_metrics(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/clear_metrics``: drop a run's metrics.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/clear_metrics", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    run = api.live_run(call.params["run"], call=call)
    runs.clear_metrics(api.ws, run.pk)
    return Response.json(200, {"ok": True})


def metric_series(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs/{run}/metrics/{key}``: a metric's points, downsampled.

    Example:
        >>> api.dispatch("GET", "/api/v1/runs/1a2b3c4d/metrics/loss", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.downsample import metric_series
    from ...services.search import whole_number

    every = (call.query.get("all") or ["false"])[0].lower()
    if every not in ("true", "false", "1", "0"):
        raise InvalidInput("all must be true or false")
    wanted = whole_number((call.query.get("max_points") or ["1000"])[0], "max_points")
    if not 2 <= wanted <= MAX_POINTS:
        raise InvalidInput(f"max_points must be from 2 to {MAX_POINTS}")
    key = unquote(call.params["key"])
    return Response.json(
        200, metric_series(api.ws, call.params["run"], key, None if every in ("true", "1") else wanted)
    )


def metric_series_of_runs(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/metrics/{key}``: one metric of many runs.

    Example:
        >>> api.dispatch("GET", "/api/v1/metrics/loss", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.downsample import metric_series_of_runs
    from ...services.search import whole_number

    wanted = whole_number((call.query.get("max_points") or ["1000"])[0], "max_points")
    if not 2 <= wanted <= MAX_POINTS:
        raise InvalidInput(f"max_points must be from 2 to {MAX_POINTS}")
    key = unquote(call.params["key"])
    found = metric_series_of_runs(api.ws, call.query.get("run") or [], key, wanted)
    return Response.json(200, {"key": key, "series": found})
