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

from collections.abc import Sequence
from dataclasses import dataclass, field

from .nodes import (
    Concat as Concat,
)
from .nodes import (
    Const as Const,
)
from .nodes import (
    Lookup as Lookup,
)
from .nodes import (
    Piece as Piece,
)
from .nodes import (  # the pieces, named here too: programs pickled before they moved load as they were
    Pos as Pos,
)
from .nodes import (
    Predicate as Predicate,
)
from .nodes import (
    SubStr as SubStr,
)
from .nodes import (
    Switch as Switch,
)
from .nodes import (
    describe_pos as describe_pos,
)
from .nodes import (
    describe_transform as describe_transform,
)
from .nodes import (
    eval_pos as eval_pos,
)
from .nodes import (
    helper_source as helper_source,
)


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
