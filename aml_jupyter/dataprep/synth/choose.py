"""Choosing the program: the cheapest path through a program graph under the ranking, with the
unlabelled rows' verdict on each position, and the runners-up."""

from __future__ import annotations

import functools
import re
import time
from dataclasses import replace
from decimal import Decimal
from typing import Any

from ...errors import NoProgramFound
from . import dag as g
from . import dates, formats, numeric, runtime
from .program import Concat, Const, Piece, Program, SubStr, eval_pos
from .ranking import const_cost, position_cost, sort_key

MAX_ALTERNATIVES = 3
MAX_READINGS = 1024  # other readings of one piece tried for runners-up


class Scorer:
    """Costs of pieces, with the unlabelled rows' verdict on each position cached.

    Example:
        >>> from aml_jupyter.dataprep.synth.ranking import WEIGHTS
        >>> Scorer([["ab"]], WEIGHTS).pos(0, ("abs", 5)) > Scorer([], WEIGHTS).pos(0, ("abs", 5))
        True
    """

    def __init__(self, sample: list[list[str]], weights: dict[str, float]) -> None:
        self.sample = sample
        self.w = weights
        self._miss: dict[tuple[Any, ...], float] = {}
        # Every transform each chosen substring could have had, for harmonizing them (see below).
        self.cases_of: dict[SubStr, set[frozenset[Any]]] = {}
        self.date_columns: set[int] = set()  # columns whose text the program reads as dates
        self.rounded_columns: set[int] = set()  # and those of them it rounds (their text is not the value)
        self._case: dict[tuple[Any, ...], Any] = {}
        self.deadline: float | None = None  # learning's time budget: past it, TimeoutError
        self._options: dict[tuple[g.Sub, bool, bool], list[tuple[float, SubStr]]] = {}
        self._positions: dict[tuple[int, frozenset[Any]], list[Any]] = {}

    def pos(self, col: int, p: Any) -> float:
        cost = position_cost(p, self.w)
        if self.sample:
            key = (col, p)
            miss = self._miss.get(key)
            if miss is None:
                miss = sum(eval_pos(row[col], p) is None for row in self.sample) / len(self.sample)
                self._miss[key] = miss
            cost += self.w["unlabeled_miss"] * miss
        return cost

    def sub_options(self, sub: g.Sub) -> list[tuple[float, SubStr]]:
        """The best few concrete substrings of a Sub, cheapest first."""
        near_date = sub.col in self.date_columns
        rounded = sub.col in self.rounded_columns
        found = self._options.get((sub, near_date, rounded))
        if found is not None:
            return found
        p1, p2 = self._ranked(sub.col, sub.p1), self._ranked(sub.col, sub.p2)
        memo = (sub.col, p1[0], p2[0], sub.cases)
        case = self._case.get(memo)
        if case is None and memo not in self._case:
            case = self._case[memo] = self._best_case(sub.col, p1[0], p2[0], sub.cases)
        base = self.w["piece"] + self.w["substr"] + self.transform(sub.col, p1[0], p2[0], case)
        if near_date and not isinstance(case, tuple):
            base += self.w["plain_near_date"] + (self.w["plain_near_rounded_date"] if rounded else 0.0)
        out = []
        for a in p1:
            for b in p2:
                piece = SubStr(sub.col, a, b, case)
                self.cases_of.setdefault(piece, set()).add(sub.cases)
                out.append((base + self.pos(sub.col, a) + self.pos(sub.col, b), piece))
        found = self._options[(sub, near_date, rounded)] = sorted(
            out, key=lambda cp: (cp[0], sort_key(cp[1].start), sort_key(cp[1].end))
        )
        return found

    def _ranked(self, col: int, positions: frozenset[Any]) -> list[Any]:
        found = self._positions.get((col, positions))
        if found is None:
            found = self._positions[(col, positions)] = sorted(
                positions, key=lambda p: (self.pos(col, p), sort_key(p))
            )[:6]
        return found

    def _best_case(self, col: int, start: Any, end: Any, cases: frozenset[Any]) -> Any:
        if len(cases) == 1 or not self.sample:
            return min(cases, key=transform_rank)
        # The unlabelled rows decide too: a date order or a decimal mark that does not read them
        # loses. Transforms that read a text alike cost alike: cost each kind of reading once.
        by_reading: dict[Any, list[Any]] = {}
        for h in cases:
            key = h if h is None or isinstance(h, str) else _reads(h)
            by_reading.setdefault(key, []).append(h)
        costs = {key: self.transform(col, start, end, hs[0]) for key, hs in by_reading.items()}
        low = min(costs.values())
        return min((h for key, hs in by_reading.items() if costs[key] <= low + 1e-12 for h in hs), key=transform_rank)

    def transform(self, col: int, start: Any, end: Any, how: Any) -> float:
        """The cost of a piece's transform, with the share of unlabelled rows it cannot read."""
        if how is None:
            return 0.0
        if isinstance(how, str):
            return self.w["case_change"]
        cost = self.w["date_field"] if how[0] == "dt" else self.w["format_change"]
        key = _reads(how)
        if not self.sample or key is None:
            return cost
        memo = (col, start, end, key)
        miss = self._miss.get(memo)
        if miss is None:
            misses = 0
            for row in self.sample:
                s = row[col]
                i, j = eval_pos(s, start), eval_pos(s, end)
                misses += i is None or j is None or i > j or runtime.apply_transform(s[i:j], how) is None
            miss = self._miss[memo] = misses / len(self.sample)
        return cost + self.w["unlabeled_miss"] * miss

    def edge_options(self, edge: g.Edge, splits_word: bool = False) -> list[tuple[float, Piece]]:
        opts: list[tuple[float, Piece]] = []
        for sub in edge.subs:
            opts.extend(self.sub_options(sub))
        if edge.const is not None:
            # A constant that cuts a word of the output in two ('U' + 'SA') is most likely wrong.
            cost = const_cost(edge.const, self.w) + (self.w["const_splits_word"] if splits_word else 0.0)
            cost += self.w["const_echoes_input"] if edge.echo else 0.0
            if self.date_columns and any(c.isdigit() for c in edge.const):
                cost += self.w["plain_near_date"]  # a date's digits come from the date
                cost += self.w["plain_near_rounded_date"] if self.rounded_columns else 0.0
            elif self.date_columns and len(edge.const) <= 3 and not any(c.isalnum() for c in edge.const):
                cost = min(cost, self.w["date_separator"])  # ':' or ', ' between a date's fields
            opts.append((cost, Const(edge.const)))
        opts.sort(key=lambda cp: (cp[0], repr(cp[1])))
        return opts


