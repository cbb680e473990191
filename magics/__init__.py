"""The ``%aml`` IPython magics: a thin surface over the aml_jupyter SDK."""

from __future__ import annotations

from typing import Any


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%aml`` line magic on ``ipython``."""
    from .aml_magics import AmlMagics

    ipython.register_magics(AmlMagics)
