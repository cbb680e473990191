"""Running a learned program over whole columns, with the same answers as ``Program.apply`` row by row.

Each substring piece becomes one small Python function generated for its two positions (a
``str.find`` for "after the first @", a slice bound for "the end"), so a row costs a call and a
slice instead of a walk over the program tree; date pieces parse and write each distinct text
of the column once; number pieces write the plain amounts (nothing to round) with pandas in one
pass and the rest per distinct text; older recipes' fixed date formats go through pandas in one
vectorized pass, the rows pandas cannot hold done by the per-row path. Lookups are a dictionary
lookup a row; programs with branches (``Switch``) run row by row.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from . import runtime
from .nodes import Concat, Const, Lookup, SubStr, Switch

VECTOR_MIN_ROWS = 512  # below this, pandas' fixed cost outweighs what vectorizing saves
_CASES = {"upper": ".upper()", "lower": ".lower()", "title": ".title()"}


def _position_code(p: tuple[Any, ...], var: str, env: dict[str, Any]) -> list[str]:
    # Lines that set `var` to the position p in `s`, or return None when it does not exist.
    if p[0] == "abs":
        k = int(p[1])
        if k >= 0:
            return [f"if {k} > len(s): return None", f"{var} = {k}"]
        return [f"{var} = len(s) + {k + 1}", f"if {var} < 0: return None"]
    _, left, right, k = p
    literal = left if right is None else right if left is None else None
    if literal is not None and literal.startswith("c:") and k in (1, -1):
        find = "find" if k == 1 else "rfind"
        shift = " + 1" if right is None else ""
        return [f"{var} = s.{find}({literal[2:]!r})", f"if {var} < 0: return None", f"{var} = {var}{shift}"]
    name = f"_pos_{len(env)}"
    env[name] = runtime.position_function(p)
    return [f"{var} = {name}(s)", f"if {var} is None: return None"]


def slicer(piece: SubStr) -> Callable[[str], str | None]:
    """A generated function ``f(s)`` giving the piece's text (case change included; dates and
    numbers not yet) or None.

    Example:
        >>> slicer(SubStr(0, ("tok", "c:@", None, 1), ("abs", -1)))("ada@math.org")
        'math.org'
    """
    env: dict[str, Any] = {}
    lines = ["def f(s):"]
    lines += ["    " + ln for ln in _position_code(piece.start, "i", env)]
    lines += ["    " + ln for ln in _position_code(piece.end, "j", env)]
    case = _CASES.get(piece.case, "") if isinstance(piece.case, str) else ""
    lines += ["    if i > j: return None", f"    return s[i:j]{case}"]
    # Only our own program tree reaches this source: numbers, and literals written with repr().
    exec("\n".join(lines), env)  # noqa: S102
    return env["f"]  # type: ignore[no-any-return]


def _dates(values: list[str | None], how: tuple[str, str, str]) -> list[str | None]:
    import pandas as pd

    series = pd.Series(values, dtype=object)
    parsed = pd.to_datetime(series, format=how[1], errors="coerce", exact=True)
    text: list[str | None] = parsed.dt.strftime(how[2]).tolist()
    if not parsed.isna().to_numpy().any():
        return text  # every row parsed: pandas' answers are the answers
    out: list[str | None] = []
    for value, rendered in zip(values, text, strict=True):
        if value is None:
            out.append(None)
        elif isinstance(rendered, str):
            out.append(rendered)
        else:  # pandas could not hold it (or it is not a date): the per-row answer decides
            out.append(runtime.apply_transform(value, how))
    return out


def _piece(piece: Const | SubStr, columns: Sequence[Sequence[str | None]], n: int) -> list[str | None]:
    if isinstance(piece, Const):
        return [piece.text] * n
    how = piece.case
    if piece.start == ("abs", 0) and piece.end == ("abs", -1) and not isinstance(how, str):
        values = list(columns[piece.col])  # the whole input: nothing to cut
    else:
        f = slicer(piece)
        values = [None if s is None else f(s) for s in columns[piece.col]]
    if how is None or isinstance(how, str):
        return values
    if how[0] == "date" and n >= VECTOR_MIN_ROWS:
        return _dates(values, how)
    if how[0] == "nm" and n >= VECTOR_MIN_ROWS:
        return _numbers(values, how)
    if how[0] in ("dt", "nm"):
        return _by_value(values, how)
    return [None if v is None else runtime.apply_transform(v, how) for v in values]


def _numbers(values: list[str | None], how: tuple[Any, ...]) -> list[str | None]:
    # Amounts rarely repeat. Plain ones (digits, at most the decimals written, no sign) need no
    # rounding, so a float written by pandas with that many decimals is exactly what the per-row
    # path gives; the rest take that path.
    import pandas as pd

    _, conv, scale, unit, _mode, end, d, sep, mark, width, plus = how
    if scale or unit is not None or end or d < 0 or width or plus:
        return _by_value(values, how)
    series = pd.Series(values, dtype=object)
    pattern = r"(?:[1-9]\d{0,14}|0)" + (f"(?:{re.escape(conv)}\\d{{1,{d}}})?" if d else "")
    plain = series.str.fullmatch(pattern).fillna(False).astype(bool)
    if not plain.any():
        return _by_value(values, how)
    texts = series[plain]
    numbers = pd.to_numeric(texts.str.replace(",", ".", regex=False) if conv == "," else texts)
    written = numbers.map(f"{{:,.{d}f}}".format)
    if (sep, mark) != (",", "."):
        written = written.str.translate(str.maketrans({",": sep, ".": mark}))
    out: list[str | None] = [None] * len(values)
    for k, text in zip(texts.index.tolist(), written.tolist(), strict=True):
        out[k] = text
    rest = [v for v, ok in zip(values, plain.tolist(), strict=True) if not ok]
    if rest:
        done = dict(zip(rest, _by_value(rest, how), strict=True))
        for k, (v, ok) in enumerate(zip(values, plain.tolist(), strict=True)):
            if not ok:
                out[k] = done[v]
    return out


def _by_value(values: list[str | None], how: tuple[Any, ...]) -> list[str | None]:
    # A column repeats its dates and amounts: parse and write each distinct text once.
    written = {v: None if v is None else runtime.apply_transform(v, how) for v in set(values)}
    return [written[v] for v in values]


class Runnable(Protocol):
    """What :func:`apply_column` needs of a program (program.Program is one; vector.py never imports it)."""

    root: Concat | Switch | Lookup
    columns: int

    def apply(self, inputs: Sequence[str | None]) -> str | None: ...


def apply_column(program: Runnable, columns: Sequence[Sequence[str | None]]) -> list[str | None]:
    """The program's output for every row of ``columns`` (one list per input column).

    A row with a missing (non-string) input gives None, as ``Program.apply`` does.

    Example:
        >>> from aml_jupyter.dataprep.synth.program import Program
        >>> p = Program(Concat((SubStr(0, ("abs", 0), ("abs", 1), "upper"), Const("."))), 1)
        >>> apply_column(p, [["ada", None, ""]])
        ['A.', None, None]
    """
    if len(columns) != program.columns:
        raise ValueError(f"the program reads {program.columns} column(s), not {len(columns)}")
    n = len(columns[0]) if columns else 0
    clean = [[v if type(v) is str else None for v in col] for col in columns]
    if len(clean) == 1:
        valid = [v is not None for v in clean[0]]
    else:
        valid = [None not in vals for vals in zip(*clean, strict=True)]
    partial = not all(valid)
    if partial and len(clean) > 1:  # a row missing any input gives None, whatever its pieces read
        clean = [[v if ok else None for v, ok in zip(col, valid, strict=True)] for col in clean]
    root = program.root
    if isinstance(root, Lookup):
        get = root.mapping.get
        return [None if not ok else get(vals) for vals, ok in zip(zip(*clean, strict=True), valid, strict=True)]
    if isinstance(root, Switch):
        return [program.apply(row) for row in zip(*clean, strict=True)]
    parts = [_piece(p, clean, n) for p in root.pieces]
    if not parts:
        out: list[str | None] = [""] * n
    elif len(parts) == 1:
        out = parts[0]
    else:
        out = [None if None in vals else "".join(vals) for vals in zip(*parts, strict=True)]
    if partial:
        out = [v if ok else None for v, ok in zip(out, valid, strict=True)]
    return out