@functools.lru_cache(maxsize=65536)
def _reads(how: Any) -> tuple[Any, ...] | None:
    # What decides whether a transform reads a text: the date order and the fields the template
    # needs, or the decimal mark.
    if how[0] == "dt":
        parts = dates.template_parts(how[2]) or ()
        return ("dt", how[1], tuple(sorted({name for name, is_field, _ in parts if is_field})), how[3] is None)
    if how[0] == "nm":
        return ("nm", how[1])
    return None


_DATE_UNITS: tuple[str, ...] = ("15min", "30min", "1h", "10min", "5min", "20min", "2h", "3h", "4h", "6h", "12h")
_DATE_UNITS += ("day", "week", "month", "quarter", "year")
_DATE_MODES = ("floor", "round", "ceil")
_NUMBER_MODES = ("half_up", "half_even", "floor", "ceil", "down", "up")
_FIELD_ORDER = {name: k for k, name in enumerate(dates.FIELDS)}
_UNIT_MINUTES = {"day": 1440, "week": 10080, "month": 43200, "quarter": 129600, "year": 525600}
_UNIT_MINUTES.update({u: int(u[:-3]) if u.endswith("min") else int(u[:-1]) * 60 for u in _DATE_UNITS[:11]})
_FIELD_MINUTES = {"M": 1, "S": 1, "H": 60, "-H": 60, "I": 60, "-I": 60, "p": 720, "pl": 720}


@functools.lru_cache(maxsize=4096)
def _finest_minutes(template: str) -> int:
    # The smallest step the template's fields show, in minutes (a day for a date's fields).
    shown = [_FIELD_MINUTES.get(name, 1440) for name, is_field, _ in dates.template_parts(template) or () if is_field]
    return min(shown, default=1440)


def _unit_rank(unit: str | None, decimals: int) -> tuple[int, int]:
    if unit is None:
        return (0, 0)
    if unit[0] == "s":
        return (4, int(unit[1:]))
    k = formats.NUMBER_UNITS.index(unit)
    if decimals >= 0 and unit == str(Decimal(1).scaleb(-decimals)) or (decimals == 0 and unit == "1"):
        return (1, k)
    return (2 if unit.strip("0.") == "1" else 3, k)


