"""MLflow's model routes on aml's registry: MLflow 3's logged models (``logged-models``, kept on the
run that logs them), registered models and model versions (aml's models and versions: lineage,
hashes and trust as for any), aliases, and the download URI a client loads a version from."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...errors import InvalidInput, ModelNotFound
from ...services import logged_models, runs
from ...services import models as registry
from ..calls import Call, Response
from . import wire

if TYPE_CHECKING:
    from ..api import TrackingAPI


# logged models (MLflow 3) -------------------------------------------------------------------------


def _logged_json(api: TrackingAPI, m: dict[str, Any]) -> dict[str, Any]:
    exp = wire.experiment_id_map(api.ws).get(m["experiment"], "0")
    return {
        "info": {
            "model_id": m["model_id"],
            "experiment_id": exp,
            "name": m["name"],
            "creation_timestamp_ms": m["created"],
            "last_updated_timestamp_ms": m["updated"],
            "artifact_uri": f"mlflow-artifacts:/{exp}/{m['run_id']}/artifacts/{logged_models.artifact(m)}",
            "status": m["status"],
            "model_type": m["model_type"],
            "source_run_id": m["run_id"],
            "tags": [{"key": k, "value": v} for k, v in m["tags"].items()],
        },
        "data": {"params": [{"key": k, "value": v} for k, v in m["params"].items()], "metrics": []},
    }


def create_logged(api: TrackingAPI, call: Call) -> Response:
    """``POST logged-models``: a model a run logs (``log_model``); aml keeps it with that run.

    Example:
        >>> body = b'{"experiment_id": "1", "name": "model", "source_run_id": "1a2b"}'
        >>> api.dispatch("POST", M + "logged-models", "", body, who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    run_id = body.get("source_run_id")
    if not isinstance(run_id, str) or not run_id:
        raise InvalidInput("aml keeps a logged model with the run that logs it: source_run_id is required")
    api.live_run(run_id, call=call)  # only a live run logs models
    made = logged_models.create(
        api.ws,
        run_id,
        str(body.get("name") or "model"),
        body.get("model_type"),
        wire.pairs(body.get("tags"), "tags"),
        wire.pairs(body.get("params"), "params"),
    )
    return Response.json(200, {"model": _logged_json(api, made)})


def get_logged(api: TrackingAPI, call: Call) -> Response:
    """``GET logged-models/MODEL_ID``.

    Example:
        >>> api.dispatch("GET", M + "logged-models/m-0123...", "", b"", who).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"model": _logged_json(api, logged_models.get(api.ws, call.params["model_id"]))})


def finalize_logged(api: TrackingAPI, call: Call) -> Response:
    """``PATCH logged-models/MODEL_ID``: its status, once its files are in.

    Example:
        >>> body = b'{"status": "LOGGED_MODEL_READY"}'
        >>> api.dispatch("PATCH", M + "logged-models/m-0123...", "", body, who).status  # doctest: +SKIP
        200
    """
    status = call.json().get("status")
    made = logged_models.update(api.ws, call.params["model_id"], status=str(status) if status else None)
    return Response.json(200, {"model": _logged_json(api, made)})


def tag_logged(api: TrackingAPI, call: Call) -> Response:
    """``PATCH logged-models/MODEL_ID/tags``.

    Example:
        >>> body = b'{"tags": [{"key": "a", "value": "1"}]}'
        >>> api.dispatch("PATCH", M + "logged-models/m-0123.../tags", "", body, who).status  # doctest: +SKIP
        200
    """
    tags = wire.pairs(call.json().get("tags"), "tags")
    logged_models.update(api.ws, call.params["model_id"], tags={k: str(v) for k, v in tags.items()})
    return Response.json(200, {})


def search_logged(api: TrackingAPI, call: Call) -> Response:
    """``POST logged-models/search``: by experiment; a filter on ``name`` and ``source_run_id``.

    Example:
        >>> api.dispatch("POST", M + "logged-models/search", "", b"{}", who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    names = [wire.experiment_name(api.ws, i) for i in body.get("experiment_ids") or []]
    wanted = _equalities(str(body.get("filter") or ""), {"name", "source_run_id"})
    found = logged_models.search(api.ws, names or None, wanted.get("name"), wanted.get("source_run_id"))
    size = wire.max_results(call, 100, 10_000)
    start = wire.offset_of(body.get("page_token"))
    out: dict[str, Any] = {"models": [_logged_json(api, m) for m in found[start : start + size]]}
    if start + size < len(found):
        out["next_page_token"] = wire.page_token(start + size)
    return Response.json(200, out)


def log_outputs(api: TrackingAPI, call: Call) -> Response:
    """``POST runs/outputs``: the run names the models it logged (they are kept with it already).

    Example:
        >>> body = b'{"run_id": "1a2b", "models": [{"model_id": "m-0123...", "step": 0}]}'
        >>> api.dispatch("POST", M + "runs/outputs", "", body, who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    run = runs.get(api.ws, wire.run_id_of(call))
    for m in body.get("models") or []:
        if not isinstance(m, dict) or logged_models.get(api.ws, str(m.get("model_id")))["run_id"] != run.id:
            raise InvalidInput("runs/outputs names models the run logged")
    return Response.json(200, {})


def _equalities(text: str, allowed: set[str]) -> dict[str, str]:
    # MLflow's simple filters here: key = 'value' [AND key = 'value'], keys from ``allowed``.
    out: dict[str, str] = {}
    if not text.strip():
        return out
    for clause in _split_and(text):
        key, sep, value = clause.partition("=")
        key, value = key.strip().removeprefix("attributes."), value.strip()
        if not sep or key not in allowed or len(value) < 2 or value[0] not in "'\"" or value[-1] != value[0]:
            raise InvalidInput(f"filter {text!r}: only {' and '.join(sorted(allowed))} = 'value', joined by AND")
        out[key] = value[1:-1]
    return out


def _split_and(text: str) -> list[str]:
    import re

    return [c for c in re.split(r"\s+and\s+", text, flags=re.IGNORECASE) if c.strip()]


# registered models and versions -------------------------------------------------------------------


def _version_json(api: TrackingAPI, mv: registry.ModelVersion) -> dict[str, Any]:
    out = {
        "name": mv.name,
        "version": str(mv.version),
        "creation_timestamp": mv.created_at,
        "last_updated_timestamp": mv.created_at,
        "user_id": mv.user,
        "current_stage": "None",
        "description": mv.description or "",
        "source": _download_uri(api, mv),
        "run_id": mv.run_id or "",
        "status": "READY",
        "tags": [{"key": k, "value": v} for k, v in mv.tags.items()],
        "aliases": list(mv.aliases),
    }
    artifact = str(mv.source.get("artifact") or "")
    if artifact.startswith(logged_models.FOLDER + "/"):
        out["model_id"] = artifact.split("/")[1]
    return out


def _download_uri(api: TrackingAPI, mv: registry.ModelVersion) -> str:
    if mv.source.get("kind") != "run" or not mv.run_id:
        return f"models:/{mv.name}/{mv.version}"  # registered from a path or an object: no run folder to name
    exp = wire.experiment_id_map(api.ws).get(runs.get(api.ws, mv.run_id).experiment, "0")
    return f"mlflow-artifacts:/{exp}/{mv.run_id}/artifacts/{mv.source['artifact']}"


def _registered_json(api: TrackingAPI, name: str) -> dict[str, Any]:
    versions = registry.list_versions(name, workspace=api.ws)
    newest = versions[0]
    return {
        "name": name,
        "creation_timestamp": versions[-1].created_at,
        "last_updated_timestamp": newest.created_at,
        "description": newest.description or "",
        "latest_versions": [_version_json(api, newest)],
        "tags": [],
        "aliases": [{"alias": a, "version": str(v.version)} for v in versions for a in v.aliases],
    }


def create_registered(api: TrackingAPI, call: Call) -> Response:
    """``POST registered-models/create``: a name for versions to come (aml keeps a model from its
    first version on); a name that has versions already is RESOURCE_ALREADY_EXISTS.

    Example:
        >>> api.dispatch("POST", M + "registered-models/create", "", b'{"name": "rf"}', who).status  # doctest: +SKIP
        200
    """
    name = str(wire.field(call, "name"))
    if any(m["name"] == name for m in registry.list_models(workspace=api.ws)):
        return wire.already_exists(f"Registered Model (name={name}) already exists.")
    now = int(time.time() * 1000)
    shown = {"name": name, "creation_timestamp": now, "last_updated_timestamp": now, "latest_versions": [], "tags": []}
    return Response.json(200, {"registered_model": shown})


def get_registered(api: TrackingAPI, call: Call) -> Response:
    """``GET registered-models/get?name=``.

    Example:
        >>> api.dispatch("GET", M + "registered-models/get", "name=rf", b"", who).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"registered_model": _registered_json(api, str(wire.field(call, "name")))})


