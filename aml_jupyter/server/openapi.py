"""The REST API's OpenAPI document, built from the route table (server/routes.py), so that
``docs/openapi.yaml`` and the handlers cannot drift apart (a test compares them).

    python -m aml_jupyter.server.openapi > docs/openapi.yaml

The answers' schemas are server/answers.py's.
"""

from __future__ import annotations

import sys
from typing import Any

from ..entities.lifecycle import RunEvent
from .answers import SCHEMAS, answer_schema
from .routes import ROUTES

_STR = {"type": "string"}
_OBJ = {"type": "object"}
QUERY: dict[str, list[dict[str, Any]]] = {
    "search": [
        {"name": "filter", "in": "query", "schema": _STR, "description": "e.g. metrics.acc > 0.9 and params.C = '1'"},
        {"name": "experiment", "in": "query", "schema": _STR, "description": "repeatable"},
        {"name": "order_by", "in": "query", "schema": _STR, "description": "e.g. metrics.acc DESC; repeatable"},
        {"name": "max_results", "in": "query", "schema": {"type": "integer", "minimum": 1}, "description": "cap 1000"},
        {"name": "page_token", "in": "query", "schema": _STR, "description": "next_page_token of the last page"},
        {
            "name": "offset",
            "in": "query",
            "schema": {"type": "integer", "minimum": 0},
            "description": "start at this match instead of a page_token (a scrolled table)",
        },
        {"name": "count", "in": "query", "schema": {"type": "boolean"}, "description": "true adds total"},
    ],
    "keys": [{"name": "experiment", "in": "query", "schema": _STR, "description": "repeatable; all runs when absent"}],
    "groups": [
        {"name": "by", "in": "query", "required": True, "schema": _STR, "description": "params.KEY or tags.KEY"},
        {"name": "metric", "in": "query", "schema": _STR, "description": "a metric key: each group's best value"},
        {"name": "goal", "in": "query", "schema": {"enum": ["max", "min"]}},
        {"name": "filter", "in": "query", "schema": _STR},
        {"name": "experiment", "in": "query", "schema": _STR, "description": "repeatable"},
    ],
    "job_parameters": [
        {
            "name": "path",
            "in": "query",
            "required": True,
            "schema": _STR,
            "description": "a .ipynb or .py of the project",
        }
    ],
    "preview": [
        {
            "name": "head",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": 20971520},
            "description": "a text file's first bytes only; X-Aml-Truncated says whether there was more",
        }
    ],
    "metric_series": [
        {"name": "max_points", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 10000}}
    ],
    "metric_series_of_runs": [
        {"name": "run", "in": "query", "required": True, "schema": _STR, "description": "a run id; 1 to 50, repeated"},
        {"name": "max_points", "in": "query", "schema": {"type": "integer", "minimum": 2, "maximum": 10000}},
    ],
    "audit": [{"name": "max_results", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
    "dataset_preview": [{"name": "rows", "in": "query", "schema": {"type": "integer", "minimum": 1}}],
}
BODIES: dict[str, dict[str, Any]] = {
    "create_run": {
        "type": "object",
        "required": ["experiment"],
        "properties": {"experiment": _STR, "name": _STR, "params": _OBJ, "tags": _OBJ},
    },
    "log_metrics": {
        "type": "object",
        "required": ["metrics"],
        "properties": {
            "metrics": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["key", "value"],
                    "properties": {
                        "key": _STR,
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
    },
    "log_params": {"type": "object", "required": ["params"], "properties": {"params": _OBJ}},
    "set_tags": {"type": "object", "required": ["tags"], "properties": {"tags": _OBJ}},
    "adopt_names": {"type": "object", "properties": {"experiment": _STR, "name": _STR}},
    "transition": {
        "type": "object",
        "required": ["event"],
        "properties": {"event": {"enum": [e.value for e in RunEvent]}, "error": _STR, "traceback": _STR},
    },
    "rerun": {"type": "object", "properties": {"params": _OBJ}},
    "submit": {
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": _STR,
            "params": _OBJ,
            "args": {"type": "array", "items": _STR},
            "target": _STR,
            "experiment": _STR,
            "name": _STR,
        },
    },
    "restore": {"type": "object", "required": ["to"], "properties": {"to": _STR}},
    "new_project": {"type": "object", "required": ["folder"], "properties": {"folder": _STR}},
    "register": {
        "type": "object",
        "required": ["run", "artifact"],
        "properties": {
            "run": _STR,
            "artifact": _STR,
            "tags": _OBJ,
            "description": _STR,
            "sample_input": {"type": "array", "items": {"type": "array"}, "description": "rows: the signature"},
        },
    },
    "deploy": {
        "type": "object",
        "required": ["model", "name"],
        "properties": {"model": _STR, "name": _STR, "port": {"type": "integer"}, "trusted": {"type": "boolean"}},
    },
    "learn": {
        "type": "object",
        "required": ["examples"],
        "properties": {
            "examples": {"type": "array", "items": {"type": "array"}},
            "inputs": {"type": "array", "items": {"type": "array", "items": _STR}},
            "budget": {"type": "number", "minimum": 0.01, "maximum": 10},
        },
    },
    "put_roles": {
        "type": "object",
        "required": ["roles"],
        "properties": {
            "roles": {
                "type": "object",
                "additionalProperties": {"enum": ["reader", "contributor", "owner", None], "nullable": True},
            }
        },
    },
}
PATH_PARAMS = {
    "run": "a run id, or a unique prefix of 4 or more characters",
    "key": "a metric key",
    "name": "an artifact name (a relative path)",
    "snapshot": "a snapshot id",
    "model": "a model name",
    "version": "a version number of the model",
    "other": "the snapshot to compare with",
    "dataset": "a registered dataset's name",
    "deployment": "a deployment's name",
    "template": "a project template's name (GET templates lists them)",
}


def document() -> dict[str, Any]:
    """The OpenAPI 3 document of every route.

    Example:
        >>> sorted(document()["paths"]["/api/v1/runs"])
        ['get', 'post']
    """
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        op: dict[str, Any] = {
            "operationId": route.handler,
            "summary": route.summary,
            "x-aml-action": route.action,
            "x-aml-resource": route.resource,
            "responses": {
                "200": {"description": "done"},
                "400": {"description": "a bad input; nothing changed"},
                "403": {"description": f"the caller's role does not allow {route.action}"},
                "404": {"description": "no such run, model or artifact"},
            },
        }
        params = [
            {"name": p, "in": "path", "required": True, "schema": _STR, "description": d}
            for p, d in PATH_PARAMS.items()
            if "{" + p + "}" in route.path
        ]
        params += QUERY.get(route.handler, [])
        if params:
            op["parameters"] = params
        if route.handler in BODIES:
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": BODIES[route.handler]}}}
        if route.handler == "put_artifact":
            op["requestBody"] = {"required": True, "content": {"application/octet-stream": {"schema": _STR}}}
        if route.method in ("POST", "PUT"):
            op["responses"]["413"] = {"description": "the body is too large"}
        answer = answer_schema(route.handler)
        if answer is not None:
            op["responses"]["200"]["content"] = {"application/json": {"schema": answer}}
        if route.handler in ("create_run", "rerun", "restore", "register", "deploy", "submit", "new_project"):
            op["responses"]["201"] = op["responses"].pop("200") | {"description": "created"}
        if route.handler in ("delete_run", "cancel", "transition", "log_metrics"):
            op["responses"]["409"] = {"description": "the run's status does not allow it"}
        if route.handler == "learn":
            op["responses"]["422"] = {"description": "no program fits the examples"}
            op["responses"]["429"] = {"description": "the caller, or everyone, has too many learning requests running"}
        if route.handler == "deploy":
            op["responses"]["403"]["description"] += ", or the model runs someone else's code and trusted is not true"
        if route.handler in ("dataset_preview", "dataset_profile"):
            op["responses"]["403"]["description"] += ", or the recipe runs code that another user registered"
        paths.setdefault(route.path, {})[route.method.lower()] = op
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "aml_jupyter REST API",
            "version": "1",
            "description": "Served by the Jupyter server extension at {base_url}aml/api/v1/ (paths below drop "
            "{base_url}aml) and by `aml server` at /api/v1/. Jupyter authenticates and AmlAuthorizer checks "
            "each operation's x-aml-action against the caller's role.",
        },
        "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}, "schemas": SCHEMAS},
        "security": [{"token": []}],
        "paths": paths,
    }


def main() -> int:
    import yaml

    class Plain(yaml.SafeDumper):  # type: ignore[misc]  # every schema written where it is used: no &id001
        def ignore_aliases(self, data: Any) -> bool:
            return True

    sys.stdout.write(
        "# Generated by `python -m aml_jupyter.server.openapi` from aml_jupyter/server/routes.py.\n"
        + yaml.dump(document(), Dumper=Plain, sort_keys=False, width=110)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
