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

from .version import __version__ as __version__

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
    "set_tracking_uri": "aml_jupyter.tracking.uri",
    "get_tracking_uri": "aml_jupyter.tracking.uri",
    "autolog": "aml_jupyter.learn.autolog",
    "lightning_logger": "aml_jupyter.learn.autolog_lightning",
    "Run": "aml_jupyter.tracking.run",
    "RunStatus": "aml_jupyter.entities.lifecycle",
    "search_runs": "aml_jupyter.tracking.queries",
    "list_runs": "aml_jupyter.tracking.queries",
    "get_run": "aml_jupyter.tracking.queries",
    "best_run": "aml_jupyter.tracking.queries",
    "compare_runs": "aml_jupyter.tracking.queries",
    "list_experiments": "aml_jupyter.tracking.queries",
    "delete_runs": "aml_jupyter.tracking.queries",
    "submit": "aml_jupyter.services.submit",
    "run_cell": "aml_jupyter.services.cell_jobs",
    "sweep": "aml_jupyter.sweeps.runner",
    "register_model": "aml_jupyter.tracking.registry",
    "get_model_version": "aml_jupyter.tracking.registry",
    "list_models": "aml_jupyter.tracking.registry",
    "set_model_alias": "aml_jupyter.services.models",
    "load_model": "aml_jupyter.tracking.registry",
    "model_lineage": "aml_jupyter.services.models",
    "download_model": "aml_jupyter.services.models",
}

__all__ = [*_LAZY, "load_ipython_extension", "__version__"]

if TYPE_CHECKING:  # names for type checkers; at run time __getattr__ loads them
    from .entities.lifecycle import RunStatus as RunStatus
    from .learn.autolog import autolog as autolog
    from .learn.autolog_lightning import lightning_logger as lightning_logger
    from .services.cell_jobs import run_cell as run_cell
    from .services.models import download_model as download_model
    from .services.models import model_lineage as model_lineage
    from .services.models import set_model_alias as set_model_alias
    from .services.submit import submit as submit
    from .sweeps.runner import sweep as sweep
    from .tracking.fluent import active_run as active_run
    from .tracking.fluent import end_run as end_run
    from .tracking.fluent import flush as flush
    from .tracking.fluent import log as log
    from .tracking.fluent import log_artifact as log_artifact
    from .tracking.fluent import log_artifacts as log_artifacts
    from .tracking.fluent import log_figure as log_figure
    from .tracking.fluent import log_metrics as log_metrics
    from .tracking.fluent import log_params as log_params
    from .tracking.fluent import log_table as log_table
    from .tracking.fluent import log_text as log_text
    from .tracking.fluent import set_tags as set_tags
    from .tracking.fluent import start_run as start_run
    from .tracking.queries import best_run as best_run
    from .tracking.queries import compare_runs as compare_runs
    from .tracking.queries import delete_runs as delete_runs
    from .tracking.queries import get_run as get_run
    from .tracking.queries import list_experiments as list_experiments
    from .tracking.queries import list_runs as list_runs
    from .tracking.queries import search_runs as search_runs
    from .tracking.registry import get_model_version as get_model_version
    from .tracking.registry import list_models as list_models
    from .tracking.registry import load_model as load_model
    from .tracking.registry import register_model as register_model
    from .tracking.run import Run as Run
    from .tracking.uri import get_tracking_uri as get_tracking_uri
    from .tracking.uri import set_tracking_uri as set_tracking_uri
    from .workspace import Workspace as Workspace


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the prebuilt JupyterLab extension lies (``jupyter labextension develop`` reads it).

    Example:
        >>> _jupyter_labextension_paths()[0]["dest"]
        'aml_jupyter'
    """
    return [{"src": "labextension", "dest": "aml_jupyter"}]


def __getattr__(name: str) -> Any:
    if name == "widgets":  # the panels: ipywidgets loads only when they are asked for
        return importlib.import_module("aml_jupyter.widgets")
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
    from .magics import AmlMagics, sweep_widget
    from .sweeps import runner

    ipython.register_magics(AmlMagics)
    runner.progress_display = sweep_widget  # aml.sweep(...) in this notebook shows a live widget
