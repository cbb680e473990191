"""Dates and times as values: one parser for the formats people type, and output written from fields.

A date piece's transform is ``("dt", order, template, rounding)``:

- ``order`` ('mdy', 'dmy' or 'ymd') settles only what the text itself cannot (``03/04/2017``);
  every unambiguous format (ISO, ``5 Mar 2024``, ``20240305``, ``2024-W10-2``, ``2:30 PM``) parses
  whatever the order, so one column may mix them.
- ``template`` writes the value: ``{b} {-d}, {Y}`` gives ``Mar 5, 2024``; a field ending in ``+``
  is taken from the end of the rounded bucket (``{-I}:{M}{p}-{-I+}:{M+}{p+}`` gives
  ``2:30PM-2:45PM``). The fields are in :data:`FIELDS`.
- ``rounding`` is None or ``(mode, unit)``: 'floor', 'ceil' or 'round' to a unit of
  :data:`UNITS` (15 minutes, 2 hours, a week...).

This module uses the standard library only: ``to_python()`` copies it into the code it writes.
"""

from __future__ import annotations

import datetime
import functools
import re
from typing import Any

HAS_DATE, HAS_TIME, HAS_DAY = 1, 2, 4
ORDERS = ("mdy", "dmy", "ymd")
_MONTH_NAMES = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
MONTHS: dict[str, int] = {}
for _n, _name in enumerate(_MONTH_NAMES, 1):
    MONTHS[_name] = MONTHS[_name[:3]] = _n
MONTHS["sept"] = 9
WEEKDAYS: dict[str, int] = {}
for _n, _name in enumerate(_DAY_NAMES):
    WEEKDAYS[_name] = WEEKDAYS[_name[:3]] = _n
WEEKDAYS.update({"tues": 1, "weds": 2, "thur": 3, "thurs": 3})
# Words a date or time may carry that say nothing about its value.
_FILLER = {"t", "z", "utc", "gmt", "at", "on", "of", "the", "st", "nd", "rd", "th", "h", "hrs"}
_TIME = re.compile(
    r"(?<![\d:])(\d{1,2}):([0-5]\d)(?::([0-5]\d)(?:[.,]\d{1,9})?)?(?:\s*([ap])\.?\s?m\b\.?)?"
    r"|(?<![\d:.,])(\d{1,2})\s*([ap])\.?\s?m\b\.?"
)
_ISO_WEEK = re.compile(r"^(\d{4})-?w(\d{1,2})(?:-?([1-7]))?$")
_ORDINAL_DATE = re.compile(r"^(\d{4})-(\d{3})$")
_PARTS = re.compile(r"\d+|[^\W\d_]+")


def _year(text: str) -> int:
    y = int(text)
    if len(text) <= 2:  # as strptime's %y: 69-99 are 1900s, 00-68 the 2000s
        y += 1900 if y >= 69 else 2000
    return y


def _clock(m: re.Match[str]) -> tuple[int, int, int] | None:
    if m.group(1) is not None:
        h, mi, s, ap = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0), m.group(4)
    else:
        h, mi, s, ap = int(m.group(5)), 0, 0, m.group(6)
    if ap:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ap == "p" else 0)
    return (h, mi, s) if h < 24 else None


def _calendar(text: str, order: str) -> tuple[int, int, int, int] | None:
    # (year, month, day, flags) of the date part; day 1 and no HAS_DAY for 'Mar 2024'.
    iso = _ISO_WEEK.match(text)
    if iso:
        try:
            d = datetime.date.fromisocalendar(int(iso.group(1)), int(iso.group(2)), int(iso.group(3) or 1))
        except ValueError:
            return None
        return d.year, d.month, d.day, HAS_DATE | HAS_DAY
    ordinal = _ORDINAL_DATE.match(text)
    if ordinal:
        try:
            d = datetime.date(int(ordinal.group(1)), 1, 1) + datetime.timedelta(int(ordinal.group(2)) - 1)
        except (ValueError, OverflowError):
            return None
        return (d.year, d.month, d.day, HAS_DATE | HAS_DAY) if d.year == int(ordinal.group(1)) else None
    nums: list[str] = []
    month = None
    for part in _PARTS.findall(text):
        if part.isdigit():
            nums.append(part)
        elif part in MONTHS and month is None:
            month = MONTHS[part]
        elif part not in WEEKDAYS and part not in _FILLER:
            return None
    if month is not None:
        if len(nums) == 1 and len(nums[0]) == 4:
            return int(nums[0]), month, 1, HAS_DATE
        if len(nums) != 2:
            return None
        a, b = nums
        if len(a) == 4 or (len(a) > 2 and len(b) <= 2):
            return _year(a), month, int(b), HAS_DATE | HAS_DAY
        if len(b) == 4 or len(a) <= 2 < len(b) or order != "ymd":
            return _year(b), month, int(a), HAS_DATE | HAS_DAY
        return _year(a), month, int(b), HAS_DATE | HAS_DAY
    if len(nums) == 1 and len(nums[0]) == 8:
        s = nums[0]
        if order == "ymd" or 1000 <= int(s[:4]) <= 2999:
            return int(s[:4]), int(s[4:6]), int(s[6:]), HAS_DATE | HAS_DAY
        a, b = (s[2:4], s[:2]) if order == "dmy" else (s[:2], s[2:4])
        return int(s[4:]), int(a), int(b), HAS_DATE | HAS_DAY
    if len(nums) == 2 and sorted(map(len, nums)) in ([1, 4], [2, 4]):  # 03/2024, 2024-03
        y, m = (nums[0], nums[1]) if len(nums[0]) == 4 else (nums[1], nums[0])
        return int(y), int(m), 1, HAS_DATE
    if len(nums) != 3 or not all(len(n) <= 4 for n in nums):
        return None
    a, b, c = nums
    if len(a) == 4 or (order == "ymd" and len(c) <= 2):
        return _year(a), int(b), int(c), HAS_DATE | HAS_DAY
    if len(b) == 4 or len(c) not in (2, 4):
        return None
    if order == "dmy":
        return _year(c), int(b), int(a), HAS_DATE | HAS_DAY
    return _year(c), int(a), int(b), HAS_DATE | HAS_DAY


