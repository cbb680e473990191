"""Native predictors: scikit-learn models scored with numpy alone.

A scoring service that loads a scikit-learn model pays for ``import sklearn`` (and scipy, and
pandas): seconds of start-up and most of its memory. For the models most often served (linear
models, scalers, decision trees and forests, and pipelines of them) the prediction is a few array
operations, so registration also writes them as plain arrays (``model.native.npz``, no pickle)
and the service runs the same operations, in the same order, with numpy only.

:func:`compile_model` makes one and keeps it only when it gives exactly the estimator's answers
(the same labels, bit-identical numbers) on the sample input and on hundreds of generated rows;
anything it does not know, or any difference, means no native predictor and the service loads
scikit-learn as before.

Example:
    >>> import numpy as np
    >>> from sklearn.linear_model import LogisticRegression
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    >>> clf = LogisticRegression().fit(X, [0, 1, 0, 1])
    >>> native = compile_model(clf, X)
    >>> native.predict(X).tolist() == clf.predict(X).tolist()
    True
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

FILE = "model.native.npz"
FORMAT = 1
CHECK_ROWS = 512


class NotCompilable(Exception):
    """The estimator (or a step of it) has no native predictor."""


class NativeModel:
    """A compiled model: ``steps`` (array transforms) then one ``final`` predictor."""

    def __init__(self, spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.spec = spec
        self.arrays = arrays
        self.n_features = int(spec["n_features"])
        self.features: list[str] | None = spec.get("features")

    def _matrix(self, x: Any) -> np.ndarray:
        if hasattr(x, "columns"):  # a DataFrame: the columns the model was fitted on, in that order
            x = x[self.features] if self.features else x
            x = x.to_numpy(dtype=np.float64)
        out: np.ndarray = np.array(x, dtype=np.float64)  # a copy: the steps work in place, as scikit-learn's do
        if out.ndim != 2 or out.shape[1] != self.n_features:
            raise ValueError(f"the model takes rows of {self.n_features} values, not an array of shape {out.shape}")
        if not np.isfinite(out).all():
            raise ValueError("the input holds NaN or infinity")
        return out

    def predict(self, x: Any) -> np.ndarray:
        """The model's predictions for the rows of ``x`` (an array, rows, or a DataFrame)."""
        a = self.arrays
        x = self._matrix(x)
        for i, step in enumerate(self.spec["steps"]):
            op = step["op"]
            if op == "sub":
                x -= a[f"{i}.v"]
            elif op == "div":
                x /= a[f"{i}.v"]
            elif op == "mul":
                x *= a[f"{i}.v"]
            elif op == "add":
                x += a[f"{i}.v"]
            elif op == "clip":
                np.clip(x, step["lo"], step["hi"], out=x)
            else:
                raise ValueError(f"unknown step {op!r} in {FILE}")
        final = self.spec["final"]
        kind = final["kind"]
        if kind in ("linear_classifier", "linear_regressor"):
            coef = a["coef"]
            scores = (x @ coef.T if coef.ndim == 2 else x @ coef) + a["intercept"]
            if kind == "linear_regressor":
                return np.asarray(scores)
            if scores.ndim > 1 and scores.shape[1] == 1:
                scores = scores.reshape(-1)
            indices = (scores > 0).astype(np.intp) if scores.ndim == 1 else scores.argmax(axis=1)
            return np.asarray(a["classes"].take(indices, axis=0))
        if kind in ("tree_classifier", "tree_regressor"):
            return self._trees(x, kind, final)
        raise ValueError(f"unknown predictor {kind!r} in {FILE}")

    def _trees(self, x: np.ndarray, kind: str, final: dict[str, Any]) -> np.ndarray:
        # Every tree walked at once, level by level; a row compares its float32 value with the
        # float64 threshold, as scikit-learn's trees do.
        a = self.arrays
        x32 = x.astype(np.float32)
        roots, left, right, feature, threshold = a["roots"], a["left"], a["right"], a["feature"], a["threshold"]
        rows = np.arange(len(x32))[:, None]
        node = np.broadcast_to(roots, (len(x32), len(roots))).copy()
        for _ in range(int(final["depth"])):
            lnode = left[node]
            inner = lnode >= 0
            if not inner.any():
                break
            goes_left = x32[rows, feature[node]] <= threshold[node]
            node = np.where(inner, np.where(goes_left, lnode, right[node]), node)
        leaves = a["leaf_value"][node]  # (rows, trees, outputs)
        total = np.zeros(leaves.shape[::2] if leaves.ndim == 3 else (len(x32),), dtype=np.float64)
        for t in range(leaves.shape[1]):  # tree by tree, in order: the same sums as scikit-learn's
            total += leaves[:, t]
        if final["average"]:
            total /= leaves.shape[1]
        if kind == "tree_regressor":
            return total
        return np.asarray(a["classes"].take(np.argmax(total, axis=1), axis=0))

    def save(self, path: Path) -> None:
        """Write the model as one ``.npz`` file of plain arrays (its spec as JSON bytes)."""
        spec = np.frombuffer(json.dumps(self.spec, sort_keys=True).encode(), dtype=np.uint8)
        buf = io.BytesIO()
        arrays: dict[str, Any] = {"__spec__": spec, **self.arrays}
        np.savez(buf, **arrays)
        path.write_bytes(buf.getvalue())


