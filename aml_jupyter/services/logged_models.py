"""MLflow 3's "logged models", kept for MLflow clients on the run that logs them: the tag
``aml.mlflow_models`` of that run holds each one's name, status, type, tags and params, and its files
are the run's artifacts under ``mlflow-models/MODEL_ID/``. Registering one makes an aml model
version from those files (services/models.py), lineage and all.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import TYPE_CHECKING, Any

from ..entities.query import RunQuery
from ..errors import InvalidValue, NotFound

if TYPE_CHECKING:
    from ..workspace import Workspace

TAG = "aml.mlflow_models"
FOLDER = "mlflow-models"
MODEL_ID = re.compile(r"^m-[0-9a-f]{32}$")


def create(
    ws: Workspace, run_id: str, name: str, model_type: str | None, tags: dict[str, str], params: dict[str, str]
) -> dict[str, Any]:
    """A new logged model of run ``run_id`` (pending until its files are in).

    Example:
        >>> create(ws, run.id, "model", None, {}, {})["model_id"][:2]  # doctest: +SKIP
        'm-'
    """
    record = ws.store.get_run(run_id)
    if not isinstance(name, str) or not name or "/" in name:
        raise InvalidValue(f"a logged model's name is a word, not {name!r}")
    now = int(time.time() * 1000)
    model: dict[str, Any] = {
        "model_id": "m-" + uuid.uuid4().hex,
        "name": name,
        "model_type": model_type or "",
        "status": "LOGGED_MODEL_PENDING",
        "tags": dict(tags),
        "params": dict(params),
        "created": now,
        "updated": now,
        "run_id": record.id,
        "experiment": record.experiment,
    }
    _save(ws, record.pk, {**_of_run(record.tags), str(model["model_id"]): model})
    return model


def _of_run(tags: dict[str, str]) -> dict[str, dict[str, Any]]:
    try:
        found = json.loads(tags.get(TAG) or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _save(ws: Workspace, run_pk: int, models: dict[str, dict[str, Any]]) -> None:
    ws.store.set_tags(run_pk, {TAG: json.dumps(models, sort_keys=True)})


def get(ws: Workspace, model_id: str) -> dict[str, Any]:
    """The logged model ``model_id``.

    Example:
        >>> get(ws, "m-0123...")["status"]  # doctest: +SKIP
        'LOGGED_MODEL_READY'
    """
    if not MODEL_ID.match(model_id):
        raise NotFound(f"no logged model {model_id!r}")
    for run in ws.store.search(RunQuery(f"tags.`{TAG}` LIKE '%{model_id}%'", max_results=10)):
        model = _of_run(run["tags"]).get(model_id)
        if model is not None:
            return dict(model)
    raise NotFound(f"no logged model {model_id!r}")


def update(
    ws: Workspace, model_id: str, status: str | None = None, tags: dict[str, str] | None = None
) -> dict[str, Any]:
    """Set a logged model's status (``LOGGED_MODEL_READY`` once its files are in) or add tags.

    Example:
        >>> update(ws, model_id, status="LOGGED_MODEL_READY")["status"]  # doctest: +SKIP
        'LOGGED_MODEL_READY'
    """
    model = get(ws, model_id)
    if status is not None:
        if status not in ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED"):
            raise InvalidValue(
                f"a logged model's status is LOGGED_MODEL_READY or ..._PENDING or ..._UPLOAD_FAILED, not {status!r}"
            )
        model["status"] = status
    if tags:
        model["tags"] = {**model["tags"], **tags}
    model["updated"] = int(time.time() * 1000)
    record = ws.store.get_run(model["run_id"])
    _save(ws, record.pk, {**_of_run(record.tags), model_id: model})
    return model


def search(
    ws: Workspace, experiments: list[str] | None, name: str | None = None, run_id: str | None = None
) -> list[dict[str, Any]]:
    """The logged models of these experiments' runs (all when None), newest first; only those of
    ``name`` and of run ``run_id`` when given.

    Example:
        >>> [m["name"] for m in search(ws, ["iris"], run_id=run.id)]  # doctest: +SKIP
        ['model']
    """
    ids = tuple(ws.store.experiment_id(e) for e in experiments) if experiments else None
    found: list[dict[str, Any]] = []
    for run in ws.store.search(RunQuery(f"tags.`{TAG}` LIKE '%'", experiment_ids=ids, max_results=100_000)):
        for model in _of_run(run["tags"]).values():
            if (name is None or model["name"] == name) and (run_id is None or model["run_id"] == run_id):
                found.append(model)
    return sorted(found, key=lambda m: -int(m["created"]))


def artifact(model: dict[str, Any]) -> str:
    """The name of the run's artifact folder holding a logged model's files.

    Example:
        >>> artifact({"model_id": "m-ab"})
        'mlflow-models/m-ab'
    """
    return f"{FOLDER}/{model['model_id']}"