@functools.lru_cache(maxsize=65536)
def parse_moment(text: str, order: str = "mdy") -> tuple[datetime.datetime, int] | None:
    """The date and/or time a text holds and which of them it holds, or None.

    Example:
        >>> parse_moment("5 Mar 2024")[0].isoformat(), parse_moment("03/04/2017", "dmy")[0].month
        ('2024-03-05T00:00:00', 4)
        >>> parse_moment("2:30 PM")[0].hour, parse_moment("not a date")
        (14, None)
    """
    low = text.strip().lower()
    if not low or len(low) > 60:
        return None
    flags = 0
    clock = (0, 0, 0)
    found = list(_TIME.finditer(low))
    if len(found) > 1:
        return None
    if found:
        got = _clock(found[0])
        if got is None:
            return None
        clock, flags = got, HAS_TIME
        low = (low[: found[0].start()] + " " + low[found[0].end() :]).strip(" ,")
    if not any(c.isalnum() for c in low):
        if not flags:
            return None
        return datetime.datetime(1900, 1, 1, *clock), flags
    cal = _calendar(low, order)
    if cal is None:
        return None
    y, mo, d, more = cal
    try:
        return datetime.datetime(y, mo, d, *clock), flags | more
    except ValueError:
        return None


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _twelve(h: int) -> int:
    return h % 12 or 12


