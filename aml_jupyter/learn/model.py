"""LearnedModel: the featurizer and the learner as one scikit-learn Pipeline, with what training
knew (the label, the task, the featurization report, a few input rows for the signature).

Predicting takes a pandas DataFrame (a NumPy array is refused: the columns are known by name) or a
Dask DataFrame, predicted partition by partition.
"""

from __future__ import annotations

from typing import Any

from sklearn.pipeline import Pipeline


def is_dask(X: Any) -> bool:
    """Whether ``X`` is a Dask collection.

    Example:
        >>> import pandas as pd
        >>> is_dask(pd.DataFrame())
        False
    """
    return type(X).__module__.split(".")[0] == "dask"


def dask_api() -> Any:
    """The ``dask`` module (untyped: its compute, persist and delayed are used as ``Any``)."""
    import dask

    return dask


class LearnedModel(Pipeline):  # type: ignore[misc]
    """What :func:`~aml_jupyter.learn.train_classifier` and ``train_regressor`` return.

    Example:
        >>> model = learn.train_classifier(df, label="churned")  # doctest: +SKIP
        >>> model.predict(df.head(2)), model.label, model.family  # doctest: +SKIP
        (array(['no', 'yes'], dtype=object), 'churned', 'hgb')
    """

    def __init__(
        self,
        steps: list[tuple[str, Any]],
        *,
        memory: Any = None,
        verbose: bool = False,
        label: str = "",
        task: str = "classification",
        training: dict[str, Any] | None = None,
        sample: dict[str, list[Any]] | None = None,
    ) -> None:
        super().__init__(steps, memory=memory, verbose=verbose)
        self.label = label
        self.task = task
        self.training = training
        self.sample = sample

    @property
    def family(self) -> str:
        """The learner family (``hgb``, ``lightgbm``, ``logreg``, ``ridge``, ``rf`` or ``custom``)."""
        return str((self.training or {}).get("family", "custom"))

    @property
    def featurization(self) -> Any:
        """What each column became, as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.steps[0][1].report())

    def sample_input(self) -> Any:
        """A few training rows (without the label), the input signature a registered version keeps."""
        import pandas as pd

        return pd.DataFrame(self.sample or {})

    def predict(self, X: Any, **params: Any) -> Any:
        if is_dask(X):
            return _by_partition(X, super().predict, self.sample_prediction())
        return super().predict(X, **params)

    def predict_proba(self, X: Any, **params: Any) -> Any:
        if is_dask(X):
            import numpy as np

            return X.map_partitions(
                lambda p: _frame(super(LearnedModel, self).predict_proba(p), p.index, self.classes_),
                meta=_frame(np.zeros((0, len(self.classes_))), None, self.classes_),
            )
        return super().predict_proba(X, **params)

    def sample_prediction(self) -> Any:
        """An empty prediction of the right dtype (the meta of a Dask prediction)."""
        return super().predict(self.sample_input().head(1))[:0]

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        return f"LearnedModel({self.task}, label={self.label!r}, family={self.family!r})"


def _frame(values: Any, index: Any, classes: Any) -> Any:
    import pandas as pd

    return pd.DataFrame(values, index=index, columns=[str(c) for c in classes])


def _by_partition(X: Any, predict: Any, meta: Any) -> Any:
    import pandas as pd

    return X.map_partitions(
        lambda p: pd.Series(predict(p), index=p.index, name="predicted"), meta=pd.Series(meta, name="predicted")
    )