@functools.lru_cache(maxsize=65536)
def transform_rank(how: Any) -> tuple[Any, ...]:
    """Preference among a piece's transforms: keep the text, else change case, else write a date
    or a number (unrounded first), else the fixed formats of older recipes.

    Example:
        >>> transform_rank(None) < transform_rank("upper") < transform_rank(("dt", "mdy", "{b}", None))
        True
    """
    if how is None:
        return (0,)
    if isinstance(how, str):
        return (1, ("upper", "lower", "title").index(how))
    if how[0] == "dt":
        _, order, template, rounding = how
        fields = tuple(_FIELD_ORDER[name] for name, is_field, _ in dates.template_parts(template) or () if is_field)
        r = (0, 0, 0, 0)
        if rounding is not None:
            finer = _UNIT_MINUTES[rounding[1]] < _finest_minutes(template)  # 15 minutes, written as hours
            r = (1, finer, _DATE_UNITS.index(rounding[1]), _DATE_MODES.index(rounding[0]))
        return (2, r, dates.ORDERS.index(order), template.count("+}"), fields, template)
    if how[0] == "nm":
        _, conv, scale, unit, mode, end, d, sep, mark, width, plus = how
        return (
            3,
            scale != 0,
            abs(scale),
            _unit_rank(unit, d),
            _NUMBER_MODES.index(mode) if mode else -1,
            end,
            d < 0,
            numeric.SEPARATORS.index(sep),
            width,
            plus,
            conv != ".",
        )
    table = formats.DATE_OUT if how[0] == "date" else formats.NUM_OUT
    first = formats.DATE_IN.index(how[1]) if how[0] == "date" else 0
    return (4, f"{first:03d}{table.index(how[-1]):03d}")


def _shared_key(how: Any, fine: bool) -> tuple[Any, ...]:
    # What pieces of one value must agree on: a date's order and rounding, a number's reading and rounding.
    if how[0] == "dt":
        return (how[1], how[3]) if fine else (how[1],)
    return (how[1], how[2], how[3], how[4]) if fine else (how[1], how[2])


def harmonize(pieces: list[Piece], scorer: Scorer) -> list[Piece]:
    """Make the date (or number) pieces read from one column agree on what they share: the day or
    month first, the rounding and its unit, the decimal mark. Each piece was chosen alone; a range
    like ``2:30PM-2:45PM`` needs its start and end from the same 15-minute bucket.

    Example:
        >>> harmonize([Const("x")], Scorer([], {}))
        [Const(text='x')]
    """
    out = list(pieces)
    groups: dict[tuple[int, str], list[int]] = {}
    for k, p in enumerate(pieces):
        if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] in ("dt", "nm"):
            groups.setdefault((p.col, p.case[0]), []).append(k)
    for (_, kind), members in groups.items():
        if len(members) < 2:
            continue
        options = []
        for k in members:
            p = pieces[k]
            assert isinstance(p, SubStr)
            every = frozenset().union(*scorer.cases_of.get(p, [frozenset([p.case])]))
            options.append([h for h in every if h[0] == kind])
        for fine in (True, False):
            common = set.intersection(*({_shared_key(h, fine) for h in opts} for opts in options))
            if common:
                break
        else:
            continue

        def best(
            k: int, opts: list[Any], key: Any, at_end: bool = False, fine: bool = fine, kind: str = kind
        ) -> tuple[float, Any, Any]:
            # at_end: the piece stands where its range writes the bucket's end (see _bucket_ends).
            p = pieces[k]
            assert isinstance(p, SubStr)
            fits = [h for h in opts if _shared_key(h, fine) == key]
            return min(
                (
                    scorer.transform(p.col, p.start, p.end, h),
                    (kind == "dt" and ("+}" in h[2]) != at_end, transform_rank(h)),
                    h,
                )
                for h in fits
            )

        def total(key: Any, members: list[int] = members, options: list[list[Any]] = options) -> tuple[float, Any]:
            picks = [best(k, opts, key) for k, opts in zip(members, options, strict=True)]
            return (sum(c for c, _, _ in picks), [r for _, r, _ in picks])

        chosen = min(common, key=total)
        ends = _bucket_ends(pieces, members, [[h for h in o if _shared_key(h, fine) == chosen] for o in options])
        for k, opts, at_end in zip(members, options, ends, strict=True):
            p = pieces[k]
            assert isinstance(p, SubStr)
            out[k] = SubStr(p.col, p.start, p.end, best(k, opts, chosen, at_end)[2])
    return out


