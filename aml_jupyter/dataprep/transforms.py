"""Plain recipe steps: filter, replace, fill, convert, de-duplicate, sort, summarize, and a
Python expression (run only where its author wrote it, or from a file loaded with trust=True).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue

if TYPE_CHECKING:
    import pandas as pd

FILTER_OPS = ("==", "!=", "<", "<=", ">", ">=", "contains", "startswith", "endswith", "isnull", "notnull")
AGGREGATIONS = ("count", "sum", "mean", "min", "max", "median", "nunique", "first", "last")
TYPES = ("number", "date", "boolean", "string")
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


def require_columns(df: pd.DataFrame, columns: list[str], step: str) -> None:
    """Raise InvalidValue naming the columns ``step`` needs that ``df`` lacks.

    Example:
        >>> import pandas as pd
        >>> require_columns(pd.DataFrame({"a": [1]}), ["a"], "sort")
    """
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InvalidValue(f"{step}: no column {', '.join(map(repr, missing))} (have {list(df.columns)})")


@dataclass
class Filter:
    """Keep the rows where every (column, op, value) condition holds."""

    conditions: list[tuple[str, str, Any]]
    kind: str = "filter"

    def __post_init__(self) -> None:
        for cond in self.conditions:
            if len(cond) != 3 or cond[1] not in FILTER_OPS:
                raise InvalidValue(f"a filter condition is (column, one of {FILTER_OPS}, value), not {cond!r}")

    def mask(self, df: pd.DataFrame) -> pd.Series:
        import pandas as pd

        require_columns(df, [c for c, _, _ in self.conditions], self.kind)
        keep = pd.Series(True, index=df.index)
        for col, op, value in self.conditions:
            s = df[col]
            if op in ("contains", "startswith", "endswith"):
                test = getattr(s.astype("string").str, op)(str(value)).fillna(False).astype(bool)
            elif op == "isnull":
                test = s.isna()
            elif op == "notnull":
                test = s.notna()
            else:
                test = {"==": s.eq, "!=": s.ne, "<": s.lt, "<=": s.le, ">": s.gt, ">=": s.ge}[op](value)
                test = test.fillna(False).astype(bool)
            keep &= test
        return keep

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        return df[self.mask(df)]

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "conditions": [list(c) for c in self.conditions]}

    def python(self, n: int) -> tuple[str, list[str]]:
        tests = []
        for col, op, value in self.conditions:
            ref = f"df[{col!r}]"
            if op in ("contains", "startswith", "endswith"):
                tests.append(f"{ref}.astype('string').str.{op}({str(value)!r}).fillna(False).astype(bool)")
            elif op in ("isnull", "notnull"):
                tests.append(f"{ref}.{'isna' if op == 'isnull' else 'notna'}()")
            else:
                method = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}[op]
                tests.append(f"{ref}.{method}({value!r}).fillna(False).astype(bool)")
        return "", [f"df = df[{' & '.join(f'({t})' for t in tests) or 'True'}]"]


@dataclass
class Replace:
    """Replace whole values in a column."""

    column: str
    old: Any
    new: Any
    kind: str = "replace"

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, [self.column], self.kind)
        out = df.copy()
        out[self.column] = out[self.column].replace(self.old, self.new)
        return out

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "old": self.old, "new": self.new}

    def python(self, n: int) -> tuple[str, list[str]]:
        return "", [f"df[{self.column!r}] = df[{self.column!r}].replace({self.old!r}, {self.new!r})"]


@dataclass
class Fill:
    """Fill missing values of a column with a constant."""

    column: str
    value: Any
    kind: str = "fill_missing"

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, [self.column], self.kind)
        out = df.copy()
        out[self.column] = out[self.column].fillna(self.value)
        return out

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "value": self.value}

    def python(self, n: int) -> tuple[str, list[str]]:
        return "", [f"df[{self.column!r}] = df[{self.column!r}].fillna({self.value!r})"]


@dataclass
class Convert:
    """Convert a column to number, date (with an optional strptime format), boolean or string.
    Values that do not convert become missing (never an exception)."""

    column: str
    to: str
    format: str | None = None
    kind: str = "convert"

    def __post_init__(self) -> None:
        if self.to not in TYPES:
            raise InvalidValue(f"convert to one of {TYPES}, not {self.to!r}")

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        import pandas as pd

        require_columns(df, [self.column], self.kind)
        out = df.copy()
        s = out[self.column]
        if self.to == "number":
            out[self.column] = pd.to_numeric(s, errors="coerce")
        elif self.to == "date":
            out[self.column] = pd.to_datetime(s, format=self.format, errors="coerce")
        elif self.to == "boolean":
            out[self.column] = s.map(_to_bool).astype("boolean")
        else:
            out[self.column] = s.astype("string")
        return out

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "to": self.to, "format": self.format}

    def python(self, n: int) -> tuple[str, list[str]]:
        c = repr(self.column)
        if self.to == "number":
            return "", [f"df[{c}] = pd.to_numeric(df[{c}], errors='coerce')"]
        if self.to == "date":
            return "", [f"df[{c}] = pd.to_datetime(df[{c}], format={self.format!r}, errors='coerce')"]
        if self.to == "boolean":
            return "", [
                f"df[{c}] = df[{c}].map(lambda v: None if pd.isna(v) else True if str(v).strip().lower() in "
                f"{sorted(_TRUE)!r} else False if str(v).strip().lower() in {sorted(_FALSE)!r} else None)"
                ".astype('boolean')"
            ]
        return "", [f"df[{c}] = df[{c}].astype('string')"]


def _to_bool(v: Any) -> bool | None:
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    text = str(v).strip().lower()
    return True if text in _TRUE else False if text in _FALSE else None


@dataclass
class Dedupe:
    """Drop duplicate rows (judged on ``columns``, or on all)."""

    columns: list[str] | None = None
    kind: str = "drop_duplicates"

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        if self.columns:
            require_columns(df, self.columns, self.kind)
        return df.drop_duplicates(subset=self.columns)

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "columns": self.columns}

    def python(self, n: int) -> tuple[str, list[str]]:
        return "", [f"df = df.drop_duplicates(subset={self.columns!r})"]


@dataclass
class Sort:
    """Sort by columns (missing values last)."""

    columns: list[str]
    descending: bool = False
    kind: str = "sort"

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, self.columns, self.kind)
        return df.sort_values(self.columns, ascending=not self.descending, kind="stable", na_position="last")

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "columns": self.columns, "descending": self.descending}

    def python(self, n: int) -> tuple[str, list[str]]:
        return "", [
            f"df = df.sort_values({self.columns!r}, ascending={not self.descending}, kind='stable', na_position='last')"
        ]


@dataclass
class Summarize:
    """Group by columns and summarize others: {column: aggregation}."""

    by: list[str]
    aggregations: dict[str, str]
    kind: str = "summarize"

    def __post_init__(self) -> None:
        bad = {a for a in self.aggregations.values() if a not in AGGREGATIONS}
        if bad or not self.aggregations:
            raise InvalidValue(f"aggregations must be among {AGGREGATIONS}, got {sorted(bad) or 'none'}")

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, [*self.by, *self.aggregations], self.kind)
        return df.groupby(self.by, dropna=False, sort=True).agg(self.aggregations).reset_index()

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "by": self.by, "aggregations": self.aggregations}

    def python(self, n: int) -> tuple[str, list[str]]:
        return "", [f"df = df.groupby({self.by!r}, dropna=False, sort=True).agg({self.aggregations!r}).reset_index()"]


@dataclass
class Expression:
    """A column computed by a Python expression over ``df`` (the user's own code: it runs)."""

    new_column: str
    expression: str
    kind: str = "python_expression"

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        import numpy as np
        import pandas as pd

        out = df.copy()
        out[self.new_column] = eval(self.expression, {"pd": pd, "np": np}, {"df": df})  # noqa: S307 - trusted by the caller
        return out

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "new_column": self.new_column, "expression": self.expression}

    def python(self, n: int) -> tuple[str, list[str]]:
        return "", [f"df[{self.new_column!r}] = {self.expression}"]


PLAIN_STEPS: dict[str, type] = {
    "filter": Filter,
    "replace": Replace,
    "fill_missing": Fill,
    "convert": Convert,
    "drop_duplicates": Dedupe,
    "sort": Sort,
    "summarize": Summarize,
    "python_expression": Expression,
}
