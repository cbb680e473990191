"""Buffered, durable metric logging: callers append to memory, one thread writes batches.

A logging call costs a validation and a list append. The writer thread commits whatever is
buffered every ``flush_interval`` seconds (or sooner when the buffer fills), so a SIGKILL loses at
most one interval and never a partial batch (each batch is one transaction). When the buffer holds
``max_buffered`` points, callers wait for the writer: memory stays bounded. ``flush()`` writes in
the caller's thread, optionally with more work in the same transaction (a run's end). The same
thread sends the heartbeats of the process's live runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from ..errors import AttemptSuperseded

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from ..entities.series import Series
    from .interfaces import RunStore
    from .sql.metrics import Point

log = logging.getLogger("aml_jupyter")
_writers: weakref.WeakSet[MetricWriter] = weakref.WeakSet()
T = TypeVar("T")


class MetricWriter:
    """The background writer of one store in one process.

    Example:
        >>> import tempfile, os
        >>> from aml_jupyter.store.sql.database import Database
        >>> from aml_jupyter.store.sql.runs import RunStore
        >>> store = RunStore(Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db")))
        >>> run = store.create_run(store.experiment_id("e", create=True), source_kind="python", user="u")
        >>> w = MetricWriter(store); w.add((run.pk, "loss", 0, 0.5, 0)); w.flush()
        >>> [a.tolist() for a in store.metric_history(run.pk, "loss")]
        [[0], [0.5], [0]]
    """

    def __init__(
        self,
        store: RunStore,
        flush_interval: float = 0.5,
        max_buffered: int = 100_000,
        heartbeat_interval: float = 10.0,
    ) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.max_buffered = max_buffered
        self.heartbeat_interval = heartbeat_interval
        self._buf: list[Point] = []
        self._series: list[Series] = []
        self._pending = 0  # points in _buf and _series
        self._cond = threading.Condition(threading.Lock())
        self._write_lock = threading.Lock()  # one batch at a time, in logging order
        self._wake = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.live_runs: set[int] = set()
        self._last_beat = 0.0
        # A server store's commit can succeed with its answer lost: flushes there carry an id.
        self._marks = not getattr(getattr(store, "db", None), "is_sqlite", True)
        self._unacked: tuple[str, list[Point], list[Series]] | None = None
        _writers.add(self)

    def watch(self, run_pk: int) -> None:
        """Send heartbeats for this run from now on (even while it logs nothing)."""
        with self._cond:
            self.live_runs.add(run_pk)
            if self._thread is None or not self._thread.is_alive():
                self._start()

    def add(self, point: Point) -> None:
        """Buffer one point; waits only when the buffer is full."""
        with self._cond:
            self._buf.append(point)
            self._pending += 1
            if self._thread is None:
                self._start()
            if self._pending >= self.max_buffered:
                self._wait_for_room()

    def add_series(self, series: Series) -> None:
        """Buffer a packed series (the batch API)."""
        with self._cond:
            self._series.append(series)
            self._pending += len(series)
            if self._thread is None:
                self._start()
            if self._pending >= self.max_buffered:
                self._wait_for_room()

    def _wait_for_room(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._start()  # a writer that died must not leave callers to fill memory
        self._wake = True
        self._cond.notify_all()
        while self._pending >= self.max_buffered and self._thread is not None and self._thread.is_alive():
            self._cond.wait(0.1)

    def _take(self) -> tuple[list[Point], list[Series]]:
        with self._cond:
            points, series = self._buf, self._series
            self._buf, self._series, self._pending = [], [], 0
            self._cond.notify_all()
            return points, series

    def _put_back(self, points: list[Point], series: list[Series]) -> None:
        with self._cond:
            self._buf[:0] = points  # keep logging order; nothing is dropped
            self._series[:0] = series
            self._pending += len(points) + sum(len(s) for s in series)

    def drop_run(self, run_pk: int) -> int:
        """Forget the points still buffered for one run (the store refused them for good: a run
        ending on a full disk); how many there were.

        Example:
            >>> writer.drop_run(run.pk)  # doctest: +SKIP
            120
        """
        with self._write_lock:
            return self._drop(run_pk)

    def _drop(self, run_pk: int) -> int:
        with self._cond:
            kept = [p for p in self._buf if p[0] != run_pk]
            series = [s for s in self._series if s.run_pk != run_pk]
            dropped = len(self._buf) - len(kept) + sum(len(s) for s in self._series if s.run_pk == run_pk)
            self._buf, self._series = kept, series
            held = 0
            if self._unacked is not None:
                batch_id, points, held_series = self._unacked
                points = [p for p in points if p[0] != run_pk]
                held_series = [s for s in held_series if s.run_pk != run_pk]
                self._unacked = (batch_id, points, held_series) if points or held_series else None
                held = len(points) + sum(len(s) for s in held_series)
            self._pending = len(kept) + sum(len(s) for s in series) + held
            self._cond.notify_all()
            return dropped

    def flush(self, then: Callable[[Connection], T] | None = None) -> T | None:
        """Commit everything buffered now, in this thread; ``then(conn)`` joins the transaction.

        On failure the points stay buffered (and are retried) and the error is raised. On a server
        store a failed flush is retried first and unchanged, under its id: if its commit had gone
        through (the connection lost only the answer), the store knows the id and skips it.
        """
        with self._write_lock:
            if self._unacked is not None:  # the flush whose commit may have happened goes first
                held_id, points, series = self._unacked
                try:
                    self.store.write_metrics(points, series, batch_id=held_id)
                except AttemptSuperseded as exc:
                    self._drop(exc.fields["run_pk"])
                    self.live_runs.discard(exc.fields["run_pk"])
                    raise
                self._unacked = None
                self._settle(len(points) + sum(len(x) for x in series))
            points, series = self._take()
            marked = self._marks and bool(points or series)
            batch_id: str | None = f"w-{os.urandom(16).hex()}" if marked else None
            try:
                return self.store.write_metrics(points, series, then=then, batch_id=batch_id)
            except AttemptSuperseded as exc:
                # That run's points are refused for good; the other runs' are tried again.
                self._put_back(points, series)
                self._drop(exc.fields["run_pk"])
                self.live_runs.discard(exc.fields["run_pk"])
                raise
            except BaseException:
                if batch_id is None:
                    self._put_back(points, series)
                else:
                    self._hold(batch_id, points, series)
                raise

    def _hold(self, batch_id: str, points: list[Point], series: list[Series]) -> None:
        # Kept aside as it was (counted as buffered, so callers still wait for room), id and all.
        with self._cond:
            self._unacked = (batch_id, points, series)
            self._pending += len(points) + sum(len(x) for x in series)

    def _settle(self, n: int) -> None:
        with self._cond:
            self._pending -= n
            self._cond.notify_all()

    def _start(self) -> None:
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="aml-metric-writer", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write everything still buffered and stop the thread."""
        try:
            self.flush()
        finally:
            with self._cond:
                self._closed = True
                self._cond.notify_all()
            thread, self._thread = self._thread, None
            if thread is not None and thread is not threading.current_thread():
                thread.join(timeout=10)

    def _loop(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_interval
                while not (self._closed or self._wake or self._pending >= self.max_buffered // 2):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                self._wake = False
                closing = self._closed
            if closing:
                return
            self._write_in_background()
            self._beat()

    def _write_in_background(self) -> None:
        try:
            self.flush()
        except AttemptSuperseded as exc:  # that run's points are gone for good; the rest go on
            self._error = exc
            log.error("aml_jupyter: %s", exc)
        except BaseException as exc:  # noqa: BLE001 - kept for the next flush; logged now
            self._error = exc
            log.warning("aml_jupyter: writing metrics failed (%s); they stay buffered and will be retried", exc)
            time.sleep(min(self.flush_interval, 0.5))
        else:
            self._error = None

    def _beat(self) -> None:
        now = time.monotonic()
        if self.live_runs and now - self._last_beat >= self.heartbeat_interval:
            self._last_beat = now
            try:
                self.store.heartbeat(sorted(self.live_runs))
            except Exception as exc:  # noqa: BLE001 - a missed beat is retried next interval
                log.warning("aml_jupyter: heartbeat failed: %s", exc)


def _after_fork_in_child() -> None:
    # The child must not re-write the parent's buffered points, and has no writer thread.
    for writer in list(_writers):
        writer._buf, writer._series, writer._pending = [], [], 0
        writer._unacked = None
        writer._thread = None
        writer._cond = threading.Condition(threading.Lock())
        writer._write_lock = threading.Lock()
        writer.live_runs = set()
        writer.store.after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
