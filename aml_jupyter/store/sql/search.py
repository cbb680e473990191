"""Searching runs: filters and order-by terms compiled to one SQL query, results as DataFrames.

Each clause on a metric, param or tag joins its own alias of the latest-metrics, params or tags
table, so the database does the filtering and sorting (with its indexes), never Python.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, and_, exists, or_, select
from sqlalchemy.sql.elements import ColumnElement

from ...entities.filter import TEXT, Clause, OrderKey, parse_filter, parse_order_by
from ...entities.query import RunQuery
from ...entities.records import SUMMARY_KEYS, decode_value, json_number, split_system
from ...errors import InvalidValue
from . import schema as t
from .database import Database, fetch_all

if TYPE_CHECKING:
    import pandas as pd


MAX_RESULTS = 1_000_000
_PARENT = t.runs.alias("parent")
# The frame's columns are MLflow's (run_id); the JSON shape's keys are the same, named id there.
ATTRIBUTE_COLUMNS = ("run_id", *SUMMARY_KEYS[1:])


def _like_glob(pattern: str) -> str:
    # SQLite's LIKE ignores ASCII case; GLOB is case-sensitive, as LIKE must be.
    out = []
    for ch in pattern:
        out.append({"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}.get(ch, ch))
    return "".join(out)


class QueryBuilder:
    """Builds the SELECT of run primary keys for a filter, experiments and order.

    Example:
        >>> QueryBuilder(is_sqlite=True).build("metrics.acc > 0.9", None, ["metrics.acc DESC"], 10) is not None
        True
    """

    def __init__(self, is_sqlite: bool) -> None:
        self.is_sqlite = is_sqlite
        self.runs = t.runs
        self.n = 0
        self.inner_metrics: dict[str, Any] = {}  # metric key -> its alias joined by a filter

    def build(
        self, filter: str | None, experiment_ids: list[int] | None, order_by: list[str] | str | None, max_results: int
    ) -> Select[Any]:
        clauses = parse_filter(filter)
        orders = parse_order_by(order_by)
        r, e = t.runs, t.experiments
        q = select(r.c.pk).select_from(r.join(e, e.c.id == r.c.experiment_id))
        if experiment_ids is not None:
            q = q.where(r.c.experiment_id.in_(experiment_ids))
        for clause in clauses:
            q = self._apply(q, clause)
        order_cols = []
        for o in orders:
            q, col = self._order_col(q, o)
            if o.entity == "metric" and o.key in self.inner_metrics:
                # A metric the filter compares has no NULLs in these rows, so NULLS LAST changes
                # nothing; without it PostgreSQL can walk the (key, value) index backwards for a
                # DESC order and stop at the page's end instead of sorting every match.
                order_cols.append(col.desc() if o.descending else col.asc())
                continue
            order_cols.append((col.desc() if o.descending else col.asc()).nulls_last())
        order_cols.append(r.c.start_time.desc())
        order_cols.append(r.c.pk.desc())
        return q.order_by(*order_cols).limit(max_results)

    def _alias(self, table: Any) -> Any:
        self.n += 1
        return table.alias(f"{table.name}_{self.n}")

    def _attr_col(self, key: str) -> ColumnElement[Any]:
        if key == "experiment":
            return t.experiments.c.name
        if key == "parent_id":  # a run's children: `attributes.parent_id = 'ID'`
            parent = t.runs.alias("parent_run")
            return select(parent.c.id).where(parent.c.pk == self.runs.c.parent_pk).scalar_subquery()
        return self.runs.c[key]

    def _compare(self, col: Any, op: str, value: Any) -> ColumnElement[bool]:
        out: ColumnElement[bool] = self._comparison(col, op, value)
        return out

    def _comparison(self, col: Any, op: str, value: Any) -> Any:
        if op == "=":
            return col == value
        if op == "!=":
            return col != value
        if op == "<":
            return col < value
        if op == "<=":
            return col <= value
        if op == ">":
            return col > value
        if op == ">=":
            return col >= value
        if op == "LIKE":
            return col.op("GLOB")(_like_glob(value)) if self.is_sqlite else col.like(value)
        if op == "ILIKE":
            return col.ilike(value)
        if op == "IN":
            return col.in_(list(value))
        if op == "NOT IN":
            return col.not_in(list(value))
        raise InvalidValue(f"unknown operator {op}")

    def _apply(self, q: Select[Any], c: Clause) -> Select[Any]:
        r = self.runs
        if c.entity == TEXT:  # in the name or a tag's value, any case; or the start of the id
            pattern = "%" + re.sub(r"([\\%_])", r"\\\1", c.value) + "%"
            tag = t.tags.alias(f"text_tags_{self.n}")
            self.n += 1
            in_a_tag = exists().where(tag.c.run_pk == r.c.pk, tag.c.value.ilike(pattern, escape="\\"))
            return q.where(or_(r.c.name.ilike(pattern, escape="\\"), r.c.id.startswith(c.value.lower()), in_a_tag))
        if c.entity == "attribute":
            value = c.value
            if c.key in ("start_time", "end_time"):
                value = int(value)
            return q.where(self._compare(self._attr_col(c.key), c.op, value))
        if c.entity == "metric":
            lm = self._alias(t.latest_metrics)
            key_id = select(t.metric_keys.c.id).where(t.metric_keys.c.key == c.key).scalar_subquery()
            q = q.join(lm, and_(lm.c.run_pk == r.c.pk, lm.c.key_id == key_id))
            self.inner_metrics.setdefault(c.key, lm)
            return q.where(self._compare(lm.c.value, c.op, c.value))
        table = t.params if c.entity == "param" else t.tags
        a = self._alias(table)
        q = q.join(a, and_(a.c.run_pk == r.c.pk, a.c.key == c.key))
        return q.where(self._compare(a.c.value, c.op, c.value))

    def _order_col(self, q: Select[Any], o: OrderKey) -> tuple[Select[Any], ColumnElement[Any]]:
        r = self.runs
        if o.entity == "attribute":
            return q, self._attr_col(o.key)
        if o.entity == "metric":
            if o.key in self.inner_metrics:
                # Ordered by a metric the filter already joined: the same rows, so SQLite can walk
                # that metric's (key, value) index in order and stop at the page's end, not sort all.
                return q, self.inner_metrics[o.key].c.value
            lm = self._alias(t.latest_metrics)
            key_id = select(t.metric_keys.c.id).where(t.metric_keys.c.key == o.key).scalar_subquery()
            return q.outerjoin(lm, and_(lm.c.run_pk == r.c.pk, lm.c.key_id == key_id)), lm.c.value
        table = t.params if o.entity == "param" else t.tags
        a = self._alias(table)
        return q.outerjoin(a, and_(a.c.run_pk == r.c.pk, a.c.key == o.key)), a.c.value


def check_max_results(max_results: object) -> int:
    """Validate the page size.

    Example:
        >>> check_max_results(100)
        100
    """
    if isinstance(max_results, bool) or not isinstance(max_results, int) or not 1 <= max_results <= MAX_RESULTS:
        raise InvalidValue(f"max_results must be an integer from 1 to {MAX_RESULTS:,}, got {max_results!r}")
    return max_results


def _fetch_page(db: Database, query: RunQuery) -> tuple[list[int], list[Any], list[Any], list[Any], list[Any]]:
    # The page's pks in order, then its runs' attributes, params, tags and latest metrics.
    offset, max_results = query.offset, query.max_results
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidValue(f"offset must be a whole number of runs, not {offset!r}")
    ids = list(query.experiment_ids) if query.experiment_ids is not None else None
    page = QueryBuilder(db.is_sqlite).build(query.filter, ids, list(query.order_by), check_max_results(max_results))
    if offset:
        page = page.offset(offset)
    page_sq = page.subquery("page")
    r, e = t.runs, t.experiments
    parent = _PARENT

    def fetch(conn: Any) -> tuple[Any, ...]:
        if not db.is_sqlite and max_results <= 1000:
            # A page stops early on an index; PostgreSQL's parallel workers take longer to start
            # (tens of ms) than such a query runs. Only for this transaction.
            conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather = 0")
        pks = [row[0] for row in fetch_all(conn, page)]
        if not pks:
            return pks, [], [], [], []
        # A short page is named by its keys; a long one by re-running the page query inside.
        in_page: Any = pks if len(pks) <= 500 else select(page_sq.c.pk)
        runs = fetch_all(
            conn,
            select(
                r.c.pk,
                r.c.id,
                e.c.name,
                r.c.name,
                r.c.status,
                r.c.user,
                r.c.start_time,
                r.c.end_time,
                r.c.source_kind,
                r.c.source_path,
                r.c.compute_target,
                r.c.snapshot_id,
                parent.c.id,
            )
            .join(e, e.c.id == r.c.experiment_id)
            .outerjoin(parent, parent.c.pk == r.c.parent_pk)
            .where(r.c.pk.in_(in_page)),
        )
        params = fetch_all(
            conn, select(t.params.c.run_pk, t.params.c.key, t.params.c.value).where(t.params.c.run_pk.in_(in_page))
        )
        tags = fetch_all(
            conn, select(t.tags.c.run_pk, t.tags.c.key, t.tags.c.value).where(t.tags.c.run_pk.in_(in_page))
        )
        lm, mk = t.latest_metrics, t.metric_keys
        metrics = fetch_all(
            conn,
            select(lm.c.run_pk, mk.c.key, lm.c.value, lm.c.special)
            .join(mk, mk.c.id == lm.c.key_id)
            .where(lm.c.run_pk.in_(in_page)),
        )
        return pks, runs, params, tags, metrics

    pks, runs, params, tags, metrics = db.read(fetch)
    by_pk = {row[0]: row for row in runs}
    return pks, [by_pk[pk] for pk in pks], params, tags, metrics


def search_records(db: Database, query: RunQuery) -> list[dict[str, Any]]:
    """A search's runs as listings' JSON shape (:func:`~aml_jupyter.entities.records.run_summary`),
    in order, without a DataFrame: what the CLI and the REST API list.

    Example:
        >>> q = RunQuery("metrics.acc > 0.9", max_results=10)
        >>> [r["id"] for r in search_records(ws.store.db, q)]  # doctest: +SKIP
        ['4f1c...']
    """
    pks, runs, params, tags, metrics = _fetch_page(db, query)
    out: dict[int, dict[str, Any]] = {}
    for row in runs:
        out[row[0]] = {**dict(zip(SUMMARY_KEYS, row[1:], strict=True)), "params": {}, "metrics": {}, "tags": {}}
    for pk, key, value in params:
        out[pk]["params"][key] = value
    for pk, key, value in tags:
        out[pk]["tags"][key] = value
    for pk, key, value, special in metrics:
        number = value if special == 0 else decode_value(value, special)
        if number is not None and number == number:  # a listing leaves NaN out, as its frame shows it
            out[pk]["metrics"][key] = json_number(number)
    listed = []
    for run_pk in pks:
        record = out[run_pk]
        mine, machine = split_system(dict(sorted(record["metrics"].items())))
        its_tags = dict(sorted(record.pop("tags").items()))
        # In the order of a run's one JSON shape: the machine's metrics after the user's.
        listed.append({**record, "params": dict(sorted(record["params"].items())), "metrics": mine})
        listed[-1].update(system_metrics=machine, tags=its_tags)
    return listed


def search_frame(db: Database, query: RunQuery) -> pd.DataFrame:
    """Run a search and return one row per run, with params/metrics/tags as prefixed columns;
    the query's ``offset`` skips that many matching runs first (pages of the REST API)."""
    import numpy as np
    import pandas as pd

    pks, ordered, params, tags, metrics = _fetch_page(db, query)
    n = len(pks)
    pos = {pk: i for i, pk in enumerate(pks)}
    data: dict[str, Any] = {}
    for j, col in enumerate(ATTRIBUTE_COLUMNS, start=1):
        data[col] = [row[j] for row in ordered]
    for col in ("start_time", "end_time"):
        data[col] = pd.to_datetime(pd.Series(data[col], dtype="float64"), unit="ms", utc=True)
    extra: dict[str, Any] = {}
    for prefix, rows in (("params.", params), ("tags.", tags)):
        for pk, key, value in rows:
            texts = extra.get(prefix + key)
            if texts is None:
                texts = extra[prefix + key] = [None] * n
            texts[pos[pk]] = value
    metric_cols: dict[str, Any] = {}
    for pk, key, value, special in metrics:
        numbers = metric_cols.get(key)
        if numbers is None:
            numbers = metric_cols[key] = np.full(n, np.nan)
        numbers[pos[pk]] = value if special == 0 else decode_value(value, special)
    for key in sorted(metric_cols):
        data["metrics." + key] = metric_cols[key]
    for key in sorted(extra):
        data[key] = extra[key]
    return pd.DataFrame(data)


def best_run_pk(db: Database, experiment_id: int, metric: str, goal: str) -> int | None:
    """The pk of the completed run with the best latest value of ``metric`` (NaN never wins)."""
    if goal not in ("max", "min"):
        raise InvalidValue(f"goal must be 'max' or 'min', not {goal!r}")
    order = [f"metrics.`{metric}` {'DESC' if goal == 'max' else 'ASC'}"]
    q = QueryBuilder(db.is_sqlite).build("attributes.status = 'completed'", [experiment_id], order, 1)
    lm = t.latest_metrics
    key_id = select(t.metric_keys.c.id).where(t.metric_keys.c.key == metric).scalar_subquery()
    has_value = select(lm.c.run_pk).where(and_(lm.c.key_id == key_id, lm.c.value.is_not(None)))
    q = q.where(t.runs.c.pk.in_(has_value))
    return db.read(lambda c: c.execute(q).scalar())
