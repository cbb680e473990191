"""Data preparation by example: read data, learn columns from examples, save and export recipes.

The by-example engine lives in :mod:`aml_jupyter.dataprep.synth`.

Example:
    >>> from aml_jupyter.dataprep import synth
    >>> synth.learn([(["Ada Lovelace"], "Lovelace")]).apply(["Alan Turing"])
    'Turing'
"""

from .datasets import Dataset, get_dataset, list_datasets
from .flow import Flow, from_dask, from_pandas, load, read, read_sql

__all__ = ["Dataset", "Flow", "from_dask", "from_pandas", "get_dataset", "list_datasets", "load", "read", "read_sql"]
# The by-example panel is a surface: aml_jupyter.widgets.ByExample.
