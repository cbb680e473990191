"""What the Lab panels ask of many runs at once, answered by the database: the param, metric and
tag keys an experiment's runs hold (autocomplete, the column chooser), how many runs a filter
matches (the table's scroll bar) and runs grouped by a param or tag with the best value of a metric.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, func, select

from ...entities.filter import parse_order_by
from ...errors import InvalidValue
from . import schema as t
from .database import Database
from .search import MAX_RESULTS, QueryBuilder

MAX_KEYS = 2000
MAX_GROUPS = 500


def _matching(db: Database, filter: str | None, experiment_ids: list[int] | None) -> Any:
    # The pks a filter matches, as a subquery (unordered: grouping and counting need no order).
    return QueryBuilder(db.is_sqlite).build(filter, experiment_ids, None, MAX_RESULTS).order_by(None).subquery()


def run_keys(db: Database, experiment_ids: list[int] | None) -> dict[str, list[str]]:
    """The distinct param, metric and tag keys of these experiments' runs (every run's when None),
    sorted, at most ``MAX_KEYS`` of each.

    Example:
        >>> run_keys(ws.store, [1])  # doctest: +SKIP
        {'params': ['C', 'lr'], 'metrics': ['acc'], 'tags': ['aml.source']}
    """
    r, lm, mk = t.runs, t.latest_metrics, t.metric_keys

    def scoped(q: Any, pk_col: Any) -> Any:
        if experiment_ids is None:
            return q
        return q.where(pk_col.in_(select(r.c.pk).where(r.c.experiment_id.in_(experiment_ids))))

    queries = {
        "params": scoped(select(t.params.c.key).distinct(), t.params.c.run_pk),
        "tags": scoped(select(t.tags.c.key).distinct(), t.tags.c.run_pk),
        "metrics": scoped(select(mk.c.key).join(lm, lm.c.key_id == mk.c.id).distinct(), lm.c.run_pk),
    }

    def read(conn: Any) -> dict[str, list[str]]:
        out = {}
        for kind, q in queries.items():
            col = q.selected_columns[0]
            out[kind] = [str(k) for k in conn.execute(q.order_by(col).limit(MAX_KEYS)).scalars()]
        return out

    return db.read(read)


def count_runs(db: Database, filter: str | None, experiment_ids: list[int] | None) -> int:
    """How many runs a filter matches in these experiments.

    Example:
        >>> count_runs(ws.store, "metrics.acc > 0.9", None)  # doctest: +SKIP
        12
    """
    q = select(func.count()).select_from(_matching(db, filter, experiment_ids))
    return int(db.read(lambda c: c.execute(q).scalar_one()))


def group_runs(
    db: Database,
    filter: str | None,
    experiment_ids: list[int] | None,
    by: str,
    metric: str | None,
    goal: str = "max",
) -> list[dict[str, Any]]:
    """Matching runs grouped by one param or tag (``params.lr``): each value with its run count and
    the best latest value of ``metric`` among them; runs without the key form the group ``None``.
    Largest groups first, at most ``MAX_GROUPS``.

    Example:
        >>> group_runs(ws.store, None, None, "params.lr", "acc")  # doctest: +SKIP
        [{'value': '0.01', 'count': 40, 'best': 0.93}, {'value': '0.1', 'count': 38, 'best': 0.91}]
    """
    (key,) = parse_order_by(by)
    if key.entity not in ("param", "tag") or key.descending:
        raise InvalidValue(f"group by a param or a tag (params.KEY or tags.KEY), not {by!r}", name=by)
    if goal not in ("max", "min"):
        raise InvalidValue(f"goal must be 'max' or 'min', not {goal!r}", name=goal)
    pks = _matching(db, filter, experiment_ids)
    table = t.params if key.entity == "param" else t.tags
    value = table.c.value
    best: Any = func.max if goal == "max" else func.min
    src = pks.outerjoin(table, and_(table.c.run_pk == pks.c.pk, table.c.key == key.key))
    cols: list[Any] = [value, func.count()]
    if metric:
        lm, mk = t.latest_metrics, t.metric_keys
        key_id = select(mk.c.id).where(mk.c.key == metric).scalar_subquery()
        # A NaN or infinite latest value is stored apart (special != 0): it is never the best.
        src = src.outerjoin(lm, and_(lm.c.run_pk == pks.c.pk, lm.c.key_id == key_id, lm.c.special == 0))
        cols.append(best(lm.c.value))
    q = select(*cols).select_from(src).group_by(value).order_by(func.count().desc(), value).limit(MAX_GROUPS)
    rows = db.read(lambda c: c.execute(q).all())
    return [
        {
            "value": row[0],
            "count": int(row[1]),
            "best": (float(row[2]) if row[2] is not None else None) if metric else None,
        }
        for row in rows
    ]
