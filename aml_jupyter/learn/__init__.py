"""aml_jupyter.learn: train, evaluate and pick the best model on pandas or Dask, the way MMLSpark's
TrainClassifier, ComputeModelStatistics and FindBestModel did, logged to runs.

Example:
    >>> from aml_jupyter import learn
    >>> sorted(learn.__all__)[:3]
    ['Best', 'LearnedModel', 'Report']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_LAZY = {
    "train_classifier": "aml_jupyter.learn.train",
    "train_regressor": "aml_jupyter.learn.train",
    "evaluate": "aml_jupyter.learn.evaluation",
    "find_best_model": "aml_jupyter.learn.best",
    "tune": "aml_jupyter.learn.tuning",
    "register": "aml_jupyter.learn.best",
    "LearnedModel": "aml_jupyter.learn.model",
    "Report": "aml_jupyter.learn.report",
    "Best": "aml_jupyter.learn.best",
}

__all__ = list(_LAZY)

if TYPE_CHECKING:
    from .best import Best as Best
    from .best import find_best_model as find_best_model
    from .best import register as register
    from .evaluation import evaluate as evaluate
    from .model import LearnedModel as LearnedModel
    from .report import Report as Report
    from .train import train_classifier as train_classifier
    from .train import train_regressor as train_regressor
    from .tuning import tune as tune


def __getattr__(name: str) -> Any:
    # scikit-learn is imported only when a name is first used.
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'aml_jupyter.learn' has no attribute {name!r}")
