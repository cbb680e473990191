"""Expanding a column of JSON objects into columns: the keys are found once, when the step is
made, so the recipe gives the same columns on any data; a value that is not a JSON object leaves
its row's new columns missing, and is counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from .transforms import require_columns

if TYPE_CHECKING:
    import pandas as pd

MAX_KEYS = 200


def parse_object(text: Any) -> dict[str, Any] | None:
    """The JSON object ``text`` holds, or None (not text, not JSON, or not an object).

    Example:
        >>> parse_object('{"a": 1}'), parse_object("[1]"), parse_object("{oops")
        ({'a': 1}, None, None)
    """
    if isinstance(text, dict):
        return text
    if not isinstance(text, str):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def keys_of(s: pd.Series) -> list[str]:
    """The top-level keys of the JSON objects in ``s``, in order of first appearance.

    Example:
        >>> import pandas as pd
        >>> keys_of(pd.Series(['{"a": 1}', '{"b": 2, "a": 3}', "x"]))
        ['a', 'b']
    """
    seen: dict[str, None] = {}
    for value in s.dropna().unique():
        obj = parse_object(value)
        for k in obj or {}:
            seen.setdefault(str(k), None)
    if len(seen) > MAX_KEYS:
        raise InvalidValue(f"the objects hold {len(seen)} distinct keys; name the ones to keep with keys=")
    return list(seen)


@dataclass
class ExpandJson:
    """Add a column per key of the JSON objects in ``column`` (named ``prefix`` + key)."""

    column: str
    keys: list[str]
    prefix: str
    kind: str = "expand_json"
    malformed: int = field(default=0, compare=False)  # rows of the last run that held no object

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, [self.column], self.kind)
        out = df.copy()
        s = out[self.column]
        parsed = {v: parse_object(v) for v in s.dropna().unique()}  # each distinct text parsed once
        self.malformed = int(s.map({v: o is None for v, o in parsed.items()}).fillna(False).astype(bool).sum())
        for key in self.keys:  # each key's value of each distinct text, then one lookup per row
            out[self.prefix + key] = s.map({v: _cell(o.get(key)) for v, o in parsed.items() if o is not None})
        return out

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "keys": self.keys, "prefix": self.prefix}

    def describe(self) -> str:
        bad = f"; {self.malformed} rows held no JSON object" if self.malformed else ""
        return f"expand the JSON objects of {self.column!r} into {', '.join(self.prefix + k for k in self.keys)}{bad}"

    def python(self, n: int) -> tuple[str, list[str]]:
        return _HELPER, [
            f"_objects = df[{self.column!r}].map(_json_object)",
            *[f"df[{self.prefix + k!r}] = _objects.map(lambda o: _json_cell(o, {k!r}))" for k in self.keys],
        ]


_HELPER = """import json


def _json_object(text):
    try:
        value = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _json_cell(obj, key):
    value = obj.get(key) if isinstance(obj, dict) else None
    return json.dumps(value, ensure_ascii=False) if isinstance(value, (dict, list)) else value
"""


def _cell(value: Any) -> Any:
    # Nested objects and lists stay JSON text: a column holds plain values.
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
