"""Text clustering of messy values (Workbench's "Text clustering"): near-duplicate values of a
column grouped, each group with its counts and a proposed canonical value, and the step that
replaces the accepted groups' values in a recipe.

Values are first grouped by a fingerprint (case, accents, punctuation, spacing and word order
ignored); the fingerprints are then compared with rapidfuzz within blocks that share a prefix or a
suffix, so 100,000 distinct values take seconds, not the hours every pair would.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from .transforms import require_columns

if TYPE_CHECKING:
    import pandas as pd

BLOCK = 3  # characters of the prefix and of the suffix a pair must share to be compared
MAX_BLOCK = 4000  # a larger block is cut by length first
_PUNCT = re.compile(r"[^\w\s]")


def fingerprint(value: str) -> str:
    """The value with case, accents, punctuation, spacing and word order ignored.

    Example:
        >>> fingerprint("  Café, Paris "), fingerprint("paris cafe")
        ('cafe paris', 'cafe paris')
    """
    text = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii")
    return " ".join(sorted(set(_PUNCT.sub(" ", text.casefold()).split())))


@dataclass
class Cluster:
    """A group of near-duplicate values: ``values`` (value, rows) most common first."""

    canonical: str
    values: list[tuple[str, int]]

    @property
    def rows(self) -> int:
        return sum(n for _, n in self.values)


@dataclass
class Clusters:
    """The groups :func:`cluster_values` found in one column, largest first.

    Example:
        >>> c = flow.cluster_text("city")  # doctest: +SKIP
        >>> c.to_frame().head(3)  # doctest: +SKIP
        >>> flow = flow.replace_clusters(c, only=[0, 1], canonical={1: "New York"})  # doctest: +SKIP
    """

    column: str
    threshold: float
    groups: list[Cluster] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.groups)

    def to_frame(self) -> pd.DataFrame:
        """One row per value: cluster, canonical, value, rows."""
        import pandas as pd

        rows = [(i, g.canonical, v, n) for i, g in enumerate(self.groups) for v, n in g.values]
        return pd.DataFrame(rows, columns=["cluster", "canonical", "value", "rows"])

    def mapping(self, only: list[int] | None = None, canonical: dict[int, str] | None = None) -> dict[str, str]:
        """value -> canonical for the accepted groups (all, or those in ``only``), with the
        canonical value of any group overridden by ``canonical``."""
        chosen = range(len(self.groups)) if only is None else only
        out: dict[str, str] = {}
        for i in chosen:
            if not 0 <= i < len(self.groups):
                raise InvalidValue(f"no cluster {i} (there are {len(self.groups)})")
            target = (canonical or {}).get(i, self.groups[i].canonical)
            out.update({v: target for v, _ in self.groups[i].values if v != target})
        return out

    def _repr_html_(self) -> str:
        rows = "".join(
            f"<tr><td>{i}</td><td><b>{html.escape(g.canonical)}</b></td><td>"
            + ", ".join(f"{html.escape(v)} ({n:,})" for v, n in g.values[:12])
            + (" ..." if len(g.values) > 12 else "")
            + f"</td><td>{g.rows:,}</td></tr>"
            for i, g in enumerate(self.groups[:200])
        )
        head = "<tr><th>cluster</th><th>canonical</th><th>values (rows)</th><th>rows</th></tr>"
        return f"<p>{len(self.groups):,} clusters in {html.escape(self.column)}</p><table>{head}{rows}</table>"


def cluster_values(
    s: pd.Series,
    threshold: float = 0.8,
    on_progress: Callable[[int, int], None] | None = None,
) -> list[Cluster]:
    """Group the near-duplicate values of ``s`` (similarity ``threshold`` from 0 to 1, rapidfuzz's
    normalized edit similarity of the fingerprints); groups of one value are left out.

    ``on_progress(done, total)`` hears how many blocks are compared (by default a line on stderr
    for a column of more than 20,000 distinct values).

    Example:
        >>> import pandas as pd
        >>> [(g.canonical, g.values) for g in cluster_values(pd.Series(["New York", "new york", "NY", "Boston"] * 2))]
        [('New York', [('New York', 2), ('new york', 2)])]
    """
    try:
        from rapidfuzz import fuzz, process
    except ImportError:
        raise InvalidValue("text clustering needs rapidfuzz: pip install 'aml_jupyter[fuzzy]'") from None
    if not 0 < threshold <= 1:
        raise InvalidValue(f"threshold must be above 0 and at most 1, not {threshold}")
    counts = s.dropna().astype(str).value_counts()
    if on_progress is None and len(counts) > 20_000:
        on_progress = _stderr_progress
    keys: dict[str, list[tuple[str, int]]] = {}
    for value, n in counts.items():
        keys.setdefault(fingerprint(str(value)), []).append((str(value), int(n)))
    names = list(keys)
    parent = list(range(len(names)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    blocks = _blocks(names)
    cutoff = threshold * 100
    for done, block in enumerate(blocks, start=1):
        texts = [names[i] for i in block]
        scores = process.cdist(texts, texts, scorer=fuzz.ratio, score_cutoff=cutoff, workers=1)
        for a, b in zip(*scores.nonzero(), strict=True):
            if a < b:
                ra, rb = find(block[a]), find(block[b])
                if ra != rb:
                    parent[rb] = ra
        if on_progress is not None and (done * 10 // len(blocks) != (done - 1) * 10 // len(blocks)):
            on_progress(done, len(blocks))
    groups: dict[int, list[tuple[str, int]]] = {}
    for i, name in enumerate(names):
        groups.setdefault(find(i), []).extend(keys[name])
    out = []
    for members in groups.values():
        if len(members) < 2:
            continue
        members.sort(key=_preferred)
        out.append(Cluster(members[0][0], members))
    out.sort(key=lambda g: (-g.rows, g.canonical))
    return out


def _preferred(vn: tuple[str, int]) -> tuple[Any, ...]:
    # The most common value; between equals, one without stray spaces, not all lower case, longer.
    value, n = vn
    return (-n, value != value.strip(), value.islower(), -len(value), value)


def _blocks(names: list[str]) -> list[list[int]]:
    # Fingerprints sharing their first or their last characters are compared; a block too big to
    # compare whole is cut into runs of similar length (an edit changes the length little).
    found: dict[tuple[str, str], list[int]] = {}
    for i, name in enumerate(names):
        found.setdefault(("p", name[:BLOCK]), []).append(i)
        found.setdefault(("s", name[-BLOCK:]), []).append(i)
    out = []
    for members in found.values():
        if len(members) < 2:
            continue
        if len(members) <= MAX_BLOCK:
            out.append(members)
            continue
        members.sort(key=lambda i: len(names[i]))
        step = MAX_BLOCK // 2  # overlapping runs: neighbours across a cut are still compared
        out.extend(members[k : k + MAX_BLOCK] for k in range(0, len(members) - step, step))
    return out


def _stderr_progress(done: int, total: int) -> None:
    print(f"\rclustering: {done:,} of {total:,} blocks compared", end="\n" if done == total else "", file=sys.stderr)


@dataclass
class ReplaceClusters:
    """Replace each value of ``mapping`` in ``column`` by its canonical value (accepted clusters)."""

    column: str
    mapping: dict[str, str]
    kind: str = "replace_clusters"

    def __post_init__(self) -> None:
        if not isinstance(self.mapping, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.mapping.items()
        ):
            raise InvalidValue("replace_clusters needs a mapping of text values to text values")

    def apply(self, df: pd.DataFrame) -> pd.DataFrame:
        require_columns(df, [self.column], self.kind)
        out = df.copy()
        s = out[self.column]
        mapped = s.map(self.mapping)  # a dict of 100,000 values: one hash lookup per row
        out[self.column] = mapped.where(mapped.notna(), s)
        return out

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "column": self.column, "mapping": self.mapping}

    def describe(self) -> str:
        groups = len(set(self.mapping.values()))
        sample = ", ".join(f"{k!r} -> {v!r}" for k, v in list(self.mapping.items())[:2])
        return f"replace {len(self.mapping)} values of {self.column!r} by {groups} canonical ones ({sample}, ...)"

    def python(self, n: int) -> tuple[str, list[str]]:
        name = f"CLUSTERS_{n}"
        return f"{name} = {self.mapping!r}\n", [
            f"_mapped = df[{self.column!r}].map({name})",
            f"df[{self.column!r}] = _mapped.where(_mapped.notna(), df[{self.column!r}])",
        ]
