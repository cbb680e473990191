"""Buffered, durable metric logging: callers append to memory, one thread writes batches.

A logging call costs a validation and a list append. The writer thread commits whatever is
buffered every ``flush_interval`` seconds (or sooner when the buffer fills), so a SIGKILL loses at
most one interval and never a partial batch (each batch is one transaction). When the buffer holds
``max_buffered`` points, callers wait for the writer: memory stays bounded. The same thread sends
the heartbeats of the process's live runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import TYPE_CHECKING

from ..errors import StoreError

if TYPE_CHECKING:
    from .store import Point, RunStore

log = logging.getLogger("aml_jupyter")
_writers: weakref.WeakSet[MetricWriter] = weakref.WeakSet()


class MetricWriter:
    """The background writer of one store in one process.

    Example:
        >>> import tempfile, os
        >>> from aml_jupyter.tracking.database import Database
        >>> from aml_jupyter.tracking.store import RunStore
        >>> store = RunStore(Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db")))
        >>> run = store.create_run(store.experiment_id("e", create=True), source_kind="python", user="u")
        >>> w = MetricWriter(store); w.add((run.pk, "loss", 0, 0.5, 0)); w.flush()
        >>> store.metric_history(run.pk, "loss")
        [(0, 0.5, 0)]
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
        self._cond = threading.Condition(threading.Lock())
        self._queued = 0  # points ever added
        self._written = 0  # points ever committed
        self._flush_wanted = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self.live_runs: set[int] = set()
        self._last_beat = 0.0
        _writers.add(self)

    def add(self, point: Point) -> None:
        """Buffer one point; waits only when the buffer is full."""
        with self._cond:
            self._buf.append(point)
            self._queued += 1
            if self._thread is None:
                self._start()
            if len(self._buf) >= self.max_buffered:
                self._wait_for_room()

    def add_many(self, points: list[Point]) -> None:
        """Buffer many points at once (the batch API)."""
        with self._cond:
            self._buf.extend(points)
            self._queued += len(points)
            if self._thread is None:
                self._start()
            if len(self._buf) >= self.max_buffered:
                self._wait_for_room()

    def _wait_for_room(self) -> None:
        self._flush_wanted = True
        self._cond.notify_all()
        while len(self._buf) >= self.max_buffered and self._thread_alive():
            self._raise_if_failed()
            self._cond.wait(0.1)

    def flush(self, timeout: float | None = None) -> None:
        """Block until every point added before this call is committed; raise if writing fails."""
        with self._cond:
            target = self._queued
            if self._written >= target:
                self._raise_if_failed()
                return
            if not self._thread_alive():
                self._start()
            self._flush_wanted = True
            self._cond.notify_all()
            deadline = None if timeout is None else time.monotonic() + timeout
            while self._written < target:
                self._raise_if_failed()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise StoreError(f"metrics were not written within {timeout} s")
                self._cond.wait(0.05 if left is None else min(left, 0.05))

    def _raise_if_failed(self) -> None:
        if self._error is not None:
            err, self._error = self._error, None
            raise StoreError(f"writing metrics failed: {err}; they stay buffered and will be retried") from err

    def _thread_alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

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
            if self._thread is not None and self._thread is not threading.current_thread():
                self._thread.join(timeout=10)
            self._thread = None

    def _loop(self) -> None:
        while True:
            with self._cond:
                deadline = time.monotonic() + self.flush_interval
                while not (self._closed or self._flush_wanted or len(self._buf) >= self.max_buffered // 2):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._cond.wait(left)
                batch, self._buf = self._buf, []
                self._flush_wanted = False
                closing = self._closed
            if batch:
                self._write(batch)
            self._beat()
            if closing:
                with self._cond:
                    if not self._buf:
                        return

    def _write(self, batch: list[Point]) -> None:
        try:
            self.store.write_metrics(batch)
        except BaseException as exc:  # noqa: BLE001 - kept and re-raised in the caller's thread
            log.warning("aml_jupyter: writing %d metric points failed (%s); will retry", len(batch), exc)
            with self._cond:
                self._buf[:0] = batch  # keep order; nothing is dropped
                self._error = exc
                self._cond.notify_all()
            time.sleep(min(self.flush_interval, 0.5))
            return
        with self._cond:
            self._written += len(batch)
            self._error = None
            self._cond.notify_all()

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
        writer._buf = []
        writer._queued = writer._written = 0
        writer._thread = None
        writer._cond = threading.Condition(threading.Lock())
        writer.live_runs = set()
        writer.store.db.engine.dispose(close=False)


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