def load(path: Path | str) -> NativeModel:
    """A native model from its file; no pickle is ever read (``allow_pickle=False``).

    Example:
        >>> load("model.native.npz").predict([[5.1, 3.5, 1.4, 0.2]])  # doctest: +SKIP
        array([0])
    """
    with np.load(path, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    spec = json.loads(arrays.pop("__spec__").tobytes())
    if spec.get("format") != FORMAT:
        raise ValueError(f"{path}: native model format {spec.get('format')!r}, this version reads {FORMAT}")
    return NativeModel(spec, arrays)


def _classes(est: Any) -> np.ndarray:
    classes = np.asarray(est.classes_)
    if classes.dtype == object:
        if not all(isinstance(c, str) for c in classes):
            raise NotCompilable("class labels of mixed types")
        classes = classes.astype(str)
    if classes.ndim != 1:
        raise NotCompilable("several outputs")
    return classes


def _transform_steps(est: Any) -> list[tuple[dict[str, Any], np.ndarray | None]]:
    steps: list[tuple[dict[str, Any], np.ndarray | None]]
    from sklearn.preprocessing import MaxAbsScaler, MinMaxScaler, StandardScaler

    kind = type(est)
    if kind is StandardScaler:
        steps = []
        if est.with_mean:
            steps.append(({"op": "sub"}, np.asarray(est.mean_, dtype=np.float64)))
        if est.with_std:
            steps.append(({"op": "div"}, np.asarray(est.scale_, dtype=np.float64)))
        return steps
    if kind is MinMaxScaler:
        steps = [({"op": "mul"}, np.asarray(est.scale_)), ({"op": "add"}, np.asarray(est.min_))]
        if est.clip:
            lo, hi = est.feature_range
            steps.append(({"op": "clip", "lo": float(lo), "hi": float(hi)}, None))
        return steps
    if kind is MaxAbsScaler:
        return [({"op": "div"}, np.asarray(est.scale_))]
    raise NotCompilable(f"no native form for {kind.__name__}")


# Estimators that override predict or _decision_function but compute, on dense input, just what
# the base classes do (the check in compile_model confirms it each time).
_ALSO_LINEAR_CLASSIFIERS = {"RidgeClassifier", "RidgeClassifierCV"}
_DENSE_AS_LINEAR_MODEL = {
    "LinearRegression", "Ridge", "RidgeCV", "Lasso", "LassoCV", "ElasticNet", "ElasticNetCV", "BayesianRidge",
    "ARDRegression", "Lars", "LassoLars", "LassoLarsIC", "OrthogonalMatchingPursuit", "HuberRegressor",
}  # fmt: skip


def _final(est: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from sklearn.base import is_classifier
    from sklearn.linear_model._base import LinearClassifierMixin, LinearModel

    kind = type(est)
    if (
        isinstance(est, LinearClassifierMixin)
        and (kind.predict is LinearClassifierMixin.predict or kind.__name__ in _ALSO_LINEAR_CLASSIFIERS)
        and kind.decision_function is LinearClassifierMixin.decision_function
    ):
        coef = np.asarray(est.coef_)
        if coef.ndim != 2:
            raise NotCompilable("unexpected coef_ shape")
        arrays = {"coef": coef, "intercept": np.asarray(est.intercept_), "classes": _classes(est)}
        return {"kind": "linear_classifier"}, arrays
    if isinstance(est, LinearModel) and not is_classifier(est) and kind.__name__ in _DENSE_AS_LINEAR_MODEL:
        return {"kind": "linear_regressor"}, {"coef": np.asarray(est.coef_), "intercept": np.asarray(est.intercept_)}
    return _final_trees(est)


def _final_trees(est: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor

    single = (DecisionTreeClassifier, DecisionTreeRegressor, ExtraTreeClassifier, ExtraTreeRegressor)
    forests = (RandomForestClassifier, RandomForestRegressor, ExtraTreesClassifier, ExtraTreesRegressor)
    if type(est) in single:
        trees, average = [est], False
    elif type(est) in forests:
        trees, average = list(est.estimators_), True
    else:
        raise NotCompilable(f"no native form for {type(est).__name__}")
    if getattr(est, "n_outputs_", 1) != 1:
        raise NotCompilable("several outputs")
    classifier = type(est).__name__.endswith("Classifier")
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("left", "right", "feature", "threshold", "leaf_value")}
    roots, offset, depth = [], 0, 0
    for tree in trees:
        t = tree.tree_
        value = t.value[:, 0, :]
        if classifier and average:  # a forest sums its trees' predict_proba: leaf values over their sum
            value = value[:, : est.n_classes_]
            norm = value.sum(axis=1)[:, None]
            norm[norm == 0.0] = 1.0
            value = value / norm
        elif not classifier:
            value = value[:, 0]
        inner = t.children_left >= 0
        parts["left"].append(np.where(inner, t.children_left + offset, -1))
        parts["right"].append(np.where(inner, t.children_right + offset, -1))
        parts["feature"].append(np.where(inner, t.feature, 0))
        parts["threshold"].append(t.threshold)
        parts["leaf_value"].append(value)
        roots.append(offset)
        offset += t.node_count
        depth = max(depth, int(t.max_depth))
    arrays = {k: np.concatenate(v) for k, v in parts.items()}
    arrays["roots"] = np.asarray(roots, dtype=np.intp)
    spec = {"kind": "tree_classifier" if classifier else "tree_regressor", "depth": depth, "average": average}
    if classifier:
        arrays["classes"] = _classes(est)
    return spec, arrays


def _build(est: Any) -> NativeModel:
    from sklearn.pipeline import Pipeline

    chain = [s for _, s in est.steps if s not in (None, "passthrough")] if isinstance(est, Pipeline) else [est]
    if not chain:
        raise NotCompilable("an empty pipeline")
    steps: list[dict[str, Any]] = []
    arrays: dict[str, np.ndarray] = {}
    for transformer in chain[:-1]:
        for op, value in _transform_steps(transformer):
            if value is not None:
                arrays[f"{len(steps)}.v"] = value
            steps.append(op)
    final, final_arrays = _final(chain[-1])
    arrays.update(final_arrays)
    n_features = getattr(est, "n_features_in_", None)
    if n_features is None:
        raise NotCompilable("the estimator is not fitted")
    names = getattr(est, "feature_names_in_", None)
    import sklearn

    spec = {
        "format": FORMAT,
        "n_features": int(n_features),
        "features": [str(n) for n in names] if names is not None else None,
        "steps": steps,
        "final": final,
        "sklearn": sklearn.__version__,
    }
    return NativeModel(spec, arrays)


def _check_rows(sample: Any, n_features: int) -> list[Any]:
    # The sample itself, then rows drawn around it (or around 0 without one), whole numbers and zeros.
    rng = np.random.default_rng(0)
    batches = []
    base = None
    if sample is not None:
        try:
            base = np.asarray(sample.to_numpy() if hasattr(sample, "to_numpy") else sample, dtype=np.float64)
        except (TypeError, ValueError):
            base = None
        if base is not None and (base.ndim != 2 or base.shape[1] != n_features):
            base = None
    if base is not None:
        batches.append(base)
        center, spread = base.mean(axis=0), base.std(axis=0) * 3 + 1
    else:
        center, spread = np.zeros(n_features), np.full(n_features, 10.0)
    batches.append(center + spread * rng.standard_normal((CHECK_ROWS, n_features)))
    batches.append(np.round(center + spread * rng.standard_normal((32, n_features))))
    batches.append(np.zeros((1, n_features)))
    return batches


def compile_model(est: Any, sample: Any = None) -> NativeModel | None:
    """The native predictor of a fitted scikit-learn estimator, or None when there is none.

    None when a step is unknown, or when the native answers differ in any way from the estimator's
    on ``sample`` and on generated rows.

    Example:
        >>> from sklearn.linear_model import LinearRegression
        >>> compile_model(LinearRegression().fit([[0.0], [1.0]], [1.0, 3.0])).predict([[2.0]])
        array([5.])
    """
    try:
        native = _build(est)
    except (NotCompilable, AttributeError):
        return None
    import warnings

    from .scoring import to_json

    for batch in _check_rows(sample, native.n_features):
        x = batch
        if native.features is not None:
            import pandas as pd

            x = pd.DataFrame(batch, columns=native.features)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                expected = est.predict(x)
            got = native.predict(x)
        except (ValueError, TypeError, FloatingPointError):
            return None
        if to_json(expected) != to_json(got) or np.asarray(expected).dtype.kind != got.dtype.kind:
            return None
    return native
