"""Auto-split: the fields and delimiters of a column found from its values, with no examples.

A character is a delimiter when nearly every row holds it (brackets, dashes, commas, slashes, a
space only when nothing else splits): the column's structure, not the text of one value. Parts
in quotes are never split; brackets close a field without leaving an empty one; rows with
fewer fields leave the trailing columns missing, and a row with more keeps the rest, delimiters
and all, in the last column, so no text is lost.

Example:
    >>> s = infer(["Contoso Ltd. (1999 - 2004)", "Northwind Traders (2001 - 2010)", "Fabrikam (2003)"])
    >>> s.delimiters, s.width, s.split("Contoso Ltd. (1999 - 2004)")
    ('()-', 3, ['Contoso Ltd.', '1999', '2004'])
    >>> s.split("Fabrikam (2003)")
    ['Fabrikam', '2003', None]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue, NoProgramFound
from .transforms import require_columns

if TYPE_CHECKING:
    import pandas as pd

CANDIDATES = ",;|\t/()[]{}-_:=+&#@~^*"  # the order breaks ties
CLOSERS = ")]}"
QUOTES = "\"'"
MAX_FIELDS = 20
PRESENT = 0.5  # share of rows that must hold a character for it to be a delimiter
STEADY = 0.95  # share of rows whose count of spaces must agree for spaces to split beside others


def _outside_quotes(text: str) -> list[tuple[str, bool]]:
    # Each character with whether it lies outside a quoted part ("a, b" in "x,"a, b",y").
    out, quote = [], None
    for k, c in enumerate(text):
        starts = quote is None and c in QUOTES and (k == 0 or not text[k - 1].isalnum())
        if starts and text.find(c, k + 1) > 0:
            quote = c
            out.append((c, False))
        elif quote is not None:
            out.append((c, False))
            if c == quote:
                quote = None
        else:
            out.append((c, True))
    return out


def _counts(text: str) -> Counter[str]:
    return Counter(c for c, free in _outside_quotes(text) if free and (c in CANDIDATES or c == " "))


@dataclass(frozen=True)
class Splitter:
    """Splits a text at any of ``delimiters`` (outside quotes) into at most ``width`` fields."""

    delimiters: str
    width: int

    def split(self, text: str | None) -> list[str | None]:
        """The fields of ``text``, stripped and unquoted; None for the ones it lacks.

        Example:
            >>> Splitter(",", 3).split('Smith, "Ada, Countess", 1815')
            ['Smith', 'Ada, Countess', '1815']
        """
        if text is None:
            return [None] * self.width
        fields: list[str] = []
        start, prev, cut = 0, "", False
        for k, (c, free) in enumerate(_outside_quotes(text)):
            if not free or c not in self.delimiters:
                continue
            piece = text[start:k].strip()
            if not piece and (c in "([{" or prev in CLOSERS):
                start, prev = k + 1, c  # a bracket opens or has closed a field: no empty one between
                continue
            if len(fields) == self.width - 1:
                cut = True  # the rest, delimiters and all, stays in the last field
                break
            fields.append(_unquote(piece))
            start, prev = k + 1, c
        rest = text[start:].strip()
        if cut and rest[-1:] in CLOSERS and rest.count(rest[-1]) > rest.count("([{"[CLOSERS.index(rest[-1])]):
            rest = rest[:-1].rstrip()  # the closer of a bracket opened before the rest
        if rest or (prev not in CLOSERS and start > 0):
            fields.append(_unquote(rest))
        return [*fields, *([None] * (self.width - len(fields)))][: self.width]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in QUOTES:
        return text[1:-1]
    return text


def _inner_spaces(text: str, delimiters: str) -> int:
    # Spaces outside quotes that do not pad one of the delimiters ("a - b" has none).
    marks = _outside_quotes(text)
    n = 0
    for k, (c, free) in enumerate(marks):
        if c == " " and free:
            near = {marks[k - 1][0] if k else "", marks[k + 1][0] if k + 1 < len(marks) else ""}
            n += not (near & set(delimiters + " ")) and 0 < k < len(marks) - 1
    return n


def infer(values: Sequence[str | None], max_fields: int = MAX_FIELDS) -> Splitter:
    """The delimiters and field count that fit the column's ``values`` (missing ones skipped).

    Raises NoProgramFound when no character splits most of the rows.

    Example:
        >>> infer(["a;b;c", "d;e", "f;g;h"]).width
        3
    """
    texts = [v for v in values if isinstance(v, str) and v.strip()]
    if not texts:
        raise NoProgramFound("the column has no values to split")
    counts = [_counts(t) for t in texts]
    present = Counter(c for cnt in counts for c in cnt)
    chosen = "".join(c for c in CANDIDATES if present[c] >= PRESENT * len(texts))
    if not chosen and present[" "] >= PRESENT * len(texts):
        chosen = " "  # words are the fields only when nothing else splits the column
    elif chosen:
        # Beside other delimiters, a space splits only when every row has as many of them
        # (a date and a time), not a company's name of one or two words.
        spaces = Counter(_inner_spaces(t, chosen) for t in texts)
        ((n, rows),) = spaces.most_common(1)
        if n and rows >= STEADY * len(texts):
            chosen += " "
    if not chosen:
        found = ", ".join(f"{c!r} in {present[c]}" for c, _ in present.most_common(3)) or "none"
        raise NoProgramFound(
            f"no delimiter splits most of the {len(texts)} rows (characters found: {found}); "
            "use split_column_by_example"
        )
    # Brackets pair up: an opener without its closer in the set would leave a stray bracket.
    for o, c in ("()", "[]", "{}"):
        if (o in chosen) != (c in chosen) and present[o] and present[c]:
            chosen = "".join(sorted(set(chosen) | {o, c}, key=CANDIDATES.index))
    probe = Splitter(chosen, max_fields)
    width = max(sum(f is not None for f in probe.split(t)) for t in texts)
    return Splitter(chosen, max(width, 1))


def from_example(value: str, parts: Sequence[str]) -> Splitter | None:
    """The splitter that one example row implies: the characters between its parts (outside
    the parts themselves) are the delimiters. None when the parts are not in the value in order,
    are not separated by delimiters, or splitting at them does not give the parts back.

    Example:
        >>> from_example("Lovelace, Ada (1815)", ["Lovelace", "Ada", "1815"]).delimiters
        ',()'
    """
    at, gaps = 0, []
    for part in parts:
        k = value.find(part, at) if part else -1
        if k < 0:
            return None
        gaps.append(value[at:k])
        at = k + len(part)
    gaps.append(value[at:])
    chars = {c for g in gaps for c in g if not c.isspace()}
    inner = gaps[1:-1]
    if any(not g.strip() and g != " " for g in inner) or any(c.isalnum() for c in chars):
        return None
    if not chars:
        chars = {" "} if all(g == " " for g in inner) else set()
    if not chars or not chars <= set(CANDIDATES) | {" "}:
        return None
    order = CANDIDATES + " "
    splitter = Splitter("".join(sorted(chars, key=order.index)), len(parts))
    return splitter if splitter.split(value) == list(parts) else None


@dataclass
class AutoSplit:
    """New columns holding the fields of ``column``, split at its delimiters (see the module)."""

    column: str
    new_columns: list[str]
    delimiters: str
    kind: str = "split_delimited"
    examples: list[tuple[str, list[str]]] = field(default_factory=list)
    seen: int = field(default=0, compare=False)  # of the last apply: rows with a value,
    missed: int = field(default=0, compare=False)  # and those with fewer fields than columns

    def __post_init__(self) -> None:
        ok = isinstance(self.delimiters, str) and self.delimiters and set(self.delimiters) <= set(CANDIDATES + " ")
        if not ok:
            raise InvalidValue(f"split_delimited: delimiters must be some of {CANDIDATES!r} or a space")
        if not self.new_columns or not all(isinstance(c, str) for c in self.new_columns):
            raise InvalidValue("split_delimited: new_columns must be a non-empty list of names")

    @property
    def splitter(self) -> Splitter:
        return Splitter(self.delimiters, len(self.new_columns))

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        from .steps import column_lists

        require_columns(df, [self.column], self.kind)
        values = column_lists(df, [self.column])[0]
        split = self.splitter.split
        done = {v: split(v) for v in set(values)}  # a column repeats its values
        rows = [done[v] for v in values]
        result = df.copy()
        for k, name in enumerate(self.new_columns):
            result[name] = [r[k] for r in rows]
        self.seen = sum(v is not None for v in values)
        self.missed = sum(v is not None and None in r for v, r in zip(values, rows, strict=True))
        return result

    def describe(self) -> str:
        shown = " ".join(repr(c) for c in self.delimiters)
        return f"split {self.column!r} at {shown} into {', '.join(map(repr, self.new_columns))}"

    def to_data(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "column": self.column,
            "new_columns": self.new_columns,
            "delimiters": self.delimiters,
            "examples": [[v, list(p)] for v, p in self.examples],
        }

    def python(self, n: int) -> tuple[str, list[str]]:
        import inspect

        name = f"split_{n}"
        source = "\n".join(inspect.getsource(f) for f in (_outside_quotes, _unquote))
        body = inspect.getsource(Splitter.split).replace("self.width", "width").replace("self.delimiters", "delims")
        body = body.replace(
            "def split(self, text: str | None) -> list[str | None]:", "def _split(text, delims, width):"
        )
        body = "\n".join(ln[4:] if ln.startswith("    ") else ln for ln in body.split("\n"))
        consts = f"QUOTES = {QUOTES!r}\nCLOSERS = {CLOSERS!r}\n"
        func = f"{consts}\n\n{source}\n\n{body}"
        cols = repr(self.new_columns)
        return func, [
            f"_{name} = [_split(None if pd.isna(v) else str(v), {self.delimiters!r}, {len(self.new_columns)}) "
            f"for v in df[{self.column!r}]]",
            f"df[{cols}] = pd.DataFrame(_{name}, index=df.index, columns={cols})",
        ]
