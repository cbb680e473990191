"""The metric side of the store: packed series in, history and latest values out.

:class:`MetricStore` is the base of :class:`~aml_jupyter.store.sql.runs.RunStore`; it owns the
metric tables (``metric_keys``, ``metric_chunks``, ``latest_metrics``) and their hot statements.
"""

from __future__ import annotations

import importlib
import time
from array import array
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, and_, bindparam, select

from ...entities.records import encode_value
from ...entities.series import Series, from_le_bytes, latest_index, to_le_bytes
from ...errors import AttemptSuperseded, StoreError
from . import schema as t
from .database import Database, Prepared

Point = tuple[int, str, int, float, int]  # run_pk, key, step, value, timestamp_ms
BATCH_IDS_KEPT_MS = 86_400_000
T = TypeVar("T")


def now_ms() -> int:
    """The current time in integer milliseconds since the epoch.

    Example:
        >>> now_ms() > 1_600_000_000_000
        True
    """
    return int(time.time() * 1000)


def _group_points(points: Sequence[Point]) -> list[Series]:
    # Single logged points become one packed series per run and key, in logging order.
    groups: dict[tuple[int, str], tuple[list[int], list[float], list[int]]] = {}
    for run_pk, key, step, value, ts in points:
        g = groups.get((run_pk, key))
        if g is None:
            g = groups[(run_pk, key)] = ([], [], [])
        g[0].append(step)
        g[1].append(value)
        g[2].append(ts)
    return [Series(rk[0], rk[1], array("q", g[0]), array("d", g[1]), array("q", g[2])) for rk, g in groups.items()]


ATTEMPT_TAG = "aml.attempt"  # which attempt of a job owns the run now (jobs/execute.py)


