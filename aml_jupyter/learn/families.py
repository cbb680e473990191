"""Learner families by name: what ``model=`` in :func:`aml_jupyter.learn.train_classifier` and
``train_regressor`` accepts, besides any scikit-learn estimator.
"""

from __future__ import annotations

from typing import Any

from ..errors import InvalidValue

CLASSIFIERS = ("auto", "hgb", "lightgbm", "logreg", "rf")
REGRESSORS = ("auto", "hgb", "lightgbm", "ridge", "rf")
ALIASES = {"linear": {"classification": "logreg", "regression": "ridge"}}


def family_name(model: Any, task: str, distributed: bool) -> str:
    """The family a ``model=`` argument names (``auto`` resolved), or ``custom`` for an estimator.

    ``auto`` is HistGradientBoosting in one process and LightGBM's distributed learner on Dask.

    Example:
        >>> family_name("auto", "classification", distributed=False), family_name("linear", "regression", False)
        ('hgb', 'ridge')
    """
    if not isinstance(model, str):
        if not hasattr(model, "fit"):
            raise InvalidValue(f"model= takes a family name or a scikit-learn estimator, not {type(model).__name__}")
        return "custom"
    name = ALIASES.get(model, {}).get(task, model)
    known = CLASSIFIERS if task == "classification" else REGRESSORS
    if name not in known:
        raise InvalidValue(f"unknown {task} family {model!r} (known: {', '.join(known)}, or a scikit-learn estimator)")
    if name == "auto":
        return "lightgbm" if distributed else "hgb"
    return name


def make_estimator(family: str, task: str, params: dict[str, Any] | None = None, seed: int = 0) -> Any:
    """A fresh estimator of ``family`` for ``task`` with ``params`` set.

    Example:
        >>> type(make_estimator("rf", "regression", {"n_estimators": 10})).__name__
        'RandomForestRegressor'
    """
    params = dict(params or {})
    classify = task == "classification"
    if family == "hgb":
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

        cls: Any = HistGradientBoostingClassifier if classify else HistGradientBoostingRegressor
        params.setdefault("random_state", seed)
    elif family == "lightgbm":
        lgb = _lightgbm()
        cls = lgb.LGBMClassifier if classify else lgb.LGBMRegressor
        params.setdefault("verbose", -1)
        params.setdefault("random_state", seed)
    elif family == "logreg":
        from sklearn.linear_model import LogisticRegression

        cls = LogisticRegression
        params.setdefault("max_iter", 1000)
    elif family == "ridge":
        from sklearn.linear_model import Ridge

        cls = Ridge
    elif family == "rf":
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if classify else RandomForestRegressor
        params.setdefault("n_estimators", 100)
        params.setdefault("n_jobs", -1)
        params.setdefault("random_state", seed)
    else:
        raise InvalidValue(f"unknown family {family!r}")
    try:
        return cls(**params)
    except TypeError as exc:
        raise InvalidValue(f"{cls.__name__}: {exc}") from None


def dask_estimator(task: str, params: dict[str, Any] | None, client: Any, seed: int = 0) -> Any:
    """LightGBM's distributed estimator for ``task`` on ``client``'s cluster."""
    lgb = _lightgbm()
    cls = lgb.DaskLGBMClassifier if task == "classification" else lgb.DaskLGBMRegressor
    params = {"verbose": -1, "random_state": seed, **dict(params or {})}
    return cls(client=client, **params)


def _lightgbm() -> Any:
    try:
        import lightgbm
    except ImportError:
        raise InvalidValue("the lightgbm family needs LightGBM: pip install 'aml_jupyter[learn]'") from None
    return lightgbm
