"""Plain-text tables for people and JSON for scripts: the two output forms of the CLI."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from ..entities.records import to_jsonable


def cell_text(value: Any, width: int = 40) -> str:
    """One value as table text: None blank, floats short, long text cut with an ellipsis.

    Example:
        >>> cell_text(0.123456789), cell_text(None), cell_text("x" * 50, 10)
        ('0.123457', '', 'xxxxxxxxx…')
    """
    if value is None:
        return ""
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
    else:
        text = str(value)
    text = text.replace("\n", " ").replace("\r", " ")
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], width: int = 40) -> str:
    """Align ``rows`` under ``headers`` in columns.

    Example:
        >>> print(render_table(["a", "b"], [[1, "x"]]))
        a  b
        -  -
        1  x
    """
    cells = [[cell_text(v, width) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    lines = [
        "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
        "  ".join("-" * w for w in widths).rstrip(),
    ]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def dumps(value: Any) -> str:
    """Strict JSON (never bare NaN), indented for reading.

    Example:
        >>> dumps({"x": float("inf")})
        '{\\n  "x": "Infinity"\\n}'
    """
    return json.dumps(to_jsonable(value), indent=2, allow_nan=False, ensure_ascii=False)
