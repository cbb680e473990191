"""The graph of every program that produces an output, built per example and intersected.

For one example with output ``s``, node ``i`` is "the first i characters of s are produced"; an
edge i -> j holds every way to produce ``s[i:j]``: the constant, and each occurrence of it in an
input column as a substring (with the set of position expressions that find each end, and the
case changes that fit). Programs are never enumerated: intersecting two graphs keeps, edge by
edge, only what works for both examples (FlashFill, Gulwani 2011).
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import runtime
from .formats import date_renderings, number_hows, number_output, number_prefix, number_spans

Node = tuple[int, ...]
CASES = ("upper", "lower", "title")


class StringIndex:
    """Every position expression that finds each index of one string.

    Example:
        >>> ix = StringIndex("ab 12", ["Digits", "Space"])
        >>> ("tok", "Space", "Digits", 1) in ix.at[3]
        True
    """

    def __init__(self, s: str, tokens: Sequence[str]) -> None:
        n = len(s)
        ends: list[list[str]] = [[] for _ in range(n + 1)]
        starts: list[list[str]] = [[] for _ in range(n + 1)]
        for tok in tokens:
            for b, e in runtime.spans(s, tok):
                ends[e].append(tok)
                starts[b].append(tok)
        hits: dict[tuple[str | None, str | None], list[int]] = {}
        for i in range(n + 1):
            for left in (None, *ends[i]):
                for right in (None, *starts[i]):
                    if left is not None or right is not None:
                        hits.setdefault((left, right), []).append(i)
        at: list[set[Any]] = [{("abs", i), ("abs", i - n - 1)} for i in range(n + 1)]
        for (left, right), where in hits.items():
            m = len(where)
            for k, i in enumerate(where):
                at[i].add(("tok", left, right, k + 1))
                at[i].add(("tok", left, right, k - m))
        self.at = [frozenset(a) for a in at]


@dataclass(frozen=True)
class Sub:
    """Substrings of column ``col`` that give an edge's text: start and end positions, case changes."""

    col: int
    p1: frozenset[Any]
    p2: frozenset[Any]
    cases: frozenset[str | None]

    def meet(self, other: Sub) -> Sub | None:
        if self.col != other.col:
            return None
        p1, p2, cases = self.p1 & other.p1, self.p2 & other.p2, self.cases & other.cases
        return Sub(self.col, p1, p2, cases) if p1 and p2 and cases else None


@dataclass(frozen=True)
class Edge:
    """Ways to produce one piece of the output: a constant (if the same for all examples) and substrings."""

    target: Node
    const: str | None
    subs: tuple[Sub, ...]
    echo: bool = False  # the constant holds an initial or a word that some example's input holds


_ALNUM_RUN = re.compile(r"[^\W_]+")


def echoes(text: str, folded: str, words: set[str]) -> bool:
    """Whether a constant holds a letter standing alone (an initial) or a whole word or number of
    the inputs (``folded``: them casefolded and joined; ``words``: their words and numbers),
    ignoring case: such text most likely comes from the input (``J.`` from ``john``, ``(1)``
    from ``-1``).

    Example:
        >>> echoes(", J.", "john smith", {"john", "smith"}), echoes("Dr. ", "drew", {"drew"})
        (True, False)
    """
    for run in _ALNUM_RUN.findall(text.casefold()):
        if run in words:  # a whole word or number of an input
            return True
        if len(run) == 1 and run.isalpha() and run in folded:
            return True
    return False


@dataclass
class Dag:
    """A program graph over one or more examples (nodes are tuples, one index per example)."""

    start: Node
    end: Node
    edges: dict[Node, list[Edge]]
    outputs: tuple[str, ...] = ()

    def has_path(self) -> bool:
        return self.start == self.end or self.start in self.edges

    def splits_word(self, u: Node, v: Node) -> bool:
        """Whether a piece from node u to v starts or ends inside a word of some example's output
        (between two letters or two digits: ``Q|1`` and ``W|02`` are a label and a number).

        Example:
            >>> Dag((0,), (3,), {}, ("USA",)).splits_word((1,), (3,))
            True
            >>> Dag((0,), (3,), {}, ("Q12",)).splits_word((0,), (1,))
            False
        """
        for s, i, j in zip(self.outputs, u, v, strict=False):
            for k in (i, j):
                if 0 < k < len(s) and _same_class(s[k - 1], s[k]):
                    return True
        return False


def _same_class(a: str, b: str) -> bool:
    return (a.isalpha() and b.isalpha()) or (a.isdigit() and b.isdigit())


def _occurrences(haystack: str, needle: str) -> list[int]:
    out, k = [], haystack.find(needle)
    while k >= 0:
        out.append(k)
        k = haystack.find(needle, k + 1)
    return out


