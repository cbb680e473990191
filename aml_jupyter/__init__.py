"""aml_jupyter: an open, self-hosted machine-learning workbench that lives inside Jupyter.

Import is cheap: the SDK's functions load their modules on first use.

Example:
    >>> import aml_jupyter as aml
    >>> callable(aml.start_run)
    True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "Workspace": "aml_jupyter.workspace",
    "start_run": "aml_jupyter.tracking.fluent",
    "end_run": "aml_jupyter.tracking.fluent",
    "active_run": "aml_jupyter.tracking.fluent",
    "log": "aml_jupyter.tracking.fluent",
    "log_metrics": "aml_jupyter.tracking.fluent",
    "log_params": "aml_jupyter.tracking.fluent",
    "set_tags": "aml_jupyter.tracking.fluent",
    "log_artifact": "aml_jupyter.tracking.fluent",
    "log_artifacts": "aml_jupyter.tracking.fluent",
    "log_table": "aml_jupyter.tracking.fluent",
    "log_figure": "aml_jupyter.tracking.fluent",
    "log_text": "aml_jupyter.tracking.fluent",
    "flush": "aml_jupyter.tracking.fluent",
    "Run": "aml_jupyter.tracking.run",
    "RunStatus": "aml_jupyter.tracking.lifecycle",
    "search_runs": "aml_jupyter.tracking.queries",
    "get_run": "aml_jupyter.tracking.queries",
    "best_run": "aml_jupyter.tracking.queries",
    "compare_runs": "aml_jupyter.tracking.queries",
    "list_experiments": "aml_jupyter.tracking.queries",
    "delete_runs": "aml_jupyter.tracking.queries",
}

__all__ = [*_LAZY, "load_ipython_extension", "__version__"]

if TYPE_CHECKING:
    from .tracking.fluent import (
        active_run, end_run, flush, log, log_artifact, log_artifacts, log_figure, log_metrics,
        log_params, log_table, log_text, set_tags, start_run,
    )
    from .tracking.lifecycle import RunStatus
    from .tracking.queries import best_run, compare_runs, delete_runs, get_run, list_experiments, search_runs
    from .tracking.run import Run
    from .workspace import Workspace


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'aml_jupyter' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this hook
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext aml_jupyter``: register the ``%aml`` magics.

    Example:
        >>> # in IPython: %load_ext aml_jupyter  then  %aml runs
    """
    from magics import load_ipython_extension as load

    load(ipython)
