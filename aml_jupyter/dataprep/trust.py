"""Which rows a learned step may have wrong, and why: the one rule every surface shows.

A row is flagged when its inputs are all there and

- the program gives no answer (``no answer``, with the reason: no such position, a text that
  does not read as a date or a number, a value off a lookup's table);
- a day-first and a month-first reading give different answers and neither an example nor a row
  of the column tells which is meant (``date order``);
- its inputs have a shape no example has: another sequence of letters, digits and punctuation,
  or a length far from the examples' (``shape``), even when the program answers;
- the runners-up answer differently (``unsure``).

The shape flag depends on the examples alone (not on the program learned from them), so a row
of a new shape stays flagged, whatever the program answers, until an example of its shape is given.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .synth.program import Concat, Lookup, Program, SubStr, Switch

_RUN = re.compile(r"[^\W\d_]+|\d+|\s+|.", re.S)
REASONS = ("no answer", "date order", "shape", "unsure")  # most serious first


class UnansweredRowsWarning(UserWarning):
    """Rows with all their inputs got no answer from a learned step (``check_rows()`` lists them)."""


def shape(text: str) -> str:
    """The token-class signature of a text: runs of letters become ``a``, of digits ``9``, of
    spaces one space; other characters stay.

    Example:
        >>> shape("Ada Lovelace"), shape("(555) 123-4567"), shape("2024-03-05"), shape("١٢ Mär")
        ('a a', '(9) 9-9', '9-9-9', '9 a')
    """
    out = []
    for m in _RUN.finditer(text):
        c = m.group()[0]
        out.append("9" if c.isdigit() else " " if c.isspace() else "a" if c.isalpha() else c)
    return "".join(out)


@dataclass(frozen=True)
class Shapes:
    """The shapes and lengths of a step's examples, to tell rows unlike all of them.

    Example:
        >>> Shapes.of([["john smith"]]).differs(["mary ann jones"])
        "its shape 'a a a' is unlike every example's ('a a')"
    """

    signatures: frozenset[tuple[str, ...]]
    low: tuple[int, ...]
    high: tuple[int, ...]

    @classmethod
    def of(cls, example_rows: Sequence[Sequence[str]]) -> Shapes:
        cols = list(zip(*example_rows, strict=True)) if example_rows else []
        return cls(
            frozenset(tuple(shape(v) for v in r) for r in example_rows),
            tuple(min(len(v) for v in c) for c in cols),
            tuple(max(len(v) for v in c) for c in cols),
        )

    def differs(self, row: Sequence[str]) -> str | None:
        """Why ``row`` is unlike every example, or None when it is like one."""
        sig = tuple(shape(v) for v in row)
        if self.signatures and sig not in self.signatures:
            known = " or ".join(sorted(" | ".join(s) for s in self.signatures)[:3])
            return f"its shape {' | '.join(sig)!r} is unlike every example's ({known!r})"
        for k, v in enumerate(row):
            if k < len(self.low) and not self.low[k] / 2 <= len(v) <= 2 * self.high[k] + 2:
                return f"its length {len(v)} is far from the examples' ({self.low[k]}-{self.high[k]})"
        return None


def _with_order(program: Program, order: str) -> Program:
    # The same program reading its dates in another day/month order.
    def piece(p: Any) -> Any:
        if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] == "dt" and p.case[1] in ("mdy", "dmy"):
            return replace(p, case=(p.case[0], order, *p.case[2:]))
        return p

    def body(c: Concat) -> Concat:
        return Concat(tuple(piece(p) for p in c.pieces))

    root = program.root
    if isinstance(root, Lookup):
        return program
    if isinstance(root, Switch):
        return Program(Switch(tuple((pred, body(c)) for pred, c in root.branches)), program.columns)
    return Program(body(root), program.columns)


def _date_order(program: Program) -> str | None:
    roots = program.root.branches if isinstance(program.root, Switch) else [(None, program.root)]
    for _, c in roots:
        if isinstance(c, Concat):
            for p in c.pieces:
                if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] == "dt":
                    if p.case[1] in ("mdy", "dmy"):
                        return str(p.case[1])
    return None


def undecided_order(
    program: Program, examples: Sequence[tuple[Sequence[str], str]], rows: Sequence[Sequence[str]]
) -> Program | None:
    """The same program with the other day/month order when nothing tells the two apart: it fits
    every example and reads every row the chosen one reads. None when the order is decided.

    Example:
        >>> from aml_jupyter.dataprep import synth
        >>> p = synth.learn([(["01/01/2017"], "2017-01-01")])
        >>> undecided_order(p, [(["01/01/2017"], "2017-01-01")], [["05/06/2018"]]) is not None
        True
        >>> undecided_order(p, [(["01/01/2017"], "2017-01-01")], [["05/06/2018"], ["05/20/2018"]]) is None
        True
    """
    order = _date_order(program)
    if order is None:
        return None
    other = _with_order(program, "dmy" if order == "mdy" else "mdy")
    if any(other.apply(list(r)) != o for r, o in examples):
        return None
    for r in rows:
        if program.apply(list(r)) is not None and other.apply(list(r)) is None:
            return None  # this row reads one way only: it decides
    return other


def review(
    programs: Sequence[Program],
    rows: Sequence[Sequence[str | None]],
    examples: Sequence[tuple[Sequence[str], Any]],
) -> list[dict[str, Any]]:
    """Every flagged row of ``rows`` as ``{"row": i, "output", "reason", "why", "alternatives"}``,
    the most serious reason first (see the module's docstring). ``examples`` pairs each example's
    inputs with its output (one output per program; a list of parts for several).

    Example:
        >>> from aml_jupyter.dataprep import synth
        >>> p = synth.learn([(["5 Mar 2024"], "2024-03-05")])
        >>> [f["why"] for f in review([p], [["7 Apr 2023"], ["soon"]], [(["5 Mar 2024"], "2024-03-05")])][-1]
        "'soon' does not read as a date or time; its shape 'a' is unlike every example's ('9 a 9')"
    """
    shapes = Shapes.of([list(r) for r, _ in examples])
    full = [[str(v) for v in r] for r in rows if None not in r]
    swapped = []
    for k, program in enumerate(programs):
        outs = [(r, o if len(programs) == 1 else o[k]) for r, o in examples]
        swapped.append(undecided_order(program, outs, full))
    flags = []
    for i, raw in enumerate(rows):
        if None in raw:
            continue  # a missing input gives a missing output: nothing to check
        row: list[str] = [str(v) for v in raw]
        best = [p.apply(row) for p in programs]
        found: list[tuple[str, str]] = []
        for k, (program, value) in enumerate(zip(programs, best, strict=True)):
            part = "" if len(programs) == 1 else f"part {k + 1}: "
            if value is None:
                found.append(("no answer", part + (program.why_none(row) or "no answer")))
            other = swapped[k]
            if other is not None and value is not None and (alt := other.apply(row)) not in (None, value):
                found.append(("date order", f"{part}read the other way it is {alt!r}; no example or row decides"))
        if why := shapes.differs(row):
            found.append(("shape", why))
        others: list[Any] = []
        for k, program in enumerate(programs):
            for alt_program in program.alternatives:
                value = alt_program.apply(row)
                if value != best[k] and value is not None:
                    shown = value if len(programs) == 1 else f"part {k + 1}: {value!r}"
                    if shown not in others:
                        others.append(shown)
        if others:
            found.append(("unsure", "the runners-up answer differently"))
        if found:
            found.sort(key=lambda f: REASONS.index(f[0]))
            flags.append(
                {
                    "row": i,
                    "output": best[0] if len(programs) == 1 else best,
                    "reason": found[0][0],
                    "why": "; ".join(dict.fromkeys(w for _, w in found)),
                    "alternatives": others,
                }
            )
    return flags


def review_split(splitter: Any, rows: Sequence[Sequence[str | None]]) -> list[dict[str, Any]]:
    """Flags for an auto-split (:class:`~aml_jupyter.dataprep.autosplit.Splitter`): rows with
    fewer fields than columns (``no answer`` for the missing ones) and rows with more (``shape``:
    the rest is kept whole in the last column).

    Example:
        >>> from aml_jupyter.dataprep.autosplit import Splitter
        >>> [f["why"] for f in review_split(Splitter(",", 2), [["a,b"], ["a"], ["a,b,c"]])]
        ['1 of 2 fields', '3 fields: the rest is kept whole in the last column']
    """
    wide = replace(splitter, width=splitter.width + 50)  # to count the fields past the last column
    flags = []
    for i, (value, *_) in enumerate(rows):
        if value is None:
            continue
        fields = splitter.split(value)
        have = sum(f is not None for f in fields)
        more = sum(f is not None for f in wide.split(value))
        if have < splitter.width:
            flags.append(
                {"row": i, "output": fields, "reason": "no answer", "why": f"{have} of {splitter.width} fields"}
            )
        elif more > splitter.width:
            why = f"{more} fields: the rest is kept whole in the last column"
            flags.append({"row": i, "output": fields, "reason": "shape", "why": why})
    for f in flags:
        f["alternatives"] = []
    return flags


def warn_unanswered(
    label: str, missed: int, total: int, where: str = "", what: str = "got no answer from the learned program"
) -> None:
    """Warn (UnansweredRowsWarning) that ``missed`` of ``total`` rows got no answer from a step.

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings(record=True) as seen:
        ...     warnings.simplefilter("always")
        ...     warn_unanswered("derive 'eu'", 3, 12)
        >>> str(seen[0].message)
        "derive 'eu': 3 of 12 rows got no answer from the learned program; flow.check_rows() lists them"
    """
    if missed:
        warnings.warn(
            f"{label}: {missed:,} of {total:,} rows{where} {what}; flow.check_rows() lists them",
            UnansweredRowsWarning,
            stacklevel=4,  # the caller of to_pandas() or to_dask()
        )
