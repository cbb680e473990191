"""Programs to and from plain JSON data (recipes are saved as JSON, never as pickles)."""

from __future__ import annotations

from typing import Any

from ...errors import InvalidValue
from . import formats
from .program import Concat, Const, Piece, Predicate, Program, SubStr, Switch


def _pos(p: Any) -> tuple[Any, ...]:
    if not isinstance(p, list) or not p or p[0] not in ("abs", "tok"):
        raise InvalidValue(f"bad position in a saved program: {p!r}")
    if p[0] == "abs" and (len(p) != 2 or not isinstance(p[1], int)):
        raise InvalidValue(f"bad position in a saved program: {p!r}")
    if p[0] == "tok" and (len(p) != 4 or not isinstance(p[3], int)):
        raise InvalidValue(f"bad position in a saved program: {p!r}")
    return tuple(p)


def _transform(data: list[Any]) -> tuple[Any, ...]:
    # Only formats from the known tables: a saved file cannot smuggle in another format string.
    if len(data) == 3 and data[0] == "date" and data[1] in formats.DATE_IN and data[2] in formats.DATE_OUT:
        return tuple(data)
    if len(data) == 2 and data[0] == "num" and data[1] in formats.NUM_OUT:
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


def _concat_from(data: Any) -> Concat:
    if not isinstance(data, list):
        raise InvalidValue("a saved program's pieces must be a list")
    pieces: list[Piece] = []
    for item in data:
        if not isinstance(item, dict):
            raise InvalidValue(f"bad piece in a saved program: {item!r}")
        if "const" in item:
            pieces.append(Const(str(item["const"])))
        else:
            case = item.get("case")
            if isinstance(case, list):
                case = _transform(case)
            elif case not in (None, "upper", "lower", "title"):
                raise InvalidValue(f"bad piece in a saved program: {item!r}")
            if not isinstance(item.get("col"), int):
                raise InvalidValue(f"bad piece in a saved program: {item!r}")
            pieces.append(SubStr(item["col"], _pos(item["start"]), _pos(item["end"]), case))
    return Concat(tuple(pieces))


def program_to_data(program: Program) -> dict[str, Any]:
    """A program as JSON-ready data.

    Example:
        >>> from aml_jupyter.dataprep import synth
        >>> p = synth.learn([(["a b"], "b")])
        >>> program_from_data(program_to_data(p)).apply(["x y"])
        'y'
    """
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
    """The inverse of :func:`program_to_data`; refuses anything malformed with InvalidValue."""
    if not isinstance(data, dict) or not isinstance(data.get("columns"), int):
        raise InvalidValue("a saved program must be an object with 'columns'")
    if "branches" in data:
        branches = []
        for b in data["branches"]:
            test = b.get("test") if isinstance(b, dict) else None
            pred = None
            if test is not None:
                if test.get("kind", "has") not in ("has", "starts", "ends", "has_column"):
                    raise InvalidValue(f"bad test in a saved program: {test!r}")
                pred = Predicate(int(test["col"]), str(test["token"]), bool(test["negate"]), test.get("kind", "has"))
            branches.append((pred, _concat_from(b["pieces"])))
        return Program(Switch(tuple(branches)), data["columns"])
    return Program(_concat_from(data.get("pieces")), data["columns"])
