"""Learned programs: small, picklable trees that run on a row and print as Python.

Program   := Concat | Switch | Lookup
Switch    := (Predicate -> Concat)+, the last branch taken when no predicate holds
Lookup    := a table from whole input values to outputs (codes to names); no answer off the table
Concat    := Piece+
Piece     := Const(text) | SubStr(column, start, end, case)
Position  := ("abs", k) | ("tok", left_token, right_token, k)
Predicate := Contains(column, token) or its negation
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
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


@dataclass
class Program:
    """A learned string transformation over ``columns`` input strings.

    Example:
        >>> p = Program(Concat((SubStr(0, ("abs", 0), ("abs", 1), "upper"), Const("."))), 1)
        >>> p.apply(["ada"])
        'A.'
    """

    root: Concat | Switch | Lookup
    columns: int
    cost: float = 0.0
    alternatives: list[Program] = field(default_factory=list, repr=False, compare=False)

    def apply(self, inputs: Sequence[str | None]) -> str | None:
        """The output for one row of inputs; None when an input is missing or a position does not exist."""
        if len(inputs) != self.columns:
            return None
        for v in inputs:
            if not isinstance(v, str):
                return None
        return self.root.run(inputs)  # type: ignore[arg-type]

    def why_none(self, inputs: Sequence[str | None]) -> str | None:
        """Why the program gives no answer for ``inputs`` (None when it gives one).

        Example:
            >>> p = Program(Concat((SubStr(0, ("tok", "Space", None, 1), ("abs", -1)),)), 1)
            >>> p.why_none(["Ada"])
            "column 0 ('Ada') has no place after the first Space"
        """
        if self.apply(inputs) is not None:
            return None
        if len(inputs) != self.columns or not all(isinstance(v, str) for v in inputs):
            return "an input is missing"
        row: list[str] = [str(v) for v in inputs]
        root = self.root
        if isinstance(root, Lookup):
            key = row[0] if self.columns == 1 else tuple(row)
            return f"{key!r} is not one of the lookup's {len(root.table)} values"
        body: Concat | None = root if isinstance(root, Concat) else None
        if isinstance(root, Switch):
            body = next((c for pred, c in root.branches if pred is None or pred.holds(row)), None)
            if body is None:
                return "no branch's test holds"
        assert body is not None
        for p in body.pieces:
            if not isinstance(p, SubStr) or p.run(row) is not None:
                continue
            s = row[p.col]
            for pos in (p.start, p.end):
                if eval_pos(s, pos) is None:
                    return f"column {p.col} ({s!r}) has no place {describe_pos(pos)}"
            i, j = eval_pos(s, p.start), eval_pos(s, p.end)
            assert i is not None and j is not None
            if i > j:
                return f"in column {p.col} ({s!r}), {describe_pos(p.end)} comes before {describe_pos(p.start)}"
            kind = p.case[0] if isinstance(p.case, tuple) else None
            if kind in ("dt", "date"):
                return f"{s[i:j]!r} does not read as a date or time"
            if kind in ("nm", "num"):
                return f"{s[i:j]!r} does not read as a number"
            return f"{s[i:j]!r} cannot be transformed"
        return "no answer"

    def apply_column(self, columns: Sequence[Sequence[str | None]]) -> list[str | None]:
        """The output for every row of ``columns`` (one list per input column), as :meth:`apply`
        gives it row by row, but fast: see :mod:`~aml_jupyter.dataprep.synth.vector`.

        Example:
            >>> Program(Concat((SubStr(0, ("abs", 0), ("abs", 1), "upper"),)), 1).apply_column([["ada", None]])
            ['A', None]
        """
        from .vector import apply_column

        return apply_column(self, columns)

    def to_python(self, name: str = "transform", helpers: bool = True) -> str:
        """Readable Python source of a function ``name(row) -> str | None`` doing what the program does.

        With ``helpers=False`` only the function is written (for recipes holding several programs,
        which write the helpers once, see :func:`helper_source`).
        """
        if not helpers:
            return self._function_source(name)
        return helper_source() + "\n\n" + self._function_source(name)

    def _function_source(self, name: str) -> str:
        lines = [
            f"def {name}(row):",
            "    # " + self.describe().replace("\n", " "),
            f"    if len(row) != {self.columns} or any(not isinstance(v, str) for v in row):",
            "        return None",
        ]
        if isinstance(self.root, Lookup):
            table = {k: v for k, v in self.root.table}
            return "\n".join([*lines, f"    return {table!r}.get(tuple(row))"]) + "\n"
        branches = self.root.branches if isinstance(self.root, Switch) else ((None, self.root),)
        for pred, body in branches:
            indent = "    "
            if pred is not None:
                lines.append(f"    if {pred.code()}:")
                indent = "        "
            parts = ", ".join(p.code() for p in body.pieces)
            lines.append(f"{indent}parts = [{parts}]")
            lines.append(f"{indent}return None if None in parts else ''.join(parts)")
        if isinstance(self.root, Switch) and self.root.branches[-1][0] is not None:
            lines.append("    return None")
        return "\n".join(lines) + "\n"

    def describe(self) -> str:
        """The program in one line of words."""

        def piece(p: Piece) -> str:
            if isinstance(p, Const):
                return repr(p.text)
            where = f"column {p.col}"
            if (p.start, p.end) != (("abs", 0), ("abs", -1)):
                where += f" from {describe_pos(p.start)} to {describe_pos(p.end)}"
            return where + describe_transform(p.case)

        def body(c: Concat) -> str:
            return " + ".join(piece(p) for p in c.pieces)

        if isinstance(self.root, Lookup):
            return self.root.describe()

        if isinstance(self.root, Switch):
            parts = []
            for pred, c in self.root.branches:
                cond = "otherwise" if pred is None else f"if {pred.describe()}"
                parts.append(f"{cond}: {body(c)}")
            return "; ".join(parts)
        return body(self.root)
