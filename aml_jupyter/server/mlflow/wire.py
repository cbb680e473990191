"""MLflow's REST wire format, from its published description: how aml's runs and experiments look
to an MLflow client, how its ids map to aml's, and its errors (``{"error_code", "message"}``).
docs/mlflow.md writes the mapping down for users.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

from ...entities.lifecycle import TO_MLFLOW
from ...entities.records import json_number
from ...errors import ExperimentNotFound, InvalidInput
from ...services import runs
from ..calls import Response

if TYPE_CHECKING:
    from ...workspace import Workspace
    from ..calls import Call

PREFIX = "/mlflow/api/2.0/"  # below the API's root: {base_url}aml/mlflow/... in Jupyter, /mlflow/... in aml server
DEFAULT = "default"  # aml's experiment that MLflow's experiment "0" is
DEFAULT_NAMES = ("Default", DEFAULT)

# MLflow's error codes by HTTP status, and the status it gives each code.
CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "INVALID_STATE",
    413: "INVALID_PARAMETER_VALUE",
    429: "REQUEST_LIMIT_EXCEEDED",
    501: "NOT_IMPLEMENTED",
}
STATUS_OF = {"INVALID_STATE": 400, "RESOURCE_ALREADY_EXISTS": 400}


def mlflow_error(response: Response) -> Response:
    """An aml JSON error answer (``{"error", "type"}``) in MLflow's words; others as they are.

    Example:
        >>> from aml_jupyter.server.calls import error
        >>> r = mlflow_error(error(404, "no run 'ab'", "RunNotFound"))
        >>> r.status, json.loads(r.body)["error_code"]
        (404, 'RESOURCE_DOES_NOT_EXIST')
    """
    if response.status < 400 or response.content_type != "application/json":
        return response
    try:
        said = json.loads(response.body)
    except ValueError:
        return response
    if not isinstance(said, dict) or "error_code" in said:
        return response
    code = said.get("code") or CODES.get(response.status, "INTERNAL_ERROR")
    if response.status == 404 and said.get("type") == "NotFound" and "no such endpoint" in str(said.get("error")):
        return not_implemented(str(said.get("error")).replace("no such endpoint: ", ""))
    status = STATUS_OF.get(code, response.status)
    return Response(status, json.dumps({"error_code": code, "message": said.get("error", "")}).encode())


def not_implemented(what: str) -> Response:
    """A 501 with MLflow's body: the client does not retry it (it retries 5xx but 501 for minutes).

    Example:
        >>> not_implemented("POST /mlflow/api/2.0/mlflow/runs/restore").status
        501
    """
    message = f"aml_jupyter does not offer {what} through MLflow's API (docs/mlflow.md lists what it does)"
    return Response(501, json.dumps({"error_code": "NOT_IMPLEMENTED", "message": message}).encode())


def already_exists(message: str) -> Response:
    """MLflow's RESOURCE_ALREADY_EXISTS (a 400).

    Example:
        >>> already_exists("experiment 'x' exists").status
        400
    """
    return Response(400, json.dumps({"error_code": "RESOURCE_ALREADY_EXISTS", "message": message}).encode())


# what the client sends ------------------------------------------------------------------------------


def field(call: Call, name: str, required: bool = True) -> Any:
    """A field of the request: the query's for a GET (MLflow sends them so), else the JSON body's.

    Example:
        >>> field(call, "run_id")  # doctest: +SKIP
        '1a2b...'
    """
    if call.body:
        value = call.json().get(name)
    else:
        values = call.query.get(name)
        value = values[0] if values else None
    if value is None and required:
        raise InvalidInput(f"missing value for required parameter '{name}'")
    return value


def run_id_of(call: Call) -> str:
    """The run a request names (``run_id``, or the older ``run_uuid``).

    Example:
        >>> run_id_of(call)  # doctest: +SKIP
        '1a2b...'
    """
    value = field(call, "run_id", required=False) or field(call, "run_uuid", required=False)
    if not isinstance(value, str) or not value:
        raise InvalidInput("missing value for required parameter 'run_id'")
    return value


def pairs(values: object, what: str) -> dict[str, Any]:
    """MLflow's ``[{"key", "value"}]`` lists as a dict (checked: keys are text).

    Example:
        >>> pairs([{"key": "a", "value": "1"}], "tags")
        {'a': '1'}
    """
    if values is None:
        return {}
    if not isinstance(values, list) or not all(isinstance(v, dict) and isinstance(v.get("key"), str) for v in values):
        raise InvalidInput(f"{what} must be a list of {{key, value}} objects")
    return {v["key"]: v.get("value", "") for v in values}


def page_token(offset: int) -> str:
    """An opaque token for the page that starts at ``offset``.

    Example:
        >>> offset_of(page_token(1000))
        1000
    """
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def offset_of(token: object) -> int:
    """The offset a page token holds (0 for none); a forged one is refused.

    Example:
        >>> offset_of(None), offset_of("")
        (0, 0)
    """
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(str(token).encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise InvalidInput("invalid page_token") from None
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput("invalid page_token")
    return offset


def max_results(call: Call, default: int, cap: int) -> int:
    """``max_results`` of the request, checked against MLflow's cap.

    Example:
        >>> max_results(call, 1000, 50000)  # doctest: +SKIP
        1000
    """
    raw = field(call, "max_results", required=False)
    if raw is None:
        return default
    try:
        wanted = int(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"max_results must be a whole number, not {raw!r}") from None
    if not 1 <= wanted <= cap:
        raise InvalidInput(f"max_results must be between 1 and {cap}, got {wanted}")
    return wanted


# experiments --------------------------------------------------------------------------------------


def experiment_name(ws: Workspace, experiment_id: object) -> str:
    """The aml experiment an MLflow experiment id names ("0" is aml's ``default``, made if missing).

    Example:
        >>> experiment_name(ws, "0")  # doctest: +SKIP
        'default'
    """
    text = str(experiment_id if experiment_id is not None else "0")
    if text == "0":
        runs.create_experiment(ws, DEFAULT)
        return DEFAULT
    for e in runs.experiments(ws):
        if str(e["id"]) == text:
            return str(e["name"])
    raise ExperimentNotFound(f"no experiment with id {text!r}", experiment_id=text)


def experiment_json(e: dict[str, Any]) -> dict[str, Any]:
    """One experiment (a row of ``list_experiments``) as MLflow describes it.

    Example:
        >>> experiment_json({"id": 3, "name": "iris", "created_at": 1, "last_run_at": 2})["experiment_id"]
        '3'
    """
    default = e["name"] == DEFAULT
    mlflow_id = "0" if default else str(e["id"])
    return {
        "experiment_id": mlflow_id,
        "name": "Default" if default else e["name"],
        "artifact_location": f"mlflow-artifacts:/{mlflow_id}",
        "lifecycle_stage": "active",
        "creation_time": e.get("created_at"),
        "last_update_time": e.get("last_run_at") or e.get("created_at"),
        "tags": [],
    }


# runs ---------------------------------------------------------------------------------------------


def run_json(ws: Workspace, r: dict[str, Any], experiment_ids: dict[str, str] | None = None) -> dict[str, Any]:
    """One run (its JSON shape: a listing or a record) as MLflow describes it: ``info``, ``data``
    (the latest value of each metric, params, tags, with ``mlflow.runName``, ``mlflow.user`` and
    ``mlflow.parentRunId`` from aml's own fields) and ``inputs``.

    Example:
        >>> run_json(ws, aml.get_run(run_id).to_dict())["info"]["status"]  # doctest: +SKIP
        'FINISHED'
    """
    ids = experiment_ids if experiment_ids is not None else experiment_id_map(ws)
    exp_id = ids.get(r["experiment"], "0")
    when = r.get("end_time") or r.get("start_time") or 0
    metrics = [
        {"key": k, "value": json_number(float(v)) if not isinstance(v, str) else v, "timestamp": when, "step": 0}
        for k, v in {**r.get("metrics", {}), **r.get("system_metrics", {})}.items()
    ]
    tags = dict(r.get("tags", {}))
    tags.setdefault("mlflow.runName", r["name"])
    tags.setdefault("mlflow.user", r.get("user") or "")
    if r.get("parent_id"):
        tags.setdefault("mlflow.parentRunId", r["parent_id"])
    info = {
        "run_id": r["id"],
        "run_uuid": r["id"],
        "run_name": r["name"],
        "experiment_id": exp_id,
        "user_id": r.get("user") or "",
        "status": TO_MLFLOW.get(r["status"], "RUNNING"),
        "start_time": r.get("start_time"),
        "artifact_uri": f"mlflow-artifacts:/{exp_id}/{r['id']}/artifacts",
        "lifecycle_stage": "active",
    }
    if r.get("end_time") is not None:
        info["end_time"] = r["end_time"]
    inputs = [
        {
            "dataset": {
                "name": i.get("name"),
                "digest": i.get("digest") or "",
                "source_type": i.get("kind") or "",
                "source": i.get("uri") or "",
            }
        }
        for i in r.get("inputs") or []
    ]
    return {
        "info": info,
        "data": {
            "metrics": metrics,
            "params": [{"key": k, "value": v} for k, v in r.get("params", {}).items()],
            "tags": [{"key": k, "value": v} for k, v in tags.items()],
        },
        "inputs": {"dataset_inputs": inputs},
    }


def experiment_id_map(ws: Workspace) -> dict[str, str]:
    """aml experiment name -> MLflow experiment id, for every experiment.

    Example:
        >>> experiment_id_map(ws)["default"]  # doctest: +SKIP
        '0'
    """
    return {e["name"]: experiment_json(e)["experiment_id"] for e in runs.experiments(ws)}
