"""evaluate: a model's metrics on a labelled table, its per-instance table and figures, logged to
the active run. On a Dask DataFrame each partition is predicted where it lies and only sums come
back: the confusion matrix, log loss and regression metrics are exact; ROC and PR are drawn from
score histograms and labelled approximate.
"""

from __future__ import annotations

from functools import reduce
from typing import Any

from ..errors import InvalidValue
from . import figures as fg
from . import metrics as mt
from .model import is_dask
from .report import Report

SCATTER_ROWS = 10_000
CALIBRATION_BINS = 10


def evaluate(
    model: Any,
    df: Any,
    label: str | None = None,
    *,
    pos_label: Any = None,
    log: bool = True,
    folder: str = "evaluation",
) -> Report:
    """Evaluate ``model`` on ``df`` (pandas or Dask) holding the true ``label`` (default: the
    model's own).

    Rows without a label are left out and counted. ``pos_label`` is the positive class of a
    two-class model (default: the second of its sorted classes). A test table missing a class, or
    holding one the model never saw, is measured as it is. Inside a run (and with ``log``), the
    metrics, ``evaluation/per_instance.parquet`` and each figure as PNG with its data are logged.

    Example:
        >>> import pandas as pd
        >>> from aml_jupyter.learn import train_classifier
        >>> df = pd.DataFrame({"x": range(40), "y": ["a"] * 20 + ["b"] * 20})
        >>> m = train_classifier(df, label="y", model="logreg")
        >>> r = evaluate(m, df)
        >>> r.metrics["example_count"], sorted(r.figures)
        (40, ['calibration', 'confusion_matrix', 'precision_recall', 'roc'])
    """
    from .train import check_columns

    label = label or getattr(model, "label", None)
    if not label:
        raise InvalidValue("evaluate needs label= (the model does not say which column it predicts)")
    if label not in df.columns:
        raise InvalidValue(f"no label column {label!r} (columns: {', '.join(map(str, df.columns))})")
    extra = check_columns(model, df, label)
    task = getattr(model, "task", None) or ("classification" if hasattr(model, "classes_") else "regression")
    if task == "classification":
        report = _classification(model, df, label, pos_label)
    else:
        report = _regression(model, df, label)
    dropped = report.dropped
    if extra:
        report.notes.append(f"columns the model does not use were ignored: {', '.join(extra)}")
    if dropped:
        report.notes.append(f"{dropped} rows without a label were left out")
    if log:
        from ..tracking.fluent import active_run

        run = active_run()
        if run is not None:
            report.log(run, folder)
    return report


def _classification(model: Any, df: Any, label: str, pos_label: Any) -> Report:
    classes = list(model.classes_)
    if pos_label is not None and pos_label not in classes:
        raise InvalidValue(
            f"pos_label {pos_label!r} is not one of the model's classes ({', '.join(map(str, classes))})"
        )
    pos = classes.index(pos_label if pos_label is not None else classes[-1]) if len(classes) == 2 else None
    has_proba = hasattr(model, "predict_proba")

    def one(part: Any, binned: bool = True) -> tuple[Any, dict[str, Any], Any]:
        kept = part[part[label].notna()]  # rows without a label are counted, not measured
        X = kept.drop(columns=[label])
        proba = model.predict_proba(X) if has_proba else None
        pred = classes_of(proba, classes) if proba is not None else model.predict(X)
        rows = mt.classification_rows(kept[label], pred, proba, classes)
        sums = mt.classification_sums(rows, proba, classes, binned)
        return rows, {**sums, "dropped": len(part) - len(kept)}, proba

    approximate: list[str] = []
    if is_dask(df):
        rows, sums = _over_partitions(df, lambda p: one(p)[:2], mt.add_sums)
        ranking, curves = mt.ranking_binned(sums["hist"], pos)
        approximate = sorted(ranking) + ["roc", "precision_recall", "calibration"]
        truth = proba = None
    else:
        rows, sums, proba = one(df, binned=False)  # the curves come from the scores themselves
        truth = rows["true"].to_numpy()
        ranking = mt.ranking_exact(truth, proba, classes, pos) if proba is not None else {}
    matrix = mt.confusion(sums["pairs"], classes)
    metrics = {
        "example_count": sums["n"],
        **mt.from_confusion(matrix, classes[pos] if pos is not None else None, pos is not None),
    }
    if has_proba and sums["n"]:
        metrics["log_loss"] = sums["log_loss"] / sums["n"]
    metrics.update(ranking)
    report = Report("classification", label, metrics, rows, approximate=approximate, dropped=sums["dropped"])
    report.figures["confusion_matrix"] = fg.confusion_figure(matrix)
    report.data["confusion_matrix"] = matrix.reset_index().rename(columns=str)
    if has_proba:
        curves_data = (
            _curves_binned(curves, classes, sums["hist"]) if truth is None else _curves(truth, proba, classes, pos)
        )
        _curve_figures(report, curves_data, bool(approximate))
    return report


def classes_of(proba: Any, classes: list[Any]) -> Any:
    """The most probable class of each row (what ``predict`` would say, without a second pass)."""
    import numpy as np

    return np.asarray(classes, dtype=object)[proba.argmax(axis=1)]


