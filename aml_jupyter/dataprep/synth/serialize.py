"""Programs to and from plain JSON data (recipes are saved as JSON, never as pickles)."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidValue
from . import dates, formats, numeric
from .program import Concat, Const, Lookup, Piece, Predicate, Program, SubStr, Switch
from .runtime import CLASS_TOKENS


def _token(t: Any, where: Any, none_ok: bool = True) -> Any:
    # A token the runtime knows: a class name, "c:" + one character or "w:" + a word.
    if t is None and none_ok:
        return t
    known = isinstance(t, str) and (
        t in CLASS_TOKENS or (t.startswith("c:") and len(t) == 3) or (t.startswith("w:") and len(t) > 2)
    )
    if not known:
        raise InvalidValue(f"unknown token {t!r} in a saved program: {where!r}")
    return t


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _pos(p: Any) -> tuple[Any, ...]:
    if not isinstance(p, list) or not p or p[0] not in ("abs", "tok"):
        raise InvalidValue(f"bad position in a saved program: {p!r}")
    if p[0] == "abs" and (len(p) != 2 or not _int(p[1])):
        raise InvalidValue(f"bad position in a saved program: {p!r}")
    if p[0] == "tok" and (len(p) != 4 or not _int(p[3]) or p[3] == 0):
        raise InvalidValue(f"bad position in a saved program: {p!r}")
    if p[0] == "tok":
        _token(p[1], p)
        _token(p[2], p)
    return tuple(p)


def _number_ok(d: list[Any]) -> bool:
    _, conv, scale, unit, mode, end, decimals, sep, mark, width, plus = d
    return (
        conv in (".", ",")
        and scale in numeric.SCALES
        and (unit is None or unit in formats.NUMBER_UNITS or unit in formats.SIGNIFICANT)
        and (mode in numeric.MODES if unit is not None else mode is None)
        and end in (0, 1, 2)
        and _int(decimals)
        and -1 <= decimals <= 12
        and sep in numeric.SEPARATORS
        and mark in (".", ",")
        and _int(width)
        and 0 <= width <= 30
        and isinstance(plus, bool)
    )


def _transform(data: list[Any]) -> tuple[Any, ...]:
    # Only formats from the known tables: a saved file cannot smuggle in another format string.
    if len(data) == 3 and data[0] == "date" and data[1] in formats.DATE_IN and data[2] in formats.DATE_OUT:
        return tuple(data)
    if len(data) == 2 and data[0] == "num" and data[1] in formats.NUM_OUT:
        return tuple(data)
    if len(data) == 4 and data[0] == "dt" and data[1] in dates.ORDERS and isinstance(data[2], str):
        rounding = data[3]
        if rounding is not None:
            ok = isinstance(rounding, list | tuple) and len(rounding) == 2 and rounding[0] in dates.MODES
            if not ok or rounding[1] not in dates.UNITS:
                raise InvalidValue(f"unknown rounding in a saved program: {data!r}")
            rounding = tuple(rounding)
        if dates.template_parts(data[2]) is None:
            raise InvalidValue(f"unknown date template in a saved program: {data!r}")
        return ("dt", data[1], data[2], rounding)
    if len(data) == 11 and data[0] == "nm" and _number_ok(data):
        return tuple(data)
    raise InvalidValue(f"unknown format in a saved program: {data!r}")


def _concat_to(c: Concat) -> list[Any]:
    out: list[Any] = []
    for piece in c.pieces:
        if isinstance(piece, Const):
            out.append({"const": piece.text})
        else:
            case = list(piece.case) if isinstance(piece.case, tuple) else piece.case
            out.append({"col": piece.col, "start": list(piece.start), "end": list(piece.end), "case": case})
    return out


def _concat_from(data: Any, columns: int) -> Concat:
    if not isinstance(data, list):
        raise InvalidValue("a saved program's pieces must be a list")
    pieces: list[Piece] = []
    for item in data:
        if not isinstance(item, dict):
            raise InvalidValue(f"bad piece in a saved program: {item!r}")
        if "const" in item:
            if not isinstance(item["const"], str):
                raise InvalidValue(f"bad piece in a saved program: {item!r}")
            pieces.append(Const(item["const"]))
        else:
            case = item.get("case")
            if isinstance(case, list):
                case = _transform(case)
            elif case not in (None, "upper", "lower", "title"):
                raise InvalidValue(f"bad piece in a saved program: {item!r}")
            if not _int(item.get("col")) or not 0 <= item["col"] < columns:
                raise InvalidValue(f"bad piece in a saved program: {item!r}")
            pieces.append(SubStr(item["col"], _pos(item["start"]), _pos(item["end"]), case))
    return Concat(tuple(pieces))


def _lookup_from(data: Any, columns: int) -> Lookup:
    if not isinstance(data, list) or not data:
        raise InvalidValue("a saved lookup must be a non-empty list of [inputs, output]")
    table = []
    for item in data:
        ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], list) and isinstance(item[1], str)
        if not ok or len(item[0]) != columns or not all(isinstance(v, str) for v in item[0]):
            raise InvalidValue(f"bad lookup entry in a saved program: {item!r}")
        table.append((tuple(item[0]), item[1]))
    if len({k for k, _ in table}) != len(table):
        raise InvalidValue("a saved lookup gives one input two outputs")
    return Lookup(tuple(table))


def program_to_data(program: Program) -> dict[str, Any]:
    """A program as JSON-ready data.

    Example:
        >>> from aml_jupyter.dataprep import synth
        >>> p = synth.learn([(["a b"], "b")])
        >>> program_from_data(program_to_data(p)).apply(["x y"])
        'y'
    """
    if isinstance(program.root, Lookup):
        return {"columns": program.columns, "lookup": [[list(k), v] for k, v in program.root.table]}
    if isinstance(program.root, Switch):
        branches = [
            {
                "test": None
                if pred is None
                else {"col": pred.col, "token": pred.token, "negate": pred.negate, "kind": pred.kind},
                "pieces": _concat_to(body),
            }
            for pred, body in program.root.branches
        ]
        return {"columns": program.columns, "branches": branches}
    return {"columns": program.columns, "pieces": _concat_to(program.root)}


def program_from_data(data: Any) -> Program:
    """The inverse of :func:`program_to_data`; refuses anything malformed with InvalidValue, on
    load: every token, column and format is one the runtime knows, so applying it cannot fail.

    Example:
        >>> program_from_data({"columns": 1, "pieces": [{"col": 3}]})
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: bad piece in a saved program: {'col': 3}
    """
    if not isinstance(data, dict) or not _int(data.get("columns")) or not 0 < data["columns"] <= 1000:
        raise InvalidValue("a saved program must be an object with 'columns'")
    columns = data["columns"]
    if "lookup" in data:
        return Program(_lookup_from(data["lookup"], columns), columns)
    if "branches" not in data:
        return Program(_concat_from(data.get("pieces"), columns), columns)
    if not isinstance(data["branches"], list) or not data["branches"]:
        raise InvalidValue("a saved program's branches must be a list")
    branches = []
    for b in data["branches"]:
        if not isinstance(b, dict) or not isinstance(b.get("test"), dict | None):
            raise InvalidValue(f"bad branch in a saved program: {b!r}")
        test, pred = b["test"], None
        if test is not None:
            kind = test.get("kind", "has")
            col, negate = test.get("col"), test.get("negate")
            ok = kind in ("has", "starts", "ends", "twice", "has_column") and _int(col) and 0 <= col < columns
            if not ok or not isinstance(negate, bool):
                raise InvalidValue(f"bad test in a saved program: {test!r}")
            token = test.get("token")
            if kind == "has_column":  # the token names another column by its index
                if not (isinstance(token, str) and token.isdigit() and int(token) < columns):
                    raise InvalidValue(f"bad test in a saved program: {test!r}")
            else:
                _token(token, test, none_ok=False)
            pred = Predicate(col, token, negate, kind)
        branches.append((pred, _concat_from(b.get("pieces"), columns)))
    return Program(Switch(tuple(branches)), columns)
