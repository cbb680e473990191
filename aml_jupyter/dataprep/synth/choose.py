"""Choosing the program: the cheapest path through a program graph under the ranking, with the
unlabelled rows' verdict on each position, and the runners-up."""

from __future__ import annotations

from typing import Any

from ...errors import NoProgramFound
from . import dag as g
from . import formats
from .program import Concat, Const, Piece, Program, SubStr, eval_pos
from .ranking import const_cost, position_cost, sort_key

MAX_ALTERNATIVES = 3


class Scorer:
    """Costs of pieces, with the unlabelled rows' verdict on each position cached.

    Example:
        >>> from aml_jupyter.dataprep.synth.ranking import WEIGHTS
        >>> Scorer([["ab"]], WEIGHTS).pos(0, ("abs", 5)) > Scorer([], WEIGHTS).pos(0, ("abs", 5))
        True
    """

    def __init__(self, sample: list[list[str]], weights: dict[str, float]) -> None:
        self.sample = sample
        self.w = weights
        self._miss: dict[tuple[int, Any], float] = {}

    def pos(self, col: int, p: Any) -> float:
        cost = position_cost(p, self.w)
        if self.sample:
            key = (col, p)
            miss = self._miss.get(key)
            if miss is None:
                miss = sum(eval_pos(row[col], p) is None for row in self.sample) / len(self.sample)
                self._miss[key] = miss
            cost += self.w["unlabeled_miss"] * miss
        return cost

    def sub_options(self, sub: g.Sub) -> list[tuple[float, SubStr]]:
        """The best few concrete substrings of a Sub, cheapest first."""
        p1 = sorted(sub.p1, key=lambda p: (self.pos(sub.col, p), sort_key(p)))[:6]
        p2 = sorted(sub.p2, key=lambda p: (self.pos(sub.col, p), sort_key(p)))[:6]
        case = min(sub.cases, key=transform_rank)
        case_cost = 0.0 if case is None else self.w["case_change"] if isinstance(case, str) else self.w["format_change"]
        base = self.w["piece"] + self.w["substr"] + case_cost
        out = [
            (base + self.pos(sub.col, a) + self.pos(sub.col, b), SubStr(sub.col, a, b, case)) for a in p1 for b in p2
        ]
        return sorted(out, key=lambda cp: (cp[0], sort_key(cp[1].start), sort_key(cp[1].end)))

    def edge_options(self, edge: g.Edge, splits_word: bool = False) -> list[tuple[float, Piece]]:
        opts: list[tuple[float, Piece]] = []
        for sub in edge.subs:
            opts.extend(self.sub_options(sub))
        if edge.const is not None:
            # A constant that cuts a word of the output in two ('U' + 'SA') is most likely wrong.
            cost = const_cost(edge.const, self.w) + (self.w["const_splits_word"] if splits_word else 0.0)
            opts.append((cost, Const(edge.const)))
        opts.sort(key=lambda cp: (cp[0], repr(cp[1])))
        return opts


def transform_rank(how: Any) -> tuple[int, str]:
    """Preference among a piece's transforms: keep the text, else change case, else re-format (in
    the formats' order of preference).

    Example:
        >>> transform_rank(None) < transform_rank("upper") < transform_rank(("num", "{:.2f}"))
        True
    """
    if how is None:
        return (0, "")
    if isinstance(how, str):
        return (1, str(("upper", "lower", "title").index(how)))
    table = formats.DATE_OUT if how[0] == "date" else formats.NUM_OUT
    first = formats.DATE_IN.index(how[1]) if how[0] == "date" else 0
    return (2, f"{first:03d}{table.index(how[-1]):03d}")


def best_program(dag: g.Dag, scorer: Scorer, columns: int) -> Program:
    """The cheapest program of a graph, with its runners-up; NoProgramFound if it has no path."""
    if not dag.has_path():
        raise NoProgramFound("no program fits all the examples")
    cost, pieces, choices = cheapest_path(dag, scorer)
    program = Program(Concat(tuple(pieces)), columns, cost)
    program.alternatives = alternatives(choices, pieces, cost, columns, scorer.sample)
    return program


def cheapest_path(dag: g.Dag, scorer: Scorer) -> tuple[float, list[Piece], list[list[tuple[float, Piece]]]]:
    """(cost, pieces, every edge's ranked options) of the cheapest path, by dynamic programming
    from the end node back (edges only go forward)."""
    best: dict[g.Node, tuple[float, g.Edge | None, list[tuple[float, Piece]]]] = {dag.end: (0.0, None, [])}
    for node in sorted(dag.edges, key=sum, reverse=True):
        for edge in dag.edges[node]:
            if edge.target not in best:
                continue
            opts = scorer.edge_options(edge, edge.const is not None and dag.splits_word(node, edge.target))
            if not opts:
                continue
            total = opts[0][0] + best[edge.target][0]
            if node not in best or total < best[node][0] - 1e-12:
                best[node] = (total, edge, opts)
    if dag.start not in best:
        raise NoProgramFound("no program fits all the examples")
    pieces, choices, node = [], [], dag.start
    while node != dag.end:
        _, step, opts = best[node]
        assert step is not None
        pieces.append(opts[0][1])
        choices.append(opts)
        node = step.target
    return best[dag.start][0], pieces, choices


def alternatives(
    choices: list[list[tuple[float, Piece]]], pieces: list[Piece], cost: float, columns: int, sample: list[list[str]]
) -> list[Program]:
    """The runners-up: the best program with one piece swapped for one of its next choices. With
    unlabelled rows, runners-up that answer differently on some of them come first: those rows
    are the ones worth showing the user."""
    swaps = []
    for i, opts in enumerate(choices):
        for extra, piece in opts[1:24]:
            swaps.append((extra - opts[0][0], i, piece))
    swaps.sort(key=lambda s: (s[0], s[1], repr(s[2])))
    best = Program(Concat(tuple(pieces)), columns, cost)
    ranked = []
    for n, (delta, i, piece) in enumerate(swaps):
        alt = list(pieces)
        alt[i] = piece
        program = Program(Concat(tuple(alt)), columns, cost + delta)
        differs = any(program.apply(r) != best.apply(r) for r in sample)
        ranked.append((not differs, n, program))
    ranked.sort(key=lambda x: (x[0], x[1]))
    return [p for _, _, p in ranked[:MAX_ALTERNATIVES]]
