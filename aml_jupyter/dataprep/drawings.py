"""A profile as pictures: one card per column with its counts and a small SVG drawing (a histogram
and a box plot for numbers, a line of rows over time for dates, bars of the top values for the
rest). Every value is escaped; the SVG holds no script and loads nothing.
"""

from __future__ import annotations

import html
from typing import Any

W, H = 220, 70  # a drawing's size in pixels
BAR = "var(--jp-brand-color1, #1f77b4)"
INK = "var(--jp-ui-font-color2, #666)"

STYLE = (
    ".aml-profile{display:flex;flex-wrap:wrap;gap:8px;font:12px sans-serif}"
    ".aml-card{border:1px solid #ccc;border-radius:4px;padding:6px;width:236px}"
    ".aml-card b{display:block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}"
    ".aml-card small{color:#666}"
)


def cards(columns: list[dict[str, Any]]) -> str:
    """The columns' cards as one HTML fragment.

    Example:
        >>> "<svg" in cards([{"column": "x", "type": "int64", "count": 3, "missing": 0, "distinct": 3,
        ...                   "histogram": {"counts": [1, 2], "edges": [0, 1, 2]}, "quartiles": [0.5, 1, 1.5],
        ...                   "min": 0, "max": 2, "mean": 1.0, "top": []}])
        True
    """
    return f'<style>{STYLE}</style><div class="aml-profile">' + "".join(_card(c) for c in columns) + "</div>"


def document(columns: list[dict[str, Any]], title: str = "profile") -> str:
    """A standalone HTML report of the cards."""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
        f"<body><h2>{html.escape(title)}</h2>{cards(columns)}</body></html>"
    )


def _card(c: dict[str, Any]) -> str:
    e = html.escape
    facts = f"{c['count']:,} values, {c['missing']:,} missing, {c['distinct']:,} distinct"
    extra = ""
    if "mean" in c:
        extra = f"<br><small>min {_num(c['min'])}, mean {_num(c['mean'])}, max {_num(c['max'])}</small>"
    elif "dates" in c:
        extra = f"<br><small>{e(c['dates']['start'])} to {e(c['dates']['end'])}</small>"
    return (
        f'<div class="aml-card"><b title="{e(c["column"])}">{e(c["column"])}</b>'
        f"<small>{e(c['type'])}: {facts}</small>{extra}{_drawing(c)}</div>"
    )


def _drawing(c: dict[str, Any]) -> str:
    if "histogram" in c:
        return _histogram(c["histogram"]["counts"]) + (_box(c) if "quartiles" in c else "")
    if "dates" in c:
        return _line([n for _, n in c["dates"]["series"]])
    if c.get("top"):
        return _bars(c["top"])
    return ""


def _svg(body: str, height: int = H) -> str:
    return f'<svg width="{W}" height="{height}" viewBox="0 0 {W} {height}" role="img">{body}</svg>'


def _histogram(counts: list[int]) -> str:
    top = max(counts) or 1
    w = W / len(counts)
    bars = "".join(
        f'<rect x="{i * w + 1:.1f}" y="{H - n / top * (H - 4):.1f}" width="{w - 2:.1f}" '
        f'height="{n / top * (H - 4):.1f}" fill="{BAR}"><title>{n:,}</title></rect>'
        for i, n in enumerate(counts)
    )
    return _svg(bars)


def _box(c: dict[str, Any]) -> str:
    lo, hi = float(c["min"]), float(c["max"])
    span = (hi - lo) or 1.0
    q1, med, q3 = (4 + (float(q) - lo) / span * (W - 8) for q in c["quartiles"])
    body = (
        f'<line x1="4" y1="10" x2="{W - 4}" y2="10" stroke="{INK}"/>'
        f'<rect x="{q1:.1f}" y="3" width="{max(q3 - q1, 1):.1f}" height="14" fill="none" stroke="{BAR}"/>'
        f'<line x1="{med:.1f}" y1="3" x2="{med:.1f}" y2="17" stroke="{BAR}" stroke-width="2"/>'
    )
    return _svg(body, 20)


def _line(counts: list[int]) -> str:
    if len(counts) < 2:
        return _histogram(counts or [0])
    top = max(counts) or 1
    points = " ".join(
        f"{i / (len(counts) - 1) * (W - 4) + 2:.1f},{H - 2 - n / top * (H - 6):.1f}" for i, n in enumerate(counts)
    )
    return _svg(f'<polyline points="{points}" fill="none" stroke="{BAR}" stroke-width="1.5"/>')


def _bars(top: list[tuple[str, int]]) -> str:
    most = max(n for _, n in top) or 1
    rows = []
    for i, (value, n) in enumerate(top[:5]):
        y = i * 14
        rows.append(
            f'<rect x="80" y="{y + 2}" width="{n / most * (W - 84):.1f}" height="10" fill="{BAR}"/>'
            f'<text x="76" y="{y + 11}" text-anchor="end" font-size="10" fill="{INK}">'
            f"{html.escape(_short(value))}</text>"
        )
    return _svg("".join(rows), 14 * len(top[:5]) + 2)


def _short(value: str) -> str:
    return value if len(value) <= 12 else value[:11] + "\u2026"


def _num(v: Any) -> str:
    return f"{float(v):.4g}"
