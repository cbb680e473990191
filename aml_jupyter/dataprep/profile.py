"""Column profiles: type, missing, distinct, min/max/mean, histogram and top values.

:func:`profile_frame` profiles a pandas DataFrame; :func:`profile_dask` the same statistics of a
Dask DataFrame in two passes over it (counts, distinct values, ranges and top values; then the
histograms over those ranges), never gathering the data in one process.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Profile:
    """One row per column; shows as an HTML table in a notebook (every value escaped)."""

    columns: list[dict[str, Any]]

    def to_frame(self) -> pd.DataFrame:
        import pandas as pd

        return pd.DataFrame(self.columns)

    def _repr_html_(self) -> str:
        from .drawings import cards

        return cards(self.columns)

    def to_table_html(self) -> str:
        """The statistics as a plain HTML table (every value escaped)."""
        keys = ["column", "type", "count", "missing", "distinct", "min", "max", "mean", "top"]
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c.get(k, '')))}</td>" for k in keys) + "</tr>" for c in self.columns
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def to_html(self, path: str | None = None, title: str = "profile") -> str:
        """A standalone HTML report (a card and a drawing per column); written to ``path`` if given.

        Example:
            >>> flow.profile().to_html("profile.html")  # doctest: +SKIP
        """
        from pathlib import Path

        from .drawings import document

        page = document(self.columns, title)
        if path is not None:
            Path(path).write_text(page, encoding="utf-8")
        return page


def profile_frame(df: pd.DataFrame, bins: int = 10, top: int = 5) -> Profile:
    """Profile every column of a pandas DataFrame.

    Example:
        >>> import pandas as pd
        >>> p = profile_frame(pd.DataFrame({"x": [1, 2, None], "s": ["a", "a", "b"]}))
        >>> p.columns[0]["missing"], p.columns[1]["top"]
        (1, [('a', 2), ('b', 1)])
    """
    import numpy as np
    import pandas as pd

    out = []
    for name in df.columns:
        s = df[name]
        entry: dict[str, Any] = {
            "column": str(name),
            "type": str(s.dtype),
            "count": int(s.notna().sum()),
            "missing": int(s.isna().sum()),
            "distinct": int(s.nunique(dropna=True)),
            "top": [(str(k), int(v)) for k, v in s.value_counts(dropna=True).head(top).items()],
        }
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s) and entry["count"]:
            values = s.dropna().astype("float64")
            counts, edges = np.histogram(values, bins=bins)
            entry.update(
                min=float(values.min()),
                max=float(values.max()),
                mean=float(values.mean()),
                histogram={"counts": counts.tolist(), "edges": edges.tolist()},
                quartiles=[float(q) for q in np.percentile(values, [25, 50, 75])],
            )
        elif entry["count"]:
            text = s.dropna().astype(str)
            entry.update(min=text.min(), max=text.max())
            series = _over_time(s)
            if series is not None:
                entry["dates"] = series
        out.append(entry)
    return Profile(out)


def _over_time(s: Any) -> dict[str, Any] | None:
    # Rows per day, month or year for a column of dates (a datetime dtype, or ISO 8601 text).
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        d = s.dropna()
    else:
        sample = s.dropna().astype(str).head(200)
        if not sample.str.match(r"\d{4}-\d\d-\d\d").all():
            return None
        d = pd.to_datetime(s, errors="coerce", format="ISO8601").dropna()
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    if d.empty:
        return None
    days = (d.max() - d.min()).days
    unit = "D" if days <= 90 else "M" if days <= 3650 else "Y"
    counts = d.dt.to_period(unit).value_counts().sort_index()
    return {
        "start": str(d.min().date()),
        "end": str(d.max().date()),
        "unit": unit,
        "series": [(str(k), int(v)) for k, v in counts.items()],
    }


def profile_dask(ddf: Any, bins: int = 10, top: int = 5) -> Profile:
    """Profile every column of a Dask DataFrame, partition by partition; the same entries as
    :func:`profile_frame`.

    Example:
        >>> import dask.dataframe as dd, pandas as pd
        >>> ddf = dd.from_pandas(pd.DataFrame({"x": [1.0, 2.0, None, 4.0]}), npartitions=2)
        >>> p = profile_dask(ddf)
        >>> p.columns[0]["missing"], p.columns[0]["max"], sum(p.columns[0]["histogram"]["counts"])
        (1, 4.0, 3)
    """
    import dask.array as da
    import pandas as pd
    from dask.base import compute

    numeric = {
        name
        for name in ddf.columns
        if pd.api.types.is_numeric_dtype(ddf[name].dtype) and not pd.api.types.is_bool_dtype(ddf[name].dtype)
    }
    first: dict[str, Any] = {}
    for name in ddf.columns:
        s = ddf[name]
        first[name] = {
            "count": s.count(),
            "missing": s.isna().sum(),
            "distinct": s.nunique(dropna=True),
            "top": s.value_counts(dropna=True).nlargest(top),
        }
        if name in numeric:
            v = s.dropna().astype("float64")
            first[name].update(min=v.min(), max=v.max(), mean=v.mean())
        else:
            t = s.dropna().astype(str)
            first[name].update(min=t.min(), max=t.max())
    (stats,) = compute(first)  # type: ignore[no-untyped-call]
    histograms: dict[str, Any] = {}
    for name in numeric:
        if int(stats[name]["count"]):
            lo, hi = float(stats[name]["min"]), float(stats[name]["max"])
            values = ddf[name].dropna().astype("float64").to_dask_array(lengths=True)
            # numpy widens an empty range by 0.5 each way; do the same so both agree.
            span = (lo - 0.5, hi + 0.5) if lo == hi else (lo, hi)
            histograms[name] = da.histogram(values, bins=bins, range=span)  # type: ignore[no-untyped-call]
    (hists,) = compute(histograms)  # type: ignore[no-untyped-call]
    out = []
    for name in ddf.columns:
        st = stats[name]
        entry: dict[str, Any] = {
            "column": str(name),
            "type": str(ddf[name].dtype),
            "count": int(st["count"]),
            "missing": int(st["missing"]),
            "distinct": int(st["distinct"]),
            "top": [(str(k), int(v)) for k, v in st["top"].items()],
        }
        if entry["count"]:
            if name in numeric:
                counts, edges = hists[name]
                entry.update(
                    min=float(st["min"]),
                    max=float(st["max"]),
                    mean=float(st["mean"]),
                    histogram={"counts": counts.tolist(), "edges": edges.tolist()},
                )
            else:
                entry.update(min=st["min"], max=st["max"])
        out.append(entry)
    return Profile(out)