def _curves(truth: Any, proba: Any, classes: list[Any], pos: int | None) -> dict[str, Any]:
    import pandas as pd
    from sklearn.calibration import calibration_curve
    from sklearn.metrics import precision_recall_curve, roc_curve

    roc, pr, cal = [], [], []
    for i, c in enumerate(classes):
        is_c = truth == c
        if (pos is not None and i != pos) or not 0 < is_c.sum() < len(truth):
            continue
        fpr, tpr, _ = roc_curve(is_c, proba[:, i])
        prec, rec, _ = precision_recall_curve(is_c, proba[:, i])
        frac, mean = calibration_curve(is_c, proba[:, i], n_bins=CALIBRATION_BINS)
        roc.append(pd.DataFrame({"class": str(c), "fpr": fpr, "tpr": tpr}))
        pr.append(pd.DataFrame({"class": str(c), "recall": rec, "precision": prec}))
        cal.append(pd.DataFrame({"class": str(c), "predicted": mean, "observed": frac}))
    return {"roc": roc, "precision_recall": pr, "calibration": cal}


def _curves_binned(curves: dict[int, Any], classes: list[Any], hist: dict[int, Any]) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    roc, pr, cal = [], [], []
    for i, k in curves.items():
        c = str(classes[i])
        roc.append(pd.DataFrame({"class": c, "fpr": k["fpr"], "tpr": k["tpr"]}))
        pr.append(pd.DataFrame({"class": c, "recall": k["recall"][1:], "precision": k["precision"][1:]}))
        h_pos, h_neg = (h.reshape(CALIBRATION_BINS, -1).sum(axis=1) for h in hist[i])
        seen = (h_pos + h_neg) > 0
        centers = (np.arange(CALIBRATION_BINS) + 0.5) / CALIBRATION_BINS
        observed = h_pos[seen] / (h_pos + h_neg)[seen]
        cal.append(pd.DataFrame({"class": c, "predicted": centers[seen], "observed": observed}))
    return {"roc": roc, "precision_recall": pr, "calibration": cal}


def _curve_figures(report: Report, data: dict[str, list[Any]], approximate: bool) -> None:
    import pandas as pd

    note = fg.APPROX if approximate else ""
    shapes = {
        "roc": ("fpr", "tpr", "ROC", True),
        "precision_recall": ("recall", "precision", "precision-recall", False),
        "calibration": ("predicted", "observed", "calibration", True),
    }
    for name, frames in data.items():
        if not frames:
            report.notes.append(f"no {name} curve: the labels hold one class only")
            continue
        table = pd.concat(frames, ignore_index=True)
        x, y, title, diagonal = shapes[name]
        report.figures[name] = fg.curve_figure(table, x, y, title + note, diagonal)
        report.data[name] = table


def _regression(model: Any, df: Any, label: str) -> Report:
    import numpy as np
    import pandas as pd

    def one(part: Any) -> tuple[Any, dict[str, float]]:
        kept = part[part[label].notna()]
        y = pd.to_numeric(kept[label], errors="coerce")
        rows = mt.regression_rows(y, model.predict(kept.drop(columns=[label])))
        return rows, {**mt.regression_sums(rows), "dropped": float(len(part) - len(kept))}

    if is_dask(df):
        rows, sums = _over_partitions(df, one, mt.add_regression)
        sample = rows.head(SCATTER_ROWS, npartitions=-1)
    else:
        rows, sums = one(df)
        sample = rows.sample(n=min(len(rows), SCATTER_ROWS), random_state=0)
    if not sums["n"]:
        raise InvalidValue(f"no rows with a label {label!r} to evaluate")
    report = Report("regression", label, mt.from_regression_sums(sums), rows, dropped=int(sums["dropped"]))
    from_sample = "" if len(sample) == sums["n"] else f" ({len(sample):,} of {int(sums['n']):,} rows)"
    report.figures["predicted_vs_actual"] = fg.scatter_figure(sample, "predicted vs actual" + from_sample)
    report.data["predicted_vs_actual"] = sample[["true", "predicted"]].reset_index(drop=True)
    counts, edges = np.histogram(sample["residual"].to_numpy(), bins=40)
    hist = pd.DataFrame({"left": edges[:-1], "width": np.diff(edges), "count": counts})
    report.figures["residuals"] = fg.residual_figure(hist, "residuals" + from_sample)
    report.data["residuals"] = hist
    return report


def _over_partitions(df: Any, one: Any, add: Any) -> tuple[Any, Any]:
    # Each partition is evaluated where it lies: its rows stay there (persisted), its sums return.
    import dask.dataframe as dd

    from .model import dask_api

    dask = dask_api()
    parts = [dask.delayed(one, nout=2)(p) for p in df.to_delayed()]
    parts = dask.persist(*parts)
    sums = dask.compute(*[p[1] for p in parts])
    meta = parts[0][0].compute().iloc[:0]  # persisted already: no second pass
    rows = dd.from_delayed([p[0] for p in parts], meta=meta, verify_meta=False)
    return rows, reduce(add, sums)