_RANGE = re.compile(r"[-\u2013\u2014~]|\bto\b|\.\.")


def _bucket_ends(pieces: list[Piece], members: list[int], options: list[list[Any]]) -> list[bool]:
    """Which date pieces write the end of their bucket. A range reads 'start - end': a piece that
    could be either takes the side that the other pieces between the same range marks must take."""
    if not any(h[0] == "dt" and "+}" in h[2] for opts in options for h in opts):
        return [False] * len(members)
    segment, segments = 0, []
    for n, k in enumerate(members):
        if n and any(isinstance(p, Const) and _RANGE.search(p.text) for p in pieces[members[n - 1] + 1 : k]):
            segment += 1
        segments.append(segment)
    forced_end = {seg for seg, opts in zip(segments, options, strict=True) if all("+}" in h[2] for h in opts)}
    return [seg in forced_end for seg in segments]


_MONTH_FIELDS = {"m", "-m", "B", "b", "B^", "b^"}
_DAY_FIELDS = {"d", "-d", "do"}
_NAMED_MONTHS = {"B", "b", "B^", "b^"}
_TWELVE_HOUR = {"p", "pl"}


def _field(p: Piece) -> tuple[str, str] | None:
    # (field, bucket-end mark) of a date piece that writes one field.
    if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] == "dt":
        parts = dates.template_parts(p.case[2]) or ()
        if len(parts) == 1 and parts[0][1]:
            return parts[0][0], parts[0][2]
    return None


def _swap(piece: Piece, name: str, end: str, cases_of: dict[SubStr, set[frozenset[Any]]]) -> Piece:
    # The piece writing field `name` instead, when that fits every example as well: some span's
    # transforms allow both. (Sharing a rounding may have changed the piece since it was costed.)
    assert isinstance(piece, SubStr) and isinstance(piece.case, tuple)
    wanted = replace(piece, case=(*piece.case[:2], "{" + name + end + "}", piece.case[3]))
    where = (piece.col, piece.start, piece.end)
    for known, allowed in cases_of.items():
        if (known.col, known.start, known.end) == where:
            if any(wanted.case in cases and piece.case in cases for cases in allowed):
                return wanted
    return piece


def coherent_fields(pieces: list[Piece], cases_of: dict[SubStr, set[frozenset[Any]]]) -> list[Piece]:
    """Fields of one date written the way people write them together, where the examples cannot
    tell (``cases_of``: the transforms each piece's text allows on every example):

    - a date shows its month once and its day too: where an example's day equals its month
      (``01/01/2017 -> Jan 1, 2017``), a second month field becomes the day;
    - beside a month's name, the day is not zero-padded (``March 5``, ``5 Mar``);
    - beside AM/PM, hours are on the 12-hour clock and not zero-padded (``9:30AM-9:45AM``).

    Example:
        >>> d = lambda t: SubStr(0, ("abs", 0), ("abs", -1), ("dt", "dmy", t, None))
        >>> allowed = {d("{-m}"): {frozenset([d("{-m}").case, d("{-d}").case])}}
        >>> [p.case[2] for p in coherent_fields([d("{b}"), d("{-m}")], allowed)]
        ['{b}', '{-d}']
    """
    fields = [_field(p) for p in pieces]
    names = {f[0] for f in fields if f}
    out = list(pieces)
    months = [k for k, f in enumerate(fields) if f and f[0] in _MONTH_FIELDS]
    numeric = [k for k in months if fields[k] and fields[k][0] in ("m", "-m")]  # type: ignore[index]
    if len(months) >= 2 and numeric and not names & _DAY_FIELDS:
        first = pieces[months[0]]
        assert isinstance(first, SubStr)
        dmy = first.case[1] == "dmy" and len(numeric) == len(months)
        k = numeric[0] if dmy else numeric[-1]  # day first: the first number is the day
        name, end = fields[k]  # type: ignore[misc]
        out[k] = _swap(out[k], name.replace("m", "d"), end, cases_of)
    for k, f in enumerate(fields):
        if f is None:
            continue
        name, end = f
        if name == "d" and names & _NAMED_MONTHS:
            out[k] = _swap(out[k], "-d", end, cases_of)
        elif name in ("H", "-H", "I") and names & _TWELVE_HOUR:
            out[k] = _swap(out[k], "-I", end, cases_of)
    return out


