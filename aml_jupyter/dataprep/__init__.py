"""Data preparation by example: read data, learn columns from examples, save and export recipes.

The by-example engine lives in :mod:`aml_jupyter.dataprep.synth`.

Example:
    >>> from aml_jupyter.dataprep import synth
    >>> synth.learn([(["Ada Lovelace"], "Lovelace")]).apply(["Alan Turing"])
    'Turing'
"""

from .flow import Flow, load, read, read_sql
from .lineage import Dataset, get_dataset, list_datasets

__all__ = ["ByExample", "Dataset", "Flow", "get_dataset", "list_datasets", "load", "read", "read_sql"]


def __getattr__(name: str) -> object:
    if name == "ByExample":  # imports ipywidgets: only when asked for
        from ..widgets.by_example import ByExample

        return ByExample
    raise AttributeError(f"module 'aml_jupyter.dataprep' has no attribute {name!r}")
