"""Evaluation metrics under MLflow's names, per-instance tables, and the sums that make the same
metrics exact over a Dask DataFrame's partitions (the ranking curves there are binned).

Classification: ``accuracy_score``, ``precision_score``, ``recall_score``, ``f1_score`` (the
positive class's for two classes, weighted for more, as MLflow), ``f1_score_micro``,
``f1_score_macro``, ``f1_score_weighted``, ``log_loss``, ``roc_auc`` (one-vs-rest macro for more
than two classes), ``precision_recall_auc``, ``example_count``. Regression:
``mean_squared_error``, ``root_mean_squared_error``, ``mean_absolute_error``, ``r2_score``,
``max_error``, ``example_count``.
"""

from __future__ import annotations

import math
from typing import Any

EPS = 1e-15
BINS = 1000  # score bins of the approximate ranking curves on Dask


def classification_rows(y: Any, pred: Any, proba: Any, classes: list[Any]) -> Any:
    """The per-instance table: true, predicted, probability of the true class, correct, log loss.

    A true class the model never saw has probability 0 (its log loss is that of ``1e-15``).

    Example:
        >>> import numpy as np, pandas as pd
        >>> proba = np.array([[0.9, 0.1], [0.6, 0.4]])
        >>> t = classification_rows(pd.Series(["a", "b"]), np.array(["a", "a"]), proba, ["a", "b"])
        >>> t["correct"].tolist(), t["proba_true"].round(2).tolist()
        ([True, False], [0.9, 0.4])
    """
    import numpy as np
    import pandas as pd

    index = {c: i for i, c in enumerate(classes)}
    col = y.map(index).to_numpy(dtype="float64", na_value=np.nan)
    known = ~np.isnan(col)
    p_true = np.zeros(len(y))
    if proba is not None:
        p_true[known] = proba[np.nonzero(known)[0], col[known].astype(int)]
    out = pd.DataFrame({"true": y.to_numpy(), "predicted": pred}, index=y.index)
    out["proba_true"] = p_true if proba is not None else np.nan
    out["correct"] = out["true"].to_numpy() == out["predicted"].to_numpy()
    out["log_loss"] = -np.log(np.clip(p_true, EPS, 1.0)) if proba is not None else np.nan
    return out


def regression_rows(y: Any, pred: Any) -> Any:
    """The per-instance table: true, predicted, residual (true - predicted), L1, L2.

    Example:
        >>> import pandas as pd
        >>> regression_rows(pd.Series([3.0]), [1.0])[["residual", "l2"]].values.tolist()
        [[2.0, 4.0]]
    """
    import numpy as np
    import pandas as pd

    out = pd.DataFrame({"true": y.to_numpy(dtype="float64"), "predicted": np.asarray(pred, "float64")}, index=y.index)
    out["residual"] = out["true"] - out["predicted"]
    out["l1"] = out["residual"].abs()
    out["l2"] = out["residual"] ** 2
    return out