# Field -> (what the value must hold, how to write it).
FIELDS: dict[str, tuple[int, Any]] = {
    "Y": (HAS_DATE, lambda t: f"{t.year:04d}"),
    "y": (HAS_DATE, lambda t: f"{t.year % 100:02d}"),
    "m": (HAS_DATE, lambda t: f"{t.month:02d}"),
    "-m": (HAS_DATE, lambda t: str(t.month)),
    "B": (HAS_DATE, lambda t: _MONTH_NAMES[t.month - 1].title()),
    "b": (HAS_DATE, lambda t: _MONTH_NAMES[t.month - 1][:3].title()),
    "B^": (HAS_DATE, lambda t: _MONTH_NAMES[t.month - 1].upper()),
    "b^": (HAS_DATE, lambda t: _MONTH_NAMES[t.month - 1][:3].upper()),
    "q": (HAS_DATE, lambda t: str((t.month - 1) // 3 + 1)),
    "d": (HAS_DAY, lambda t: f"{t.day:02d}"),
    "-d": (HAS_DAY, lambda t: str(t.day)),
    "do": (HAS_DAY, lambda t: _ordinal(t.day)),
    "A": (HAS_DAY, lambda t: _DAY_NAMES[t.weekday()].title()),
    "a": (HAS_DAY, lambda t: _DAY_NAMES[t.weekday()][:3].title()),
    "A^": (HAS_DAY, lambda t: _DAY_NAMES[t.weekday()].upper()),
    "a^": (HAS_DAY, lambda t: _DAY_NAMES[t.weekday()][:3].upper()),
    "u": (HAS_DAY, lambda t: str(t.isoweekday())),
    "j": (HAS_DAY, lambda t: f"{t.timetuple().tm_yday:03d}"),
    "-j": (HAS_DAY, lambda t: str(t.timetuple().tm_yday)),
    "V": (HAS_DAY, lambda t: f"{t.isocalendar()[1]:02d}"),
    "-V": (HAS_DAY, lambda t: str(t.isocalendar()[1])),
    "G": (HAS_DAY, lambda t: f"{t.isocalendar()[0]:04d}"),
    "H": (HAS_TIME, lambda t: f"{t.hour:02d}"),
    "-H": (HAS_TIME, lambda t: str(t.hour)),
    "I": (HAS_TIME, lambda t: f"{_twelve(t.hour):02d}"),
    "-I": (HAS_TIME, lambda t: str(_twelve(t.hour))),
    "M": (HAS_TIME, lambda t: f"{t.minute:02d}"),
    "S": (HAS_TIME, lambda t: f"{t.second:02d}"),
    "p": (HAS_TIME, lambda t: "AM" if t.hour < 12 else "PM"),
    "pl": (HAS_TIME, lambda t: "am" if t.hour < 12 else "pm"),
}
# Rounding units: minutes for the clock, names for the calendar.
UNITS: dict[str, int] = {
    "5min": 5,
    "10min": 10,
    "15min": 15,
    "20min": 20,
    "30min": 30,
    "1h": 60,
    "2h": 120,
    "3h": 180,
    "4h": 240,
    "6h": 360,
    "12h": 720,
    "day": 1440,
    "week": 0,
    "month": 0,
    "quarter": 0,
    "year": 0,
}
MODES = ("floor", "ceil", "round")
_FIELD = re.compile(r"\{([^{}]+)\}|\{\{|\}\}|[^{}]+")


@functools.lru_cache(maxsize=4096)
def template_parts(template: str) -> tuple[tuple[str, bool, str], ...] | None:
    """A template as (field or literal text, is a field, of the bucket's end); None if malformed.

    Example:
        >>> template_parts("{b} {-d}+")
        (('b', True, ''), (' ', False, ''), ('-d', True, ''), ('+', False, ''))
        >>> template_parts("{nope}") is None
        True
    """
    out: list[tuple[str, bool, str]] = []
    pos = 0
    for m in _FIELD.finditer(template):
        if m.start() != pos:
            return None
        pos = m.end()
        if m.group(1) is not None:
            name = m.group(1)
            end = name.endswith("+") and len(name) > 1
            name = name[:-1] if end else name
            if name not in FIELDS:
                return None
            out.append((name, True, "+" if end else ""))
        else:
            text = m.group()
            out.append((text[0] if text in ("{{", "}}") else text, False, ""))
    return tuple(out) if pos == len(template) else None


def _add_months(t: datetime.datetime, n: int) -> datetime.datetime:
    k = t.year * 12 + t.month - 1 + n
    return t.replace(year=k // 12, month=k % 12 + 1, day=1)


_MONTHS_IN = {"month": 1, "quarter": 3, "year": 12}


def _next(low: datetime.datetime, unit: str) -> datetime.datetime:
    return low + datetime.timedelta(days=7) if unit == "week" else _add_months(low, _MONTHS_IN[unit])


def bucket(t: datetime.datetime, mode: str, unit: str) -> tuple[datetime.datetime, datetime.datetime]:
    """The start of the ``unit`` bucket that ``t`` rounds to (by ``mode``) and the start of the next.

    Example:
        >>> start, end = bucket(datetime.datetime(2024, 3, 5, 14, 37), "floor", "15min")
        >>> start.strftime("%H:%M"), end.strftime("%H:%M")
        ('14:30', '14:45')
    """
    minutes = UNITS[unit]
    if minutes:
        day = t.replace(hour=0, minute=0, second=0, microsecond=0)
        offset = (t - day).total_seconds() / 60
        k = int(offset // minutes)
        low = day + datetime.timedelta(minutes=k * minutes)
        step = datetime.timedelta(minutes=minutes)
        if mode == "ceil" and low != t:
            low += step
        elif mode == "round" and (t - low) * 2 >= step:
            low += step
        return low, low + step
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "week":
        low = day - datetime.timedelta(days=day.weekday())
    else:
        first = day.replace(day=1)
        low = _add_months(first, -((first.month - 1) % _MONTHS_IN[unit]))
    nxt = _next(low, unit)
    if (mode == "ceil" and low != t) or (mode == "round" and (t - low) * 2 >= nxt - low):
        low, nxt = nxt, _next(nxt, unit)
    return low, nxt


def render_moment(t: datetime.datetime, flags: int, template: str, rounding: Any = None) -> str | None:
    """A parsed value written by ``template`` (after ``rounding``); None when the value lacks a
    field the template writes (an hour of a date, a day of 'Mar 2024').

    Example:
        >>> render_moment(datetime.datetime(2024, 3, 5, 14, 37), 7, "{-I}:{M}{p}-{-I+}:{M+}{p+}", ("floor", "15min"))
        '2:30PM-2:45PM'
    """
    parts = template_parts(template)
    if parts is None:
        return None
    start = end = t
    if rounding is not None:
        start, end = bucket(t, rounding[0], rounding[1])
    out = []
    for name, is_field, at_end in parts:
        if not is_field:
            out.append(name)
            continue
        need, write = FIELDS[name]
        if need == HAS_DAY:
            need = HAS_DATE | HAS_DAY
        if flags & need != need or (at_end and rounding is None):
            return None
        out.append(write(end if at_end else start))
    return "".join(out)


def date_apply(text: str, how: Any) -> str | None:
    """Apply ``("dt", order, template, rounding)`` to a text; None when it does not parse.

    Example:
        >>> date_apply("2024-03-05", ("dt", "mdy", "{a}, {G}W{V}", None))
        'Tue, 2024W10'
    """
    got = parse_moment(text, how[1])
    if got is None:
        return None
    return render_moment(got[0], got[1], how[2], how[3])