def merge_dates(pieces: list[Piece]) -> list[Piece]:
    """Join the date pieces of one value, with the constants between them, into one piece: one
    template (``{b} {-d}, {Y}``) reads better and parses each row once.

    Example:
        >>> d = lambda t: SubStr(0, ("abs", 0), ("abs", -1), ("dt", "mdy", t, None))
        >>> merge_dates([d("{b}"), Const(" "), d("{Y}")])[0].case[2]
        '{b} {Y}'
    """

    def key(p: Piece) -> Any:
        if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] == "dt":
            return (p.col, p.start, p.end, p.case[1], p.case[3])
        return None

    out: list[Piece] = []
    k = 0
    while k < len(pieces):
        here = key(pieces[k])
        last = k
        if here is not None:
            m = k + 1
            while m < len(pieces) and (isinstance(pieces[m], Const) or key(pieces[m]) == here):
                if key(pieces[m]) == here:
                    last = m
                m += 1
        if last == k:
            out.append(pieces[k])
            k += 1
            continue
        template = ""
        for p in pieces[k : last + 1]:
            if isinstance(p, Const):
                template += p.text.replace("{", "{{").replace("}", "}}")
            else:
                assert isinstance(p, SubStr)
                template += p.case[2]
        first = pieces[k]
        assert isinstance(first, SubStr)
        out.append(SubStr(first.col, first.start, first.end, ("dt", first.case[1], template, first.case[3])))
        k = last + 1
    return out


def best_program(dag: g.Dag, scorer: Scorer, columns: int) -> Program:
    """The cheapest program of a graph, with its runners-up; NoProgramFound if it has no path."""
    if not dag.has_path():
        raise NoProgramFound("no program fits all the examples")
    cost, pieces, choices = cheapest_path(dag, scorer)
    read = [p for p in pieces if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] == "dt"]
    if read:  # a date is one value: once read as a date, its other parts come from the value too
        scorer.date_columns = {p.col for p in read}
        scorer.rounded_columns = {p.col for p in read if p.case[3] is not None}
        try:
            cost, pieces, choices = cheapest_path(dag, scorer)
        finally:
            scorer.date_columns, scorer.rounded_columns = set(), set()
    pieces = coherent_fields(harmonize(pieces, scorer), scorer.cases_of)
    program = Program(Concat(tuple(merge_dates(pieces))), columns, cost)
    program.alternatives = alternatives(choices, pieces, cost, columns, scorer.sample, scorer.deadline)
    program.alternatives += other_readings(
        pieces, choices, scorer.cases_of, columns, scorer.sample, cost, deadline=scorer.deadline
    )
    return program


def _allowed(
    piece: SubStr, options: list[tuple[float, Piece]], cases_of: dict[SubStr, set[frozenset[Any]]]
) -> set[Any]:
    # Every transform that fits the examples on this piece's edge and span as well as the chosen
    # one: the edge's other options there (a date reading beside a plain copy), and what each allows.
    where = (piece.col, piece.start, piece.end)
    found: set[Any] = set()
    for _, opt in options:
        if isinstance(opt, SubStr) and (opt.col, opt.start, opt.end) == where:
            found.add(opt.case)
            for cases in cases_of.get(opt, ()):
                found |= cases
    for cases in cases_of.get(piece, ()):
        found |= cases
    found.discard(piece.case)
    return found


def other_readings(
    pieces: list[Piece],
    choices: list[list[tuple[float, Piece]]],
    cases_of: dict[SubStr, set[frozenset[Any]]],
    columns: int,
    sample: list[list[str]],
    cost: float,
    per_piece: int = 3,
    deadline: float | None = None,
) -> list[Program]:
    """Runners-up that read a piece's text another way the examples allow (unpadded, another
    rounding, a number instead of the text as it is), kept when they answer differently on some
    unlabelled row: those rows are the ones the examples did not settle.

    Example:
        >>> from aml_jupyter.dataprep import synth
        >>> p = synth.learn([(["2730.25"], "2730.25")], unlabeled=[["1.234"]])
        >>> any(alt.apply(["1.234"]) == "1.23" for alt in p.alternatives)
        True
    """
    if not sample:
        return []
    out: list[Program] = []
    for k, piece in enumerate(pieces):
        if not isinstance(piece, SubStr):
            continue
        allowed = _allowed(piece, choices[k] if k < len(choices) else [], cases_of)
        if not allowed:
            continue
        spans = [t for t in (_span(piece, row) for row in sample) if t is not None]
        mine = [runtime.apply_transform(t, piece.case) if piece.case else t for t in spans]
        kept = 0
        # The nearest readings by preference, a bounded number (a number may allow thousands).
        for case in sorted(allowed, key=lambda c: (transform_rank(c), repr(c)))[:MAX_READINGS]:
            if deadline is not None and time.monotonic() > deadline:
                return out  # runners-up are a help, not the answer: stop at the budget
            other = replace(piece, case=case)
            theirs = [runtime.apply_transform(t, case) if case else t for t in spans]
            # A reading that fails on rows the chosen one reads is refuted by the data already.
            refuted = any(b is None and a is not None for a, b in zip(mine, theirs, strict=True))
            swapped = [*pieces[:k], other, *pieces[k + 1 :]]
            if not refuted and theirs != mine and not _splits_a_date(swapped, k):
                out.append(Program(Concat(tuple(swapped)), columns, cost + 1.0))
                kept += 1
                if kept == per_piece:
                    break
    return out


