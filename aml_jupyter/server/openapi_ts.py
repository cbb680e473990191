"""The TypeScript types of the REST API's answers, generated from the OpenAPI document, for the
JupyterLab panels' client (labextension/src/api.ts). A test regenerates the file and fails when
it differs from the committed one, so the panels' types follow the server's answers.

    python -m aml_jupyter.server.openapi_ts > labextension/src/api.ts
"""

from __future__ import annotations

import json
import sys
from typing import Any

from .openapi import document

HEADER = """\
/**
 * The REST API's answers as TypeScript types, generated from docs/openapi.yaml by
 * `python -m aml_jupyter.server.openapi_ts > labextension/src/api.ts`. Do not edit by hand:
 * tests/server/test_openapi.py fails when this file and the document differ.
 */
"""


def ts_type(schema: dict[str, Any]) -> str:
    """The TypeScript type of one schema of the document's subset of OpenAPI 3.0.

    Example:
        >>> ts_type({"type": "array", "items": {"type": "string", "nullable": True}})
        '(string | null)[]'
        >>> ts_type({"type": "object", "additionalProperties": {"type": "integer"}})
        'Record<string, number>'
    """
    base = _bare(schema)
    return f"{base} | null" if schema.get("nullable") else base


def _bare(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "enum" in schema:
        return " | ".join(_literal(v) for v in schema["enum"])
    if "oneOf" in schema:
        return " | ".join(ts_type(s) for s in schema["oneOf"])
    if "allOf" in schema:
        return " & ".join(ts_type(s) for s in schema["allOf"])
    kind = schema.get("type")
    if kind == "array":
        item = ts_type(schema.get("items", {}))
        return f"({item})[]" if " | " in item or " & " in item else f"{item}[]"
    if kind == "object" or "properties" in schema:
        if "properties" in schema:
            return _members(schema, "")
        values = schema.get("additionalProperties", {})
        return f"Record<string, {ts_type(values) if isinstance(values, dict) else 'unknown'}>"
    return {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}.get(str(kind), "unknown")


def _literal(value: Any) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'" if isinstance(value, str) else json.dumps(value)


def _members(schema: dict[str, Any], indent: str) -> str:
    required = set(schema.get("required", []))
    lines = ["{"]
    for name, sub in schema["properties"].items():
        lines.append(f"{indent}  {name}{'' if name in required else '?'}: {ts_type(sub)};")
    lines.append(f"{indent}}}")
    return "\n".join(lines)


def _interface(name: str, schema: dict[str, Any]) -> str:
    doc = f"/** {schema['description']} */\n" if schema.get("description") else ""
    if "allOf" in schema and all("$ref" in s or "properties" in s for s in schema["allOf"]):
        bases = [ts_type(s) for s in schema["allOf"] if "$ref" in s]
        own: dict[str, Any] = next((s for s in schema["allOf"] if "properties" in s), {"properties": {}})
        return f"{doc}export interface {name} extends {', '.join(bases)} {_members(own, '')}\n"
    if "properties" in schema:
        return f"{doc}export interface {name} {_members(schema, '')}\n"
    return f"{doc}export type {name} = {ts_type(schema)};\n"


def _statuses() -> str:
    # One meaning of "live" and "ended" for the panels and the server: entities/lifecycle.py's.
    from ..entities.lifecycle import LIVE, TERMINAL, RunStatus

    def names(group: frozenset[RunStatus]) -> str:
        return ", ".join(_literal(s.value) for s in RunStatus if s in group)

    return (
        "/** A run still going (entities/lifecycle.py LIVE). */\n"
        f"export const LIVE_STATUSES: readonly string[] = [{names(LIVE)}];\n"
        "/** A run that has ended (entities/lifecycle.py TERMINAL). */\n"
        f"export const TERMINAL_STATUSES: readonly string[] = [{names(TERMINAL)}];\n"
    )


def typescript(doc: dict[str, Any] | None = None) -> str:
    """labextension/src/api.ts: an interface per component schema, then ``Answers``, the JSON
    answer of each operation (by operationId) that the document describes.

    Example:
        >>> "export interface RunPage {" in typescript()
        True
    """
    doc = doc or document()
    parts = [HEADER, _statuses()]
    for name, schema in doc["components"]["schemas"].items():
        parts.append(_interface(name, schema))
    answers = ["/** Each operation's JSON answer, by its operationId. */", "export interface Answers {"]
    for path in doc["paths"].values():
        for op in path.values():
            for code in ("200", "201"):
                content = op["responses"].get(code, {}).get("content", {}).get("application/json")
                if content:
                    body = ts_type(content["schema"]).replace("\n", "\n  ")
                    answers.append(f"  {op['operationId']}: {body};")
    answers.append("}\n")
    parts.append("\n".join(answers))
    return "\n".join(parts)


def main() -> int:
    sys.stdout.write(typescript())
    return 0


if __name__ == "__main__":
    sys.exit(main())
