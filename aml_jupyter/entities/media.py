"""Turning in-memory objects into artifact bytes: tables to Parquet, figures to PNG or HTML."""

from __future__ import annotations

import io
from typing import Any

from ..errors import InvalidValue


def table_to_parquet(table: Any) -> bytes:
    """A pandas DataFrame (or anything ``pandas.DataFrame()`` accepts) as Parquet bytes.

    Example:
        >>> import pandas as pd
        >>> table_to_parquet(pd.DataFrame({"a": [1, 2]}))[:4]
        b'PAR1'
    """
    import pandas as pd

    df = table if isinstance(table, pd.DataFrame) else pd.DataFrame(table)
    # Parquet needs string column names.
    df = df.rename(columns=str)
    buf = io.BytesIO()
    df.to_parquet(buf, engine="pyarrow", index=not isinstance(df.index, pd.RangeIndex))
    return buf.getvalue()


def figure_to_bytes(figure: Any) -> tuple[bytes, str, str]:
    """A matplotlib or plotly figure as (bytes, file suffix, media type).

    matplotlib gives a PNG; plotly gives a self-contained HTML page (it works offline).

    Example:
        >>> import matplotlib; matplotlib.use("Agg")
        >>> import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(); _ = ax.plot([1, 2])
        >>> figure_to_bytes(fig)[1:]
        ('.png', 'image/png')
    """
    if hasattr(figure, "savefig"):  # matplotlib Figure
        buf = io.BytesIO()
        figure.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue(), ".png", "image/png"
    if hasattr(figure, "figure") and hasattr(figure.figure, "savefig"):  # matplotlib Axes
        return figure_to_bytes(figure.figure)
    if hasattr(figure, "to_html") and hasattr(figure, "to_plotly_json"):  # plotly Figure
        html = figure.to_html(full_html=True, include_plotlyjs=True)
        return html.encode("utf-8"), ".html", "text/html"
    raise InvalidValue(f"log_figure needs a matplotlib or plotly figure, not {type(figure).__name__}")
