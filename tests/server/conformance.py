"""Real answers against the schemas that docs/openapi.yaml gives them (server/answers.py): every
JSON answer a REST test reads through ``Server.call`` is checked, so the document, and the
panels' TypeScript types generated from it, say what the server sends."""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator

from aml_jupyter.server.answers import SCHEMAS
from aml_jupyter.server.routes import ROUTES, match


def _json_schema(schema: Any) -> Any:
    """OpenAPI 3.0's dialect as JSON Schema: ``nullable`` as a null alternative, refs to $defs."""
    if isinstance(schema, list):
        return [_json_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _json_schema(v) for k, v in schema.items() if k != "nullable"}
    if "$ref" in out:
        out["$ref"] = out["$ref"].replace("#/components/schemas/", "#/$defs/")
    return {"anyOf": [out, {"type": "null"}]} if schema.get("nullable") else out


@cache
def _validator(handler: str) -> Draft202012Validator | None:
    schema = next(r.answer for r in ROUTES if r.name == handler)
    if schema is None:
        return None
    root = {"$defs": {name: _json_schema(s) for name, s in SCHEMAS.items()}, **_json_schema(schema)}
    return Draft202012Validator(root)


def check_answer(method: str, path: str, status: int, value: Any) -> None:
    """Fails (AssertionError naming the route and where) when a 200/201 JSON answer is not what
    the document says; other answers, and routes the document leaves open, pass."""
    if status not in (200, 201) or not isinstance(value, dict):
        return
    api_path = "/" + urlsplit(path).path.lstrip("/").removeprefix("aml/").lstrip("/")
    route, _, _ = match(method, api_path)
    validator = _validator(route.name) if route else None
    if route is None or validator is None:
        return
    errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
    assert not errors, f"{method} {api_path} ({route.name}) answered off its schema: " + "; ".join(
        f"at {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:200]}" for e in errors[:5]
    )
