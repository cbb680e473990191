"""Keras 3 (any backend) for ``aml.autolog()``: ``Model.fit`` inside a run gets a callback that logs
the fit's settings once (epochs, batch size, optimizer, learning rate, the model's parameter
count) and every epoch's metrics at ``step=epoch`` (``loss``, ``accuracy``, ``val_loss``, ...), then
the fitted model as ``model/model.keras``. A run's first fit logs into it, each later one into a
child run, as scikit-learn's fits do.

Outside ``autolog()``, the callback is yours to pass::

    model.fit(x, y, epochs=5, callbacks=[keras_callback()])
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any


def keras_callback(run: Any = None, log_model: bool = True) -> Any:
    """A ``keras.callbacks.Callback`` that logs a fit to ``run`` (the active run when None).

    Example:
        >>> with aml.start_run("mnist"):  # doctest: +SKIP
        ...     model.fit(x, y, epochs=3, callbacks=[keras_callback()])
    """
    import keras

    class AmlCallback(keras.callbacks.Callback):  # type: ignore[misc]
        """Logs the fit's settings, each epoch's metrics and the fitted model to an aml run."""

        def __init__(self) -> None:
            super().__init__()
            self.run = run

        def on_train_begin(self, logs: Any = None) -> None:
            if self.run is None:
                from ..tracking.fluent import active_run

                self.run = active_run()
            if self.run is not None:
                self.run.log_params(_settings(self.model, self.params or {}))

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            values = {k: float(v) for k, v in (logs or {}).items() if _number(v)}
            if self.run is not None and values:
                self.run.log_metrics(values, step=epoch)

        def on_train_end(self, logs: Any = None) -> None:
            if self.run is not None and log_model:
                _save(self.run, self.model)

    return AmlCallback()


class AfterImport(importlib.abc.MetaPathFinder):
    """Calls ``then()`` once module ``name`` has been imported: Keras takes seconds to import, so
    ``autolog()`` patches it when the user's code imports it, not before."""

    def __init__(self, name: str, then: Any) -> None:
        self.name, self.then = name, then

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> Any:
        if fullname != self.name:
            return None
        others = [f for f in sys.meta_path if f is not self and hasattr(f, "find_spec")]
        spec = next((s for f in others if (s := f.find_spec(fullname, path, target)) is not None), None)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader, then = spec.loader, self.then
        self.remove()

        class Then(importlib.abc.Loader):
            def create_module(self, spec: importlib.machinery.ModuleSpec) -> Any:
                return loader.create_module(spec)

            def exec_module(self, module: Any) -> None:
                loader.exec_module(module)
                then()

        spec.loader = Then()
        return spec

    def install(self) -> None:
        sys.meta_path.insert(0, self)

    def remove(self) -> None:
        if self in sys.meta_path:
            sys.meta_path.remove(self)


def patch(set_attr: Any, target_run: Any, current_run: Any, inside: Any, fitting: Any) -> None:
    """Wraps the ``fit`` that ``keras.Model`` inherits, with autolog's helpers: ``set_attr`` records
    it for ``disable``, ``fitting`` marks the fit under way (autolog.py)."""
    import keras

    owner = next(k for k in keras.Model.__mro__ if "fit" in k.__dict__)
    original = owner.__dict__["fit"]

    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = current_run()
        if run is None or inside.get():
            return original(self, *args, **kwargs)
        target, own = target_run(run, self)
        kwargs["callbacks"] = [*(kwargs.get("callbacks") or []), keras_callback(target)]
        with fitting(target, own):
            result = original(self, *args, **kwargs)
        if own:
            target.end()
        return result

    set_attr(owner, "fit", fit)


def _settings(model: Any, params: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: params[k] for k in ("epochs", "steps", "batch_size") if params.get(k) is not None}
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        out["optimizer_name"] = type(optimizer).__name__
        try:
            out["learning_rate"] = float(optimizer.learning_rate)
        except (TypeError, ValueError, AttributeError):  # a schedule, not a number
            pass
    try:
        out["model_parameters"] = int(model.count_params())
    except ValueError:  # a model not built yet
        pass
    return out


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _save(run: Any, model: Any) -> None:
    try:
        with tempfile.TemporaryDirectory(prefix="aml-keras-") as tmp:
            path = Path(tmp) / "model.keras"
            model.save(path)
            run.log_artifact(path, "model/model.keras")
    except Exception as exc:  # the fit is done: a model that cannot be saved is said, never raised
        message = f"aml autolog: the Keras model was not saved: {type(exc).__name__}: {exc}"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
