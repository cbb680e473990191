"""What each column of a table is, for learning: a number, a category (few or many values), a
date, free text, or nothing to learn from (empty or constant).

The kind is read from the dtype first; a column of strings is read from a sample of its values,
so a column of numbers written as text (``"1,5"`` aside) is a number and a column of dates written
as text is a date. Values that do not read as their column's kind are counted, never dropped.
"""

from __future__ import annotations

import warnings
from typing import Any

KINDS = ("number", "category", "many", "date", "text", "empty", "constant")
SAMPLE = 2000  # values read to decide a string column's kind
READS_AS = 0.95  # share of a sample that must read as numbers (or dates) for the column to be one
TEXT_WORDS = 3.0  # mean words per value above which a many-valued column is free text


def as_numbers(s: Any) -> Any:
    """A pandas Series as floats; values that are no number become NaN.

    Example:
        >>> import pandas as pd
        >>> as_numbers(pd.Series(["1", "x", None, True])).tolist()
        [1.0, nan, nan, 1.0]
    """
    import pandas as pd

    if s.dtype == bool:
        return s.astype("float64")
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return s.astype("float64")
    out = pd.to_numeric(s.map(lambda v: float(v) if isinstance(v, bool) else v), errors="coerce")
    return out.astype("float64")


def as_dates(s: Any) -> Any:
    """A pandas Series as naive UTC datetimes; values that are no date become NaT.

    Example:
        >>> import pandas as pd
        >>> as_dates(pd.Series(["2024-03-05", "soon"])).dt.day.tolist()
        [5.0, nan]
    """
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        text = s.astype("string")
        # ISO 8601 is read in one vectorized pass; only the values it cannot read are parsed one by one.
        out = pd.to_datetime(text, errors="coerce", format="ISO8601", utc=True)
        failed = out.isna() & text.notna()
        if failed.any():
            with warnings.catch_warnings():  # "could not infer format": each value is read on its own
                warnings.simplefilter("ignore", UserWarning)
                out[failed] = pd.to_datetime(text[failed], errors="coerce", format="mixed", utc=True)
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def _dates(sample: Any) -> bool:
    # A few values first: a column of codes is told from dates without parsing the whole sample.
    if as_dates(sample.head(20)).notna().mean() < 0.5:
        return False
    return bool(as_dates(sample).notna().mean() >= READS_AS)


def kind_of(s: Any, max_onehot: int) -> str:
    """The kind of a pandas Series (a sample of a Dask column will do): one of :data:`KINDS`.

    Example:
        >>> import pandas as pd
        >>> kind_of(pd.Series(["3", "4.5", "7"]), 30), kind_of(pd.Series(["a", "b", "a"]), 30)
        ('number', 'category')
        >>> kind_of(pd.Series(["2024-01-02", "2024-02-03"]), 30), kind_of(pd.Series([None, None]), 30)
        ('date', 'empty')
    """
    import pandas as pd

    values = s.dropna()
    if values.empty:
        return "empty"
    if pd.api.types.is_bool_dtype(s.dtype) or (
        pd.api.types.is_numeric_dtype(s.dtype) and not isinstance(s.dtype, pd.CategoricalDtype)
    ):
        return "constant" if values.nunique() == 1 else "number"
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return "constant" if values.nunique() == 1 else "date"
    sample = values.astype(str).head(SAMPLE)
    distinct = values.nunique()
    if distinct == 1:
        return "constant"
    if as_numbers(sample).notna().mean() >= READS_AS:
        return "number"
    if sample.str.contains(r"\d").mean() >= READS_AS and _dates(sample):
        return "date"
    if distinct <= max_onehot:
        return "category"
    if sample.str.split().str.len().mean() >= TEXT_WORDS:
        return "text"
    return "many"