def search_registered(api: TrackingAPI, call: Call) -> Response:
    """``GET`` or ``POST registered-models/search``: every model; a filter ``name = '...'``.

    Example:
        >>> api.dispatch("GET", M + "registered-models/search", "", b"", who).status  # doctest: +SKIP
        200
    """
    wanted = _equalities(str(wire.field(call, "filter", required=False) or ""), {"name"})
    names = [m["name"] for m in registry.list_models(workspace=api.ws) if wanted.get("name", m["name"]) == m["name"]]
    return Response.json(200, {"registered_models": [_registered_json(api, n) for n in names]})


def latest_versions(api: TrackingAPI, call: Call) -> Response:
    """``POST registered-models/get-latest-versions``: the newest version (aml has no stages).

    Example:
        >>> path = M + "registered-models/get-latest-versions"  # doctest: +SKIP
        >>> api.dispatch("POST", path, "", b'{"name": "rf"}', who).status  # doctest: +SKIP
        200
    """
    mv = registry.get_model_version(str(wire.field(call, "name")), workspace=api.ws)
    return Response.json(200, {"model_versions": [_version_json(api, mv)]})


def create_version(api: TrackingAPI, call: Call) -> Response:
    """``POST model-versions/create``: a new aml version from a run's files (``source`` is the
    run's artifact folder, ``runs:/RUN/PATH`` or ``models:/MODEL_ID`` of a logged model).

    Example:
        >>> body = b'{"name": "rf", "source": "models:/m-0123...", "run_id": "1a2b"}'
        >>> api.dispatch("POST", M + "model-versions/create", "", body, who).status  # doctest: +SKIP
        200
    """
    body = call.json()
    name, source = wire.field(call, "name"), str(wire.field(call, "source"))
    run_id, artifact = _source(api, source, body.get("run_id"), body.get("model_id"))
    tags = wire.pairs(body.get("tags"), "tags")
    mv = registry.register_model(
        str(name),
        run=run_id,
        artifact=artifact,
        tags=tags or None,
        description=body.get("description") or None,
        workspace=api.ws,
        user=call.caller.user,
    )
    return Response.json(200, {"model_version": _version_json(api, mv)})


