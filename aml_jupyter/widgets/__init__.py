"""ipywidgets panels. Importing this package imports ipywidgets (the ``widgets`` extra)."""

from .by_example import ByExample

__all__ = ["ByExample"]
