"""Scoring script of the demo's softmax model (the ``python`` flavor: ``init()`` then ``run(data)``)."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

_model: dict[str, Any] = {}


def init() -> None:
    """Load the weights saved next to this file."""
    saved = np.load(os.path.join(os.path.dirname(__file__), "model.npz"))
    _model.update({k: saved[k] for k in ("w", "b", "mean", "std", "classes")})


def run(data: Any) -> list[str]:
    """The species of each row of four measurements.

    Example:
        >>> run([[5.1, 3.5, 1.4, 0.2]])  # doctest: +SKIP
        ['setosa']
    """
    x = (np.asarray(data, dtype=float) - _model["mean"]) / _model["std"]
    return [str(_model["classes"][i]) for i in (x @ _model["w"] + _model["b"]).argmax(1)]