def _span(piece: SubStr, row: list[str]) -> str | None:
    s = row[piece.col]
    i, j = eval_pos(s, piece.start), eval_pos(s, piece.end)
    return s[i:j] if i is not None and j is not None and i <= j else None


def cheapest_path(dag: g.Dag, scorer: Scorer) -> tuple[float, list[Piece], list[list[tuple[float, Piece]]]]:
    """(cost, pieces, every edge's ranked options) of the cheapest path, by dynamic programming
    from the end node back (edges only go forward)."""
    best: dict[g.Node, tuple[float, g.Edge | None, list[tuple[float, Piece]]]] = {dag.end: (0.0, None, [])}
    for node in sorted(dag.edges, key=sum, reverse=True):
        if scorer.deadline is not None and time.monotonic() > scorer.deadline:
            raise TimeoutError
        for edge in dag.edges[node]:
            if edge.target not in best:
                continue
            opts = scorer.edge_options(edge, edge.const is not None and dag.splits_word(node, edge.target))
            if not opts:
                continue
            total = opts[0][0] + best[edge.target][0]
            if node not in best or total < best[node][0] - 1e-12:
                best[node] = (total, edge, opts)
    if dag.start not in best:
        raise NoProgramFound("no program fits all the examples")
    pieces, choices, node = [], [], dag.start
    while node != dag.end:
        _, step, opts = best[node]
        assert step is not None
        pieces.append(opts[0][1])
        choices.append(opts)
        node = step.target
    return best[dag.start][0], pieces, choices


def _date_key(p: Piece) -> tuple[Any, ...] | None:
    if isinstance(p, SubStr) and isinstance(p.case, tuple) and p.case[0] == "dt":
        return (p.start, p.end, p.case[1], p.case[3])
    return None


def _splits_a_date(pieces: list[Piece], i: int) -> bool:
    # A runner-up whose swapped piece reads its column's date from another span, in another
    # order or rounded otherwise than the other date pieces: one value read two ways.
    key = _date_key(pieces[i])
    if key is None:
        return False
    col = pieces[i].col  # type: ignore[union-attr]
    others = {_date_key(p) for k, p in enumerate(pieces) if k != i and isinstance(p, SubStr) and p.col == col}
    others.discard(None)
    return bool(others) and key not in others


def alternatives(
    choices: list[list[tuple[float, Piece]]],
    pieces: list[Piece],
    cost: float,
    columns: int,
    sample: list[list[str]],
    deadline: float | None = None,
) -> list[Program]:
    """The runners-up: the best program with one piece swapped for one of its next choices. With
    unlabelled rows, runners-up that answer differently on some of them come first: those rows
    are the ones worth showing the user."""
    swaps = []
    for i, opts in enumerate(choices):
        for extra, piece in opts[1:24]:
            swaps.append((extra - opts[0][0], i, piece))
    swaps.sort(key=lambda s: (s[0], s[1], repr(s[2])))
    best = Program(Concat(tuple(pieces)), columns, cost)
    ranked = []
    for n, (delta, i, piece) in enumerate(swaps):
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        alt = list(pieces)
        alt[i] = piece
        if _splits_a_date(alt, i):
            continue
        program = Program(Concat(tuple(alt)), columns, cost + delta)
        differs = any(program.apply(r) != best.apply(r) for r in sample)
        ranked.append((not differs, n, program))
    ranked.sort(key=lambda x: (x[0], x[1]))
    return [p for _, _, p in ranked[:MAX_ALTERNATIVES]]
