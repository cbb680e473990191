"""Flow: a recipe (a source and steps) that learns steps by example and runs on pandas or Dask."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue, NoProgramFound
from ..paths import atomic_write_bytes
from . import synth
from .autosplit import AutoSplit, from_example
from .clusters import Clusters, ReplaceClusters, cluster_values
from .expand import ExpandJson, keys_of
from .join import Join
from .profile import Profile, profile_frame
from .sources import IN_MEMORY, frame_spec, held_frame, is_dask_frame, read_frame, source_spec, sql_spec
from .steps import Columns, Derive, Split, Step, column_strings, step_from_data
from .transforms import Convert, Dedupe, Expression, Fill, Filter, Replace, Sort, Summarize

if TYPE_CHECKING:
    import pandas as pd

FORMAT = "aml-dprep"
VERSION = 3  # 2: dates, times, numbers as values; 3: lookups, auto-split; 1 and 2 still load
SAMPLE_ROWS = 2000  # rows read to steer learning and to check rows


@dataclass(frozen=True)
class Flow:
    """A data preparation recipe. Every method that adds a step returns a new Flow.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "people.csv"
        >>> _ = p.write_text("first,last\\nAda,Lovelace\\nalan,turing\\ngrace,hopper\\n")
        >>> flow = read(str(p)).derive_column_by_example(
        ...     source_columns=["first", "last"], new_column="initials",
        ...     examples=[({"first": "Ada", "last": "Lovelace"}, "A.L."),
        ...               ({"first": "alan", "last": "turing"}, "A.T.")])
        >>> flow.to_pandas()["initials"].tolist()
        ['A.L.', 'A.T.', 'G.H.']
    """

    source: dict[str, Any]
    steps: tuple[Step, ...] = field(default=())
    # The DataFrame an in-memory source reads (from_pandas, from_dask): the recipe keeps it alive,
    # and it goes when the last recipe over it does.
    held: Any = field(default=None, compare=False, repr=False)

    # building --------------------------------------------------------------------------------

    def _with(self, step: Step) -> Flow:
        return replace(self, steps=(*self.steps, step))

    def derive_column_by_example(
        self,
        source_columns: list[str],
        new_column: str,
        examples: list[tuple[dict[str, str], str]],
        timeout: float = 2.0,
    ) -> Flow:
        """Add a column computed by a program learned from ``examples`` of (inputs by column, output)."""
        cols = list(source_columns)
        if not cols or not all(isinstance(c, str) for c in cols):
            raise InvalidValue("source_columns must be a non-empty list of column names")
        frame = self._sample_frame()
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InvalidValue(f"no column {missing[0]!r} (have {list(frame.columns)})")
        if new_column in frame.columns:
            raise InvalidValue(f"column {new_column!r} exists already; choose another name")
        pairs = []
        for n, ex in enumerate(examples):
            try:
                inputs, output = ex
                row = [inputs[c] for c in cols]
            except (TypeError, ValueError, KeyError) as exc:
                raise InvalidValue(f"example {n} must be ({{column: value}} for {cols}, output): {exc}") from None
            pairs.append((row, output))
        rows = [r for r in column_strings(frame, cols) if None not in r]
        known = {tuple(r) for r in rows}
        whole = len(frame) < SAMPLE_ROWS  # a sample cut short cannot tell that a row is missing
        for n, (row, _) in enumerate(pairs):
            if whole and tuple(row) not in known:
                raise InvalidValue(f"example {n}'s inputs {row!r} are not a row of the data", example=n)
        program = synth.learn(pairs, unlabeled=rows, timeout=timeout)
        return self._with(Derive(cols, new_column, [(dict(zip(cols, r, strict=True)), o) for r, o in pairs], program))

    def split_column_by_example(
        self,
        column: str,
        examples: list[tuple[str, list[str]]],
        new_columns: list[str] | None = None,
        timeout: float = 2.0,
    ) -> Flow:
        """Split ``column`` into several, learned from one or two examples of (value, [parts])."""
        if not examples:
            raise InvalidValue("split_column_by_example needs at least one example")
        widths = {len(parts) for _, parts in examples}
        if len(widths) != 1 or 0 in widths:
            raise InvalidValue("every example must give the same, non-zero number of parts")
        width = widths.pop()
        names = new_columns or [f"{column}_{i + 1}" for i in range(width)]
        if len(names) != width:
            raise InvalidValue(f"{width} parts but {len(names)} new column names")
        frame = self._sample_frame()
        if column not in frame.columns:
            raise InvalidValue(f"no column {column!r} (have {list(frame.columns)})")
        _check_new(frame, names)
        # Parts cut at delimiters (the text between them in the example): split every row there.
        cuts = {from_example(v, parts) for v, parts in examples}
        if len(cuts) == 1 and None not in cuts:
            splitter = cuts.pop()
            assert splitter is not None
            pairs = [(v, list(p)) for v, p in examples]
            return self._with(AutoSplit(column, names, splitter.delimiters, examples=pairs))
        rows = [r for r in column_strings(frame, [column]) if r[0] is not None]
        programs = []
        for k in range(width):
            try:
                programs.append(
                    synth.learn([([v], parts[k]) for v, parts in examples], unlabeled=rows, timeout=timeout)
                )
            except NoProgramFound as exc:
                raise NoProgramFound(f"part {k + 1} ({names[k]!r}): {exc}", part=k) from None
        return self._with(Split(column, names, [(v, list(p)) for v, p in examples], programs))

    def split_column(self, column: str, new_columns: list[str] | None = None, max_fields: int = 20) -> Flow:
        """Split ``column`` into fields found from its values, with no examples (auto-split):
        the delimiters most rows hold, brackets closing fields, quoted parts kept whole.

        Example:
            >>> import tempfile, pathlib
            >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.csv"
            >>> _ = p.write_text("supplier\\nContoso Ltd. (1999 - 2004)\\nFabrikam (2001 - 2010)\\n")
            >>> read(str(p)).split_column("supplier").to_pandas().iloc[0].tolist()
            ['Contoso Ltd. (1999 - 2004)', 'Contoso Ltd.', '1999', '2004']
        """
        from .autosplit import infer

        frame = self._sample_frame()
        if column not in frame.columns:
            raise InvalidValue(f"no column {column!r} (have {list(frame.columns)})")
        splitter = infer([r[0] for r in column_strings(frame, [column])], max_fields=max_fields)
        names = new_columns or [f"{column}_{i + 1}" for i in range(splitter.width)]
        if len(names) != splitter.width:
            raise InvalidValue(f"the values split into {splitter.width} fields but {len(names)} names were given")
        _check_new(frame, names)
        return self._with(AutoSplit(column, names, splitter.delimiters))

    def keep_columns(self, columns: list[str]) -> Flow:
        """Keep only these columns, in this order."""
        return self._with(Columns("keep", list(columns)))

    def drop_columns(self, columns: list[str]) -> Flow:
        """Drop these columns."""
        return self._with(Columns("drop", list(columns)))

    def rename_columns(self, mapping: dict[str, str]) -> Flow:
        """Rename columns ({old: new})."""
        return self._with(Columns("rename", dict(mapping)))

    def filter(self, *conditions: tuple[str, str, Any]) -> Flow:
        """Keep rows where every condition holds: ``("age", ">", 30)``, ``("city", "contains", "par")``,
        ``("email", "notnull", None)``."""
        return self._with(Filter([tuple(c) for c in conditions]))

    def replace_values(self, column: str, old: Any, new: Any) -> Flow:
        """Replace whole values ``old`` with ``new`` in ``column``."""
        return self._with(Replace(column, old, new))

    def cluster_text(self, column: str, threshold: float = 0.8) -> Clusters:
        """Group the near-duplicate values of ``column`` (``threshold``: similarity 0-1), each group
        with its counts and a proposed canonical value (its most common member); nothing changes
        until :meth:`replace_clusters`. A column of more than 20,000 distinct values shows its
        progress.

        Example:
            >>> clusters = flow.cluster_text("city", threshold=0.8)  # doctest: +SKIP
            >>> clusters.to_frame().head()  # doctest: +SKIP
               cluster canonical     value  rows
            0        0  New York  New York   120
            1        0  New York  new york    14
        """
        df = self.to_pandas()
        if column not in df.columns:
            raise InvalidValue(f"cluster_text: no column {column!r} (have {list(df.columns)})")
        return Clusters(column, threshold, cluster_values(df[column], threshold))

    def replace_clusters(
        self, clusters: Clusters, only: list[int] | None = None, canonical: dict[int, str] | None = None
    ) -> Flow:
        """Replace the values of the accepted clusters (all, or those numbered in ``only``) by their
        canonical value (or the one given in ``canonical``): a recorded step, re-run on new data.

        Example:
            >>> flow = flow.replace_clusters(clusters, only=[0, 2], canonical={2: "Boston"})  # doctest: +SKIP
        """
        if not isinstance(clusters, Clusters):
            raise InvalidValue("replace_clusters takes what cluster_text returned")
        mapping = clusters.mapping(only, canonical)
        if not mapping:
            raise InvalidValue("no value to replace: the accepted clusters are empty")
        return self._with(ReplaceClusters(clusters.column, mapping))

    def expand_json(self, column: str, keys: list[str] | None = None, prefix: str | None = None) -> Flow:
        """Turn the JSON objects of ``column`` into columns, one per top-level key (all found in the
        data, or ``keys``), named ``prefix`` + key (default ``column.``). Rows that hold no JSON
        object get missing values and are counted (``describe()`` says how many).

        Example:
            >>> flow.expand_json("payload").to_pandas().columns[-2:].tolist()  # doctest: +SKIP
            ['payload.user', 'payload.score']
        """
        df = self.to_pandas()
        if column not in df.columns:
            raise InvalidValue(f"expand_json: no column {column!r} (have {list(df.columns)})")
        found = list(keys) if keys is not None else keys_of(df[column])
        if not found:
            raise InvalidValue(f"expand_json: no value of {column!r} is a JSON object")
        return self._with(ExpandJson(column, [str(k) for k in found], f"{column}." if prefix is None else prefix))

    def fill_missing(self, column: str, value: Any) -> Flow:
        """Fill the missing values of ``column`` with ``value``."""
        return self._with(Fill(column, value))

    def convert(self, column: str, to: str, format: str | None = None) -> Flow:
        """Convert ``column`` to 'number', 'date' (``format`` as in strptime), 'boolean' or 'string'."""
        return self._with(Convert(column, to, format))

    def drop_duplicates(self, columns: list[str] | None = None) -> Flow:
        """Drop duplicate rows, judged on ``columns`` (default: all)."""
        return self._with(Dedupe(list(columns) if columns else None))

    def sort(self, columns: list[str], descending: bool = False) -> Flow:
        """Sort rows by ``columns``."""
        return self._with(Sort(list(columns), descending))

    def summarize(self, by: list[str], aggregations: dict[str, str]) -> Flow:
        """Group by ``by`` and aggregate: ``{"amount": "sum", "id": "count"}``."""
        return self._with(Summarize(list(by), dict(aggregations)))

    def join(
        self, other: Flow, on: list[str] | None = None, right_on: list[str] | None = None, how: str = "left"
    ) -> Flow:
        """Merge with ``other``'s result. Without ``on``, the key pair whose values overlap most is
        used when it covers at least half of this recipe's values (else the error lists candidates)."""
        if on is None:
            from .join import suggest_keys

            found = suggest_keys(self._sample_frame(), other._sample_frame())
            if not found or found[0][2] < 0.5:
                raise InvalidValue(f"no clear join key; candidates (left, right, overlap): {found}")
            on, right_on = [found[0][0]], [found[0][1]]
        return self._with(Join(other, list(on), list(right_on or on), how))

    def add_column_python(self, new_column: str, expression: str) -> Flow:
        """A column from your own Python expression over ``df`` (with ``pd`` and ``np``), e.g.
        ``"df.price * df.qty"``. A saved recipe holding one loads only with ``trust=True``."""
        return self._with(Expression(new_column, expression))

    def register(self, name: str, workspace: Any = None) -> Any:
        """Record this recipe as a version of dataset ``name`` in the workspace (for lineage);
        ``dp.get_dataset(name).to_pandas()`` inside a run records it as the run's input."""
        from .datasets import register

        self._refuse_in_memory("registered as a dataset")
        return register(self, name, workspace)

    def _refuse_in_memory(self, done: str) -> None:
        # Its data lives in this process alone: a file or a dataset of it would not hold it.
        if self.source["format"] == IN_MEMORY:
            name = self.source.get("variable", "df")
            raise InvalidValue(
                f"a recipe over the DataFrame {name!r} in memory cannot be {done}: its data is in no file. "
                f"Write it to one ({name}.to_parquet('{name}.parquet')) and start from dp.read('{name}.parquet'), "
                "or paste flow.to_python() into your notebook"
            )

    # running -------------------------------------------------------------------------------------

    def _sample_frame(self) -> pd.DataFrame:
        spec = dict(self.source, sample=min(self.source.get("sample") or SAMPLE_ROWS, SAMPLE_ROWS))
        frame = read_frame(spec)
        for step in self.steps:
            frame = step.apply(frame)
        return frame

    def to_pandas(self) -> pd.DataFrame:
        """Read the source and run every step with pandas; warns (UnansweredRowsWarning) with the
        count when a by-example step gives rows with all their inputs no answer."""
        frame = read_frame(self.source)
        for step in self.steps:
            frame = step.apply(frame)
        self._warn_unanswered()
        return frame

    def _warn_unanswered(self, where: str = "") -> None:
        from .trust import warn_unanswered

        for n, step in enumerate(self.steps, start=1):
            if isinstance(step, Derive | Split | AutoSplit):
                made = step.new_column if isinstance(step, Derive) else ", ".join(step.new_columns)
                what = "had fewer fields than columns" if isinstance(step, AutoSplit) else None
                warn_unanswered(f"step {n} ({made!r})", step.missed, step.seen, where, *([what] if what else []))

    def to_dask(self, npartitions: int | None = None) -> Any:
        """The same recipe as a lazy Dask DataFrame: each step runs per partition."""
        import dask.dataframe as dd

        spec = self.source
        if spec["format"] == IN_MEMORY and is_dask_frame(held_frame(spec)):
            ddf = held_frame(spec)
        elif spec["format"] == "csv" and not spec.get("sample") and "://" not in spec["path"]:
            ddf = dd.read_csv(
                spec["path"],
                sep=spec["delimiter"],
                encoding=spec["encoding"],
                header=0 if spec["header"] else None,
                blocksize="16MB",
            )
            if not spec["header"]:
                ddf.columns = [f"column{i + 1}" for i in range(len(ddf.columns))]
        elif spec["format"] == "parquet" and not spec.get("sample") and "://" not in spec["path"]:
            ddf = dd.read_parquet(spec["path"])
        else:
            ddf = dd.from_pandas(read_frame(spec), npartitions=npartitions or 2)  # type: ignore[no-untyped-call]
        for step in self.steps:
            meta = step.apply(ddf._meta)
            ddf = ddf.map_partitions(step.apply, meta=meta)
        if any(isinstance(s, Derive | Split | AutoSplit) for s in self.steps):
            # The frame is lazy: the count comes from the sample the steps were learned on.
            self._sample_frame()
            self._warn_unanswered(f" (in a sample: the first {SAMPLE_ROWS:,})")
        return ddf

    def _learned_step(self, column: str | None) -> int:
        found = [
            i
            for i, s in enumerate(self.steps)
            if isinstance(s, Derive | Split | AutoSplit)
            and (column is None or column == getattr(s, "new_column", None) or column in getattr(s, "new_columns", ()))
        ]
        if not found:
            raise InvalidValue("check_rows needs a by-example step" + (f" making {column!r}" if column else ""))
        return found[-1]

    def check_rows(self, limit: int = 20, column: str | None = None) -> pd.DataFrame:
        """Rows of a sample (the first 2,000) that a by-example step may have wrong: confirm these.

        The step is the last one, or the one making ``column``. Columns: the step's inputs,
        ``output``, ``reason`` (``no answer``, ``date order``, ``shape`` or ``unsure``, the most
        serious first), ``why`` in words, and ``alternatives`` (what the runners-up give). The
        frame's ``attrs["counts"]`` counts every flagged row of the sample by reason, past ``limit``.

        Example:
            >>> flow.check_rows()[["output", "reason", "why"]]  # doctest: +SKIP
        """
        import pandas as pd

        from .trust import REASONS, review, review_split

        at = self._learned_step(column)
        frame = replace(self, steps=self.steps[:at])._sample_frame()
        step = self.steps[at]
        if isinstance(step, AutoSplit):
            cols = [step.column]
            rows = column_strings(frame, cols)
            flags = review_split(step.splitter, rows)
        elif isinstance(step, Derive):
            cols, programs = step.source_columns, [step.program]
            examples: list[tuple[list[str], Any]] = [([i[c] for c in cols], o) for i, o in step.examples]
        else:
            assert isinstance(step, Split)
            cols, programs = [step.column], step.programs
            examples = [([v], parts) for v, parts in step.examples]
        if not isinstance(step, AutoSplit):
            rows = column_strings(frame, cols)
            flags = review(programs, rows, examples)
        out = [
            {
                **dict(zip(cols, rows[f["row"]], strict=True)),
                **{k: f[k] for k in ("output", "reason", "why", "alternatives")},
            }
            for f in sorted(flags, key=lambda f: REASONS.index(f["reason"]))[:limit]
        ]
        result = pd.DataFrame(out, columns=[*cols, "output", "reason", "why", "alternatives"])
        result.attrs["counts"] = {r: sum(f["reason"] == r for f in flags) for r in REASONS}
        return result

    def describe(self) -> str:
        """The recipe's steps in words, one a line; a lookup says how many rows of a sample have
        values it has not seen.

        Example:
            >>> print(flow.describe())  # doctest: +SKIP
            1. derive 'state' from 'code': a lookup of 2 values ('NY' -> 'New York', ...); 3 rows have
            values it has not seen
        """
        from .synth.program import Lookup

        lines = []
        for n, step in enumerate(self.steps, start=1):
            if isinstance(step, AutoSplit | Columns | ReplaceClusters | ExpandJson):
                if isinstance(step, ExpandJson):
                    replace(self, steps=self.steps[:n])._sample_frame()  # counts the rows with no object
                text = step.describe()
            elif isinstance(step, Derive | Split):
                text = step.describe()
                programs = [step.program] if isinstance(step, Derive) else step.programs
                if any(isinstance(p.root, Lookup) for p in programs):
                    replace(self, steps=self.steps[:n])._sample_frame()  # counts step's misses on the sample
                    rows = "1 row has" if step.missed == 1 else f"{step.missed} rows have"
                    text += f"; {rows} values it has not seen"
            else:
                data = step.to_data()
                text = f"{data.pop('kind')} " + json.dumps(data, ensure_ascii=False, default=str)[:200]
            lines.append(f"{n}. {text}")
        return "\n".join(lines)

    def profile(self, engine: str = "pandas") -> Profile:
        """Per-column type, missing, distinct, min/max/mean, histogram and top values; with
        ``engine="dask"`` computed over :meth:`to_dask`, partition by partition.

        Example:
            >>> flow.profile(engine="dask").to_frame()  # doctest: +SKIP
        """
        if engine == "dask":
            from .profile import profile_dask

            return profile_dask(self.to_dask())
        if engine != "pandas":
            raise InvalidValue(f"engine must be 'pandas' or 'dask', not {engine!r}")
        return profile_frame(self.to_pandas())

    # saving and exporting --------------------------------------------------------------------

    def to_data(self) -> dict[str, Any]:
        return {"format": FORMAT, "version": VERSION, "source": self.source, "steps": [s.to_data() for s in self.steps]}

    def save(self, path: str | Path) -> None:
        """Write the recipe as a versioned, diff-friendly JSON file (no pickles)."""
        self._refuse_in_memory("saved")
        text = json.dumps(self.to_data(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
        atomic_write_bytes(path, text.encode("utf-8"))

    def to_python(self) -> str:
        """The whole recipe as readable pandas code that gives the same result; a recipe over a
        DataFrame in memory starts from the variable it was given as (``from_pandas(df, name=...)``)."""
        from .sources import check_source
        from .synth.program import helper_source

        s = check_source(self.source, trust=True, memory=True)  # its values become code: their types are checked
        if s["format"] == IN_MEMORY:
            read = f"df = {s['variable']}.copy()"  # the notebook's own frame, left as it is
            if is_dask_frame(held_frame(s)):
                read = f"df = {s['variable']}.compute()"
        elif s["format"] == "csv":
            nrows = f", nrows={int(s['sample'])!r}" if s.get("sample") else ""
            read = (
                f"df = pd.read_csv({s['path']!r}, sep={s['delimiter']!r}, encoding={s['encoding']!r}, "
                f"header={0 if s['header'] else None!r}{nrows})"
            )
        elif s["format"] == "parquet":
            read = f"df = pd.read_parquet({s['path']!r})"
        elif s["format"] == "excel":
            read = f"df = pd.read_excel({s['path']!r}, sheet_name={s.get('sheet', 0)!r})"
        elif s["format"] == "sql":
            sql = s["query"] or f"SELECT * FROM {s['table']}"
            read = (
                "import os\nfrom sqlalchemy import create_engine, text\nfrom sqlalchemy.engine import make_url\n"
                f"_url = make_url({s['url']!r})\n"
                "if os.environ.get('AML_SQL_PASSWORD'):\n    _url = _url.set(password=os.environ['AML_SQL_PASSWORD'])\n"
                f"with create_engine(_url).connect() as _conn:\n    df = pd.read_sql(text({sql!r}), _conn)"
            )
        else:
            read = f"df = pd.read_json({s['path']!r}, lines=True)"
        funcs, body = [], [read]
        for n, step in enumerate(self.steps, start=1):
            func, lines = step.python(n)
            if func:
                funcs.append(func)
            body.extend(lines)
        rows_helper = (
            "def _rows(df, columns):\n"
            "    cols = [[None if pd.isna(v) else str(v) for v in df[c].tolist()] for c in columns]\n"
            "    return [list(r) for r in zip(*cols)]\n"
        )
        parts = ["import pandas as pd", helper_source() if funcs else "", rows_helper, *funcs, "\n".join(body)]
        return "\n\n".join(p for p in parts if p).rstrip() + "\n"


def _check_new(frame: pd.DataFrame, names: list[str]) -> None:
    taken = [n for n in names if n in frame.columns]
    if taken or len(set(names)) != len(names):
        raise InvalidValue(f"new column names must be new and distinct: {taken or names}")


def read(
    path: str | Path,
    sample: int | None = None,
    encoding: str | None = None,
    delimiter: str | None = None,
    header: bool | None = None,
    sheet: str | int = 0,
    allow_private_network: bool = False,
) -> Flow:
    """Start a recipe from a file (CSV/TSV with detection, Parquet, JSON lines, Excel): a local
    path, a glob, an object-store URL (s3://, gs://, abfs://, memory://) or an http(s) URL of a
    public host (``allow_private_network=True`` for a server in one's own network; see
    :mod:`aml_jupyter.dataprep.web`).

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.csv"; _ = p.write_text("a,b\\n1,2\\n")
        >>> read(str(p)).to_pandas().shape
        (1, 2)
    """
    return Flow(
        source_spec(
            str(path),
            sample=sample,
            encoding=encoding,
            delimiter=delimiter,
            header=header,
            sheet=sheet,
            allow_private_network=allow_private_network,
        )
    )


def from_pandas(frame: pd.DataFrame, name: str = "df") -> Flow:
    """Start a recipe from a pandas DataFrame in this process: learn columns by example on your
    own data where it is. ``name`` is the variable ``to_python()`` reads it from. The frame itself
    is never changed; such a recipe cannot be saved or registered (its data is in no file).

    Example:
        >>> import pandas as pd
        >>> people = pd.DataFrame({"name": ["Ada Lovelace", "Alan Turing", "Grace Hopper"]})
        >>> flow = from_pandas(people, "people").derive_column_by_example(
        ...     ["name"], "last", [({"name": "Ada Lovelace"}, "Lovelace")])
        >>> flow.to_pandas()["last"].tolist(), list(people.columns)
        (['Lovelace', 'Turing', 'Hopper'], ['name'])
    """
    import pandas as pd

    if not isinstance(frame, pd.DataFrame):
        raise InvalidValue(f"from_pandas needs a pandas DataFrame, not {type(frame).__name__} (a Dask one: from_dask)")
    return Flow(frame_spec(frame, name), held=frame)


def from_dask(frame: Any, name: str = "ddf") -> Flow:
    """Start a recipe from a Dask DataFrame: examples are learned on its first rows, and
    ``to_dask()`` runs every step per partition, lazily, on the frame itself.

    Example:
        >>> import dask.dataframe as dd, pandas as pd  # doctest: +SKIP
        >>> ddf = dd.from_pandas(pd.DataFrame({"code": ["a-1", "b-2"]}), npartitions=2)  # doctest: +SKIP
        >>> from_dask(ddf).to_dask().npartitions  # doctest: +SKIP
        2
    """
    if not is_dask_frame(frame):
        raise InvalidValue(f"from_dask needs a Dask DataFrame, not {type(frame).__name__} (a pandas one: from_pandas)")
    return Flow(frame_spec(frame, name), held=frame)


def read_sql(
    url: str, query: str | None = None, table: str | None = None, password: str | None = None, sample: int | None = None
) -> Flow:
    """Start a recipe from a SQL query or table through a SQLAlchemy URL. The password (in the URL
    or ``password=``) stays in this process; a saved recipe reads it from ``AML_SQL_PASSWORD``.

    Example:
        >>> read_sql("sqlite://", query="select 1 as one").to_pandas()["one"].tolist()
        [1]
    """
    return Flow(sql_spec(url, query=query, table=table, password=password, sample=sample))


def load(path: str | Path, trust: bool = False) -> Flow:
    """Open a recipe saved with :meth:`Flow.save`; a newer format or broken JSON is a clear error.
    A recipe holding a Python expression step loads only with ``trust=True``.

    Example:
        >>> load("/nonexistent.dprep")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidPath: cannot read /nonexistent.dprep: No such file or directory
    """
    from ..errors import InvalidPath

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidPath(f"cannot read {path}: {exc.strerror}", path=str(path)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InvalidValue(f"{path} is not a valid recipe file: {exc}", path=str(path)) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InvalidValue(f"{path} is not an aml_jupyter recipe (format {FORMAT!r})", path=str(path))
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InvalidValue(
            f"{path} is recipe format version {version}, newer than this aml_jupyter reads ({VERSION})", path=str(path)
        )
    return flow_from_data(data, trust=trust, where=str(path))


def flow_from_data(data: Any, trust: bool = False, where: str = "the recipe") -> Flow:
    """A Flow from its saved data (the body of a .dprep file), checked as :func:`load` does."""
    from .sources import check_source

    source = check_source(data.get("source") if isinstance(data, dict) else None, trust, where)
    steps = data.get("steps", [])
    if not isinstance(steps, list):
        raise InvalidValue(f"{where}: the recipe's steps are malformed")
    return Flow(source, tuple(step_from_data(s, trust=trust) for s in steps))
