"""The by-example engine: learn string programs from input/output examples.

Contract (a stable name, docs/dataprep.md): ``learn(examples, unlabeled=None, timeout=...)`` with examples as
``(list_of_input_strings, output_string)`` returns a :class:`Program` with
``.apply(list_of_input_strings) -> str | None`` and ``.to_python() -> str``, or raises
:class:`aml_jupyter.errors.NoProgramFound`.

Example:
    >>> from aml_jupyter.dataprep import synth
    >>> program = synth.learn([(["Ada Lovelace"], "Lovelace, Ada")])
    >>> program.apply(["Alan Turing"])
    'Turing, Alan'
"""

from .learner import learn
from .program import Program

__all__ = ["learn", "Program"]
