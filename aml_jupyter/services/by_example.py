"""Learning a column by example for the Lab and REST callers (``POST /api/v1/learn``): the request
checked, then the engine run off the server's threads (dataprep/isolated.py)."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidInput


def learn_column(payload: dict[str, Any], user: str) -> dict[str, Any]:
    """Learn a program from ``{"examples": [[[inputs...], output], ...], "inputs": [[...], ...],
    "budget": seconds}`` and apply it to ``inputs``: ``{"outputs", "code"}``, off the server's
    threads in a child process (dataprep/isolated.py), a few at a time per user.

    Example:
        >>> body = {"examples": [[["Ada Lovelace"], "Lovelace"]], "inputs": [["Alan Turing"]]}
        >>> learn_column(body, user="ada")["outputs"]
        ['Turing']
    """
    from ..dataprep.isolated import learn_and_apply

    examples, inputs = payload.get("examples"), payload.get("inputs") or []
    if not isinstance(examples, list) or not examples or len(examples) > 100:
        raise InvalidInput('"examples" must be a list of 1 to 100 [[inputs...], output] pairs')
    pairs = []
    for ex in examples:
        ok = isinstance(ex, list) and len(ex) == 2 and isinstance(ex[0], list) and isinstance(ex[1], str)
        if not ok or not all(isinstance(v, str) for v in ex[0]):
            raise InvalidInput("each example is [[input strings...], output string]")
        pairs.append((ex[0], ex[1]))
    if not isinstance(inputs, list) or len(inputs) > 10_000:
        raise InvalidInput('"inputs" must be a list of at most 10,000 rows of strings')
    for row in inputs:
        if not isinstance(row, list) or not all(isinstance(v, str | None) for v in row):
            raise InvalidInput("each input row is a list of strings")
    return learn_and_apply(pairs, inputs, user=user, budget=payload.get("budget", 2.0))