class MetricStore:
    """Writes and reads of metric points for one :class:`Database`."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._key_ids: dict[str, int] = {}
        # Runs this process writes for as one attempt of a job (AML_ATTEMPT), and those whose
        # attempt was superseded by a retry: see check_fences.
        self.fences: dict[int, str] = {}
        self.superseded: set[int] = set()
        # The dialect's own INSERT (for ON CONFLICT); only the one in use is imported.
        self._insert = importlib.import_module(f"sqlalchemy.dialects.{db.engine.dialect.name}").insert
        chunk_cols = ("run_pk", "key_id", "min_step", "max_step", "count", "steps", "vals", "times")
        self._insert_chunks = Prepared(db, t.metric_chunks.insert().values({c: bindparam(c) for c in chunk_cols}))
        self._latest_upsert = Prepared(db, self._build_latest_upsert())

    def write_metrics(
        self,
        points: Sequence[Point] = (),
        series: Sequence[Series] = (),
        then: Callable[[Connection], T] | None = None,
        batch_id: str | None = None,
    ) -> T | None:
        """Store points and packed series, advance the latest values, and run ``then(conn)``,
        all in one transaction (so a run's last points and its end commit together). With
        ``batch_id`` (a writer's flush to a server store), the batch is marked in the same
        transaction, and one already marked is not stored again: a commit whose answer was lost
        with the connection is retried without counting its points twice."""
        if not points and not series and then is None:
            return None

        def write(conn: Connection) -> T | None:
            if points or series:
                run_pks = {p[0] for p in points} | {s.run_pk for s in series}
                if batch_id is None or not self._marked(conn, run_pks, batch_id):
                    if self.fences:  # only a job's process has any: the logging path skips the set
                        self.check_fences(conn, run_pks)
                    self._write_series(conn, [*_group_points(points), *series])
            return then(conn) if then is not None else None

        return self.db.write(write)

    def _marked(self, conn: Connection, run_pks: set[int], batch_id: str) -> bool:
        # Whether this flush was committed before; if not, mark it (each run keeps only its latest
        # writer mark: a retry is of the flush just before, never of an older one).
        b = t.metric_batches
        first = min(run_pks)
        seen = conn.execute(select(b.c.batch_id).where(and_(b.c.run_pk == first, b.c.batch_id == batch_id)))
        if seen.first() is not None:
            return True
        conn.execute(
            b.delete().where(and_(b.c.run_pk.in_(run_pks), b.c.batch_id.like("w-%"), b.c.batch_id != batch_id))
        )
        conn.execute(b.insert(), [{"run_pk": pk, "batch_id": batch_id, "points": 0, "at": now_ms()} for pk in run_pks])
        return False

    def write_batch_once(self, run_pk: int, batch_id: str, series: Sequence[Series]) -> bool:
        """Store a client's batch unless a batch of that id was stored for the run before, in one
        transaction with its id: whether it was stored now (False: a resend, already there).

        Example:
            >>> store.write_batch_once(run.pk, "b-1", [series])  # doctest: +SKIP
            True
            >>> store.write_batch_once(run.pk, "b-1", [series])  # sent again  # doctest: +SKIP
            False
        """
        b = t.metric_batches

        def write(conn: Connection) -> bool:
            seen = conn.execute(select(b.c.batch_id).where(and_(b.c.run_pk == run_pk, b.c.batch_id == batch_id)))
            if seen.first() is not None:
                return False
            n, at = sum(len(x) for x in series), now_ms()
            # A client sends a batch again within seconds, or minutes while the server is away:
            # ids older than a day are no longer needed (the table holds a day's batches a run).
            conn.execute(b.delete().where(and_(b.c.run_pk == run_pk, b.c.at < at - BATCH_IDS_KEPT_MS)))
            conn.execute(b.insert().values(run_pk=run_pk, batch_id=batch_id, points=n, at=at))
            self._write_series(conn, list(series))
            return True

        try:
            return bool(self.db.write(write))
        except StoreError:  # the same batch, sent twice at once, and the other one stored it?
            there = self.db.read(
                lambda c: c.execute(
                    select(b.c.batch_id).where(and_(b.c.run_pk == run_pk, b.c.batch_id == batch_id))
                ).first()
            )
            if there is None:
                raise
            return False

    def fence(self, run_pk: int, attempt: str) -> None:
        """Write for ``run_pk`` only while ``attempt`` is its current one (the ``aml.attempt`` tag).

        Example:
            >>> store.fence(run.pk, "1")  # doctest: +SKIP
        """
        self.fences[run_pk] = str(attempt)

    def check_fences(self, conn: Connection, run_pks: set[int]) -> None:
        """Inside a write: refuse it if a fenced run has moved on to another attempt.

        A Dask worker thought dead may leave its job's process running while the scheduler runs
        the job again elsewhere; without this, both would write the same run.
        """
        fenced = [pk for pk in run_pks if pk in self.fences]
        if not fenced:
            return
        q = select(t.tags.c.run_pk, t.tags.c.value).where(
            and_(t.tags.c.key == ATTEMPT_TAG, t.tags.c.run_pk.in_(fenced))
        )
        current = dict(conn.execute(q).all())
        for pk in fenced:
            now = current.get(pk, self.fences[pk])
            if now != self.fences[pk]:
                self.superseded.add(pk)
                raise AttemptSuperseded.taken_over(self.fences[pk], now, run_pk=pk)

    def _write_series(self, conn: Connection, all_series: list[Series]) -> None:
        ids = self._intern_keys(conn, {s.key for s in all_series})
        rows = []
        latest = []
        for s in all_series:
            key_id = ids[s.key]
            for lo in range(0, len(s), t.CHUNK_POINTS):
                steps = s.steps[lo : lo + t.CHUNK_POINTS]
                rows.append(
                    {
                        "run_pk": s.run_pk,
                        "key_id": key_id,
                        "min_step": min(steps),
                        "max_step": max(steps),
                        "count": len(steps),
                        "steps": to_le_bytes(steps),
                        "vals": to_le_bytes(s.values[lo : lo + t.CHUNK_POINTS]),
                        "times": to_le_bytes(s.times[lo : lo + t.CHUNK_POINTS]),
                    }
                )
            i = latest_index(s.steps)
            value, special = encode_value(s.values[i])
            latest.append(
                {
                    "run_pk": s.run_pk,
                    "key_id": key_id,
                    "step": s.steps[i],
                    "value": value,
                    "special": special,
                    "timestamp": s.times[i],
                }
            )
        self._insert_chunks.execute(conn, rows)
        self._latest_upsert.execute(conn, latest)

    def _build_latest_upsert(self) -> Any:
        lm = t.latest_metrics
        cols = ("run_pk", "key_id", "step", "value", "special", "timestamp")
        stmt = self._insert(lm).values({c: bindparam(c) for c in cols})
        return stmt.on_conflict_do_update(
            index_elements=["run_pk", "key_id"],
            set_={c: stmt.excluded[c] for c in ("step", "value", "special", "timestamp")},
            where=(stmt.excluded.step > lm.c.step)
            | and_(stmt.excluded.step == lm.c.step, stmt.excluded.timestamp >= lm.c.timestamp),
        )

    def _intern_keys(self, conn: Connection, keys: set[str]) -> dict[str, int]:
        missing = [k for k in keys if k not in self._key_ids]
        if missing:
            mk = t.metric_keys
            conn.execute(self._insert(mk).on_conflict_do_nothing(index_elements=["key"]), [{"key": k} for k in missing])
            for key, key_id in conn.execute(select(mk.c.key, mk.c.id).where(mk.c.key.in_(missing))):
                self._key_ids[key] = key_id
        return self._key_ids

    def metric_history(self, run_pk: int, key: str) -> tuple[array[int], array[float], array[int]]:
        """Every point of one metric as (steps, values, timestamps_ms) arrays, in logging order."""
        c, mk = t.metric_chunks, t.metric_keys
        q = (
            select(c.c.steps, c.c.vals, c.c.times)
            .join(mk, mk.c.id == c.c.key_id)
            .where(and_(c.c.run_pk == run_pk, mk.c.key == key))
            .order_by(c.c.id)
        )
        steps, values, times = array("q"), array("d"), array("q")
        for st, va, ti in self.db.read(lambda conn: conn.execute(q).all()):
            steps.extend(from_le_bytes("q", st))
            values.extend(from_le_bytes("d", va))
            times.extend(from_le_bytes("q", ti))
        return steps, values, times
