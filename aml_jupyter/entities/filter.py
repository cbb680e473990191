"""The run filter grammar (MLflow-compatible), parsed into clauses without touching the store.

    filter   := clause ( AND clause )*  |  words
    clause   := ident op value
    ident    := (metrics|params|tags|attributes) "." key      key may be `quoted` or "quoted"
    op       := = | != | < | <= | > | >= | LIKE | ILIKE | IN | NOT IN
    value    := number | 'string' | "string" | ( value, ... )

Example: ``metrics.acc > 0.9 and params.lr = '0.01' and tags.team IN ('a', 'b')``.

A filter with no comparison and no prefixed name (``sweep``, ``3f2a``, ``mlp wide``) is free text:
each word must be in the run's name or one of its tags' values (any case), or begin its id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import FilterSyntaxError
from .lifecycle import FROM_MLFLOW

ENTITY = {
    "metric": "metric",
    "metrics": "metric",
    "param": "param",
    "params": "param",
    "parameter": "param",
    "parameters": "param",
    "tag": "tag",
    "tags": "tag",
    "attribute": "attribute",
    "attributes": "attribute",
    "attr": "attribute",
    "run": "attribute",
}
ATTRIBUTES = {
    "id": "id",
    "run_id": "id",
    "name": "name",
    "run_name": "name",
    "status": "status",
    "user": "user",
    "start_time": "start_time",
    "end_time": "end_time",
    "experiment": "experiment",
    "source_kind": "source_kind",
    "source_path": "source_path",
    "compute_target": "compute_target",
    "snapshot_id": "snapshot_id",
    "parent_id": "parent_id",
}
NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
STRING_OPS = {"=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"}
NUMBER_OPS = {"=", "!=", "<", "<=", ">", ">="}

_ORDER_TERM = re.compile(
    r'^\s*(?P<name>[A-Za-z_]+\.(?:`[^`]*`|"[^"]*"|[^\s,`"]+))(?:\s+(?P<direction>(?i:asc|desc)))?\s*$'
)
_TOKEN = re.compile(
    r"""\s*(?:
      (?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?![\w.]))
    | (?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
    | (?P<op><=|>=|!=|<>|==|=|<|>)
    | (?P<punct>[(),])
    | (?P<ident>[A-Za-z_][\w]*(?:\.(?:`[^`]+`|"[^"]+"|[\w\-/:.]+))?)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True)
class Clause:
    """One comparison: entity (metric/param/tag/attribute), key, operator and value."""

    entity: str
    key: str
    op: str
    value: Any


def _unquote(text: str) -> str:
    if text[0] == "'":
        return re.sub(r"\\(.)", r"\1", text[1:-1].replace("''", "'"))
    if text[0] in '"`':
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    return text


def _tokens(text: str, starts: list[int] | None = None) -> list[tuple[str, str]]:
    # ``starts`` gets where each token begins, so that an error can say where the filter is wrong.
    out, pos = [], 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise FilterSyntaxError(f"cannot read the filter at {text[pos : pos + 20]!r}", position=pos)
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        if starts is not None:
            starts.append(m.start(kind))
        pos = m.end()
    return out


def parse_identifier(text: str) -> tuple[str, str]:
    """Split ``metrics.acc`` into (entity, key); the key may be quoted.

    Example:
        >>> parse_identifier("metrics.`val acc`")
        ('metric', 'val acc')
    """
    prefix, _, key = text.partition(".")
    entity = ENTITY.get(prefix.lower())
    if entity is None or not key:
        raise FilterSyntaxError(f"{text!r}: a name must start with metrics., params., tags. or attributes.", name=text)
    key = _unquote(key) if key[0] in '`"' else key
    if entity == "attribute":
        if key.lower() not in ATTRIBUTES:
            raise FilterSyntaxError(
                f"unknown attribute {key!r} (known: {', '.join(sorted(set(ATTRIBUTES.values())))})", name=key
            )
        key = ATTRIBUTES[key.lower()]
    return entity, key


TEXT = "text"  # the entity of a free-text clause
_GRAMMAR = re.compile(r"[=<>!()'\"`]|\b(?:like|ilike|in)\b|\b(?:" + "|".join(ENTITY) + r")\.", re.IGNORECASE)


def parse_filter(text: str | None) -> list[Clause]:
    """Parse a filter string into clauses (an empty filter gives no clause); free text gives one
    ``text`` clause a word.

    Example:
        >>> parse_filter("metrics.acc > 0.9 and params.C = '0.5'")
        [Clause(entity='metric', key='acc', op='>', value=0.9), Clause(entity='param', key='C', op='=', value='0.5')]
        >>> [c.value for c in parse_filter("mlp 3f2a")], parse_filter("mlp")[0].entity
        (['mlp', '3f2a'], 'text')
    """
    if text is None:
        return []
    if not isinstance(text, str):
        raise FilterSyntaxError(f"a filter must be a string, not {type(text).__name__}")
    if not text.strip():
        return []
    if len(text) > 10_000:
        raise FilterSyntaxError("the filter is longer than 10,000 characters")
    if not _GRAMMAR.search(text):
        return [Clause(TEXT, "", "CONTAINS", word) for word in text.split()]
    starts: list[int] = []
    toks = _tokens(text, starts)
    clauses: list[Clause] = []
    i = 0
    while True:
        try:
            clause, i = _clause(toks, i)
        except FilterSyntaxError as err:
            raise _located(err, text, starts[i] if i < len(starts) else len(text), len(clauses) + 1) from None
        clauses.append(clause)
        if i == len(toks):
            return clauses
        kind, word = toks[i]
        if kind != "ident" or word.upper() != "AND":
            raise _located(
                FilterSyntaxError(f"expected AND between clauses, got {word!r} (only AND is supported)"),
                text,
                starts[i],
                len(clauses) + 1,
            )
        i += 1


def _located(err: FilterSyntaxError, text: str, pos: int, clause: int) -> FilterSyntaxError:
    # The same refusal, saying which clause and from which character: "... (clause 2, at 19: 'x >')".
    near = text[pos : pos + 40].strip()
    where = f"clause {clause}, at character {pos + 1}: {near!r}" if near else f"clause {clause}, at the end"
    return FilterSyntaxError(f"{err} ({where})", position=pos)


def _clause(toks: list[tuple[str, str]], i: int) -> tuple[Clause, int]:
    if i >= len(toks) or toks[i][0] != "ident":
        raise FilterSyntaxError(
            "expected a name such as metrics.acc" + (f", got {toks[i][1]!r}" if i < len(toks) else " at the end")
        )
    entity, key = parse_identifier(toks[i][1])
    i += 1
    op, i = _operator(toks, i)
    value: Any
    if op in ("IN", "NOT IN"):
        value, i = _list(toks, i)
    else:
        if i >= len(toks) or toks[i][0] not in ("num", "str"):
            raise FilterSyntaxError(f"expected a value after {op}")
        kind, raw = toks[i]
        value = float(raw) if kind == "num" else _unquote(raw)
        i += 1
    return _typed(Clause(entity, key, op, value)), i


def _operator(toks: list[tuple[str, str]], i: int) -> tuple[str, int]:
    if i >= len(toks):
        raise FilterSyntaxError("expected a comparison operator at the end")
    kind, word = toks[i]
    if kind == "op":
        return {"==": "=", "<>": "!="}.get(word, word), i + 1
    upper = word.upper()
    if kind == "ident" and upper in ("LIKE", "ILIKE", "IN"):
        return upper, i + 1
    if kind == "ident" and upper == "NOT" and i + 1 < len(toks) and toks[i + 1][1].upper() == "IN":
        return "NOT IN", i + 2
    raise FilterSyntaxError(f"expected a comparison operator, got {word!r}")


def _list(toks: list[tuple[str, str]], i: int) -> tuple[tuple[Any, ...], int]:
    if i >= len(toks) or toks[i][1] != "(":
        raise FilterSyntaxError("IN needs a parenthesised list, e.g. IN ('a', 'b')")
    items, i = [], i + 1
    while True:
        if i >= len(toks) or toks[i][0] not in ("str", "num"):
            raise FilterSyntaxError("expected a value in the IN list")
        items.append(_unquote(toks[i][1]) if toks[i][0] == "str" else toks[i][1])
        i += 1
        if i < len(toks) and toks[i][1] == ",":
            i += 1
            continue
        if i < len(toks) and toks[i][1] == ")":
            return tuple(items), i + 1
        raise FilterSyntaxError("unclosed IN list")


def _typed(c: Clause) -> Clause:
    numeric = c.entity == "metric" or (c.entity == "attribute" and c.key in NUMERIC_ATTRIBUTES)
    if numeric:
        if c.op not in NUMBER_OPS:
            raise FilterSyntaxError(f"{c.entity} {c.key!r} takes = != < <= > >=, not {c.op}")
        if not isinstance(c.value, float):
            raise FilterSyntaxError(f"{c.entity} {c.key!r} compares with a number, not {c.value!r}")
        return c
    if c.op not in STRING_OPS:
        raise FilterSyntaxError(f"{c.entity} {c.key!r} takes = != LIKE ILIKE IN, not {c.op}")
    if isinstance(c.value, float):
        raise FilterSyntaxError(f"{c.entity} {c.key!r} compares with a quoted string, e.g. '{c.value:g}'")
    if c.entity == "attribute" and c.key == "status" and c.op in ("=", "!=", "IN", "NOT IN"):
        # MLflow's names (FINISHED, KILLED...) are aml's statuses too: an MLflow filter works unchanged.
        named = c.value if isinstance(c.value, tuple) else (c.value,)
        mapped = tuple(FROM_MLFLOW.get(v, v) if isinstance(v, str) else v for v in named)
        return Clause(c.entity, c.key, c.op, mapped if isinstance(c.value, tuple) else mapped[0])
    return c


@dataclass(frozen=True)
class OrderKey:
    """One order-by term."""

    entity: str
    key: str
    descending: bool


def parse_order_by(terms: list[str] | str | None) -> list[OrderKey]:
    """Parse order-by terms such as ``["metrics.acc DESC", "attributes.start_time"]``.

    Example:
        >>> parse_order_by(["metrics.acc DESC"])
        [OrderKey(entity='metric', key='acc', descending=True)]
    """
    if terms is None:
        return []
    if isinstance(terms, str):
        terms = [terms]
    out = []
    for term in terms:
        if not isinstance(term, str) or not term.strip():
            raise FilterSyntaxError(f"bad order_by term {term!r}")
        match = _ORDER_TERM.match(term)
        if match is None:  # "metrics.acc DOWN" or "a DESC, b" would sort by a key nobody logged
            raise FilterSyntaxError(
                f"bad order_by term {term!r}: write one name (metrics.KEY, params.KEY, tags.KEY or "
                "attributes.NAME; quote a key holding spaces with backticks) then ASC or DESC; "
                "give several as separate terms (--order-by twice, or a list)",
                name=term,
            )
        entity, key = parse_identifier(match["name"])
        out.append(OrderKey(entity, key, (match["direction"] or "ASC").upper() == "DESC"))
    return out