def _source(api: TrackingAPI, source: str, run_id: object, model_id: object) -> tuple[str, str]:
    # (run id, artifact folder) of what MLflow's client names as a version's source.
    if isinstance(model_id, str) and model_id:
        m = logged_models.get(api.ws, model_id)
        return m["run_id"], logged_models.artifact(m)
    if source.startswith("models:/m-"):
        m = logged_models.get(api.ws, source.removeprefix("models:/").split("/")[0])
        return m["run_id"], logged_models.artifact(m)
    if source.startswith("runs:/"):
        rid, _, path = source.removeprefix("runs:/").partition("/")
        return rid, path.strip("/")
    if source.startswith("mlflow-artifacts:/"):
        parts = source.removeprefix("mlflow-artifacts:/").strip("/").split("/", 3)
        if len(parts) == 4 and parts[2] == "artifacts":
            return parts[1], unquote(parts[3])
    raise InvalidInput(
        f"source {source!r}: aml registers a run's files (runs:/RUN/PATH, models:/MODEL_ID, or a run's "
        "mlflow-artifacts:/ folder)"
    )


def _version(api: TrackingAPI, call: Call) -> registry.ModelVersion:
    name, version = str(wire.field(call, "name")), str(wire.field(call, "version"))
    if not version.isdigit():
        raise InvalidInput(f"version must be a whole number, not {version!r}")
    return registry.get_model_version(f"{name}:{version}", workspace=api.ws)


