"""train_classifier and train_regressor: drop the label, featurize every column by its kind, fit a
learner family, and log what was done to the active run.

On a Dask DataFrame the featurizer's statistics come from one Dask pass and LightGBM's distributed
learner trains on the cluster; another family gathers the features into this process (and says
so in ``model.training``).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

from ..errors import InvalidValue
from .autolog import paused
from .columns import as_numbers
from .families import dask_estimator, family_name, make_estimator
from .features import Featurizer, check_has
from .model import LearnedModel, is_dask

SAMPLE_ROWS = 5
TREES = ("hgb", "lightgbm", "rf")


def train_classifier(
    df: Any,
    label: str,
    model: Any = "auto",
    params: dict[str, Any] | None = None,
    *,
    max_onehot: int = 30,
    seed: int = 0,
    client: Any = None,
) -> LearnedModel:
    """Train a classifier of ``label`` from every other column of ``df`` (pandas or Dask).

    ``model`` is a family (``auto``, ``hgb``, ``lightgbm``, ``logreg``, ``rf``) or any scikit-learn
    estimator; ``params`` go to the family's estimator. Rows whose label is missing are dropped and
    counted (``model.training["dropped"]``); rows with bad features are kept and their values read
    as missing. Inside a run, the family, its parameters, the counts and the featurization report
    (table ``learn/featurization``) are logged.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": range(40), "y": ["a"] * 20 + ["b"] * 20})
        >>> m = train_classifier(df, label="y", model="logreg")
        >>> m.family, m.predict(df.iloc[[0, -1]]).tolist()
        ('logreg', ['a', 'b'])
    """
    return _train(df, label, "classification", model, params, max_onehot, seed, client)


def train_regressor(
    df: Any,
    label: str,
    model: Any = "auto",
    params: dict[str, Any] | None = None,
    *,
    max_onehot: int = 30,
    seed: int = 0,
    client: Any = None,
) -> LearnedModel:
    """Train a regressor of the numeric ``label`` from every other column of ``df`` (pandas or Dask).

    Families: ``auto``, ``hgb``, ``lightgbm``, ``ridge``, ``rf``, or any scikit-learn estimator.

    Example:
        >>> import pandas as pd
        >>> df = pd.DataFrame({"x": [float(i) for i in range(30)], "y": [2.0 * i for i in range(30)]})
        >>> abs(float(train_regressor(df, label="y", model="ridge").predict(df.tail(1))[0]) - 58) < 2
        True
    """
    return _train(df, label, "regression", model, params, max_onehot, seed, client)


def _train(
    df: Any, label: str, task: str, model: Any, params: Any, max_onehot: int, seed: int, client: Any
) -> LearnedModel:
    started = time.perf_counter()
    distributed = is_dask(df)
    if not hasattr(df, "columns"):
        raise InvalidValue(f"train a model on a pandas or Dask DataFrame, not {type(df).__name__}")
    if label not in df.columns:
        raise InvalidValue(f"no label column {label!r} (columns: {', '.join(map(str, df.columns))})")
    family = family_name(model, task, distributed)
    df, dropped, lengths = _labelled(df, label, task, distributed)
    X = df.drop(columns=[label])
    # Trees split on a value's code as well as on its one-hot columns, at a fraction of the width.
    encoding = "ordinal" if family in TREES else "onehot"
    featurizer = Featurizer(max_onehot=max_onehot, encoding=encoding).fit(X)
    notes: list[str] = []
    if family == "lightgbm" and distributed:
        estimator = _fit_on_cluster(featurizer, X, df[label], lengths, task, params, seed, client)
        where = "cluster"
    else:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            estimator = _fit_here(family, model, featurizer, X, df[label], task, params, seed, distributed)
        notes = _fit_notes(caught)
        where = "gathered" if distributed else "here"
    sample = _first_rows(X) if distributed else X.head(SAMPLE_ROWS)
    training = {
        "family": family,
        "estimator": type(estimator).__name__,
        "params": {k: v for k, v in estimator.get_params().items() if _plain(v)},
        "rows": int(featurizer.n_rows_),
        "dropped": dropped,
        "features": len(featurizer.feature_names_),
        "where": where,
        "seconds": round(time.perf_counter() - started, 3),
        **({"notes": notes} if notes else {}),
    }
    learned = LearnedModel(
        [("features", featurizer), ("model", estimator)],
        label=str(label),
        task=task,
        training=training,
        sample={str(c): [_cell(v) for v in sample[c]] for c in sample.columns},
    )
    _log(learned)
    return learned


def _fit_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    # A fit that stopped before converging is a fact about the model, kept in its record (and in
    # the leaderboard), not a warning printed at the user; any other warning goes on as it came.
    from sklearn.exceptions import ConvergenceWarning

    notes = []
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            first = str(w.message).strip().splitlines()[0] if str(w.message).strip() else "did not converge"
            notes.append(f"did not converge: {first}"[:300])
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return sorted(set(notes))


def _labelled(df: Any, label: str, task: str, distributed: bool) -> tuple[Any, int, tuple[int, ...]]:
    # Rows without a label cannot teach anything: dropped and counted. The label is checked here,
    # from what each partition says about it (one pass on Dask), which also gives the length of
    # each partition once they are dropped.
    import pandas as pd

    if distributed:
        from .model import dask_api

        dask = dask_api()
        facts = dask.compute(*[dask.delayed(_label_facts)(p[label], task) for p in df.to_delayed()])
    else:
        facts = [_label_facts(df[label], task)]
    dropped = sum(f[0] for f in facts)
    bad = pd.unique(pd.Series([v for f in facts for v in f[2]], dtype=object))[:3].tolist()
    if bad:
        shown = ", ".join(map(repr, bad))
        raise InvalidValue(f"label {label!r} must be numbers for a regressor; it holds {shown}")
    if task == "classification":
        classes = pd.unique(pd.Series([v for f in facts for v in f[1]], dtype=object))[:2].tolist()
        if len(classes) < 2:
            only = f" ({classes[0]!r})" if classes else ""
            raise InvalidValue(f"label {label!r} has one class{only}; a classifier needs two or more")
    if task == "regression":
        numbers = (
            df[label].map_partitions(as_numbers, meta=(label, "float64")) if distributed else as_numbers(df[label])
        )
        df = df.assign(**{label: numbers})
    lengths = tuple(rows - missing for missing, _, _, rows in facts)
    return df[~df[label].isna()], int(dropped), lengths


def _label_facts(y: Any, task: str) -> tuple[int, list[Any], list[Any], int]:
    # (missing labels, two distinct labels, up to three labels a regressor cannot read, rows)
    present = y.dropna()
    if task == "regression":
        bad = present[as_numbers(present).isna()].drop_duplicates().head(3).tolist()
        return int(y.isna().sum()), [], bad, len(y)
    return int(y.isna().sum()), present.drop_duplicates().head(2).tolist(), [], len(y)


def _fit_here(
    family: str, model: Any, featurizer: Featurizer, X: Any, y: Any, task: str, params: Any, seed: int, dist: bool
) -> Any:
    from sklearn.base import clone

    if dist:  # a family without a distributed learner: the features come to this process
        from .model import dask_api

        X, y = dask_api().compute(X, y)
    estimator = make_estimator(family, task, params, seed) if family != "custom" else clone(model)
    if family == "custom" and params:
        estimator.set_params(**params)
    features = featurizer.transform(X)
    with paused():  # learn logs its own record of the fit
        return estimator.fit(features, y.to_numpy())


def _fit_on_cluster(
    featurizer: Featurizer, X: Any, y: Any, lengths: tuple[int, ...], task: str, params: Any, seed: int, client: Any
) -> Any:
    import numpy as np
    import pandas as pd

    # Arrays, not frames: the local model then predicts from the featurizer's arrays without a
    # feature-name mismatch. Each partition's length (from the label's pass) lines them up with the labels.
    width = len(featurizer.feature_names_)
    features = X.map_partitions(
        lambda p: pd.DataFrame(featurizer.transform(p), index=p.index),
        meta=pd.DataFrame(np.zeros((0, width), "float32")),
    )
    features = features.to_dask_array(lengths=lengths)
    if not pd.api.types.is_numeric_dtype(y.dtype):
        y = y.astype(object)  # an array of labels: Dask arrays hold no pandas string dtype
    y = y.to_dask_array(lengths=lengths)
    estimator = dask_estimator(task, params, client or _client(), seed)
    with paused(), warnings.catch_warnings():
        # LightGBM sets each worker's threads itself and says so about its own default.
        warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored", UserWarning)
        estimator.fit(features, y)
    return estimator.to_local()


def _client() -> Any:
    # The caller's Dask client when there is one, else the workspace's dask target (started if needed).
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        from ..compute.dask_cluster import connect
        from ..compute.targets import get_target
        from ..workspace import Workspace

        ws = Workspace.open(None)
        return connect(ws, get_target(ws, "dask"))


def _first_rows(X: Any) -> Any:
    # The first partition usually has them; reading every partition's head would be a full pass.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "insufficient elements": then all partitions
        rows = X.head(SAMPLE_ROWS, npartitions=1)
    return rows if len(rows) >= SAMPLE_ROWS else X.head(SAMPLE_ROWS, npartitions=-1)


def check_columns(model: Any, df: Any, label: str) -> list[str]:
    """Refuse a table that lacks a column ``model`` was trained on, naming each; returns the
    columns it has that the model does not use.

    Example:
        >>> import pandas as pd
        >>> m = train_classifier(pd.DataFrame({"x": range(20), "y": [0, 1] * 10}), label="y", model="logreg")
        >>> check_columns(m, pd.DataFrame({"z": [1], "y": [0]}), "y")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: the table lacks 1 column the model was trained on: x (it has: z, y)
    """
    steps = getattr(model, "steps", None)
    if not steps or not isinstance(steps[0][1], Featurizer):
        return []
    featurizer = steps[0][1]
    have = [str(c) for c in df.columns]
    check_has([c["name"] for c in featurizer.columns_ if c["width"]], have)  # a dropped column may be absent
    return [c for c in have if c not in featurizer.feature_names_in_ and c != label]


def _plain(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _cell(v: Any) -> Any:
    # Sample rows are kept as plain values (skops saves them without pickles).
    import pandas as pd

    if v is None or (not isinstance(v, str) and pd.isna(v)):
        return None
    if hasattr(v, "isoformat"):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


def _log(model: LearnedModel) -> None:
    from ..tracking.fluent import active_run

    run = active_run()
    if run is None or "learn.task" in run.params:
        return  # a second model in one run: its record stays on the model (find_best_model logs each)
    t = model.training or {}
    t["run_id"] = run.id  # the lineage of a version registered from this model
    run.log_params({"learn.task": model.task, "learn.label": model.label, "learn.family": t["family"]})
    run.log_params({f"learn.{k}": v for k, v in t["params"].items() if v is not None})
    run.log_metrics(
        {
            "learn.rows": t["rows"],
            "learn.dropped": t["dropped"],
            "learn.features": t["features"],
            "learn.train_seconds": t["seconds"],
        }
    )
    run.log_table(model.featurization, "learn/featurization")
