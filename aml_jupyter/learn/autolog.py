"""aml.autolog(): inside a run, training logs itself.

- scikit-learn: every estimator's ``fit`` logs the estimator's params, training metrics under
  MLflow's names (``training_accuracy_score``, ``training_root_mean_squared_error``, ... measured
  on up to :data:`METRIC_ROWS` rows of the training data) and the fitted model (``model/`` in the
  skops format, registrable with ``aml.register_model(..., run=run, artifact="model")``). The
  model is saved on a background thread, so ``fit`` returns as soon as it has fitted; the run
  waits for it before it flushes or ends. A fit inside another (a pipeline's steps, a search's
  candidates) is the outer one's business and logs nothing of its own. The first fit of a run
  logs into it; each later one gets a child run, so params never collide.
- LightGBM and XGBoost: ``train`` (which their scikit-learn estimators call too) gets a callback
  logging every evaluation result per iteration (``valid_0_binary_logloss``, ``validation_0-logloss``).
- Keras 3: ``Model.fit`` gets a callback logging its settings, every epoch's metrics and the model
  (learn/autolog_keras.py); patched when the user's code imports Keras.
- PyTorch Lightning: ``Trainer.fit`` gets an aml logger for the fit: hyper-parameters, every logged
  metric at its step, checkpoints as artifacts (learn/autolog_lightning.py); patched when the
  user's code imports Lightning.

Each library is patched when ``autolog()`` is called and only when it is installed; nothing
happens outside a run; ``aml.autolog(disable=True)`` puts every function back.
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import functools
import importlib.util
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

METRIC_ROWS = 5_000

_patched: list[tuple[Any, str, Any]] = []  # (owner, attribute, original)
_lock = threading.Lock()
_inside: contextvars.ContextVar[bool] = contextvars.ContextVar("aml_autolog_inside", default=False)
_saver: ThreadPoolExecutor | None = None
_fits: dict[str, int] = {}  # run id -> fits logged
_target: contextvars.ContextVar[Any] = contextvars.ContextVar("aml_autolog_target", default=None)
_hooks: list[Any] = []  # import hooks waiting for a library the user has not imported yet


def autolog(disable: bool = False, *, log_models: bool = True) -> list[str]:
    """Log training automatically inside runs; returns the libraries patched.

    Example:
        >>> "sklearn" in autolog()
        True
        >>> autolog(disable=True)
        []
    """
    with _lock:
        for owner, attr, original in reversed(_patched):
            setattr(owner, attr, original)
        _patched.clear()
        while _hooks:
            _hooks.pop().remove()
        if disable:
            return []
        done = []
        if _installed("sklearn"):
            _patch_sklearn(log_models)
            done.append("sklearn")
        if _installed("lightgbm"):
            _patch_lightgbm()
            done.append("lightgbm")
        if _installed("xgboost"):
            _patch_xgboost()
            done.append("xgboost")
        if _installed("keras"):
            _patch_keras()
            done.append("keras")
        if _installed("lightning") or _installed("pytorch_lightning"):
            _patch_lightning()
            done.append("lightning")
        return done


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """A context in which fits log nothing (aml_jupyter.learn logs its own way).

    Example:
        >>> with paused():
        ...     pass
    """
    token = _inside.set(True)
    try:
        yield
    finally:
        _inside.reset(token)


def _installed(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def _set(owner: Any, attr: str, value: Any) -> None:
    _patched.append((owner, attr, owner.__dict__[attr] if isinstance(owner, type) else getattr(owner, attr)))
    setattr(owner, attr, value)


# -- scikit-learn ------------------------------------------------------------------------------


def _patch_sklearn(log_models: bool) -> None:
    with warnings.catch_warnings():  # importing every estimator module warns about experimental ones
        warnings.simplefilter("ignore")
        from sklearn.utils import all_estimators

        classes = [cls for _, cls in all_estimators()]
    if _installed("lightgbm"):
        import lightgbm

        classes += [lightgbm.LGBMClassifier, lightgbm.LGBMRegressor, lightgbm.LGBMRanker]
    if _installed("xgboost"):
        import xgboost

        classes += [xgboost.XGBClassifier, xgboost.XGBRegressor, xgboost.XGBRanker]
    owners: dict[type, None] = {}  # the class that defines each estimator's fit (often an abstract base not listed)
    for cls in classes:
        owner = next((k for k in cls.__mro__ if "fit" in k.__dict__), None)
        if owner is not None and owner.__module__.split(".")[0] in ("sklearn", "lightgbm", "xgboost"):
            owners[owner] = None
    for owner in owners:
        _set(owner, "fit", _fit_wrapper(owner.__dict__["fit"], log_models))


def _fit_wrapper(original: Any, log_models: bool) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = _run()
        if run is None or _inside.get():
            return original(self, *args, **kwargs)
        target, own = _target_run(run, self)
        bound = _target.set(target)  # a booster's iterations log here too
        try:
            with _fitting(target, own):
                result = original(self, *args, **kwargs)
        finally:
            _target.reset(bound)
        token = _inside.set(True)  # the metrics' own helpers fit (a LabelBinarizer): not logged
        try:
            _after_fit(target, own, self, args, kwargs, log_models)
        except Exception as exc:  # logging must never break the user's fit
            warnings.warn(f"aml autolog: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)
        finally:
            _inside.reset(token)
        return result

    return fit


@contextlib.contextmanager
def _fitting(target: Any, own: bool) -> Iterator[None]:
    """A fit under way: fits inside it log nothing, and a child run of its own ends failed if it raises."""
    token = _inside.set(True)
    try:
        yield
    except BaseException:
        if own:
            target.end("failed")
        raise
    finally:
        _inside.reset(token)


def _run() -> Any:
    from ..tracking.fluent import active_run

    return _target.get() or active_run()


def _target_run(run: Any, estimator: Any) -> tuple[Any, bool]:
    # The run's first fit logs into it; later ones into a child each, so params never collide.
    n = _fits.get(run.id, 0)
    _fits[run.id] = n + 1
    if n == 0:
        return run, False
    from ..tracking.fluent import _forget, start_run

    child = start_run(
        run.experiment, name=f"{type(estimator).__name__}-{n + 1}", parent=run, snapshot=False, workspace=run.workspace
    )
    _forget(child)
    return child, True


def _after_fit(
    target: Any, own: bool, estimator: Any, args: tuple[Any, ...], kwargs: dict[str, Any], log_models: bool
) -> None:
    # On the fit's path: what is cheap (params, tags) and a copy of the fitted estimator (the caller
    # may fit it again at once). The training metrics (a prediction over the training data), the
    # model's save and a child run's end happen on autolog's own thread, after the fit has
    # returned; the run's end (or flush) waits for them. A fit of 0.07 s no longer pays 0.1 s more.
    try:
        params = {k: v for k, v in estimator.get_params(deep=True).items() if _plain(v)}
        target.log_params({k: v for k, v in params.items() if v is not None})
        target.set_tags(
            {
                "estimator_name": type(estimator).__name__,
                "estimator_class": f"{type(estimator).__module__}.{type(estimator).__qualname__}",
            }
        )
        fitted = copy.deepcopy(estimator)
    except BaseException:
        if own:
            target.end()
        raise
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")

    def finish() -> None:
        token = _inside.set(True)  # the metrics' own helpers fit (a LabelBinarizer): not logged
        try:
            if X is not None and y is not None:
                target.log_metrics(training_metrics(fitted, X, y))
            if log_models:
                _save_model(target, fitted)
        finally:
            _inside.reset(token)
            if own:
                target.end()

    future = _pool().submit(finish)
    holder = _run() if own else target  # a child's work is waited for by its parent run
    if holder is not None and hasattr(holder, "add_pending"):
        holder.add_pending(future)
    else:
        future.result()  # a run logging over HTTP: done here


def training_metrics(estimator: Any, X: Any, y: Any) -> dict[str, float]:
    """MLflow's training metrics of a fitted estimator, on up to :data:`METRIC_ROWS` rows.

    Example:
        >>> from sklearn.linear_model import LogisticRegression
        >>> X, y = [[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1]
        >>> training_metrics(LogisticRegression().fit(X, y), X, y)["training_accuracy_score"]
        1.0
    """
    import numpy as np
    from sklearn import metrics as m
    from sklearn.base import is_classifier, is_regressor
    from sklearn.utils import _safe_indexing

    n = len(y)
    if n > METRIC_ROWS:  # a sample, so that measuring stays a small part of the fit
        rows = np.sort(np.random.default_rng(0).choice(n, METRIC_ROWS, replace=False))
        X, y = _safe_indexing(X, rows), _safe_indexing(y, rows)
    out: dict[str, float] = {}
    if is_classifier(estimator):
        proba = estimator.predict_proba(X) if hasattr(estimator, "predict_proba") else None
        # predict() is the most probable class: one pass over the rows gives both.
        pred = estimator.classes_[proba.argmax(axis=1)] if proba is not None else estimator.predict(X)
        out.update(
            training_accuracy_score=m.accuracy_score(y, pred),
            training_precision_score=m.precision_score(y, pred, average="weighted", zero_division=0),
            training_recall_score=m.recall_score(y, pred, average="weighted", zero_division=0),
            training_f1_score=m.f1_score(y, pred, average="weighted", zero_division=0),
        )
        if proba is not None:
            out["training_log_loss"] = m.log_loss(y, proba, labels=estimator.classes_)
            if len(estimator.classes_) == 2 and len(np.unique(y)) == 2:
                out["training_roc_auc"] = m.roc_auc_score(y, proba[:, 1])
        out["training_score"] = out["training_accuracy_score"]
    elif is_regressor(estimator):
        pred = estimator.predict(X)
        mse = m.mean_squared_error(y, pred)
        out.update(
            training_mean_squared_error=mse,
            training_root_mean_squared_error=float(np.sqrt(mse)),
            training_mean_absolute_error=m.mean_absolute_error(y, pred),
            training_r2_score=m.r2_score(y, pred),
        )
        out["training_score"] = out["training_r2_score"]
    return {k: float(v) for k, v in out.items()}


def _pool() -> ThreadPoolExecutor:
    global _saver
    if _saver is None:
        _saver = ThreadPoolExecutor(max_workers=1, thread_name_prefix="aml-autolog")
    return _saver


def _save_model(run: Any, estimator: Any) -> None:
    import tempfile
    from pathlib import Path

    from ..models import flavors

    flavor = flavors.for_object(estimator)
    with tempfile.TemporaryDirectory(prefix="aml-autolog-") as tmp:
        flavor.save(estimator, Path(tmp))
        run.log_artifacts(tmp, prefix="model")


def _plain(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


# -- LightGBM and XGBoost ----------------------------------------------------------------------


def _patch_lightgbm() -> None:
    import lightgbm
    import lightgbm.engine
    import lightgbm.sklearn

    wrapped = _lgb_train(lightgbm.engine.train)
    for owner in (lightgbm, lightgbm.engine, lightgbm.sklearn):
        if getattr(owner, "train", None) is not None:
            _set(owner, "train", wrapped)


def _lgb_train(original: Any) -> Any:
    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        run = _run()
        if run is None:
            return original(*args, **kwargs)

        def log_iteration(env: Any) -> None:
            run.log_metrics(
                {f"{d}_{name}": value for d, name, value, *_ in env.evaluation_result_list or []}, step=env.iteration
            )

        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), log_iteration]
        return original(*args, **kwargs)

    return train


def _patch_xgboost() -> None:
    import xgboost
    import xgboost.training

    wrapped = _xgb_train(xgboost.training.train)
    for name in ("xgboost", "xgboost.training", "xgboost.sklearn"):
        module = importlib.import_module(name)
        if getattr(module, "train", None) is not None:
            _set(module, "train", wrapped)


def _xgb_train(original: Any) -> Any:
    import xgboost

    class LogIterations(xgboost.callback.TrainingCallback):
        def __init__(self, run: Any) -> None:
            self.run = run

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            values = {f"{d}-{k}": float(v[-1]) for d, logs in evals_log.items() for k, v in logs.items()}
            self.run.log_metrics(values, step=epoch)
            return False

    @functools.wraps(original)
    def train(*args: Any, **kwargs: Any) -> Any:
        run = _run()
        if run is None:
            return original(*args, **kwargs)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), LogIterations(run)]
        return original(*args, **kwargs)

    return train


# -- Keras ---------------------------------------------------------------------------------------


def _patch_keras() -> None:
    import sys

    from . import autolog_keras

    def now() -> None:
        try:
            autolog_keras.patch(_set, _target_run, _run, _inside, _fitting)
        except Exception as exc:  # a broken Keras install must not break the user's import
            warnings.warn(f"aml autolog: Keras not patched: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2)

    if "keras" in sys.modules:
        now()
    else:  # Keras takes seconds to import: patched when the user's code imports it
        hook = autolog_keras.AfterImport("keras", now)
        hook.install()
        _hooks.append(hook)


# -- PyTorch Lightning -----------------------------------------------------------------------------


def _patch_lightning() -> None:
    import sys

    from . import autolog_lightning
    from .autolog_keras import AfterImport

    def now(name: str) -> None:
        try:
            autolog_lightning.patch(name, _set, _target_run, _run, _inside, _fitting)
        except Exception as exc:  # a broken Lightning install must not break the user's import
            autolog_lightning.warn_unpatched(exc)

    for name in autolog_lightning.LIGHTNING:  # lightning.pytorch and the older pytorch_lightning
        if name in sys.modules:
            now(name)
        elif _installed(name.split(".")[0]):  # torch takes seconds to import: patched when the user's code does
            hook = AfterImport(name, functools.partial(now, name))
            hook.install()
            _hooks.append(hook)