def get_version(api: TrackingAPI, call: Call) -> Response:
    """``GET model-versions/get?name=&version=``.

    Example:
        >>> api.dispatch("GET", M + "model-versions/get", "name=rf&version=1", b"", who).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"model_version": _version_json(api, _version(api, call))})


def download_uri(api: TrackingAPI, call: Call) -> Response:
    """``GET model-versions/get-download-uri?name=&version=``: where the client fetches its files.

    Example:
        >>> q = "name=rf&version=1"
        >>> api.dispatch("GET", M + "model-versions/get-download-uri", q, b"", who).status  # doctest: +SKIP
        200
    """
    mv = _version(api, call)
    if mv.source.get("kind") != "run":
        raise ModelNotFound(f"{mv.ref} was not registered from a run's files: MLflow's client cannot fetch it")
    return Response.json(200, {"artifact_uri": _download_uri(api, mv)})


def search_versions(api: TrackingAPI, call: Call) -> Response:
    """``GET`` or ``POST model-versions/search``: a filter ``name = '...'`` (and ``run_id``).

    Example:
        >>> q = "filter=name%3D%27rf%27"
        >>> api.dispatch("GET", M + "model-versions/search", q, b"", who).status  # doctest: +SKIP
        200
    """
    wanted = _equalities(str(wire.field(call, "filter", required=False) or ""), {"name", "run_id"})
    names = [wanted["name"]] if "name" in wanted else [m["name"] for m in registry.list_models(workspace=api.ws)]
    found = []
    for n in names:
        try:
            found += [
                v for v in registry.list_versions(n, workspace=api.ws) if wanted.get("run_id", v.run_id) == v.run_id
            ]
        except ModelNotFound:
            continue
    return Response.json(200, {"model_versions": [_version_json(api, v) for v in found]})


def set_alias(api: TrackingAPI, call: Call) -> Response:
    """``POST registered-models/alias``: ``name@alias`` names that version.

    Example:
        >>> body = b'{"name": "rf", "alias": "champion", "version": "1"}'
        >>> api.dispatch("POST", M + "registered-models/alias", "", body, who).status  # doctest: +SKIP
        200
    """
    name, alias, version = wire.field(call, "name"), wire.field(call, "alias"), str(wire.field(call, "version"))
    if not version.isdigit():
        raise InvalidInput(f"version must be a whole number, not {version!r}")
    registry.set_model_alias(str(name), str(alias), int(version), workspace=api.ws)
    return Response.json(200, {})


def get_by_alias(api: TrackingAPI, call: Call) -> Response:
    """``GET registered-models/alias?name=&alias=``: the version an alias names.

    Example:
        >>> q = "name=rf&alias=champion"
        >>> api.dispatch("GET", M + "registered-models/alias", q, b"", who).status  # doctest: +SKIP
        200
    """
    mv = registry.get_model_version(f"{wire.field(call, 'name')}@{wire.field(call, 'alias')}", workspace=api.ws)
    return Response.json(200, {"model_version": _version_json(api, mv)})
