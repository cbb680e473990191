"""Dates and numbers as pieces (FlashFill++-style guarded operators): the ways an input span that
holds a date, a time or a number can give a piece of the output.

Dates go forward: each field of the parsed value (:data:`.dates.FIELDS`), plain or rounded to a
unit, is written out and looked up in the output. Numbers go backward, from the output: a piece
of the output that reads as a number says its own decimals, separators and padding, and only the
scalings and roundings that turn the input's value into it are kept (the cut). A transform that
does not parse a row gives no value there (never an exception).

``DATE_IN``/``DATE_OUT``/``NUM_OUT`` are the fixed formats of recipes saved before format 2: they
still load and run, and are no longer learned.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal
from typing import Any

from . import dates, numeric

# Input date formats, most common first. An ambiguous value (01/02/2026) parses several ways;
# the other examples decide.
DATE_IN = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%m-%d-%Y",
    "%Y%m%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%m/%d/%y",
    "%d/%m/%y",
)
# Output formats; %-d and %-m (no leading zero) are glibc's.
DATE_OUT = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%m/%d/%Y",
    "%d.%m.%Y",
    "%Y/%m/%d",
    "%d-%m-%Y",
    "%Y%m%d",
    "%b %d, %Y",
    "%B %d, %Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %-d, %Y",
    "%B %-d, %Y",
    "%-d %B %Y",
    "%-d %b %Y",
    "%-d/%-m/%Y",
    "%-m/%-d/%Y",
    "%m/%d/%y",
    "%d/%m/%y",
    "%b %Y",
    "%B %Y",
    "%Y-%m",
    "%A",
    "%a",
    "%B",
    "%b",
    "%A, %B %-d, %Y",
    "%a %d %b %Y",
)
NUM_OUT = ("{:.0f}", "{:.1f}", "{:.2f}", "{:.3f}", "{:,.0f}", "{:,.2f}", "{:.0%}", "{:.1%}", "{:.2%}")

# Roundings tried for a date's clock and calendar fields.
_CLOCK_UNITS = tuple(u for u, minutes in dates.UNITS.items() if minutes)
_CALENDAR_UNITS = ("week", "month", "quarter", "year")
_ALL_FIELDS = tuple(dates.FIELDS)
# A clock rounded to minutes or hours is written by its clock fields; a day rounded to a week or
# a month by its calendar fields.
_CLOCK_FIELDS = tuple(f for f, (need, _) in dates.FIELDS.items() if need == dates.HAS_TIME)
_CALENDAR_FIELDS = tuple(f for f, (need, _) in dates.FIELDS.items() if need != dates.HAS_TIME)
_SPAN_TRIM = "([{\"'"
_SPAN_TAIL = ")]}\"',;."
_WORDS = re.compile(r"\S+")
_INPUT_NUMBER = re.compile(r"[-+(\u2212]?[$€£¥₹]?\d(?:[\d.,\u066b\u066c'\u00a0\u202f ]*\d)?(?:[eE][-+]?\d{1,3})?%?\)?")
_OUTPUT_NUMBER = re.compile(r"[-+]?\d(?:[\d.,'\u00a0\u202f ]*\d)?")
_NUMBER_PREFIX = re.compile(r"[-+]?(?:\d[\d.,'\u00a0\u202f ]*)?")
# Units a number may be rounded to, and significant digits.
NUMBER_UNITS = (
    "0.0001",
    "0.001",
    "0.01",
    "0.05",
    "0.1",
    "0.25",
    "0.5",
    "1",
    "2",
    "5",
    "10",
    "20",
    "25",
    "50",
    "100",
    "250",
    "500",
    "1000",
    "10000",
    "100000",
    "1000000",
)
SIGNIFICANT = tuple(f"s{n}" for n in range(1, 7))
_UNITS = [(u, Decimal(u)) for u in NUMBER_UNITS] + [(u, None) for u in SIGNIFICANT]
_NEAR = (Decimal("0.05"), Decimal(20))


def _date_spans(s: str) -> list[tuple[int, int]]:
    # Runs of one to five words holding a digit, without the brackets and stops around them.
    words = [m.span() for m in _WORDS.finditer(s)]
    out = set()
    for i in range(len(words)):
        for n in range(1, 6):
            if i + n > len(words):
                break
            b, e = words[i][0], words[i + n - 1][1]
            while b < e and s[b] in _SPAN_TRIM:
                b += 1
            while e > b and s[e - 1] in _SPAN_TAIL:
                e -= 1
            if 3 <= e - b <= 40 and any(c.isdigit() for c in s[b:e]):
                out.add((b, e))
    return sorted(out)


def date_renderings(s: str) -> dict[str, list[tuple[int, int, Any]]]:
    """Every text one field of a date or time in ``s`` can be written as, with its span and transform.

    Example:
        >>> ("dt", "mdy", "{b}", None) in [h for _, _, h in date_renderings("on 2024-03-05")["Mar"]]
        True
    """
    out: dict[str, list[tuple[int, int, Any]]] = {}
    for b, e in _date_spans(s):
        seen: dict[tuple[Any, int], list[str]] = {}
        for order in dates.ORDERS:
            got = dates.parse_moment(s[b:e], order)
            if got is not None:
                seen.setdefault(got, []).append(order)
        for (moment, flags), orders in seen.items():
            plans: list[tuple[Any, tuple[str, ...]]] = [(None, _ALL_FIELDS)]
            if flags & dates.HAS_TIME:
                plans += [((m, u), _CLOCK_FIELDS) for u in _CLOCK_UNITS for m in dates.MODES]
            if flags & dates.HAS_DAY:
                plans += [((m, u), _CALENDAR_FIELDS) for u in _CALENDAR_UNITS for m in dates.MODES]
            for rounding, fields in plans:
                for name in fields:
                    for end in ("", "+") if rounding is not None else ("",):
                        template = "{" + name + end + "}"
                        text = dates.render_moment(moment, flags, template, rounding)
                        if text is None:
                            continue
                        spot = out.setdefault(text, [])
                        spot.extend((b, e, ("dt", order, template, rounding)) for order in orders)
    return out


def number_spans(s: str) -> list[tuple[int, int, dict[str, Decimal]]]:
    """The spans of ``s`` that hold a number, with its value under each decimal convention that reads it.

    Example:
        >>> number_spans("EUR 1.234,50")
        [(4, 12, {',': Decimal('1234.50')})]
    """
    spans = set()
    for m in _INPUT_NUMBER.finditer(s):
        spans.add(m.span())
        for part in _WORDS.finditer(m.group()):  # '12 34' holds two numbers, not one
            b = m.start() + part.start()
            spans.add((b, b + len(part.group())))
    out = []
    for b, e in sorted(spans):
        values = {c: v for c in (".", ",") if (v := numeric.parse_number(s[b:e], c)) is not None}
        if values:
            out.append((b, e, values))
    return out


def _readings(t: str) -> list[tuple[Decimal, list[int], list[str], str, list[int], bool]]:
    """The ways a piece of output reads as a written number: (value, decimals, separators, mark,
    widths, plus); each is a set of styles that all write exactly ``t``."""
    plus = t[0] == "+"
    negative = t[0] == "-"
    body = t[1:] if plus or negative else t
    out = []
    for mark in (".", ","):
        if body.count(mark) == 1 and not body.endswith(mark):
            whole, frac = body.split(mark)
        elif mark not in body:
            whole, frac = body, ""
        else:
            continue
        if not frac.isdecimal() and frac:
            continue
        marks = [c for c in whole if not c.isdecimal()]
        if marks:
            sep = marks[0]
            groups = whole.split(sep)
            if sep == mark or sep not in numeric.SEPARATORS or len(groups[0]) > 3 or not groups[0]:
                continue
            if any(len(g) != 3 or not g.isdecimal() for g in groups[1:]) or not groups[0].isdecimal():
                continue
            seps = [sep]
            digits = "".join(groups)
        else:
            digits = whole
            seps = [c for c in numeric.SEPARATORS if c != mark] if len(digits) <= 3 else [""]
        decimals = [len(frac)]
        if not frac or frac[-1] != "0":
            decimals.append(-1)
        if len(digits) > 1 and digits[0] == "0":
            widths = [len(digits)]
        else:
            widths = [0, *range(2, min(len(digits), 6) + 1)]
        value = Decimal(digits + ("." + frac if frac else ""))
        out.append((-value if negative else value, decimals, seps, mark, widths, plus))
    return out


@functools.lru_cache(maxsize=4096)
def _written(t: str) -> tuple[tuple[Decimal, list[int], str, bool, list[tuple[int, str, int]]], ...]:
    # Each reading of t with the styles (decimals, separator, width) that write exactly t; the
    # same output text meets many input spans, so this is worked out once per text.
    out = []
    for y, decimals, seps, mark, widths, plus in _readings(t):
        styles = [
            (d, sep, width)
            for d in decimals
            for sep in seps
            for width in widths
            if numeric.write_number(y, d, sep, mark, width, plus) == t
        ]
        if styles:
            out.append((y, decimals, mark, plus, styles))
    return tuple(out)


def number_hows(t: str, values: dict[str, Decimal]) -> set[Any]:
    """The number transforms that turn one of ``values`` (an input span's, by convention) into
    the text ``t``.

    Example:
        >>> ("nm", ".", 0, "10", "floor", 2, 0, "", ".", 0, False) in number_hows("49", {".": Decimal("47")})
        True
    """
    found: set[Any] = set()
    # An integer reads alike with either decimal mark: work its roundings out once.
    by_value: dict[Decimal, list[str]] = {}
    for conv, x in values.items():
        by_value.setdefault(x, []).append(conv)
    for y, decimals, mark, plus, styles in _written(t):
        for x, convs in by_value.items():
            for scale, to, how, end in _roundings(y, decimals[0], x):
                for d, sep, width in styles:
                    if end != 2 or d >= 0:
                        for conv in convs:
                            found.add(("nm", conv, scale, to, how, end, d, sep, mark, width, plus))
    return found


@functools.lru_cache(maxsize=65536)
def _roundings(y: Decimal, decimals: int, x: Decimal) -> tuple[tuple[int, str | None, str | None, int], ...]:
    # (scale, unit, mode, end) that take the value x to y, written with `decimals` decimals.
    step = Decimal(1).scaleb(-decimals)
    out: list[tuple[int, str | None, str | None, int]] = []
    for scale in numeric.SCALES:
        v = x.scaleb(scale) if scale else x
        if y and (not v or not _NEAR[0] <= abs(y / v) <= _NEAR[1]):
            continue  # no rounding moves a value that far
        gap = abs(y - v)
        if gap == 0:
            out.append((scale, None, None, 0))
        for unit, fixed in _UNITS:
            if not v and fixed is None:
                continue
            size = fixed if fixed is not None else Decimal(1).scaleb(v.adjusted() - int(unit[1:]) + 1)
            if gap > 2 * size or (fixed is not None and size < step and decimals >= 0):
                continue  # too far, or finer than the output shows (no rounding does that)
            # Every mode lands on one of the two grid points around v: skip the unit unless
            # one of them can give y (most units, for most texts).
            low = numeric.round_number(v, unit, "floor")[0]
            if not {low, low + size} & {y, y - size, y - size + step}:
                continue
            for mode in numeric.MODES:
                r, u = numeric.round_number(v, unit, mode)
                if not u:
                    continue
                if r == y:
                    out.append((scale, unit, mode, 0))
                elif r + u == y:
                    out.append((scale, unit, mode, 1))
                elif decimals >= 0 and r + u - step == y:
                    out.append((scale, unit, mode, 2))
    return tuple(out)


def number_output(output: str, i: int, j: int) -> bool:
    """Whether ``output[i:j]`` could be a whole number written out (not a cut through one).

    Example:
        >>> number_output("40-49", 0, 2), number_output("40-49", 0, 1), number_output("40-49", 2, 5)
        (True, False, False)
    """
    if (i > 0 and output[i - 1].isdigit()) or (j < len(output) and output[j].isdigit()):
        return False
    return _OUTPUT_NUMBER.fullmatch(output, i, j) is not None


def number_prefix(text: str) -> bool:
    """Whether ``text`` could begin a written number (so a longer piece may still read as one).

    Example:
        >>> number_prefix("1.234."), number_prefix("-"), number_prefix("1a")
        (True, True, False)
    """
    return _NUMBER_PREFIX.fullmatch(text) is not None
