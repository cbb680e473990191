"""Jobs: a file's parameters, submitting, cancelling, running again; the compute targets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput
from ...services import runs
from ..answers import OBJ, STR
from ..calls import Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


JOB_PARAMETERS_QUERY: list[dict[str, Any]] = [
    {
        "name": "path",
        "in": "query",
        "required": True,
        "schema": STR,
        "description": "a .ipynb or .py of the project",
    }
]

SUBMIT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["path"],
    "properties": {
        "path": STR,
        "params": OBJ,
        "args": {"type": "array", "items": STR},
        "target": STR,
        "experiment": STR,
        "name": STR,
    },
}

RERUN_BODY: dict[str, Any] = {"type": "object", "properties": {"params": OBJ}}


def job_parameters(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/jobs/parameters``: a notebook's or script's parameters.

    Example:
        >>> api.dispatch("GET", "/api/v1/jobs/parameters", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.jobs import job_parameters

    path = (call.query.get("path") or [""])[0]
    if not path:
        raise InvalidInput('"path" (a notebook or script of the project) is required')
    return Response.json(200, job_parameters(api.ws, path))


def submit(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/jobs``: submit a script or notebook as a job.

    Example:
        >>> api.dispatch("POST", "/api/v1/jobs", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    from ...services.submit import submit

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
        workspace=api.ws,
    )
    return Response.json(201, result)


def cancel(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/cancel``: cancel a submitted run.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/cancel", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.jobs import cancel

    run_id = cancel(api.ws, call.params["run"])
    return Response.json(200, {"id": run_id, "status": runs.get(api.ws, run_id).status})


def rerun(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/runs/{run}/rerun``: run a job again, params edited.

    Example:
        >>> api.dispatch("POST", "/api/v1/runs/1a2b3c4d/rerun", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    from ...services.rerun import rerun

    edits = call.json().get("params") or {}
    if not isinstance(edits, dict):
        raise InvalidInput('"params" must be an object of the params to change')
    return Response.json(201, rerun(api.ws, call.params["run"], edits))


def targets(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/targets``: compute targets and their settings.

    Example:
        >>> api.dispatch("GET", "/api/v1/targets", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.jobs import targets

    return Response.json(200, {"targets": targets(api.ws)})
