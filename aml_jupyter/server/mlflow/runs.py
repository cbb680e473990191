"""MLflow's run and metric routes (``/mlflow/api/2.0/mlflow/runs/...``, ``metrics/get-history``,
``artifacts/list``) on aml's runs, through the same services as aml's own REST routes."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ...entities.lifecycle import RunEvent
from ...errors import InvalidInput, InvalidValue
from ...services import runs
from ..calls import Call, Response
from . import wire

if TYPE_CHECKING:
    from ..api import TrackingAPI

MAX_SEARCH = 50_000
MAX_HISTORY = 25_000
# log-batch's limits, as MLflow sets them
BATCH_METRICS, BATCH_PARAMS, BATCH_TAGS, BATCH_TOTAL = 1000, 100, 100, 1000
ENDING = {"FINISHED": RunEvent.COMPLETE, "FAILED": RunEvent.FAIL, "KILLED": RunEvent.CANCEL}


def create(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/create``: a running run under the caller's user (``mlflow.user`` too);
    ``mlflow.runName`` and ``mlflow.parentRunId`` become its name and parent.

    Example:
        >>> api.dispatch("POST", M + "runs/create", "", b'{"experiment_id": "0"}', who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    experiment = wire.experiment_name(api.ws, body.get("experiment_id") or "0")
    tags = wire.pairs(body.get("tags"), "tags")
    if "mlflow.user" in tags:
        tags["mlflow.user"] = call.caller.user  # who logs is who the token is, not the laptop's login name
    payload = {
        "experiment": experiment,
        "name": body.get("run_name") or tags.get("mlflow.runName") or None,
        "tags": tags,
        "parent": tags.get("mlflow.parentRunId") or None,
    }
    made = runs.create_from_client(api.ws, payload, call.caller.user, call.caller.token_id, source_kind="mlflow")
    return Response.json(200, {"run": wire.run_json(api.ws, made)})


def get(api: TrackingAPI, call: Call) -> Response:
    """``GET runs/get?run_id=``.

    Example:
        >>> api.dispatch("GET", M + "runs/get", "run_id=1a2b", b"", who).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"run": wire.run_json(api.ws, runs.show(api.ws, wire.run_id_of(call)))})


