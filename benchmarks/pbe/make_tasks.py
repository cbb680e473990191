"""Writes ``tasks.json``: date, time and number transformation tasks as spreadsheet users ask them.

    python benchmarks/pbe/make_tasks.py

Each family below is one kind of request (help-forum questions about reformatting dates, the
number-formatting tasks of Singh & Gulwani's 2012 paper, the FlashFill++ paper's examples of
rounding times into slots and reformatting amounts), crossed with the input layouts such columns
arrive in. The expected outputs are computed here with Python's datetime and decimal, never with
the engine; the rows come from a fixed seed, 8 per task, so every task can be scored on rows the
engine did not see. The families were written before the engine was tried on them.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from collections.abc import Callable
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROWS = 8
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December"]  # fmt: skip
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _week(t: dt.datetime) -> str:
    year, week, _ = t.isocalendar()
    return f"{year}W{week:02d}"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _h12(t: dt.datetime, minutes: bool = True, space: str = "") -> str:
    h = t.hour % 12 or 12
    ap = "AM" if t.hour < 12 else "PM"
    return f"{h}:{t.minute:02d}{space}{ap}" if minutes else f"{h}{space}{ap}"


# Input layouts of a date column. Day-first layouts get days above 12 in some rows (the data decides).
DATE_INPUTS: dict[str, Callable[[dt.datetime], str]] = {
    "iso": lambda t: t.strftime("%Y-%m-%d"),
    "us": lambda t: f"{t.month:02d}/{t.day:02d}/{t.year}",
    "eu": lambda t: f"{t.day:02d}.{t.month:02d}.{t.year}",
    "uk-slash": lambda t: f"{t.day}/{t.month}/{t.year}",
    "compact": lambda t: t.strftime("%Y%m%d"),
    "day-mon-year": lambda t: f"{t.day} {t.strftime('%b')} {t.year}",
    "month-day-year": lambda t: f"{MONTHS[t.month - 1]} {t.day}, {t.year}",
    "iso-datetime": lambda t: t.strftime("%Y-%m-%dT%H:%M:%S"),
}

# What users ask a date to become.
DATE_OUTPUTS: dict[str, tuple[str, Callable[[dt.datetime], str]]] = {
    "to-us": ("US month/day/year", lambda t: f"{t.month:02d}/{t.day:02d}/{t.year}"),
    "to-iso": ("ISO date", lambda t: t.strftime("%Y-%m-%d")),
    "to-long": ("the month spelled out", lambda t: f"{MONTHS[t.month - 1]} {t.day}, {t.year}"),
    "to-day-month": ("day and short month", lambda t: f"{t.day} {t.strftime('%b')} {t.year}"),
    "to-weekday": ("the day of the week", lambda t: DAYS[t.weekday()]),
    "to-quarter": ("the quarter", lambda t: f"Q{(t.month - 1) // 3 + 1} {t.year}"),
    "to-month-year": ("month and year", lambda t: f"{t.strftime('%b')} {t.year}"),
    "to-year-month": ("year-month", lambda t: f"{t.year}-{t.month:02d}"),
    "to-iso-week": ("the ISO week", lambda t: f"{t.isocalendar()[0]}-W{t.isocalendar()[1]:02d}"),
    "to-compact": ("a compact key", lambda t: t.strftime("%Y%m%d")),
    "to-oracle": ("Oracle's DD-MON-YY", lambda t: f"{t.day:02d}-{t.strftime('%b').upper()}-{t.year % 100:02d}"),
    "to-ordinal": ("an ordinal day", lambda t: f"{_ordinal(t.day)} {MONTHS[t.month - 1]} {t.year}"),
    "to-week-start": ("the Monday of its week", lambda t: (t - dt.timedelta(days=t.weekday())).strftime("%Y-%m-%d")),
    "to-month-start": ("the first of its month", lambda t: t.strftime("%Y-%m-01")),
    "to-day-of-year": ("the day of the year", lambda t: str(t.timetuple().tm_yday)),
    "to-weekday-week": ("weekday and ISO week", lambda t: f"{t.strftime('%a')}, {_week(t)}"),
}  # fmt: skip

# Pairs asked often enough to be tasks (not the full cross product: some pairs are the same ask).
DATE_PAIRS = {
    "iso": ["to-us", "to-long", "to-day-month", "to-weekday", "to-quarter", "to-month-year", "to-iso-week",
            "to-compact", "to-oracle", "to-ordinal", "to-week-start", "to-month-start", "to-day-of-year",
            "to-weekday-week", "to-year-month"],
    "us": ["to-iso", "to-long", "to-weekday", "to-quarter", "to-month-year", "to-compact", "to-year-month",
           "to-month-start", "to-day-month", "to-oracle", "to-iso-week", "to-weekday-week"],
    "eu": ["to-iso", "to-us", "to-long", "to-weekday", "to-quarter", "to-month-year", "to-iso-week", "to-compact",
           "to-year-month", "to-ordinal"],
    "uk-slash": ["to-iso", "to-long", "to-day-month", "to-weekday"],
    "compact": ["to-iso", "to-us", "to-long", "to-weekday", "to-quarter", "to-month-year", "to-year-month",
                "to-day-of-year"],
    "day-mon-year": ["to-iso", "to-us", "to-weekday", "to-quarter", "to-weekday-week", "to-compact"],
    "month-day-year": ["to-iso", "to-us", "to-day-month", "to-weekday", "to-year-month"],
    "iso-datetime": ["to-iso", "to-us", "to-long", "to-weekday", "to-quarter", "to-compact", "to-month-year"],
}  # fmt: skip

TIME_INPUTS: dict[str, Callable[[dt.datetime], str]] = {
    "24h": lambda t: f"{t.hour:02d}:{t.minute:02d}",
    "24h-seconds": lambda t: f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}",
    "12h": lambda t: _h12(t, space=" "),
    "datetime": lambda t: t.strftime("%Y-%m-%d %H:%M"),
    "compact-time": lambda t: f"{t.hour:02d}{t.minute:02d}",
}


def _floor(t: dt.datetime, minutes: int) -> dt.datetime:
    m = (t.hour * 60 + t.minute) // minutes * minutes
    return t.replace(hour=m // 60, minute=m % 60, second=0)


def _slot(t: dt.datetime, minutes: int, with_minutes: bool) -> str:
    a = _floor(t, minutes)
    b = a + dt.timedelta(minutes=minutes)
    return f"{_h12(a, with_minutes)}-{_h12(b, with_minutes)}".replace(" ", "")


TIME_OUTPUTS: dict[str, tuple[str, Callable[[dt.datetime], str]]] = {
    "to-12h": ("a 12-hour clock", lambda t: _h12(t, space=" ")),
    "to-24h": ("a 24-hour clock", lambda t: f"{t.hour:02d}:{t.minute:02d}"),
    "to-hour": ("the hour", lambda t: str(t.hour)),
    "to-quarter-hour": ("rounded down to 15 minutes", lambda t: _floor(t, 15).strftime("%H:%M")),
    "to-half-hour": ("rounded down to 30 minutes", lambda t: _floor(t, 30).strftime("%H:%M")),
    "to-slot-15": ("a 15-minute slot", lambda t: _slot(t, 15, True)),
    "to-slot-hour": ("an hour slot", lambda t: _slot(t, 60, False)),
    "to-slot-2h": ("a two-hour slot", lambda t: _slot(t, 120, False)),
    "to-h-m": ("hours and minutes with h", lambda t: f"{t.hour}h{t.minute:02d}"),
    "to-ampm-hour": ("the hour with AM/PM", lambda t: _h12(t, minutes=False)),
}
TIME_PAIRS = {
    "24h": list(TIME_OUTPUTS),
    "24h-seconds": ["to-12h", "to-24h", "to-hour", "to-quarter-hour", "to-slot-15", "to-slot-hour", "to-h-m",
                    "to-half-hour"],
    "12h": ["to-24h", "to-hour", "to-quarter-hour", "to-slot-hour", "to-h-m", "to-slot-15", "to-ampm-hour"],
    "datetime": ["to-12h", "to-24h", "to-hour", "to-quarter-hour", "to-slot-hour", "to-slot-2h", "to-half-hour",
                 "to-slot-15"],
    "compact-time": ["to-12h", "to-24h", "to-hour"],
}  # fmt: skip


def _q(x: Decimal, unit: str, mode: str = ROUND_HALF_UP) -> Decimal:
    u = Decimal(unit)
    return (x / u).quantize(Decimal(1), rounding=mode) * u


def _grouped(x: Decimal, decimals: int, sep: str = ",", mark: str = ".") -> str:
    text = f"{x:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", mark).replace("\0", sep)


NUMBER_INPUTS: dict[str, Callable[[Decimal], str]] = {
    "plain": lambda x: f"{x}",
    "us-grouped": lambda x: _grouped(x, 2),
    "eu-grouped": lambda x: _grouped(x, 2, ".", ","),
    "dollars": lambda x: "$" + _grouped(x, 2),
    "euros-eu": lambda x: "€" + _grouped(x, 2, ".", ","),
}
NUMBER_OUTPUTS: dict[str, tuple[str, Callable[[Decimal], str]]] = {
    "to-2dp": ("two decimals", lambda x: f"{_q(x, '0.01')}"),
    "to-1dp": ("one decimal", lambda x: f"{_q(x, '0.1')}"),
    "to-int": ("a whole number", lambda x: f"{_q(x, '1')}"),
    "to-us-grouped": ("thousands separators", lambda x: _grouped(_q(x, "0.01"), 2)),
    "to-eu-grouped": ("the European convention", lambda x: _grouped(_q(x, "0.01"), 2, ".", ",")),
    "to-dollars": ("dollars", lambda x: "$" + _grouped(_q(x, "0.01"), 2)),
    "to-nearest-10": ("rounded to tens", lambda x: f"{_q(x, '10'):.0f}"),
    "to-nearest-100": ("rounded to hundreds", lambda x: f"{_q(x, '100'):.0f}"),
    "to-thousands": ("in thousands", lambda x: f"{_q(x / 1000, '1'):.0f}k"),
    "to-floor": ("the whole part", lambda x: f"{_q(x, '1', ROUND_FLOOR):.0f}"),
    "to-plain": ("a plain number", lambda x: f"{x:f}"),
    "to-nearest-0.05": ("rounded to the nearest 0.05", lambda x: f"{_q(x, '0.05'):.2f}"),
    "to-nearest-1000": ("rounded to thousands", lambda x: f"{_q(x, '1000'):.0f}"),
    "to-3-significant": ("three significant digits", lambda x: f"{_q(x, str(Decimal(1).scaleb(x.adjusted() - 2))):f}"),
}
NUMBER_PAIRS = {
    "plain": ["to-2dp", "to-1dp", "to-int", "to-us-grouped", "to-eu-grouped", "to-dollars", "to-nearest-10",
              "to-nearest-100", "to-thousands", "to-floor", "to-nearest-0.05", "to-nearest-1000", "to-3-significant"],
    "us-grouped": ["to-plain", "to-int", "to-eu-grouped", "to-nearest-100", "to-1dp", "to-2dp", "to-dollars"],
    "eu-grouped": ["to-plain", "to-us-grouped", "to-int", "to-dollars"],
    "dollars": ["to-plain", "to-int", "to-eu-grouped", "to-nearest-10"],
    "euros-eu": ["to-plain", "to-us-grouped", "to-int", "to-2dp", "to-dollars"],
}  # fmt: skip


def _band(x: int, width: int, style: str) -> str:
    low = x // width * width
    return f"{low}-{low + width - 1}" if style == "dash" else f"[{low}-{low + width})"


SMALL_NUMBER_TASKS: list[tuple[str, str, Callable[[int], str], Callable[[int], str]]] = [
    ("band-10", "an age band of ten", str, lambda x: _band(x, 10, "dash")),
    ("band-20-interval", "a half-open interval of twenty", str, lambda x: _band(x, 20, "interval")),
    ("band-5", "a band of five", str, lambda x: _band(x, 5, "dash")),
    ("pad-5", "leading zeros to five digits", str, lambda x: f"{x:05d}"),
    ("pad-3", "leading zeros to three digits", str, lambda x: f"{x:03d}"),
    ("unpad", "leading zeros dropped", lambda x: f"{x:06d}", str),
    ("percent", "a share as a percentage", lambda x: f"0.{x:02d}", lambda x: f"{x}%"),
    ("from-percent", "a percentage as a share", lambda x: f"{x}%", lambda x: str(Decimal(x) / 100)),
    ("unit-kg", "the unit added", str, lambda x: f"{x} kg"),
    ("strip-unit", "the unit taken off", lambda x: f"{x} kg", str),
    ("negative-parens", "accounting negatives as minus", lambda x: f"({x:,})", lambda x: f"-{x}"),
    ("to-parens", "negatives in accounting style", lambda x: f"-{x}", lambda x: f"({x:,})"),
    ("scientific", "scientific notation read", lambda x: f"{x / 100:.2f}e3".replace(".00", ""),
     lambda x: f"{Decimal(x) * 10:.0f}"),  # fmt: skip
    ("signed", "a sign on positives", lambda x: str(x - 50), lambda x: f"{x - 50:+d}"),
    ("bankers", "banker's rounding of halves", lambda x: f"{x}.5",
     lambda x: f"{_q(Decimal(x) + Decimal('0.5'), '1', ROUND_HALF_EVEN)}"),
    ("french-spaces", "French thousands spaces read", lambda x: f"{x * 137:,}".replace(",", " ") + ",5",
     lambda x: f"{x * 137}.5"),
]  # fmt: skip


def _dates(rng: random.Random, day_first: bool) -> list[dt.datetime]:
    out = []
    for k in range(ROWS):
        day = rng.randint(13, 28) if day_first and k in (2, 5) else rng.randint(1, 28)
        t = dt.datetime(rng.randint(1995, 2030), rng.randint(1, 12), day, rng.randint(0, 23), rng.randint(0, 59))
        out.append(t.replace(second=rng.randint(0, 59)))
    return out


def _numbers(rng: random.Random) -> list[Decimal]:
    return [Decimal(rng.randint(1, 9_999_999)) / Decimal(10 ** rng.choice([0, 1, 2, 3])) for _ in range(ROWS)]


def tasks() -> list[dict[str, object]]:
    """Every task: name, kind, the ask in words, and rows of [input, output]."""
    out: list[dict[str, object]] = []
    for src, outs in DATE_PAIRS.items():
        for name in outs:
            rng = random.Random(f"date/{src}/{name}")
            ask, fn = DATE_OUTPUTS[name]
            moments = _dates(rng, day_first=src in ("eu", "uk-slash"))
            rows = [[DATE_INPUTS[src](t), fn(t)] for t in moments]
            out.append({"name": f"date-{src}-{name}", "kind": "date", "ask": f"a {src} date as {ask}", "rows": rows})
    for src, outs in TIME_PAIRS.items():
        for name in outs:
            rng = random.Random(f"time/{src}/{name}")
            ask, fn = TIME_OUTPUTS[name]
            rows = [[TIME_INPUTS[src](t), fn(t)] for t in _dates(rng, False)]
            out.append({"name": f"time-{src}-{name}", "kind": "time", "ask": f"a {src} time as {ask}", "rows": rows})
    for src, outs in NUMBER_PAIRS.items():
        for name in outs:
            rng = random.Random(f"number/{src}/{name}")
            ask, fn = NUMBER_OUTPUTS[name]
            # What the input shows is the value: a grouped amount shows two decimals.
            values = [x if src == "plain" else _q(x, "0.01") for x in _numbers(rng)]
            rows = [[NUMBER_INPUTS[src](x), fn(x)] for x in values]
            out.append(
                {"name": f"number-{src}-{name}", "kind": "number", "ask": f"a {src} amount as {ask}", "rows": rows}
            )
    for name, ask, make_in, make_out in SMALL_NUMBER_TASKS:
        rng = random.Random(f"small/{name}")
        values = [rng.randint(1, 99) for _ in range(ROWS)]
        out.append(
            {
                "name": f"number-{name}",
                "kind": "number",
                "ask": ask,
                "rows": [[make_in(x), make_out(x)] for x in values],
            }
        )
    # A column that mixes layouts: the whole column must parse.
    for name in ("to-iso", "to-long", "to-weekday"):
        rng = random.Random(f"mixed/{name}")
        ask, fn = DATE_OUTPUTS[name]
        layouts = ["iso", "day-mon-year", "month-day-year", "compact"]
        rows = [[DATE_INPUTS[layouts[k % 4]](t), fn(t)] for k, t in enumerate(_dates(rng, False))]
        out.append({"name": f"date-mixed-{name}", "kind": "date", "ask": f"mixed layouts as {ask}", "rows": rows})
    return out


if __name__ == "__main__":
    found = tasks()
    (HERE / "tasks.json").write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n")
    kinds = {k: sum(t["kind"] == k for t in found) for k in ("date", "time", "number")}
    print(f"{len(found)} tasks written to {HERE / 'tasks.json'}: {kinds}")
