"""The JSON shapes of the REST API's answers, as OpenAPI 3.0 schemas: the document's
``components/schemas`` and each operation's 200/201 body. The JupyterLab panels' TypeScript types
are generated from them (server/openapi_ts.py), and the REST tests check real answers against
them, so the three cannot drift apart.

Only the operations a client reads are described; the rest answer ``{"...": ...}`` objects of
their own, listed in docs/jupyter.md.
"""

from __future__ import annotations

from typing import Any

_S: dict[str, Any] = {"type": "string"}
_I: dict[str, Any] = {"type": "integer"}
_N: dict[str, Any] = {"type": "number"}
_B: dict[str, Any] = {"type": "boolean"}
_STRS: dict[str, Any] = {"type": "array", "items": _S}
# A metric's value: a number, or the text JSON has for what it has no number for.
_VALUE: dict[str, Any] = {"oneOf": [_N, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}


def _null(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An object whose ``required`` keys are always there and ``optional`` ones sometimes."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}, **extra}


def _map(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values}


# A series' points (downsampled by the server), as one metric of one run answers them.
_POINTS: dict[str, Any] = {
    "points": _I,
    "downsampled": _B,
    "step": {"type": "array", "items": _I},
    "value": {"type": "array", "items": _VALUE},
    "timestamp": {"type": "array", "items": _I},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "RunSummary": _obj(
        {
            "id": _S,
            "experiment": _S,
            "name": _S,
            "status": _S,
            "user": _S,
            "start_time": _I,
            "end_time": _null(_I),
            "source_kind": _S,
            "source_path": _null(_S),
            "compute_target": _S,
            "snapshot_id": _null(_S),
            "parent_id": _null(_S),
            "params": _map(_S),
            "metrics": _map(_VALUE),
            "tags": _map(_S),
        },
        description="a run as a listing gives it",
    ),
    "Artifact": _obj({"name": _S, "size": _I, "media_type": _S}, {"digest": _S, "created_at": _I}),
    "RunRecord": {
        "allOf": [
            _ref("RunSummary"),
            _obj(
                {
                    "experiment_id": _I,
                    "heartbeat_at": _null(_I),
                    "error": _null(_S),
                    "error_traceback": _null(_S),
                    "artifacts": {"type": "array", "items": _ref("Artifact")},
                    "inputs": {"type": "array", "items": _map({})},
                },
                {"git": _null(_map({})), "environment_hash": _null(_S), "environment": _null(_map({}))},
            ),
        ],
        "description": "one run: a summary's keys and the rest of its record",
    },
    "RunPage": _obj(
        {"runs": {"type": "array", "items": _ref("RunSummary")}, "next_page_token": _null(_S)},
        {"total": _I},
    ),
    "Keys": _obj({"params": _STRS, "metrics": _STRS, "tags": _STRS}),
    "Group": _obj({"value": _null(_S), "count": _I, "best": _null(_N)}),
    "Groups": _obj(
        {"by": _S, "metric": _null(_S), "goal": _S, "groups": {"type": "array", "items": _ref("Group")}},
    ),
    "Series": _obj({"run_id": _S, "key": _S, **_POINTS}),
    "SeriesOrError": _obj(
        {"run_id": _S, "key": _S},
        {"error": _S, **_POINTS},
        description="a run's series, or error when the run is not there",
    ),
    "Experiment": _obj({"id": _I, "name": _S, "created_at": _I, "runs": _I, "last_run_at": _null(_I)}),
    "Parameter": _obj({"name": _S, "default": {}, "required": _B}),
    "JobParameters": _obj(
        {
            "path": _S,
            "kind": {"type": "string", "enum": ["notebook", "script"]},
            "has_parameters_cell": _B,
            "parameters": {"type": "array", "items": _ref("Parameter")},
        }
    ),
    "Target": _obj({"name": _S, "type": _S, "runs_jobs": _B, "settings": _map({})}, {"dashboard": _null(_S)}),
    "JobStarted": _obj({"id": _S, "status": _S}, {"error": _null(_S), "rerun_of": _S}),
    "Template": _obj({"name": _S, "title": _S, "description": _S}),
    "ModelVersionOfRun": _obj(
        {
            "name": _S,
            "version": _I,
            "ref": _S,
            "flavor": _S,
            "user": _S,
            "created_at": _I,
            "aliases": _STRS,
        }
    ),
}

RESPONSES: dict[str, dict[str, Any]] = {
    "health": _obj({"ok": _B, "workspace": _S}),
    "me": _obj({"user": _S, "actions": _STRS}),
    "experiments": _obj({"experiments": {"type": "array", "items": _ref("Experiment")}}),
    "search": _ref("RunPage"),
    "keys": _ref("Keys"),
    "groups": _ref("Groups"),
    "record": _ref("RunRecord"),
    "metric_series": _ref("Series"),
    "metric_series_of_runs": _obj({"key": _S, "series": {"type": "array", "items": _ref("SeriesOrError")}}),
    "list_artifacts": _obj({"artifacts": {"type": "array", "items": _ref("Artifact")}}),
    "cancel": _ref("JobStarted"),
    "rerun": _ref("JobStarted"),
    "submit": _ref("JobStarted"),
    "restore": _obj({"folder": _S, "files": _STRS}),
    "snapshot_files": _obj({"files": _STRS, "total": _I}),
    "snapshot_diff": _obj(
        {"changes": {"type": "array", "items": _obj({"status": _S, "path": _S})}, "patch": _S},
    ),
    "job_parameters": _ref("JobParameters"),
    "targets": _obj({"targets": {"type": "array", "items": _ref("Target")}}),
    "templates": _obj({"templates": {"type": "array", "items": _ref("Template")}}),
    "new_project": _obj({"folder": _S, "files": _STRS}, description="the folder, relative to the project's root"),
    "run_models": _obj({"versions": {"type": "array", "items": _ref("ModelVersionOfRun")}}),
}


def answer_schema(handler: str) -> dict[str, Any] | None:
    """The schema of ``handler``'s JSON answer, or None where the document leaves it open.

    Example:
        >>> answer_schema("search")
        {'$ref': '#/components/schemas/RunPage'}
        >>> answer_schema("audit") is None
        True
    """
    return RESPONSES.get(handler)
