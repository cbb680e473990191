"""The model registry and deployments."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...errors import InvalidInput
from ..answers import OBJ, STR
from ..calls import Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


REGISTER_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["run", "artifact"],
    "properties": {
        "run": STR,
        "artifact": STR,
        "tags": OBJ,
        "description": STR,
        "sample_input": {"type": "array", "items": {"type": "array"}, "description": "rows: the signature"},
        "flavor": {**STR, "description": "default: the one its files call for"},
    },
}

DEPLOY_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["model", "name"],
    "properties": {"model": STR, "name": STR, "port": {"type": "integer"}, "trusted": {"type": "boolean"}},
}


def run_models(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs/{run}/models``: model versions registered from it.

    Example:
        >>> api.dispatch("GET", "/api/v1/runs/1a2b3c4d/models", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.models import versions_of_run

    return Response.json(200, {"versions": versions_of_run(call.params["run"], workspace=api.ws)})


def models(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/models``: registered models.

    Example:
        >>> api.dispatch("GET", "/api/v1/models", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.models import list_models

    return Response.json(200, {"models": list_models(workspace=api.ws)})


def model_versions(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/models/{model}``: a model's versions.

    Example:
        >>> api.dispatch("GET", "/api/v1/models/iris", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.models import list_versions

    versions = list_versions(unquote(call.params["model"]), workspace=api.ws)
    return Response.json(200, {"versions": [v.to_dict() for v in versions]})


def version(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/models/{model}/versions/{version}``: one version, and whether the server
    vouches that its ``user`` registered it (a client loading a code-bearing version asks).

    Example:
        >>> api.dispatch("GET", "/api/v1/models/iris/versions/1", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.models import get_model_version
    from ...services.provenance import vouched

    mv = get_model_version(f"{unquote(call.params['model'])}:{call.params['version']}", workspace=api.ws)
    trusted = vouched(api.ws, mv.name, mv.content_hash, mv.user, mv.created_at, mv.seal)
    return Response.json(200, {**mv.to_dict(), "vouched": trusted})


def version_file(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/models/{model}/versions/{version}/files/{name}``: one of a version's files.

    Example:
        >>> path = "/api/v1/models/iris/versions/1/files/model.skops"
        >>> api.dispatch("GET", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.models import version_file as stored_file

    ref = f"{unquote(call.params['model'])}:{call.params['version']}"
    path = stored_file(ref, unquote(call.params["name"]), workspace=api.ws)
    return Response(200, b"", "application/octet-stream", file=path)  # streamed by the server


def register(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/models/{model}``: register a run's artifact.

    Example:
        >>> api.dispatch("POST", "/api/v1/models/iris", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    from ...services.models import register_model

    payload = call.json()
    run, artifact = payload.get("run"), payload.get("artifact")
    if not isinstance(run, str) or not isinstance(artifact, str):
        raise InvalidInput('"run" (an id) and "artifact" (a name among its artifacts) are required')
    tags, description = payload.get("tags"), payload.get("description")
    if tags is not None and not isinstance(tags, dict):
        raise InvalidInput('"tags" must be an object')
    if description is not None and not isinstance(description, str):
        raise InvalidInput('"description" must be text')
    flavor = payload.get("flavor")
    if flavor is not None and not isinstance(flavor, str):
        raise InvalidInput('"flavor" must be text')
    sample = payload.get("sample_input")
    if sample is not None and not (isinstance(sample, list) and sample and all(isinstance(r, list) for r in sample)):
        raise InvalidInput('"sample_input" must be a list of rows (lists), as a scoring request sends them')
    mv = register_model(
        unquote(call.params["model"]),
        run=run,
        artifact=artifact,
        tags=tags,
        description=description,
        sample_input=sample,
        flavor=flavor,
        workspace=api.ws,
        user=call.caller.user,
    )
    return Response.json(201, mv.to_dict())


def approve(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/models/{model}/versions/{version}/approve``: an owner approves a version for deployment.

    Example:
        >>> path = "/api/v1/models/iris/versions/1/approve"
        >>> api.dispatch("POST", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.models import approve

    ref = f"{unquote(call.params['model'])}:{int(call.params['version'])}"
    return Response.json(200, approve(ref, call.caller.user, workspace=api.ws).to_dict())


def deployments(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/deployments``: deployments and their state.

    Example:
        >>> api.dispatch("GET", "/api/v1/deployments", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.deployments import list_deployments

    return Response.json(200, {"deployments": list_deployments(workspace=api.ws)})


def deploy(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/deployments``: serve a version locally.

    Example:
        >>> api.dispatch("POST", "/api/v1/deployments", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    from ...services.deployments import deploy

    payload = call.json()
    model, name, port = payload.get("model"), payload.get("name"), payload.get("port")
    if not isinstance(model, str) or not isinstance(name, str):
        raise InvalidInput('"model" (NAME, NAME:VERSION or NAME@ALIAS) and "name" are required')
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise InvalidInput('"port" must be a whole number')
    trusted = payload.get("trusted", False)
    if not isinstance(trusted, bool):
        raise InvalidInput('"trusted" must be true or false')
    deployed = deploy(model, name, port=port, workspace=api.ws, trusted=trusted, user=call.caller.user)
    return Response.json(201, deployed)


def undeploy(api: TrackingAPI, call: Call) -> Response:
    """``DELETE /api/v1/deployments/{deployment}``: stop a deployment.

    Example:
        >>> api.dispatch("DELETE", "/api/v1/deployments/iris", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.deployments import delete

    delete(call.params["deployment"], workspace=api.ws)
    return Response.json(200, {"deleted": call.params["deployment"]})
