"""Column profiles: type, missing, distinct, min/max/mean, histogram and top values."""

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
        keys = ["column", "type", "count", "missing", "distinct", "min", "max", "mean", "top"]
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(str(c.get(k, '')))}</td>" for k in keys) + "</tr>" for c in self.columns
        )
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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
            )
        elif entry["count"]:
            text = s.dropna().astype(str)
            entry.update(min=text.min(), max=text.max())
        out.append(entry)
    return Profile(out)
