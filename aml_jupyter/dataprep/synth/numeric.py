"""Numbers as values: read with either decimal convention, rounded, written in a learned style.

A number piece's transform is ``("nm", conv, scale, unit, mode, end, decimals, sep, mark, width, plus)``:

- ``conv`` '.' or ',': the input's decimal mark (the other marks are thousands separators);
- ``scale``: the value times 10**scale first (2 for a share written as a percentage);
- ``unit`` None (exact), a multiple to round to ('0.01', '0.05', '10', '1000') or 'sN' (N
  significant digits), by ``mode`` (:data:`MODES`); ``end`` 0 the rounded value, 1 the next
  multiple (the end of a ``[20-40)`` bucket), 2 the next multiple less one last digit (``40-49``);
- ``decimals`` fixed (>= 0) or -1 (as many as needed, no trailing zeros); ``sep`` the thousands
  separator ('' none), ``mark`` the decimal mark, ``width`` the least digits before the mark
  (leading zeros), ``plus`` a '+' before positive values.

This module uses the standard library only: ``to_python()`` copies it into the code it writes.
"""

from __future__ import annotations

import decimal
import functools
import re
from decimal import Decimal
from typing import Any

MODES = {
    "half_up": decimal.ROUND_HALF_UP,
    "half_even": decimal.ROUND_HALF_EVEN,
    "floor": decimal.ROUND_FLOOR,
    "ceil": decimal.ROUND_CEILING,
    "down": decimal.ROUND_DOWN,
    "up": decimal.ROUND_UP,
}
SEPARATORS = ("", ",", ".", " ", "'", "\u00a0", "\u202f")
SCALES = (0, 2, -2, 3, -3, 6, -6)
_AROUND = "$€£¥₹¢%\u00a0\u202f "
_EXPONENT = re.compile(r"[eE][-+]?\d{1,3}$")


@functools.lru_cache(maxsize=65536)
def parse_number(text: str, conv: str = ".") -> Decimal | None:
    """The number a text holds, read with decimal mark ``conv``; None when it holds none.

    Currency symbols, a percent sign and spaces around it are ignored (``scale`` says what a
    percentage means); a minus sign, a plus or parentheses give the sign; thousands separators must
    group by three.

    Example:
        >>> parse_number("1.234.567,891", ","), parse_number("$(1,200)"), parse_number("1,2,3")
        (Decimal('1234567.891'), Decimal('-1200'), None)
    """
    s = text.strip(_AROUND).replace("\u2212", "-")
    if "\u066b" in s or "\u066c" in s:  # the Arabic decimal and thousands marks stand for the learned ones
        s = s.replace("\u066b", conv).replace("\u066c", "," if conv == "." else ".")
    negative = False
    if s.startswith("(") and s.endswith(")"):
        s, negative = s[1:-1].strip(_AROUND), True
    if s[:1] in "+-" and s:
        negative = negative or s[0] == "-"
        s = s[1:].strip(_AROUND)
    exponent = ""
    m = _EXPONENT.search(s)
    if m:
        s, exponent = s[: m.start()], m.group()
    if not s:
        return None
    whole, _, frac = s.partition(conv)
    if conv in frac or (not whole and not frac):
        return None
    digits = whole
    for c in whole:
        if not c.isdecimal():
            groups = whole.split(c)
            if c == conv or c.isalnum() or len(groups[0]) > 3 or not groups[0]:
                return None
            if any(len(g) != 3 for g in groups[1:]):
                return None
            digits = "".join(groups)
            break
    if not all(c.isdecimal() for c in digits) or not all(c.isdecimal() for c in frac):
        return None
    try:
        value = Decimal(f"{digits or '0'}{'.' + frac if frac else ''}{exponent}")
    except decimal.InvalidOperation:
        return None
    return -value if negative else value


def round_number(x: Decimal, unit: str | None, mode: str) -> tuple[Decimal, Decimal]:
    """``x`` rounded to ``unit`` by ``mode``, and the unit (for the bucket's end).

    Example:
        >>> round_number(Decimal("47"), "10", "floor"), round_number(Decimal("1234"), "s2", "half_up")
        ((Decimal('40'), Decimal('10')), (Decimal('1.2E+3'), Decimal('1E+2')))
    """
    if unit is None:
        return x, Decimal(0)
    if unit.startswith("s"):
        if not x:
            return x, Decimal(0)
        u = Decimal(1).scaleb(x.adjusted() - int(unit[1:]) + 1)
    else:
        u = Decimal(unit)
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        k = (x / u).to_integral_value(rounding=MODES[mode])
        return k * u, u


def write_number(v: Decimal, decimals: int, sep: str, mark: str, width: int, plus: bool) -> str:
    """A value written with fixed (or, at -1, trimmed) decimals, thousands ``sep``, decimal ``mark``.

    Example:
        >>> write_number(Decimal("1234567.891"), 2, ".", ",", 0, False)
        '1.234.567,89'
        >>> write_number(Decimal("7"), 0, "", ".", 3, False)
        '007'
    """
    with decimal.localcontext() as ctx:
        ctx.prec = 60
        ctx.rounding = decimal.ROUND_HALF_UP
        q = v.quantize(Decimal(1).scaleb(-decimals)) if decimals >= 0 else v
        text = f"{abs(q):f}"
    whole, _, frac = text.partition(".")
    if decimals < 0:
        frac = frac.rstrip("0")
    whole = whole.zfill(width)
    if sep and len(whole) > 3:
        head = len(whole) % 3 or 3
        whole = whole[:head] + "".join(sep + whole[i : i + 3] for i in range(head, len(whole), 3))
    body = whole + (mark + frac if frac else "")
    if q < 0 and any(c not in "0.," for c in text):
        return "-" + body
    return ("+" if plus and q > 0 else "") + body


def number_value(x: Decimal, how: Any) -> Decimal:
    """The value a number piece writes for input ``x`` (scaled, rounded, bucket end).

    Example:
        >>> number_value(Decimal("47"), ("nm", ".", 0, "10", "floor", 2, 0, "", ".", 0, False))
        Decimal('49')
    """
    _, _, scale, unit, mode, end, decimals = how[:7]
    v = x.scaleb(scale) if scale else x
    r, u = round_number(v, unit, mode)
    if end == 1:
        r += u
    elif end == 2:
        r += u - Decimal(1).scaleb(-max(decimals, 0))
    return r


def number_apply(text: str, how: Any) -> str | None:
    """Apply a number transform to a text; None when it holds no number.

    Example:
        >>> number_apply("1234567.891", ("nm", ".", 0, "0.01", "half_up", 0, 2, ".", ",", 0, False))
        '1.234.567,89'
    """
    x = parse_number(text, how[1])
    if x is None:
        return None
    return write_number(number_value(x, how), how[6], how[7], how[8], how[9], how[10])
