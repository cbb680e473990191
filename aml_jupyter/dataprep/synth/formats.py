"""Dates and numbers as pieces (FlashFill++-style guarded operators): an input span that parses as
a date or a number, re-written in another format. Formats are tried in a fixed order of
preference; a format that does not parse a row gives no value there (never an exception).
"""

from __future__ import annotations

import datetime
import re
from typing import Any

from .runtime import apply_transform

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
_NUMBER = re.compile(r"[-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")
_WORDS = re.compile(r"\S+")


def _date_spans(s: str) -> list[tuple[int, int]]:
    words = [m.span() for m in _WORDS.finditer(s)]
    out = []
    for i in range(len(words)):
        for n in (1, 2, 3):
            if i + n <= len(words):
                b, e = words[i][0], words[i + n - 1][1]
                text = s[b:e].rstrip(",;.")
                e = b + len(text)
                if 6 <= len(text) <= 30 and any(c.isdigit() for c in text):
                    out.append((b, e))
    return out


def renderings(s: str) -> dict[str, list[tuple[int, int, Any]]]:
    """Every text that a date or number span of ``s`` can be re-written as, with the span and how.

    Example:
        >>> ("date", "%Y-%m-%d", "%d %b %Y") in [h for _, _, h in renderings("on 2026-11-27")["27 Nov 2026"]]
        True
    """
    out: dict[str, list[tuple[int, int, Any]]] = {}
    for b, e in _date_spans(s):
        text = s[b:e]
        for fmt_in in DATE_IN:
            try:
                day = datetime.datetime.strptime(text, fmt_in)
            except ValueError:
                continue
            for fmt_out in DATE_OUT:
                rendered = day.strftime(fmt_out)
                if rendered != text:
                    out.setdefault(rendered, []).append((b, e, ("date", fmt_in, fmt_out)))
    for m in _NUMBER.finditer(s):
        text = m.group()
        for spec in NUM_OUT:
            number = apply_transform(text, ("num", spec))
            if number is not None and number != text:
                out.setdefault(number, []).append((m.start(), m.end(), ("num", spec)))
    return out
