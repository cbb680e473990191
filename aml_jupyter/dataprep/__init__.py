"""Data preparation by example. The by-example engine lives in :mod:`aml_jupyter.dataprep.synth`.

Example:
    >>> from aml_jupyter.dataprep import synth
    >>> synth.learn([(["Ada Lovelace"], "Lovelace")]).apply(["Alan Turing"])
    'Turing'
"""