def classification_sums(rows: Any, proba: Any, classes: list[Any], binned: bool = True) -> dict[str, Any]:
    """What a partition adds to the totals: confusion counts, log loss and (``binned``) score
    histograms per class, from which a Dask evaluation draws its ranking curves."""
    import numpy as np
    import pandas as pd

    # Codes and one bincount: hashing each label once is cheaper than grouping by two columns.
    t_codes, t_labels = pd.factorize(rows["true"])
    p_codes, p_labels = pd.factorize(rows["predicted"])
    k = max(len(p_labels), 1)
    flat = np.bincount(t_codes * k + p_codes, minlength=len(t_labels) * k) if len(rows) else np.zeros(0, int)
    pairs = {(t_labels[i // k], p_labels[i % k]): int(flat[i]) for i in np.flatnonzero(flat)}
    hist = {}
    if proba is not None and binned:
        edges = np.linspace(0.0, 1.0, BINS + 1)
        truth = rows["true"].to_numpy()
        for i, c in enumerate(classes):
            is_c = truth == c
            hist[i] = (np.histogram(proba[is_c, i], edges)[0], np.histogram(proba[~is_c, i], edges)[0])
    return {
        "pairs": pairs,
        "log_loss": float(rows["log_loss"].sum()),
        "n": len(rows),
        "hist": hist,
    }


def add_sums(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two partitions' classification sums as one."""
    pairs = dict(a["pairs"])
    for k, v in b["pairs"].items():
        pairs[k] = pairs.get(k, 0) + v
    hist = {i: (a["hist"][i][0] + b["hist"][i][0], a["hist"][i][1] + b["hist"][i][1]) for i in a["hist"]}
    return {
        "pairs": pairs,
        "log_loss": a["log_loss"] + b["log_loss"],
        "n": a["n"] + b["n"],
        "hist": hist,
        "dropped": a.get("dropped", 0) + b.get("dropped", 0),
    }


def confusion(pairs: dict[tuple[Any, Any], int], classes: list[Any]) -> Any:
    """The confusion matrix (rows: true, columns: predicted) over the model's classes and any
    other class the true labels hold.

    Example:
        >>> confusion({("a", "a"): 2, ("b", "a"): 1}, ["a", "b"]).values.tolist()
        [[2, 0], [1, 0]]
    """
    import pandas as pd

    labels = list(classes) + sorted({t for t, _ in pairs if t not in classes}, key=str)
    m = pd.DataFrame(0, index=pd.Index(labels, name="true"), columns=pd.Index(labels, name="predicted"))
    for (t, p), n in pairs.items():
        m.loc[t, p] += n
    return m


def from_confusion(m: Any, pos_label: Any, binary: bool) -> dict[str, float]:
    """accuracy, precision, recall and F1 (each average) from a confusion matrix, exactly."""
    import numpy as np

    c = m.to_numpy(dtype="float64")
    tp, support, predicted = np.diag(c), c.sum(axis=1), c.sum(axis=0)
    prec = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    rec = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    f1 = np.divide(2 * prec * rec, prec + rec, out=np.zeros_like(tp), where=(prec + rec) > 0)
    present = (support > 0) | (predicted > 0)
    total = c.sum()
    weights = support / total if total else support
    micro = float(tp.sum() / total) if total else 0.0
    out = {
        "accuracy_score": micro,
        "f1_score_micro": micro,
        "f1_score_macro": float(f1[present].mean()) if present.any() else 0.0,
        "f1_score_weighted": float((f1 * weights).sum()),
    }
    if binary:
        i = list(m.index).index(pos_label)
        out.update(precision_score=float(prec[i]), recall_score=float(rec[i]), f1_score=float(f1[i]))
    else:
        out.update(
            precision_score=float((prec * weights).sum()),
            recall_score=float((rec * weights).sum()),
            f1_score=out["f1_score_weighted"],
        )
    return out


def ranking_exact(truth: Any, proba: Any, classes: list[Any], pos: int | None) -> dict[str, float]:
    """roc_auc and precision_recall_auc from the scores; a class absent from (or alone in) the
    labels is left out of the one-vs-rest mean, and a binary task missing a class has neither."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    out: dict[str, float] = {}
    aucs = []
    for i, c in enumerate(classes):
        if pos is not None and i != pos:
            continue
        is_c = truth == c
        if 0 < is_c.sum() < len(truth):
            aucs.append(float(roc_auc_score(is_c, proba[:, i])))
            if pos is not None:
                out["precision_recall_auc"] = float(average_precision_score(is_c, proba[:, i]))
    if aucs:
        out["roc_auc"] = sum(aucs) / len(aucs)
    return out


def ranking_binned(hist: dict[int, Any], pos: int | None) -> tuple[dict[str, float], dict[int, Any]]:
    """roc_auc and precision_recall_auc from score histograms (approximate), and each class's
    curve points (fpr, tpr, precision, recall) for the figures."""
    import numpy as np

    out: dict[str, float] = {}
    curves, aucs = {}, []
    for i, (h_pos, h_neg) in hist.items():
        if (pos is not None and i != pos) or h_pos.sum() == 0 or h_neg.sum() == 0:
            continue
        # From the highest score down: the share of positives and negatives above each threshold.
        tp = np.concatenate([[0], np.cumsum(h_pos[::-1])])
        fp = np.concatenate([[0], np.cumsum(h_neg[::-1])])
        tpr, fpr = tp / tp[-1], fp / fp[-1]
        precision = np.divide(tp, tp + fp, out=np.ones_like(tpr), where=(tp + fp) > 0)
        aucs.append(float(np.trapezoid(tpr, fpr)))
        curves[i] = {"fpr": fpr, "tpr": tpr, "precision": precision, "recall": tpr}
        if pos is not None:
            out["precision_recall_auc"] = float(np.sum(np.diff(tpr) * precision[1:]))
    if aucs:
        out["roc_auc"] = sum(aucs) / len(aucs)
    return out, curves


def regression_sums(rows: Any) -> dict[str, float]:
    """What a partition adds to the regression totals."""
    y, r = rows["true"], rows["residual"]
    return {
        "n": float(len(rows)),
        "sum_l2": float(rows["l2"].sum()),
        "sum_l1": float(rows["l1"].sum()),
        "sum_y": float(y.sum()),
        "sum_y2": float((y * y).sum()),
        "max_l1": float(rows["l1"].max()) if len(rows) else 0.0,
        "sum_r": float(r.sum()),
    }


def add_regression(a: dict[str, float], b: dict[str, float]) -> dict[str, float]:
    """Two partitions' regression sums as one."""
    return {k: (max(a[k], b[k]) if k == "max_l1" else a[k] + b[k]) for k in a}


def from_regression_sums(s: dict[str, float]) -> dict[str, float]:
    """mse, rmse, mae, r2 and max error from the sums, exactly.

    Example:
        >>> from_regression_sums({"n": 2, "sum_l2": 2, "sum_l1": 2, "sum_y": 2, "sum_y2": 4, "max_l1": 1, "sum_r": 0})
        ... # doctest: +NORMALIZE_WHITESPACE
        {'example_count': 2, 'mean_squared_error': 1.0, 'root_mean_squared_error': 1.0,
         'mean_absolute_error': 1.0, 'r2_score': 0.0, 'max_error': 1}
    """
    n = s["n"]
    mse = s["sum_l2"] / n
    total = s["sum_y2"] - s["sum_y"] ** 2 / n  # the sum of squares about the mean
    r2 = 1.0 - s["sum_l2"] / total if total > 0 else (1.0 if s["sum_l2"] == 0 else 0.0)
    return {
        "example_count": int(n),
        "mean_squared_error": mse,
        "root_mean_squared_error": math.sqrt(mse),
        "mean_absolute_error": s["sum_l1"] / n,
        "r2_score": r2,
        "max_error": s["max_l1"],
    }
