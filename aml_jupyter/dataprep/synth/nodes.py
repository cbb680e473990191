"""The pieces learned programs are made of (see program.py for the grammar), and how each reads as words.

Program (program.py) puts them together and runs them row by row; vector.py runs them over whole
columns. Both stand on this module, so neither needs the other's.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import dates, numeric, runtime

Pos = tuple[Any, ...]  # ("abs", k) or ("tok", left, right, k)


def eval_pos(s: str, p: Pos) -> int | None:
    """Evaluate a position expression on ``s``.

    Example:
        >>> eval_pos("ab,cd", ("tok", "c:,", None, 1)), eval_pos("ab", ("abs", -1))
        (3, 2)
    """
    return runtime.position_function(p)(s)


def describe_pos(p: Pos) -> str:
    """A position in words.

    Example:
        >>> describe_pos(("tok", "Space", None, -1))
        'after the last Space'
    """
    if p[0] == "abs":
        k = p[1]
        return "the start" if k == 0 else "the end" if k == -1 else f"index {k}" if k > 0 else f"{-k - 1} from the end"
    _, left, right, k = p
    nth = {1: "first", 2: "second", 3: "third", -1: "last", -2: "second last"}.get(k, f"#{k}")
    if left and right:
        return f"between {left} and {right} ({nth})"
    return f"after the {nth} {left}" if left else f"before the {nth} {right}"


_ORDER_WORDS = {"mdy": "month first", "dmy": "day first", "ymd": "year first"}
_MODE_WORDS = {"floor": "down", "ceil": "up", "round": "to the nearest", "half_up": "half up", "half_even": "half even"}
_MODE_WORDS.update({"down": "toward zero", "up": "away from zero"})


def describe_transform(how: Any) -> str:
    """A piece's transform in words (empty when it keeps the text).

    Example:
        >>> describe_transform(("dt", "dmy", "{-d} {b} {Y}", ("floor", "week")))
        " read as a date (day first), rounded down to a week, written '{-d} {b} {Y}'"
        >>> describe_transform(("nm", ",", 0, "0.01", "half_up", 0, 2, ".", ",", 0, False))[:64]
        ' read as a number (decimal comma), rounded half up to 0.01, writ'

    """
    if how is None:
        return ""
    if isinstance(how, str):
        return f" in {how} case"
    if how[0] == "dt":
        _, order, template, rounding = how
        text = f" read as a date ({_ORDER_WORDS[order]})"
        if rounding is not None:
            unit = rounding[1]
            if unit.endswith("min"):
                unit = f"{unit[:-3]} minutes"
            elif unit[:-1].isdigit():  # "2h"
                unit = "an hour" if unit == "1h" else f"{unit[:-1]} hours"
            else:
                unit = f"a {unit}"
            text += f", rounded {_MODE_WORDS[rounding[0]]} to {unit}"
        return text + f", written {template!r}"
    if how[0] == "nm":
        _, conv, scale, unit, mode, end, decimals, sep, mark, width, plus = how
        text = f" read as a number (decimal {'point' if conv == '.' else 'comma'})"
        if scale:
            text += f", times 1e{scale}"
        if unit is not None:
            target = f"{unit[1:]} significant digits" if unit[0] == "s" else unit
            text += f", rounded {_MODE_WORDS[mode]} to {target}"
            text += {0: "", 1: ", the end of its range", 2: ", the last value of its range"}[end]
        style = [f"{decimals} decimal{'s' * (decimals != 1)}" if decimals >= 0 else "no trailing zeros"]
        if sep:
            style.append(f"{sep!r} between thousands")
        style.append(f"{mark!r} before decimals")
        if width:
            style.append(f"at least {width} digits")
        if plus:
            style.append("a '+' on positives")
        return text + ", written with " + ", ".join(style)
    return f" as {how[0]} {how[1:]}"


@dataclass(frozen=True)
class Const:
    """A constant string."""

    text: str

    def run(self, row: Sequence[str]) -> str | None:
        return self.text

    def code(self) -> str:
        return repr(self.text)


@dataclass(frozen=True)
class SubStr:
    """The part of column ``col`` between two positions, with an optional case change."""

    col: int
    start: Pos
    end: Pos
    case: Any = None  # None, 'upper'/'lower'/'title', ("date", in, out) or ("num", spec): see runtime.apply_transform

    def run(self, row: Sequence[str]) -> str | None:
        s = row[self.col]
        i, j = eval_pos(s, self.start), eval_pos(s, self.end)
        if i is None or j is None or i > j:
            return None
        return runtime.apply_transform(s[i:j], self.case)

    def code(self) -> str:
        text = f"_sub(row[{self.col}], {self.start!r}, {self.end!r})"
        return f"_case({text}, {self.case!r})" if self.case else text


Piece = Const | SubStr


@dataclass(frozen=True)
class Concat:
    """Pieces joined; None if any piece has no value on the row."""

    pieces: tuple[Piece, ...]

    def run(self, row: Sequence[str]) -> str | None:
        out = []
        for piece in self.pieces:
            value = piece.run(row)
            if value is None:
                return None
            out.append(value)
        return "".join(out)

    def code(self) -> str:
        return " + ".join(p.code() for p in self.pieces) if self.pieces else "''"


@dataclass(frozen=True)
class Predicate:
    """True when column ``col`` holds a match of ``token`` ('has'), starts with one ('starts'),
    ends with one ('ends'), holds two or more ('twice'), or holds the text of column
    ``int(token)`` ('has_column'); or, negated, when it does not."""

    col: int
    token: str
    negate: bool = False
    kind: str = "has"

    def holds(self, row: Sequence[str]) -> bool:
        if self.kind == "has_column":
            return (row[int(self.token)] in row[self.col]) != self.negate
        return runtime.has_token(row[self.col], self.token, self.kind) != self.negate

    def code(self) -> str:
        if self.kind == "has_column":
            test = f"(row[{int(self.token)}] in row[{self.col}])"
        else:
            test = f"has_token(row[{self.col}], {self.token!r}, {self.kind!r})"
        return f"not {test}" if self.negate else test

    def describe(self) -> str:
        if self.kind == "has_column":
            return f"column {self.col} {'does not hold' if self.negate else 'holds'} column {self.token}"
        verb = {"has": "has a", "starts": "starts with", "ends": "ends with", "twice": "has two or more of"}[self.kind]
        return f"column {self.col} {'does not ' if self.negate else ''}{verb} {self.token}"


@dataclass(frozen=True)
class Switch:
    """The first branch whose predicate holds; the last branch has none (otherwise)."""

    branches: tuple[tuple[Predicate | None, Concat], ...]

    def run(self, row: Sequence[str]) -> str | None:
        for pred, body in self.branches:
            if pred is None or pred.holds(row):
                return body.run(row)
        return None


@dataclass(frozen=True)
class Lookup:
    """Outputs looked up by the whole input values: a mapping the data implies (codes to names),
    learned when no string program explains it. Values off the table have no answer."""

    table: tuple[tuple[tuple[str, ...], str], ...]

    @cached_property
    def mapping(self) -> dict[tuple[str, ...], str]:
        return dict(self.table)

    def run(self, row: Sequence[str]) -> str | None:
        return self.mapping.get(tuple(row))

    def describe(self) -> str:
        shown = ", ".join(f"{(k[0] if len(k) == 1 else k)!r} -> {v!r}" for k, v in self.table[:4])
        more = ", ..." if len(self.table) > 4 else ""
        return f"a lookup of {len(self.table)} value{'s' * (len(self.table) != 1)} ({shown}{more})"


def _module_body(module: Any) -> list[str]:
    # A standard-library-only module's code without its docstring and imports (written once above).
    source = inspect.getsource(module)
    body = [ln for ln in source.split("\n") if not ln.startswith(("from ", "import "))]
    text = "\n".join(body)
    doc = module.__doc__ or ""
    if doc:
        text = text.replace(f'"""{doc}"""', "", 1)
    return [text.strip("\n"), "", ""]


def helper_source() -> str:
    """The runtime functions that exported programs call, as Python source.

    Example:
        >>> "def position(" in helper_source()
        True
    """
    funcs = (
        runtime.token_pattern,
        runtime.spans,
        runtime.position,
        runtime.absolute,
        runtime.has_token,
        runtime.apply_transform,
        runtime.change_case,
    )
    lines = [
        "import datetime",
        "import decimal",
        "import functools",
        "import re",
        "from decimal import Decimal",
        "from typing import Any",
        "",
        *_module_body(dates),
        *_module_body(numeric),
        f"CLASS_TOKENS = {runtime.CLASS_TOKENS!r}",
        "_COMPILED = {}",
        "",
    ]
    lines += [inspect.getsource(f) for f in funcs]
    lines += [
        "",
        "def _sub(s, start, end):",
        "    i = absolute(s, start[1]) if start[0] == 'abs' else position(s, *start[1:])",
        "    j = absolute(s, end[1]) if end[0] == 'abs' else position(s, *end[1:])",
        "    return s[i:j] if i is not None and j is not None and i <= j else None",
        "",
        "",
        "def _case(text, how):",
        "    return None if text is None else apply_transform(text, how)",
    ]
    return "\n".join(lines) + "\n"
