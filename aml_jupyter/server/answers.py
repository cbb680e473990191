"""The JSON shapes of the REST API's answers, as OpenAPI 3.0 schemas: the document's
``components/schemas`` and each operation's 200/201 body. The JupyterLab panels' TypeScript types
are generated from them (server/openapi_ts.py), and the REST tests check real answers against
them, so the three cannot drift apart.

Only the operations a client reads are described; the rest answer ``{"...": ...}`` objects of
their own, listed in docs/jupyter.md.
"""

from __future__ import annotations

from typing import Any

STR: dict[str, Any] = {"type": "string"}
INT: dict[str, Any] = {"type": "integer"}
NUM: dict[str, Any] = {"type": "number"}
BOOL: dict[str, Any] = {"type": "boolean"}
OBJ: dict[str, Any] = {"type": "object"}
STRS: dict[str, Any] = {"type": "array", "items": STR}
# A metric's value: a number, or the text JSON has for what it has no number for.
VALUE: dict[str, Any] = {"oneOf": [NUM, {"type": "string", "enum": ["NaN", "Infinity", "-Infinity"]}]}


def null(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(required: dict[str, Any], optional: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """An object whose ``required`` keys are always there and ``optional`` ones sometimes."""
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}, **extra}


def mapping(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values}


# A series' points (downsampled by the server), as one metric of one run answers them.
POINTS: dict[str, Any] = {
    "points": INT,
    "downsampled": BOOL,
    "step": {"type": "array", "items": INT},
    "value": {"type": "array", "items": VALUE},
    "timestamp": {"type": "array", "items": INT},
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "RunSummary": obj(
        {
            "id": STR,
            "experiment": STR,
            "name": STR,
            "status": STR,
            "user": STR,
            "start_time": INT,
            "end_time": null(INT),
            "source_kind": STR,
            "source_path": null(STR),
            "compute_target": STR,
            "snapshot_id": null(STR),
            "parent_id": null(STR),
            "params": mapping(STR),
            "metrics": mapping(VALUE),
            "system_metrics": mapping(VALUE),
            "tags": mapping(STR),
        },
        description="a run as a listing gives it (system_metrics: what the machine did, sampled)",
    ),
    "Artifact": obj({"name": STR, "size": INT, "media_type": STR}, {"digest": STR, "created_at": INT}),
    "RunRecord": {
        "allOf": [
            ref("RunSummary"),
            obj(
                {
                    "experiment_id": INT,
                    "heartbeat_at": null(INT),
                    "error": null(STR),
                    "error_traceback": null(STR),
                    "artifacts": {"type": "array", "items": ref("Artifact")},
                    "inputs": {"type": "array", "items": mapping({})},
                },
                {"git": null(mapping({})), "environment_hash": null(STR), "environment": null(mapping({}))},
            ),
        ],
        "description": "one run: a summary's keys and the rest of its record",
    },
    "RunPage": obj(
        {"runs": {"type": "array", "items": ref("RunSummary")}, "next_page_token": null(STR)},
        {"total": INT},
    ),
    "Keys": obj({"params": STRS, "metrics": STRS, "tags": STRS, "system_metrics": STRS}),
    "Group": obj({"value": null(STR), "count": INT, "best": null(NUM)}),
    "Groups": obj(
        {"by": STR, "metric": null(STR), "goal": STR, "groups": {"type": "array", "items": ref("Group")}},
    ),
    "Series": obj({"run_id": STR, "key": STR, **POINTS}),
    "SeriesOrError": obj(
        {"run_id": STR, "key": STR},
        {"error": STR, **POINTS},
        description="a run's series, or error when the run is not there",
    ),
    "Experiment": obj({"id": INT, "name": STR, "created_at": INT, "runs": INT, "last_run_at": null(INT)}),
    "Parameter": obj(
        {
            "name": STR,
            "default": {},
            "required": BOOL,
            "kind": {"type": "string", "enum": ["flag", "flag_off", "choice", "int", "float", "text", "bool", "other"]},
            "choices": {"type": "array", "items": {}},
            "help": STR,
        },
        description="a notebook's parameter or a script's --option: how to ask for it (kind), and its default",
    ),
    "JobParameters": obj(
        {
            "path": STR,
            "kind": {"type": "string", "enum": ["notebook", "script"]},
            "has_parameters_cell": BOOL,
            "readable": BOOL,
            "parameters": {"type": "array", "items": ref("Parameter")},
        }
    ),
    "Target": obj({"name": STR, "type": STR, "runs_jobs": BOOL, "settings": mapping({})}, {"dashboard": null(STR)}),
    "JobStarted": obj({"id": STR, "status": STR}, {"error": null(STR), "rerun_of": STR}),
    "Template": obj({"name": STR, "title": STR, "description": STR}),
    "ModelVersionOfRun": obj(
        {
            "name": STR,
            "version": INT,
            "ref": STR,
            "flavor": STR,
            "user": STR,
            "created_at": INT,
            "aliases": STRS,
        }
    ),
}
