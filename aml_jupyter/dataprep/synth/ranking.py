"""How candidate programs are ranked: a scored preference with its weights kept as data.

Lower cost wins. Fewer pieces beat more; substrings beat constants (a constant costs more the
longer it is); token positions beat absolute indices, except the very start and end; first and
last occurrences beat others; keeping the case beats changing it; a position that does not exist
on some unlabelled rows costs in proportion to how many.
"""

from __future__ import annotations

from typing import Any

WEIGHTS: dict[str, float] = {
    "piece": 0.5,
    "const": 1.0,
    "const_per_char": 2.0,  # high: text that an input holds should come from the input
    "const_splits_word": 4.0,  # a constant that begins or ends inside a word of the output
    "const_echoes_input": 3.0,  # a constant initial or word that the input holds ('J.' from 'john')
    "plain_near_date": 2.5,  # text copied from a column whose date the program reads as a value
    "plain_near_rounded_date": 8.0,  # more when it rounds that date: its text is no longer the value
    "date_separator": 1.0,  # punctuation or a space between the fields of a date read as a value
    "substr": 0.3,
    "pos_abs_edge": 0.05,  # the start (0) or the end (-1)
    "pos_abs": 0.9,
    "pos_token": 0.2,
    "pos_two_tokens": 0.1,  # extra when both sides of a position are tokens
    "pos_special_token": -0.05,  # literal characters (',', '@') anchor better than classes
    "pos_word_token": 0.05,  # recurring words ('Inc', 'www') found in the data
    "pos_inner_occurrence": 0.3,  # neither the first nor the last
    "pos_wide_token": 0.15,  # Alnum / NonSpace / Alphas: broad classes, weaker evidence
    "case_change": 0.2,
    "format_change": 0.4,  # a number written in another style
    "date_field": 0.05,  # a date's field: low, so that a date's parts come from the one parsed value
    "unlabeled_miss": 3.0,  # times the share of unlabelled rows where the position does not exist
}
_WIDE = {"NonSpace", "Alnum", "Alphas"}


def position_cost(p: tuple[Any, ...], w: dict[str, float] = WEIGHTS) -> float:
    """The cost of one position expression.

    Example:
        >>> position_cost(("abs", 0)) < position_cost(("tok", "Space", None, 1)) < position_cost(("abs", 3))
        True
    """
    if p[0] == "abs":
        return w["pos_abs_edge"] if p[1] in (0, -1) else w["pos_abs"] + 0.01 * abs(p[1])
    _, left, right, k = p
    cost = w["pos_token"]
    if left and right:
        cost += w["pos_two_tokens"]
    for tok in (left, right):
        if tok is None:
            continue
        if tok.startswith("c:"):
            cost += w["pos_special_token"]
        elif tok.startswith("w:"):
            cost += w["pos_word_token"]
        elif tok in _WIDE:
            cost += w["pos_wide_token"]
    if k not in (1, -1):
        cost += w["pos_inner_occurrence"] + 0.01 * abs(k)
    return cost


def const_cost(text: str, w: dict[str, float] = WEIGHTS) -> float:
    """The cost of a constant piece.

    Example:
        >>> const_cost(".") < const_cost("Springfield")
        True
    """
    return w["piece"] + w["const"] + w["const_per_char"] * len(text)


def sort_key(p: tuple[Any, ...]) -> tuple[Any, ...]:
    """A total order on position expressions, for deterministic tie-breaks."""
    return tuple("" if v is None else str(v) if not isinstance(v, int) else f"{v:+08d}" for v in p)