def build(
    inputs: Sequence[str],
    output: str,
    indexes: Sequence[StringIndex],
    deadline: float | None = None,
    numbers_too: bool = True,
) -> Dag:
    """The graph of one example; with ``numbers_too=False``, without number transforms (the
    costliest part to build, left out where the other examples' graphs already have none).

    Example:
        >>> ins = ["Ada Lovelace"]
        >>> d = build(ins, "Ada", [StringIndex(ins[0], ["Space"])])
        >>> d.has_path()
        True
    """
    n = len(output)
    folded = [s.lower() if len(s.lower()) == len(s) else None for s in inputs]
    rendered = [date_renderings(s) for s in inputs]
    numbers = [number_spans(s) if numbers_too else [] for s in inputs]
    any_number = any(numbers)
    copied = {s[b:e] for s, spans in zip(inputs, numbers, strict=True) for b, e, _ in spans}
    whole_numbers = [
        [sp for sp in spans if s[: sp[0]].strip() == s[sp[1] :].strip() == ""]
        for s, spans in zip(inputs, numbers, strict=True)
    ]
    whole = {s[b:e] for s, spans in zip(inputs, whole_numbers, strict=True) for b, e, _ in spans}
    joined = " ".join(inputs).casefold()
    words = set(_ALNUM_RUN.findall(joined))
    # Keep extending a piece while some date rendering or written number could still be reached.
    prefixes = {key[:i] for r in rendered for key in r for i in range(1, len(key) + 1)}
    edges: dict[Node, list[Edge]] = {}
    for i in range(n):
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        out: list[Edge] = []
        searching = True
        for j in range(i + 1, n + 1):
            text = output[i:j]
            subs: list[Sub] = []
            if searching:
                subs = _subs_for(text, inputs, folded, indexes, rendered)
                # A number an input writes just so is copied, not re-written; unless the input is
                # that one number (an amount column), where another example may need it rounded
                # (the ranking prefers the plain copy where both fit).
                if any_number and number_output(output, i, j):
                    if text not in copied:
                        subs += _number_subs(text, numbers, indexes)
                    elif text in whole:
                        subs += _number_subs(text, whole_numbers, indexes)
                searching = bool(subs) or text in prefixes or (any_number and number_prefix(text))
            out.append(Edge((j,), text, tuple(subs), echoes(text, joined, words)))
        edges[(i,)] = out
    return Dag((0,), (n,), edges, (output,))


def _subs_for(
    text: str,
    inputs: Sequence[str],
    folded: Sequence[str | None],
    indexes: Sequence[StringIndex],
    rendered: Sequence[dict[str, list[tuple[int, int, Any]]]],
) -> list[Sub]:
    subs = []
    lower = text.lower()
    for col, s in enumerate(inputs):
        by_span: dict[tuple[int, int], set[Any]] = {}
        for b, e, how in rendered[col].get(text, ()):
            by_span.setdefault((b, e), set()).add(how)
        for (b, e), hows in sorted(by_span.items()):
            subs.append(Sub(col, indexes[col].at[b], indexes[col].at[e], frozenset(hows)))
        seen = set()
        for k in _occurrences(s, text):
            seen.add(k)
            cases = frozenset([None, *[c for c in CASES if runtime.change_case(text, c) == text]])
            subs.append(Sub(col, indexes[col].at[k], indexes[col].at[k + len(text)], cases))
        f = folded[col]
        if f is None or len(lower) != len(text):
            continue
        for k in _occurrences(f, lower):
            if k in seen:
                continue
            source = s[k : k + len(text)]
            cases = frozenset(c for c in CASES if runtime.change_case(source, c) == text)
            if cases:
                subs.append(Sub(col, indexes[col].at[k], indexes[col].at[k + len(text)], cases))
    return subs


def _number_subs(text: str, numbers: Sequence[list[tuple[int, int, Any]]], indexes: Sequence[StringIndex]) -> list[Sub]:
    subs = []
    for col, spans in enumerate(numbers):
        for b, e, values in spans:
            hows = number_hows(text, values)
            if hows:
                subs.append(Sub(col, indexes[col].at[b], indexes[col].at[e], frozenset(hows)))
    return subs


def has_numbers(dag: Dag) -> bool:
    """Whether some edge of ``dag`` can write a number (a number transform survives in it).

    Example:
        >>> ins = ["12.5"]
        >>> has_numbers(build(ins, "12.50", [StringIndex(ins[0], ["Digits"])]))
        True
    """
    for edges in dag.edges.values():
        for edge in edges:
            for sub in edge.subs:
                if any(isinstance(c, tuple) and c[0] in ("nm", "num") for c in sub.cases):
                    return True
    return False


def intersect(a: Dag, b: Dag, deadline: float | None = None) -> Dag:
    """The graph of the programs that both graphs hold (reachable, co-reachable part only)."""
    start = a.start + b.start
    end = a.end + b.end
    edges: dict[Node, list[Edge]] = {}
    todo = [start]
    seen = {start}
    width = len(a.start)
    while todo:
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        node = todo.pop()
        u, v = node[:width], node[width:]
        out = []
        for ea in a.edges.get(u, ()):
            for eb in b.edges.get(v, ()):
                const = ea.const if ea.const is not None and ea.const == eb.const else None
                subs = []
                if ea.subs and eb.subs:
                    for sa in ea.subs:
                        for sb in eb.subs:
                            met = sa.meet(sb)
                            if met is not None and met not in subs:
                                subs.append(met)
                if const is None and not subs:
                    continue
                target = ea.target + eb.target
                out.append(Edge(target, const, tuple(subs), const is not None and (ea.echo or eb.echo)))
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        if out:
            edges[node] = out
    return _prune(Dag(start, end, edges, a.outputs + b.outputs))


def _prune(d: Dag) -> Dag:
    # Keep only edges on some path from start to end.
    live = {d.end}
    changed = True
    order = sorted(d.edges, key=sum, reverse=True)
    while changed:
        changed = False
        for node in order:
            if node not in live and any(e.target in live for e in d.edges[node]):
                live.add(node)
                changed = True
    edges = {n: [e for e in es if e.target in live] for n, es in d.edges.items() if n in live}
    return Dag(d.start, d.end, {n: es for n, es in edges.items() if es}, d.outputs)
