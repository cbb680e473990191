"""Joining two recipes, with suggested keys (the column pairs whose values overlap most)."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue

if TYPE_CHECKING:
    import pandas as pd

    from .flow import Flow

HOW = ("left", "inner", "right", "outer")


def suggest_keys(left: pd.DataFrame, right: pd.DataFrame, top: int = 3) -> list[tuple[str, str, float]]:
    """Column pairs (left, right, overlap) ranked by how many distinct left values the right has.

    Example:
        >>> import pandas as pd
        >>> suggest_keys(pd.DataFrame({"id": [1, 2], "x": [5, 6]}), pd.DataFrame({"cust": [2, 1]}))[0]
        ('id', 'cust', 1.0)
    """
    scores = []
    for lc in left.columns:
        lv = set(left[lc].dropna().astype(str))
        if not lv:
            continue
        for rc in right.columns:
            rv = set(right[rc].dropna().astype(str))
            if rv:
                scores.append((str(lc), str(rc), round(len(lv & rv) / len(lv), 4)))
    scores.sort(key=lambda s: (-s[2], s[0], s[1]))
    return [s for s in scores if s[2] > 0][:top]


@dataclass
class Join:
    """Merge with another recipe's result on key columns."""

    other: Flow
    left_on: list[str]
    right_on: list[str]
    how: str = "left"
    kind: str = "join"

    def __post_init__(self) -> None:
        if self.how not in HOW or len(self.left_on) != len(self.right_on) or not self.left_on:
            raise InvalidValue(f"join needs as many left as right keys and how in {HOW}")

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        right = self.other.to_pandas()
        missing = [c for c in self.left_on if c not in df.columns] + [
            c for c in self.right_on if c not in right.columns
        ]
        if missing:
            raise InvalidValue(f"join: no key column {missing[0]!r}")
        return df.merge(right, left_on=self.left_on, right_on=self.right_on, how=self.how, suffixes=("", "_right"))

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "other": self.other.to_data(),
            "left_on": self.left_on,
            "right_on": self.right_on,
            "how": self.how,
        }

    def python(self, n: int) -> tuple[str, list[str]]:
        body = textwrap.indent(self.other.to_python(), "    ")
        func = f"def _right_{n}():\n{body}    return df\n"
        return func, [
            f"df = df.merge(_right_{n}(), left_on={self.left_on!r}, right_on={self.right_on!r}, "
            f"how={self.how!r}, suffixes=('', '_right'))"
        ]
