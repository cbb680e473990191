"""``learn(examples)``: the by-example engine's entry point.

1. Refuse contradictions (one input, two outputs), naming the examples.
2. Build each example's program graph and intersect them all; if no program fits every example,
   split the examples into groups that each have one, and learn predicates that tell the groups
   apart (a Switch).
3. Pick the cheapest program by the ranking in :mod:`.ranking`, preferring positions that exist
   on the unlabelled rows, and keep the runners-up so the rows they disagree on can be shown.
4. When the column holds a small set of repeating values and the examples needed branches (or
   no program), the outputs are a mapping the data implies (codes to names): learn a Lookup, which
   answers nothing for values it has not seen rather than guessing by a test on the text.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence

from ...errors import InvalidValue, NoProgramFound
from . import dag as g
from . import runtime
from .choose import Scorer, best_program, cheapest_path
from .formats import number_spans
from .program import Concat, Lookup, Predicate, Program, Switch
from .ranking import WEIGHTS

Example = tuple[Sequence[str], str]
MAX_UNLABELED = 64
MAX_WORD_TOKENS = 12
MAX_LOOKUP = 50  # at most this many distinct input values, each seen twice on average, make a lookup
_WORD = re.compile(r"[^\W_]+")


def learn(
    examples: Sequence[Example],
    unlabeled: Sequence[Sequence[str | None]] | None = None,
    timeout: float = 2.0,
    weights: dict[str, float] | None = None,
) -> Program:
    """Learn a program mapping each example's input strings to its output string.

    ``unlabeled`` rows (inputs only) steer the choice toward positions that exist on them; a
    bounded, deterministic sample of at most 64 is used. Raises NoProgramFound (naming the
    examples that conflict) when no program fits, or when ``timeout`` seconds pass.

    Example:
        >>> p = learn([(["Ada", "Lovelace"], "A.L."), (["alan", "turing"], "A.T.")])
        >>> p.apply(["grace", "hopper"])
        'G.H.'
    """
    deadline = time.monotonic() + timeout
    rows, outputs = _check(examples)
    sample = _sample(unlabeled, len(rows[0]))
    tokens = _tokens([*rows, *sample])
    w = dict(WEIGHTS, **(weights or {}))
    lookup = _implied_lookup(rows, outputs, unlabeled)
    try:
        graphs, meets, lean = _graphs(rows, outputs, tokens, deadline)
        scorer = Scorer(sample, w)
        scorer.deadline = deadline
        columns = len(rows[0])
        meet = _Meet(graphs, deadline)
        meet.seed(meets)
        whole = meet(range(len(graphs)))
        if whole.has_path():
            return best_program(whole, scorer, columns)
        if lookup is not None:
            return lookup
        if lean:  # the groups of examples need every graph whole
            for k in lean:
                graphs[k] = g.build(rows[k], outputs[k], [g.StringIndex(s, tokens) for s in rows[k]], deadline)
            meet = _Meet(graphs, deadline)
        branches = _decision_list(meet, rows, tokens, columns, scorer)
        if branches is not None:
            return _list_program(branches, scorer, columns)
        return _switch(_groupings(graphs, rows, tokens, columns, deadline), rows, tokens, scorer, columns)
    except NoProgramFound:
        if lookup is not None:
            return lookup
        raise
    except TimeoutError:
        raise NoProgramFound(f"no program found within the time budget of {timeout:g} s", timeout=timeout) from None


def _graphs(
    rows: list[list[str]], outputs: list[str], tokens: list[str], deadline: float
) -> tuple[list[g.Dag], list[g.Dag], list[int]]:
    """Each example's graph, the meets of the first k of them, and the examples whose graphs were
    built lean: once the graphs so far meet with no number transform left, the next ones are
    built without them (the meet would drop them), where their inputs hold numbers at all."""
    graphs: list[g.Dag] = []
    meets: list[g.Dag] = []
    lean: list[int] = []
    for k, (r, o) in enumerate(zip(rows, outputs, strict=True)):
        numbers_too = not meets or g.has_numbers(meets[-1])
        graph = g.build(r, o, [g.StringIndex(s, tokens) for s in r], deadline, numbers_too)
        if not numbers_too and any(number_spans(s) for s in r):
            lean.append(k)
        graphs.append(graph)
        meets.append(graph if not meets else g.intersect(meets[-1], graph, deadline))
    return graphs, meets, lean


def _check(examples: Sequence[Example]) -> tuple[list[list[str]], list[str]]:
    if not examples:
        raise InvalidValue("learning needs at least one example")
    rows, outputs = [], []
    width = None
    for n, ex in enumerate(examples):
        try:
            inputs, output = ex
        except (TypeError, ValueError):
            raise InvalidValue(f"example {n} must be (list of input strings, output string)", example=n) from None
        if isinstance(inputs, str):
            inputs = [inputs]
        inputs = list(inputs)
        if not inputs or not all(isinstance(s, str) for s in inputs) or not isinstance(output, str):
            raise InvalidValue(f"example {n}: inputs and output must be strings, got {ex!r}", example=n)
        if width is not None and len(inputs) != width:
            raise InvalidValue(f"example {n} has {len(inputs)} inputs, the first has {width}", example=n)
        width = len(inputs)
        rows.append([unicodedata.normalize("NFC", s) for s in inputs])
        outputs.append(unicodedata.normalize("NFC", output))
    seen: dict[tuple[str, ...], int] = {}
    for n, (r, o) in enumerate(zip(rows, outputs, strict=True)):
        first = seen.setdefault(tuple(r), n)
        if first != n and outputs[first] != o:
            raise NoProgramFound(
                f"examples {first} and {n} give the same input {r!r} two outputs: {outputs[first]!r} and {o!r}",
                examples=[first, n],
            )
    return rows, outputs


def _implied_lookup(
    rows: list[list[str]], outputs: list[str], unlabeled: Sequence[Sequence[str | None]] | None
) -> Program | None:
    """A Lookup of the examples when the column's values are few and repeat, and the examples
    give at least two outputs (a table of one entry is a constant)."""
    if len(set(outputs)) < 2 or not unlabeled:
        return None
    width = len(rows[0])
    values: set[tuple[str, ...]] = set()
    count = 0
    for row in unlabeled:
        vals = (row,) if isinstance(row, str) else tuple(row)
        if len(vals) == width and all(isinstance(v, str) for v in vals):
            values.add(tuple(unicodedata.normalize("NFC", v) for v in vals))  # type: ignore[arg-type]
            count += 1
            if len(values) > MAX_LOOKUP:
                return None
    values.update(tuple(r) for r in rows)
    if len(values) > MAX_LOOKUP or count < 2 * len(values):
        return None
    table = dict(zip((tuple(r) for r in rows), outputs, strict=True))
    return Program(Lookup(tuple(table.items())), width, cost=float(len(table)))


def _sample(unlabeled: Sequence[Sequence[str | None]] | None, width: int) -> list[list[str]]:
    if not unlabeled:
        return []
    rows = []
    for row in unlabeled:
        values = [row] if isinstance(row, str) else list(row)
        texts = [v for v in values if isinstance(v, str)]
        if len(texts) == len(values) == width:
            rows.append([unicodedata.normalize("NFC", v) for v in texts])
    if len(rows) <= MAX_UNLABELED:
        return rows
    step = len(rows) / MAX_UNLABELED  # evenly spaced: deterministic and spread over the column
    return [rows[int(i * step)] for i in range(MAX_UNLABELED)]


def _tokens(rows: Sequence[Sequence[str]]) -> list[str]:
    """Class tokens, every punctuation character seen, and the words that recur across rows
    (constant tokens found in the data, such as 'Inc' or 'www')."""
    specials = sorted({c for r in rows for s in r for c in s if not c.isalnum() and not c.isspace()})
    counts: dict[str, int] = {}
    for r in rows:
        for word in {w for s in r for w in _WORD.findall(s)}:
            counts[word] = counts.get(word, 0) + 1
    recurring = [w for w, n in counts.items() if n >= 2 and not w.isdigit() and len(w) > 1]
    words = sorted(sorted(recurring, key=lambda w: (-counts[w], -len(w), w))[:MAX_WORD_TOKENS])
    return [*runtime.CLASS_TOKENS, *(f"c:{c}" for c in specials), *(f"w:{w}" for w in words)]


class _Meet:
    """Intersections of the graphs of sets of examples, remembered (splits try many sets)."""

    def __init__(self, graphs: list[g.Dag], deadline: float) -> None:
        self.graphs = graphs
        self.deadline = deadline
        self._memo: dict[tuple[int, ...], g.Dag] = {}

    def seed(self, meets: list[g.Dag]) -> None:
        """Remember the meets of the first k graphs, for k = 1, 2, ..."""
        for k, dag in enumerate(meets, start=1):
            self._memo[tuple(range(k))] = dag

    def __call__(self, members: Iterable[int]) -> g.Dag:
        key = tuple(sorted(members))
        found = self._memo.get(key)
        if found is None:
            found = (
                self.graphs[key[0]]
                if len(key) == 1
                else g.intersect(self(key[:-1]), self.graphs[key[-1]], self.deadline)
            )
            self._memo[key] = found
        return found


Branch = tuple[Predicate | None, g.Dag]


def _decision_list(
    meet: _Meet, rows: list[list[str]], tokens: list[str], columns: int, scorer: Scorer, depth: int = 3
) -> list[Branch] | None:
    """Tests that peel off, one at a time, a set of examples with a program of their own, until
    the rest have one too: ``if t1: P1 elif t2: P2 ... else: Pn`` (at most ``depth`` tests)."""
    # Counting tests ("has two or more spaces") only where the plain ones find no list: they are
    # many, and each new verdict costs a meet.
    preds = list(_predicates(tokens, columns))
    plain = [p for p in preds if p.kind != "twice"]
    found = _peel(meet, list(range(len(rows))), rows, plain, scorer, depth)
    return found if found is not None else _peel(meet, list(range(len(rows))), rows, preds, scorer, depth)


def _peel(
    meet: _Meet, members: list[int], rows: list[list[str]], preds: list[Predicate], scorer: Scorer, depth: int
) -> list[Branch] | None:
    whole = meet(members)
    if whole.has_path():
        return [(None, whole)]
    if depth == 0:
        return None
    splits: list[tuple[tuple[bool, ...], int, Predicate]] = []
    for rank, pred in enumerate(preds):
        verdict = tuple(pred.holds(rows[m]) for m in members)
        if all(verdict) or not any(verdict) or any(v == verdict for v, _, _ in splits):
            continue
        yes = [m for m, v in zip(members, verdict, strict=True) if v]
        if meet(yes).has_path():
            splits.append((verdict, rank, pred))
    # Two-way splits first, the cheapest pair of programs winning (spurious tests make dearer programs).
    best: tuple[float, int, list[Branch]] | None = None
    for verdict, rank, pred in splits:
        no = [m for m, v in zip(members, verdict, strict=True) if not v]
        yes_dag, no_dag = meet([m for m, v in zip(members, verdict, strict=True) if v]), meet(no)
        if no_dag.has_path():
            cost = cheapest_path(yes_dag, scorer)[0] + cheapest_path(no_dag, scorer)[0]
            if best is None or (cost, rank) < best[:2]:
                best = (cost, rank, [(pred, yes_dag), (None, no_dag)])
    if best is not None:
        return best[2]
    for verdict, _, pred in splits:
        rest = _peel(meet, [m for m, v in zip(members, verdict, strict=True) if not v], rows, preds, scorer, depth - 1)
        if rest is not None:
            return [(pred, meet([m for m, v in zip(members, verdict, strict=True) if v])), *rest]
    return None


def _list_program(branches: list[Branch], scorer: Scorer, columns: int) -> Program:
    parts: list[tuple[Predicate | None, Concat]] = []
    total = 0.0
    for pred, dag in branches:
        program = best_program(dag, scorer, columns)
        assert isinstance(program.root, Concat)
        parts.append((pred, program.root))
        total += program.cost
    return Program(Switch(tuple(parts)), columns, total)


def _groupings(
    graphs: list[g.Dag], rows: list[list[str]], tokens: list[str], columns: int, deadline: float
) -> list[tuple[g.Dag, list[int]]]:
    """Greedy groupings in a few example orders; the first whose groups tests can tell apart."""
    n = len(graphs)
    orders = [list(range(n)), list(range(n))[::-1]]
    orders += [
        sorted(range(n), key=lambda i: (len(graphs[i].end), i)),
        sorted(range(n), key=lambda i: (-sum(map(len, rows[i])), i)),
    ]
    first = None
    for order in orders:
        groups = _cluster([graphs[i] for i in order], deadline)
        groups = [(dag, [order[m] for m in members]) for dag, members in groups]
        first = first or groups
        if _separable(groups, rows, tokens, columns):
            return groups
    assert first is not None
    return first


def _separable(groups: list[tuple[g.Dag, list[int]]], rows: list[list[str]], tokens: list[str], columns: int) -> bool:
    order = sorted(groups, key=lambda grp: -len(grp[1]))
    for k, (_, members) in enumerate(order[:-1]):
        others = [m for _, ms in order[k + 1 :] for m in ms]
        if _predicate([rows[m] for m in members], [rows[m] for m in others], tokens, columns) is None:
            return False
    return True


def _cluster(graphs: list[g.Dag], deadline: float) -> list[tuple[g.Dag, list[int]]]:
    """Greedy grouping: each example joins the first group whose graph it intersects non-empty."""
    groups: list[tuple[g.Dag, list[int]]] = []
    for n, graph in enumerate(graphs):
        for k, (dag, members) in enumerate(groups):
            met = g.intersect(dag, graph, deadline)
            if met.has_path():
                groups[k] = (met, [*members, n])
                break
        else:
            groups.append((graph, [n]))
    return groups


def _switch(
    groups: list[tuple[g.Dag, list[int]]], rows: list[list[str]], tokens: list[str], scorer: Scorer, columns: int
) -> Program:
    """One branch per group, each guarded by a predicate that holds on its examples only."""
    order = sorted(groups, key=lambda grp: -len(grp[1]))  # the biggest group is the 'otherwise'
    branches: list[tuple[Predicate | None, Concat]] = []
    total = 0.0
    for k, (dag, members) in enumerate(order):
        program = best_program(dag, scorer, columns)
        assert isinstance(program.root, Concat)
        total += program.cost
        if k == len(order) - 1:
            branches.append((None, program.root))
            break
        others = [m for _, ms in order[k + 1 :] for m in ms]
        pred = _predicate([rows[m] for m in members], [rows[m] for m in others], tokens, columns)
        if pred is None:
            raise NoProgramFound(
                f"examples {members} need a different program from examples {others}, and no test on the "
                "inputs tells them apart; add examples or check these",
                examples=members + others,
            )
        branches.append((pred, program.root))
    # Put the 'otherwise' branch last, the guarded ones first in the order found.
    return Program(Switch(tuple(branches)), columns, total)


def _predicates(tokens: list[str], columns: int) -> Iterator[Predicate]:
    """Candidate tests, in order of preference."""
    for kind in ("has", "starts", "ends", "twice"):
        for col in range(columns):
            for tok in tokens:
                for negate in (False, True):
                    yield Predicate(col, tok, negate, kind)
    for col in range(columns):
        for other in range(columns):
            if other != col:
                for negate in (False, True):
                    yield Predicate(col, str(other), negate, "has_column")


def _predicate(yes: list[list[str]], no: list[list[str]], tokens: list[str], columns: int) -> Predicate | None:
    for p in _predicates(tokens, columns):
        if all(p.holds(r) for r in yes) and not any(p.holds(r) for r in no):
            return p
    return None
