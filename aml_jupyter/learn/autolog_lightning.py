"""PyTorch Lightning for aml: :func:`lightning_logger` is a Lightning ``Logger`` writing to an aml
run, and ``aml.autolog()`` adds one to every ``Trainer.fit`` inside a run.

It logs the hyper-parameters (``save_hyperparameters()``, nested ones as ``optimizer.lr``), every
metric the module logs at the trainer's global step, each checkpoint the trainer saves as an
artifact under ``checkpoints/``, and the best checkpoint's path as the tag ``best_checkpoint``. A
run's first fit logs into it, each later one into a child run, as scikit-learn's and Keras's fits
do. Lightning 2 (``lightning`` or ``pytorch_lightning``), on CPU or GPU alike::

    trainer = Trainer(max_epochs=5, logger=aml.lightning_logger())
"""

from __future__ import annotations

import functools
import sys
import warnings
from argparse import Namespace
from pathlib import Path
from typing import Any

LIGHTNING = ("lightning.pytorch", "pytorch_lightning")


def _lightning() -> Any:
    """The Lightning package the user has, ``lightning.pytorch`` first."""
    import importlib

    for name in LIGHTNING:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ImportError("aml.lightning_logger() needs Lightning: pip install lightning")


def lightning_logger(run: Any = None, log_checkpoints: bool = True) -> Any:
    """A ``Logger`` for ``Trainer(logger=...)`` that logs to ``run`` (the active run when None,
    looked up when training begins).

    Example:
        >>> with aml.start_run("mnist"):  # doctest: +SKIP
        ...     Trainer(max_epochs=3, logger=aml.lightning_logger()).fit(model, data)
    """
    pl = _lightning()
    rank_zero_only = pl.utilities.rank_zero_only  # in a multi-GPU fit, one process logs

    class AmlLogger(pl.loggers.Logger):  # type: ignore[misc,name-defined]
        """Lightning's logging, into an aml run."""

        def __init__(self) -> None:
            super().__init__()
            self._run = run
            self._logged_checkpoints: set[str] = set()

        @property
        def name(self) -> str:
            return "aml"

        @property
        def version(self) -> str:
            return self.experiment.id if self.experiment is not None else ""

        @property
        def experiment(self) -> Any:
            """The aml run (Lightning's name for what a logger writes to)."""
            if self._run is None:
                from ..tracking.fluent import active_run

                self._run = active_run()
            return self._run

        @rank_zero_only  # type: ignore[untyped-decorator]
        def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
            target = self.experiment
            if target is None:
                return
            flat = _flatten(vars(params) if isinstance(params, Namespace) else dict(params or {}))
            have = getattr(target, "params", {}) if hasattr(target, "pk") else {}
            # Params never change once logged: a second call (a resumed fit) adds what is new.
            fresh = {k: v for k, v in flat.items() if k not in have}
            if fresh:
                target.log_params(fresh)

        @rank_zero_only  # type: ignore[untyped-decorator]
        def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
            target = self.experiment
            if target is None:
                return
            values = {k: float(v) for k, v in metrics.items() if _number(v)}  # "epoch" too, as MLflow's does
            if values:
                target.log_metrics(values, step=step)

        def after_save_checkpoint(self, checkpoint_callback: Any) -> None:
            target = self.experiment
            if target is None or not log_checkpoints:
                return
            for path in _checkpoints(checkpoint_callback):
                if path in self._logged_checkpoints or not Path(path).is_file():
                    continue
                self._logged_checkpoints.add(path)
                target.log_artifact(path, f"checkpoints/{Path(path).name}")
            best = getattr(checkpoint_callback, "best_model_path", "")
            if best:
                target.set_tags({"best_checkpoint": f"checkpoints/{Path(best).name}"})

        @rank_zero_only  # type: ignore[untyped-decorator]
        def finalize(self, status: str) -> None:
            target = self.experiment
            if target is not None:
                target.flush()

    return AmlLogger()


def patch(name: str, set_attr: Any, target_run: Any, current_run: Any, inside: Any, fitting: Any) -> None:
    """Wraps ``Trainer.fit`` of the imported module ``name`` with autolog's helpers (autolog.py):
    inside a run, the trainer gets a :func:`lightning_logger` beside its own loggers for that fit."""
    trainer = sys.modules[name].Trainer
    set_attr(trainer, "fit", _fit(trainer.__dict__["fit"], target_run, current_run, inside, fitting))


def _fit(original: Any, target_run: Any, current_run: Any, inside: Any, fitting: Any) -> Any:
    @functools.wraps(original)
    def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
        run = current_run()
        if run is None or inside.get() or any(type(lg).__name__ == "AmlLogger" for lg in self.loggers):
            return original(self, *args, **kwargs)  # outside a run, or the user's own aml logger
        model = args[0] if args else kwargs.get("model")
        target, own = target_run(run, model)
        before = list(self.loggers)
        self.loggers = [*before, lightning_logger(target)]
        try:
            with fitting(target, own):
                result = original(self, *args, **kwargs)
        finally:
            self.loggers = before
        if own:
            target.end()
        return result

    return fit


def _flatten(params: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Namespace):
            value = vars(value)
        if isinstance(value, dict):
            out.update(_flatten(value, f"{name}."))
        elif isinstance(value, str | int | float | bool) or value is None:
            out[name] = value
        else:
            out[name] = repr(value)[:500]  # a module or a tensor: its description, not its weights
    return out


def _checkpoints(callback: Any) -> list[str]:
    paths = [getattr(callback, "last_model_path", ""), getattr(callback, "best_model_path", "")]
    paths += list(getattr(callback, "best_k_models", {}) or {})
    return [str(p) for p in paths if p]


def _number(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError, RuntimeError):  # a tensor of more than one value
        return False
    return True


def warn_unpatched(exc: Exception) -> None:
    """A broken Lightning install must not break the user's import: said, not raised."""
    warnings.warn(f"aml autolog: Lightning not patched: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=3)
