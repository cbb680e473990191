"""What learned programs run: token patterns and position lookup, shared with exported code.

``to_python()`` copies these functions into the code it writes, so the exported code and the
engine compute the same positions.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

from .dates import date_apply
from .numeric import number_apply

# Character-class tokens, in a fixed order (it decides ties, so learning stays deterministic).
CLASS_TOKENS: dict[str, str] = {
    "Digits": r"[0-9]+",
    "Alphas": r"[^\W\d_]+",
    "Upper": r"[A-Z]+",
    "Lower": r"[a-z]+",
    "Proper": r"[A-Z][a-z]+",
    "Alnum": r"[^\W_]+",
    "Space": r"\s+",
    "NonSpace": r"\S+",
}


def token_pattern(token: str) -> str:
    """The regex of a token: a class name, ``'c:'`` + one literal character, or ``'w:'`` + a literal word.

    Example:
        >>> token_pattern("c:,"), token_pattern("Digits"), token_pattern("w:Inc")
        (',', '[0-9]+', 'Inc')
    """
    if token.startswith(("c:", "w:")):
        return re.escape(token[2:])
    return CLASS_TOKENS[token]


_COMPILED: dict[str, re.Pattern[str]] = {}


@functools.lru_cache(maxsize=1024)
def spans(s: str, token: str) -> tuple[tuple[int, int], ...]:
    """Start and end of every maximal match of ``token`` in ``s`` (remembered for recent strings:
    the pieces of one row look up the same string again and again).

    Example:
        >>> spans("ab 12 c3", "Digits")
        ((3, 5), (7, 8))
    """
    pattern = _COMPILED.get(token)
    if pattern is None:
        pattern = _COMPILED[token] = re.compile(token_pattern(token))
    return tuple([m.span() for m in pattern.finditer(s)])


def position(s: str, left: str | None, right: str | None, k: int) -> int | None:
    """The ``k``-th index (1-based; negative counts from the end) where a match of ``left`` ends
    and a match of ``right`` starts (``None`` on a side matches anywhere); None if there is none.

    Example:
        >>> position("Ada Lovelace", "Space", None, 1)
        4
    """
    ends = [e for _, e in spans(s, left)] if left else None
    starts = [b for b, _ in spans(s, right)] if right else None
    if ends is None:
        hits = starts or []
    elif starts is None:
        hits = ends
    else:
        both = set(starts)
        hits = [i for i in ends if i in both]
    index = k - 1 if k > 0 else len(hits) + k
    return hits[index] if 0 <= index < len(hits) else None


@functools.lru_cache(maxsize=4096)
def position_function(p: tuple[Any, ...]) -> Callable[[str], int | None]:
    """A fast function computing the position expression ``p`` on a string (same answers as
    :func:`position` / :func:`absolute`; common shapes skip the general search).

    Example:
        >>> position_function(("tok", "c:@", None, -1))("a@b@c")
        4
    """
    if p[0] == "abs":
        k = p[1]
        return lambda s: absolute(s, k)
    _, left, right, k = p
    literal = left if right is None else right if left is None else None
    if literal is not None and literal.startswith("c:") and k in (1, -1):
        ch = literal[2:]
        shift = 1 if right is None else 0  # after the character, or before it
        find = str.find if k == 1 else str.rfind

        def by_char(s: str) -> int | None:
            i = find(s, ch)
            return None if i < 0 else i + shift

        return by_char
    if literal is not None and k == 1:
        pattern = re.compile(token_pattern(literal))
        after = right is None

        def first_match(s: str) -> int | None:
            m = pattern.search(s)
            return None if m is None else (m.end() if after else m.start())

        return first_match
    return lambda s: position(s, left, right, k)


def absolute(s: str, k: int) -> int | None:
    """Index ``k`` from the start (k >= 0) or from the end (k < 0, -1 being the end); None if outside.

    Example:
        >>> absolute("abc", -1), absolute("abc", 5)
        (3, None)
    """
    i = k if k >= 0 else len(s) + k + 1
    return i if 0 <= i <= len(s) else None


def has_token(s: str, token: str, kind: str = "has") -> bool:
    """Whether ``s`` holds a match of ``token`` anywhere ('has'), at its start ('starts'), at its
    end ('ends') or at least twice ('twice').

    Example:
        >>> has_token("thatwill", "w:that", "starts"), has_token("knowthat", "w:that", "starts")
        (True, False)
        >>> has_token("susan ann chang", "Space", "twice"), has_token("ayako tanaka", "Space", "twice")
        (True, False)
    """
    found = spans(s, token)
    if kind == "twice":
        return len(found) >= 2
    if kind == "starts":
        return bool(found) and found[0][0] == 0
    if kind == "ends":
        return bool(found) and found[-1][1] == len(s)
    return bool(found)


def apply_transform(text: str, how: Any) -> str | None:
    """Apply a piece's transform: None (keep), a case change ('upper', 'lower', 'title'), a date or
    time written from its fields (``("dt", ...)``, see :mod:`.dates`), a number (``("nm", ...)``,
    see :mod:`.numeric`); or, as recipes before format 2 saved them, a date re-format
    ``("date", input_format, output_format)`` or a number format ``("num", spec)``. None when the
    text does not parse.

    Example:
        >>> apply_transform("5 March 2024", ("dt", "mdy", "{Y}-{m}-{d}", None))
        '2024-03-05'

        >>> apply_transform("2026-11-27", ("date", "%Y-%m-%d", "%d %b %Y"))
        '27 Nov 2026'
        >>> apply_transform("3.14159", ("num", "{:.2f}"))
        '3.14'
    """
    if how is None or isinstance(how, str):
        return change_case(text, how)
    if how[0] == "dt":
        return date_apply(text, how)
    if how[0] == "nm":
        return number_apply(text, how)
    if how[0] == "date":
        import datetime

        try:
            return datetime.datetime.strptime(text, how[1]).strftime(how[2])
        except ValueError:
            return None
    import decimal

    try:
        with decimal.localcontext() as ctx:
            ctx.rounding = decimal.ROUND_HALF_UP  # as people round: 2.675 -> 2.68
            return str(how[1]).format(decimal.Decimal(text.replace(",", "")))
    except (ValueError, decimal.InvalidOperation):
        return None


def change_case(text: str, case: str | None) -> str:
    """Apply a case change: None (keep), 'upper', 'lower' or 'title'.

    Example:
        >>> change_case("ada", "title")
        'Ada'
    """
    if case == "upper":
        return text.upper()
    if case == "lower":
        return text.lower()
    if case == "title":
        return text.title()
    return text
