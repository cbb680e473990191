"""Recipe steps: each one a pure function of a pandas DataFrame, saved as plain JSON data.

Steps run the same on pandas and, partition by partition, on Dask. Each writes its own pandas
code for ``Flow.to_python()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from .autosplit import AutoSplit
from .clusters import ReplaceClusters
from .expand import ExpandJson
from .join import Join
from .synth.program import Program
from .synth.serialize import program_from_data, program_to_data
from .transforms import (
    PLAIN_STEPS,
    Convert,
    Dedupe,
    Expression,
    Fill,
    Filter,
    Replace,
    Sort,
    Summarize,
    require_columns,
)

if TYPE_CHECKING:
    import pandas as pd


def column_lists(df: pd.DataFrame, columns: list[str]) -> list[list[str | None]]:
    """Each of ``columns`` as a list of strings, missing values as None (what programs read).

    Example:
        >>> import pandas as pd
        >>> column_lists(pd.DataFrame({"a": ["x", None], "b": [1, 2]}), ["a", "b"])
        [['x', None], ['1', '2']]
    """
    import pandas as pd

    # Strings pass as they are (the common case, and the hot loop); the rest is checked.
    return [
        [v if type(v) is str else None if v is None or pd.isna(v) else str(v) for v in df[c].tolist()] for c in columns
    ]


def column_strings(df: pd.DataFrame, columns: list[str]) -> list[tuple[str | None, ...]]:
    """The rows of ``columns`` as tuples of strings, missing values as None.

    Example:
        >>> import pandas as pd
        >>> column_strings(pd.DataFrame({"a": ["x", None], "b": [1, 2]}), ["a", "b"])
        [('x', '1'), (None, '2')]
    """
    cols = column_lists(df, columns)
    return list(zip(*cols, strict=True)) if cols else []


def _named(words: str, columns: list[str]) -> str:
    # A program says "column 0"; a step knows that column's name.
    return re.sub(r"\bcolumn (\d+)\b", lambda m: repr(columns[int(m.group(1))]), words)


@dataclass
class Derive:
    """A new column computed by a program learned from examples."""

    source_columns: list[str]
    new_column: str
    examples: list[tuple[dict[str, str], str]]
    program: Program
    kind: str = "derive_by_example"
    # Of the last apply: rows with every input, and those of them the program gave no answer.
    seen: int = field(default=0, compare=False)
    missed: int = field(default=0, compare=False)

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, self.source_columns, self.kind)
        cols = column_lists(df, self.source_columns)
        out = self.program.apply_column(cols)
        present = [None not in vals for vals in zip(*cols, strict=True)] if cols else []
        self.seen = sum(present)
        self.missed = sum(o is None and ok for o, ok in zip(out, present, strict=True))
        result = df.copy()
        result[self.new_column] = out
        return result

    def describe(self) -> str:
        words = _named(self.program.describe(), self.source_columns)
        return f"derive {self.new_column!r} from {', '.join(map(repr, self.source_columns))}: {words}"

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "source_columns": self.source_columns,
            "new_column": self.new_column,
            "examples": [[dict(i), o] for i, o in self.examples],
            "program": program_to_data(self.program),
        }

    def python(self, n: int) -> tuple[str, list[str]]:
        name = f"derive_{n}"
        cols = repr(self.source_columns)
        return self.program.to_python(name, helpers=False), [
            f"df[{self.new_column!r}] = [{name}(r) if None not in r else None for r in _rows(df, {cols})]"
        ]


@dataclass
class Split:
    """New columns taken from one column, each part by its own learned program."""

    column: str
    new_columns: list[str]
    examples: list[tuple[str, list[str]]]
    programs: list[Program]
    kind: str = "split_by_example"

    seen: int = field(default=0, compare=False)  # of the last apply: rows with a value,
    missed: int = field(default=0, compare=False)  # and those where some part got no answer

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, [self.column], self.kind)
        cols = column_lists(df, [self.column])
        result = df.copy()
        parts = [program.apply_column(cols) for program in self.programs]
        for name, values in zip(self.new_columns, parts, strict=True):
            result[name] = values
        self.seen = sum(v is not None for v in cols[0])
        self.missed = sum(v is not None and None in got for v, *got in zip(cols[0], *parts, strict=True))
        return result

    def describe(self) -> str:
        words = "; ".join(
            f"{n!r}: {_named(p.describe(), [self.column])}"
            for n, p in zip(self.new_columns, self.programs, strict=True)
        )
        return f"split {self.column!r} by example into {words}"

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "new_columns": self.new_columns,
            "examples": [[v, list(parts)] for v, parts in self.examples],
            "programs": [program_to_data(p) for p in self.programs],
        }

    def python(self, n: int) -> tuple[str, list[str]]:
        funcs, lines = [], []
        for k, (name, program) in enumerate(zip(self.new_columns, self.programs, strict=True)):
            fname = f"split_{n}_{k + 1}"
            funcs.append(program.to_python(fname, helpers=False))
            lines.append(
                f"df[{name!r}] = [{fname}(r) if None not in r else None for r in _rows(df, [{self.column!r}])]"
            )
        return "\n\n".join(funcs), lines


@dataclass
class Columns:
    """Keep, drop or rename columns."""

    action: str  # keep | drop | rename
    columns: list[str] | dict[str, str]
    kind: str = "columns"

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        names = list(self.columns)
        require_columns(df, names, self.action)
        if self.action == "keep":
            return df[names].copy()
        if self.action == "drop":
            return df.drop(columns=names)
        return df.rename(columns=dict(self.columns))  # type: ignore[arg-type]

    def describe(self) -> str:
        if self.action == "rename":
            pairs = ", ".join(f"{k!r} -> {v!r}" for k, v in dict(self.columns).items())  # type: ignore[arg-type]
            return f"rename {pairs}"
        return f"{self.action} {', '.join(map(repr, self.columns))}"

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "action": self.action, "columns": self.columns}

    def python(self, n: int) -> tuple[str, list[str]]:
        if self.action == "keep":
            return "", [f"df = df[{list(self.columns)!r}]"]
        if self.action == "drop":
            return "", [f"df = df.drop(columns={list(self.columns)!r})"]
        return "", [f"df = df.rename(columns={dict(self.columns)!r})"]  # type: ignore[arg-type]


Step = (
    Derive
    | Split
    | AutoSplit
    | Columns
    | Filter
    | Replace
    | Fill
    | Convert
    | Dedupe
    | Sort
    | Summarize
    | Expression
    | Join
    | ReplaceClusters
    | ExpandJson
)


def step_from_data(data: Any, trust: bool = False) -> Step:
    """Rebuild a step from its saved data; refuses unknown kinds, malformed fields, and a Python
    expression unless the file is trusted (``trust=True``)."""
    if not isinstance(data, dict):
        raise InvalidValue(f"a recipe step must be an object, not {type(data).__name__}")
    kind = data.get("kind")
    if kind == "python_expression" and not trust:
        raise InvalidValue(
            "the recipe holds a Python expression step; load it with trust=True only if you trust its author"
        )
    try:
        if kind in PLAIN_STEPS:
            step: Step = PLAIN_STEPS[kind](**{k: v for k, v in data.items() if k != "kind"})
            return step
        if kind == "derive_by_example":
            return Derive(
                list(data["source_columns"]),
                str(data["new_column"]),
                [(dict(i), str(o)) for i, o in data["examples"]],
                program_from_data(data["program"]),
            )
        if kind == "split_by_example":
            return Split(
                str(data["column"]),
                list(data["new_columns"]),
                [(str(v), list(p)) for v, p in data["examples"]],
                [program_from_data(p) for p in data["programs"]],
            )
        if kind == "split_delimited":
            return AutoSplit(
                str(data["column"]),
                list(data["new_columns"]),
                data["delimiters"],
                examples=[(str(v), [str(x) for x in p]) for v, p in data.get("examples", [])],
            )
        if kind == "replace_clusters":
            return ReplaceClusters(str(data["column"]), dict(data["mapping"]))
        if kind == "expand_json":
            keys = [str(k) for k in data["keys"]]
            return ExpandJson(str(data["column"]), keys, str(data["prefix"]))
        if kind == "join":
            from .flow import flow_from_data

            return Join(
                flow_from_data(data["other"], trust=trust),
                list(data["left_on"]),
                list(data["right_on"]),
                str(data["how"]),
            )
        if kind == "columns" and data.get("action") in ("keep", "drop", "rename"):
            return Columns(data["action"], data["columns"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidValue(f"recipe step {kind!r} is malformed: {exc}") from None
    raise InvalidValue(f"unknown recipe step {kind!r}")