def update(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/update``: a new name, or the end (FINISHED, FAILED, KILLED); what the run's own
    process logged through this server goes in first.

    Example:
        >>> body = b'{"run_id": "1a2b", "status": "FINISHED"}'
        >>> api.dispatch("POST", M + "runs/update", "", body, who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    record = runs.get(api.ws, wire.run_id_of(call))
    status, name = body.get("status"), body.get("run_name")
    if status is not None and status not in (*ENDING, "RUNNING", "SCHEDULED"):
        raise InvalidInput(f"status must be one of RUNNING, SCHEDULED, FINISHED, FAILED, KILLED, not {status!r}")
    if name:
        runs.rename(api.ws, record.pk, str(name))
    if status in ENDING:
        live = api.forget_run(record.id)
        if live is not None:
            live.flush()
        runs.end(api.ws, record.pk, ENDING[status], None, None)
    return Response.json(200, {"run_info": wire.run_json(api.ws, runs.show(api.ws, record.id))["info"]})


def delete(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/delete``: delete an ended run for good (aml keeps no deleted runs to restore).

    Example:
        >>> api.dispatch("POST", M + "runs/delete", "", b'{"run_id": "1a2b"}', who).status  # doctest: +SKIP
        200
    """
    runs.delete(api.ws, [wire.run_id_of(call)])
    return Response.json(200, {})


def log_metric(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/log-metric``: one point (MLflow's step defaults to 0).

    Example:
        >>> body = b'{"run_id": "1a2b", "key": "acc", "value": 0.9, "timestamp": 1, "step": 0}'
        >>> api.dispatch("POST", M + "runs/log-metric", "", body, who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    ((key, value, step, ts),) = runs.metric_batch([_point(body)])
    run = api.live_run(wire.run_id_of(call), call=call)
    run.log(key, value, step, ts)
    run.flush()  # acknowledged means durable
    return Response.json(200, {})


def _point(m: object) -> dict[str, Any]:
    if not isinstance(m, dict):
        raise InvalidInput("a metric is an object with key, value, timestamp and step")
    value = m.get("value")
    if isinstance(value, float) and not math.isfinite(value):
        value = str(value).replace("nan", "NaN").replace("inf", "Infinity")  # as aml's batches spell them
    return {"key": m.get("key"), "value": value, "step": int(m.get("step") or 0), "timestamp": m.get("timestamp")}


def log_parameter(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/log-parameter``: params are written once; another value is refused.

    Example:
        >>> body = b'{"run_id": "1a2b", "key": "lr", "value": "0.1"}'
        >>> api.dispatch("POST", M + "runs/log-parameter", "", body, who).status  # doctest: +SKIP
        200
    """
    key, value = wire.field(call, "key"), wire.field(call, "value")
    values = runs.client_values({key: value}, "params")
    api.live_run(wire.run_id_of(call), call=call).log_params(values)
    return Response.json(200, {})


def set_tag(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/set-tag`` (an ended run's too); ``mlflow.runName`` renames the run.

    Example:
        >>> body = b'{"run_id": "1a2b", "key": "team", "value": "a"}'
        >>> api.dispatch("POST", M + "runs/set-tag", "", body, who).status  # doctest: +SKIP
        200
    """
    key, value = wire.field(call, "key"), wire.field(call, "value")
    _set_tags(api, wire.run_id_of(call), {key: value})
    return Response.json(200, {})


def _set_tags(api: TrackingAPI, run_id: str, tags: dict[str, Any]) -> None:
    from ...tracking.run import Run

    checked = runs.client_tags(tags, job_of_run=False)
    record = runs.get(api.ws, run_id)
    Run(api.ws, record).set_tags(checked)
    if checked.get("mlflow.runName"):
        runs.rename(api.ws, record.pk, str(checked["mlflow.runName"]))


def log_batch(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/log-batch``: metrics, params and tags within MLflow's limits, all checked before
    any is written.

    Example:
        >>> body = b'{"run_id": "1a2b", "metrics": [{"key": "a", "value": 1, "timestamp": 1, "step": 0}]}'
        >>> api.dispatch("POST", M + "runs/log-batch", "", body, who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    metrics, params_list, tags_list = body.get("metrics") or [], body.get("params") or [], body.get("tags") or []
    for what, given, limit in (
        ("metrics", metrics, BATCH_METRICS),
        ("params", params_list, BATCH_PARAMS),
        ("tags", tags_list, BATCH_TAGS),
    ):
        if not isinstance(given, list):
            raise InvalidInput(f"{what} must be a list")
        if len(given) > limit:
            raise InvalidInput(f"A batch logging request can contain at most {limit} {what}. Got {len(given)} {what}.")
    total = len(metrics) + len(params_list) + len(tags_list)
    if total > BATCH_TOTAL:
        raise InvalidInput(
            f"A batch logging request can contain at most {BATCH_TOTAL} metrics, params and tags in total. Got {total}."
        )
    points = runs.metric_batch([_point(m) for m in metrics])
    params = runs.client_values(wire.pairs(params_list, "params"), "params")
    tags = runs.client_tags(wire.pairs(tags_list, "tags"), job_of_run=False)
    run = api.live_run(wire.run_id_of(call), call=call)
    known = runs.get(api.ws, run.id).params
    for key, value in params.items():
        if key in known and known[key] != str(value):
            raise InvalidValue(f"param {key!r} was logged as {known[key]!r}; params cannot change (got {value!r})")
    if params:
        run.log_params(params)
    if tags:
        _set_tags(api, run.id, tags)
    runs.write_points(run, points)
    return Response.json(200, {})


def log_inputs(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/log-inputs``: the datasets a run read, recorded as its inputs (lineage).

    Example:
        >>> body = b'{"run_id": "1a2b", "datasets": [{"dataset": {"name": "iris", "digest": "ab12"}}]}'
        >>> api.dispatch("POST", M + "runs/log-inputs", "", body, who).status  # doctest: +SKIP
        200
    """
    datasets = call.json().get("datasets") or []
    if not isinstance(datasets, list) or not all(
        isinstance(d, dict) and isinstance(d.get("dataset"), dict) for d in datasets
    ):
        raise InvalidInput("datasets must be a list of {dataset: {name, digest, source_type, source}}")
    run = api.live_run(wire.run_id_of(call), call=call)
    for d in datasets:
        ds = d["dataset"]
        run.log_input(str(ds.get("name") or "dataset"), uri=ds.get("source") or None, digest=ds.get("digest") or None)
    return Response.json(200, {})


def search(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/search``: MLflow's filter and order grammar (aml's, which takes MLflow's
    statuses too), paged with ``page_token``.

    Example:
        >>> body = b'{"experiment_ids": ["0"], "filter": "metrics.acc > 0.9"}'
        >>> api.dispatch("POST", M + "runs/search", "", body, who).status  # doctest: +SKIP
        200
    """
    from ...services.search import page

    body = call.json()
    ids = body.get("experiment_ids") or []
    if not isinstance(ids, list):
        raise InvalidInput("experiment_ids must be a list")
    view = body.get("run_view_type") or "ACTIVE_ONLY"
    if view not in ("ACTIVE_ONLY", "DELETED_ONLY", "ALL"):
        raise InvalidInput(f"run_view_type must be ACTIVE_ONLY, DELETED_ONLY or ALL, not {view!r}")
    size = wire.max_results(call, 1000, MAX_SEARCH)
    order = body.get("order_by") or []
    if not isinstance(order, list):
        raise InvalidInput("order_by must be a list")
    query: dict[str, list[str]] = {
        "experiment": [wire.experiment_name(api.ws, i) for i in ids],
        "max_results": [str(size)],
        "order_by": [str(o) for o in order],
    }
    if body.get("filter"):
        query["filter"] = [str(body["filter"])]
    query["offset"] = [str(wire.offset_of(body.get("page_token")))]
    if view == "DELETED_ONLY":  # aml keeps no deleted runs
        return Response.json(200, {"runs": []})
    found = page(api.ws, query, MAX_SEARCH)
    names = wire.experiment_id_map(api.ws)
    out: dict[str, Any] = {"runs": [wire.run_json(api.ws, r, names) for r in found["runs"]]}
    if found.get("next_page_token"):
        out["next_page_token"] = wire.page_token(int(query["offset"][0]) + size)
    return Response.json_ready(200, out)  # listings and run_json hold JSON's own types only


def get_history(api: TrackingAPI, call: Call) -> Response:
    """``GET metrics/get-history?run_id=&metric_key=``: every point, paged.

    Example:
        >>> q = "run_id=1a2b&metric_key=loss"
        >>> api.dispatch("GET", M + "metrics/get-history", q, b"", who).status  # doctest: +SKIP
        200
    """
    from ...services.downsample import metric_series

    key = str(wire.field(call, "metric_key"))
    series = metric_series(api.ws, wire.run_id_of(call), key, None)
    start = wire.offset_of(wire.field(call, "page_token", required=False))
    size = wire.max_results(call, MAX_HISTORY, MAX_HISTORY) if wire.field(call, "max_results", required=False) else None
    end = len(series["step"]) if size is None else start + size
    points = [
        {"key": key, "value": v, "timestamp": t, "step": s}
        for s, v, t in zip(
            series["step"][start:end], series["value"][start:end], series["timestamp"][start:end], strict=True
        )
    ]
    out: dict[str, Any] = {"metrics": points}
    if end < len(series["step"]):
        out["next_page_token"] = wire.page_token(end)
    return Response.json_ready(200, out)  # metric_series spells NaN and the infinities out already


def list_artifacts(api: TrackingAPI, call: Call) -> Response:
    """``GET artifacts/list?run_id=&path=``: the files and folders directly under ``path``.

    Example:
        >>> api.dispatch("GET", M + "artifacts/list", "run_id=1a2b", b"", who).status  # doctest: +SKIP
        200
    """
    record = runs.show(api.ws, wire.run_id_of(call))
    folder = str(wire.field(call, "path", required=False) or "").strip("/")
    names = wire.experiment_id_map(api.ws)
    root = f"mlflow-artifacts:/{names.get(record['experiment'], '0')}/{record['id']}/artifacts"
    return Response.json(200, {"root_uri": root, "files": entries(record["artifacts"], folder)})


def entries(artifacts: list[dict[str, Any]], folder: str) -> list[dict[str, Any]]:
    """The files and folders directly under ``folder`` among a run's artifacts, as MLflow lists them.

    Example:
        >>> entries([{"name": "m/a.pkl", "size": 3}, {"name": "r.txt", "size": 1}], "")
        [{'path': 'm', 'is_dir': True}, {'path': 'r.txt', 'is_dir': False, 'file_size': 1}]
    """
    prefix = f"{folder}/" if folder else ""
    seen: dict[str, dict[str, Any]] = {}
    for a in artifacts:
        name = a["name"]
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix) :]
        head, sep, _ = rest.partition("/")
        path = prefix + head
        if sep:
            seen.setdefault(path, {"path": path, "is_dir": True})
        else:
            seen[path] = {"path": path, "is_dir": False, "file_size": a["size"]}
    return [seen[k] for k in sorted(seen)]


def log_model(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/log-model`` (MLflow 2): the run's tag ``mlflow.log-model.history`` lists the
    models it logged, as MLflow keeps it (their files are the run's artifacts already).

    Example:
        >>> body = b'{"run_id": "1a2b", "model_json": "{\\"artifact_path\\": \\"model\\"}"}'
        >>> api.dispatch("POST", M + "runs/log-model", "", body, who).status  # doctest: +SKIP
        200
    """
    import json

    model = wire.field(call, "model_json")
    try:
        entry = json.loads(str(model))
    except ValueError:
        raise InvalidInput("model_json must be a JSON object") from None
    record = runs.get(api.ws, wire.run_id_of(call))
    try:
        history = json.loads(record.tags.get("mlflow.log-model.history") or "[]")
    except ValueError:
        history = []
    _set_tags(api, record.id, {"mlflow.log-model.history": json.dumps([*history, entry])})
    return Response.json(200, {})
