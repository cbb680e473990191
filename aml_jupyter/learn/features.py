"""Featurization: every column becomes numbers by its kind, with statistics that pandas or Dask
computes in one pass.

- number: the mean fills missing values, scaled by the standard deviation; a flag column marks
  rows that were missing (or unreadable) when training saw any.
- category (up to ``max_onehot`` values): one column per value, plus ``other`` for values past the
  most common ones and for values training never saw.
- many (a category with more values): the value's share of the training rows, plus
  ``hash_buckets`` hashed one-hot columns; a 10,000-value column stays a few columns wide.
- date: year, month, day, weekday, hour (each onto about [0, 1]) and days since 1970 (scaled); missing flagged.
- text: word counts hashed into ``text_features`` columns (scikit-learn's HashingVectorizer, which
  holds no vocabulary).
- empty and constant columns carry nothing and are dropped (and said so in the report).

The fitted state is plain lists, dicts and floats, so a model holding it saves with skops and
loads without pickles.
"""

from __future__ import annotations

import zlib
from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin

from ..errors import InvalidValue
from .columns import as_dates, as_numbers, kind_of
from .model import dask_api, is_dask

DATE_PARTS = ("year", "month", "day", "weekday", "hour")


class Featurizer(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Turns a pandas (or, partition by partition, Dask) DataFrame into a float array.

    Example:
        >>> import pandas as pd
        >>> f = Featurizer().fit(pd.DataFrame({"x": [1.0, None, 3.0], "c": ["a", "b", "a"]}))
        >>> [c["kind"] for c in f.columns_], f.transform(pd.DataFrame({"x": [2.0], "c": ["z"]})).shape
        (['number', 'category'], (1, 5))
    """

    def __init__(
        self, max_onehot: int = 30, hash_buckets: int = 16, text_features: int = 64, encoding: str = "onehot"
    ) -> None:
        if encoding not in ("onehot", "ordinal"):
            raise InvalidValue(f"encoding must be onehot or ordinal, not {encoding!r}")
        self.encoding = encoding
        self.max_onehot = max_onehot
        self.hash_buckets = hash_buckets
        self.text_features = text_features

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any = None) -> Featurizer:
        """Decide each column's kind and gather its statistics (one Dask pass for a Dask frame)."""
        distributed = is_dask(X)
        sample = _head(X) if distributed else X
        names = [str(c) for c in X.columns]
        if len(set(names)) != len(names):
            raise InvalidValue("the table has two columns of the same name")
        kinds = {str(c): kind_of(sample[c], self.max_onehot) for c in X.columns}
        wanted = {c: k for c, k in kinds.items() if k not in ("empty", "constant", "text")}
        if distributed:  # one task per partition, its sums added up here: one pass, one small graph
            from functools import reduce

            dask = dask_api()
            parts = dask.compute(*[dask.delayed(_partition_stats)(p, wanted) for p in X.to_delayed()])
            stats = _finish(reduce(_add_stats, parts))
        else:
            stats = _finish(_partition_stats(X, wanted))
        self.columns_ = [self._plan(c, kinds[c], stats.get(c)) for c in names]
        self.n_rows_ = int(stats[next(iter(stats))]["rows"]) if stats else len(sample)
        if not any(c["width"] for c in self.columns_):
            raise InvalidValue("no column has anything to learn from (each is empty or constant)")
        self.feature_names_ = [n for c in self.columns_ for n in c["features"]]
        self.n_features_in_ = len(names)
        self.feature_names_in_ = names
        return self

    def _plan(self, name: str, kind: str, st: dict[str, Any] | None) -> dict[str, Any]:
        col: dict[str, Any] = {"name": name, "kind": kind, "missing": 0, "unreadable": 0, "features": []}
        if st is None:  # empty, constant or text: nothing gathered
            if kind == "text":
                col["features"] = [f"{name}:word{i}" for i in range(self.text_features)]
            col["width"] = len(col["features"])
            return col
        col["missing"], col["unreadable"] = int(st["missing"]), int(st["unreadable"])
        flag = (col["missing"] + col["unreadable"]) > 0
        if kind in ("number", "date") and self.encoding == "ordinal":
            flag = False  # trees take a missing value as it is (NaN) and learn where it goes
            col["keep_missing"] = True
        if kind in ("number", "date"):
            mean, std = float(st["mean"]), float(st["std"])
            col.update(mean=mean, scale=std if std > 0 else 1.0, flag=flag)
            # A column of dates without times has no hour to learn from.
            col["parts"] = [p for p in DATE_PARTS if p != "hour" or st.get("timed", 0)] if kind == "date" else []
            if kind == "date":
                col["scaled_parts"] = True  # models fitted before this kept the parts raw: they still do
            parts = [*col["parts"], "days"] if kind == "date" else [""]
            col["features"] = [f"{name}:{p}" if p else name for p in parts] + ([f"{name}:missing"] if flag else [])
        else:
            counts = st["counts"].sort_values(ascending=False, kind="stable")
            ordinal = self.encoding == "ordinal"
            if kind == "category":
                values = [str(v) for v in counts.index[: self.max_onehot]]
                col.update(values=values, flag=flag)
                col["features"] = (
                    [f"{name}:code"]
                    if ordinal
                    else [f"{name}={v}" for v in values] + [f"{name}:other"] + ([f"{name}:missing"] if flag else [])
                )
            else:
                total = float(counts.sum()) or 1.0
                col["share"] = {str(k): float(v) / total for k, v in counts.items()}  # most common first
                tail = [f"{name}:code"] if ordinal else [f"{name}:hash{i}" for i in range(self.hash_buckets)]
                col["features"] = [f"{name}:share", *tail]
            col["distinct"] = len(counts)
        col["width"] = len(col["features"])
        return col

    # -- transforming --------------------------------------------------------------------------
    def transform(self, X: Any) -> Any:
        """The features of a pandas DataFrame as a float32 array; missing columns are named."""
        import numpy as np

        check_has([c["name"] for c in self.columns_ if c["width"]], [str(c) for c in X.columns])
        blocks = [self._encode(c, X[c["name"]]) for c in self.columns_ if c["width"]]
        return np.hstack(blocks).astype("float32", copy=False) if blocks else np.empty((len(X), 0), "float32")

    def _encode(self, col: dict[str, Any], s: Any) -> Any:
        import numpy as np

        kind = col["kind"]
        if kind == "number":
            v = as_numbers(s).to_numpy()
            return _scaled(v[:, None], col)
        if kind == "date":
            parts = _date_parts(as_dates(s), col.get("parts", DATE_PARTS))
            if col.get("scaled_parts") and not col.get("keep_missing"):
                parts = _scale_parts(parts, col)
            return _scaled(parts, col)
        if kind == "text":
            from sklearn.feature_extraction.text import HashingVectorizer

            hv = HashingVectorizer(n_features=self.text_features, alternate_sign=False, norm="l2")
            return hv.transform(s.fillna("").astype(str).to_numpy()).toarray()
        text = s.astype("string")
        absent = text.isna().to_numpy()
        if self.encoding == "ordinal":
            return _codes(col, text, absent)
        if kind == "category":
            codes = text.map({v: i for i, v in enumerate(col["values"])}, na_action="ignore").to_numpy()
            width = len(col["values"]) + 1
            out = np.zeros((len(s), width + (1 if col["flag"] else 0)), "float32")
            seen = ~absent & ~np.isnan(codes.astype("float64"))
            out[np.nonzero(seen)[0], codes[seen].astype(int)] = 1.0
            out[~absent & ~seen, width - 1] = 1.0  # other: past the top values, or never seen
            if col["flag"]:
                out[absent, width] = 1.0
            return out
        out = np.zeros((len(s), 1 + self.hash_buckets), "float32")
        uniques = text.dropna().unique()
        share = {u: col["share"].get(u, 0.0) for u in uniques}
        bucket = {u: zlib.crc32(u.encode("utf-8")) % self.hash_buckets for u in uniques}
        out[:, 0] = text.map(share).fillna(0.0).to_numpy(dtype="float32")
        rows = np.nonzero(~absent)[0]
        out[rows, 1 + text[~absent].map(bucket).to_numpy(dtype=int)] = 1.0
        return out

    def get_feature_names_out(self, input_features: Any = None) -> Any:
        """The names of the output columns (``price``, ``color=red``, ``when:month``, ...)."""
        import numpy as np

        return np.asarray(self.feature_names_, dtype=object)

    def report(self) -> list[dict[str, Any]]:
        """What each column became, one dict per column (the featurization report).

        Example:
            >>> import pandas as pd
            >>> Featurizer().fit(pd.DataFrame({"x": [1, 2], "k": [7, 7]})).report()[1]["became"]
            'dropped: one value in every row'
        """
        return [
            {
                "column": c["name"],
                "kind": c["kind"],
                "became": _became(c),
                "features": c["width"],
                "missing": c["missing"],
                "unreadable": c["unreadable"],
            }
            for c in self.columns_
        ]


def _codes(col: dict[str, Any], text: Any, absent: Any) -> Any:
    # For trees: a value's rank by frequency (one past the last for values training never saw, -1
    # when missing), and for many-valued columns its share of the training rows before it.
    import numpy as np
    import pandas as pd

    order = col.get("values") or list(col["share"])
    found = pd.Index(order).get_indexer(text)  # -1 where missing or never seen
    code = np.where(found >= 0, found, len(order)).astype("float32")
    code[absent] = -1.0
    if "values" in col:
        return code[:, None]
    shares = np.asarray([col["share"][v] for v in order], dtype="float32")
    share = np.where(found >= 0, shares[np.maximum(found, 0)], 0.0).astype("float32")
    return np.column_stack([share, code])


def check_has(wanted: list[str], have: list[str]) -> None:
    """Refuse a table lacking any of the ``wanted`` columns, naming each.

    Example:
        >>> check_has(["x", "y"], ["x", "z"])
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: the table lacks 1 column the model was trained on: y (it has: x, z)
    """
    missing = [c for c in wanted if c not in have]
    if missing:
        s = "s" if len(missing) > 1 else ""
        shown = ", ".join(have[:20]) + (", ..." if len(have) > 20 else "")
        raise InvalidValue(
            f"the table lacks {len(missing)} column{s} the model was trained on: {', '.join(missing)} (it has: {shown})"
        )


def _head(X: Any) -> Any:
    # Kinds are read from the first partitions' rows; the statistics cover every row.
    return X.head(2000, npartitions=min(X.npartitions, 4), compute=True)


def _partition_stats(part: Any, kinds: dict[str, str]) -> dict[str, dict[str, Any]]:
    # What one partition adds to each column's statistics: counts, sums and value counts.
    out: dict[str, dict[str, Any]] = {}
    for name, kind in kinds.items():
        s = part[name]
        present = ~s.isna()
        st: dict[str, Any] = {"rows": len(s), "missing": int((~present).sum())}
        if kind in ("number", "date"):
            if kind == "number":
                v = as_numbers(s)
            else:
                d = as_dates(s)
                v = _since_1970(d)
                st["timed"] = int((d.dt.hour + d.dt.minute + d.dt.second).fillna(0).astype(bool).sum())
            ok = v.dropna()
            st.update(
                n=len(ok), sum=float(ok.sum()), sumsq=float((ok * ok).sum()), unreadable=int((v.isna() & present).sum())
            )
        else:
            counts = s.value_counts(dropna=True)  # counted as they are; only the distinct values become text
            counts.index = counts.index.astype(str)
            st.update(counts=counts.groupby(level=0).sum(), unreadable=0)
        out[name] = st
    return out


def _add_stats(a: dict[str, dict[str, Any]], b: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, x in a.items():
        y = b[name]
        merged = {k: x[k] + y[k] for k in x if k != "counts"}
        if "counts" in x:
            merged["counts"] = x["counts"].add(y["counts"], fill_value=0)
        out[name] = merged
    return out


def _finish(stats: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    # Means and standard deviations (n - 1, as pandas) from the sums.
    import math

    for st in stats.values():
        if "sum" in st:
            n = st["n"]
            st["mean"] = st["sum"] / n if n else 0.0
            var = (st["sumsq"] - st["sum"] ** 2 / n) / (n - 1) if n > 1 else 0.0
            st["std"] = math.sqrt(max(var, 0.0))
    return stats


def _since_1970(d: Any) -> Any:
    import pandas as pd

    return (d - pd.Timestamp(0)).dt.total_seconds() / 86400.0


def _date_parts(d: Any, wanted: Any) -> Any:
    import numpy as np

    parts = [
        getattr(d.dt, p if p != "weekday" else "day_of_week").to_numpy(dtype="float64", na_value=np.nan) for p in wanted
    ]
    days = _since_1970(d).to_numpy(dtype="float64", na_value=np.nan)
    return np.column_stack([*parts, days])


# Each date part onto about [0, 1] (the year around the column's own years): a linear model fed a
# raw year of 2024 beside features near 0 learns nothing (an AUC of 0.50 in the tabular template).
_PART_RANGES = {"month": (1.0, 11.0), "day": (1.0, 30.0), "weekday": (0.0, 6.0), "hour": (0.0, 23.0)}


def _scale_parts(v: Any, col: dict[str, Any]) -> Any:
    v = v.copy()
    for i, part in enumerate(col.get("parts", DATE_PARTS)):
        if part == "year":
            center = 1970.0 + col["mean"] / 365.25
            v[:, i] = (v[:, i] - center) / max(col["scale"] / 365.25, 1.0)
        else:
            low, span = _PART_RANGES[part]
            v[:, i] = (v[:, i] - low) / span
    return v


def _scaled(v: Any, col: dict[str, Any]) -> Any:
    # The last (or only) column is scaled by the column's statistics (date parts are scaled before).
    import numpy as np

    if col.get("keep_missing"):
        return v  # for trees: neither scaled nor filled
    absent = np.isnan(v[:, -1])
    v = v.copy()
    v[:, -1] = (v[:, -1] - col["mean"]) / col["scale"]
    v = np.where(np.isnan(v), 0.0, v)  # the scaled mean, and 0 for a missing date's parts
    return np.column_stack([v, absent.astype("float64")]) if col["flag"] else v


def _became(c: dict[str, Any]) -> str:
    kind, flag = c["kind"], " + a missing flag" if c.get("flag") else ""
    if kind == "empty":
        return "dropped: no values"
    if kind == "constant":
        return "dropped: one value in every row"
    if kind == "number":
        return "number, missing kept (for trees)" if c.get("keep_missing") else "scaled number (missing -> mean)" + flag
    if kind == "date":
        return ", ".join(c.get("parts", DATE_PARTS)) + ", days since 1970" + flag
    if kind == "text":
        return f"word counts hashed into {c['width']} columns"
    if c["features"] and c["features"][-1].endswith(":code"):
        what = "share of rows + " if kind == "many" else ""
        return f"{what}code by frequency over {len(c.get('values') or c['share'])} values (for trees)"
    if kind == "category":
        return f"one-hot over {len(c['values'])} of {c['distinct']} values + other" + flag
    return f"share of rows + {c['width'] - 1} hashed columns ({c['distinct']} values)"
