"""Logging to a run over HTTP, for a job that cannot reach the workspace file.

When ``AML_TRACKING_URI`` is ``http(s)://...``, ``aml.log`` and friends in the job write through
``aml server`` (:mod:`aml_jupyter.server`). Metrics are checked here, buffered and sent in batches
by a background thread; a batch that cannot be delivered stays buffered and is retried with the
same id, so a server restart loses nothing and counts nothing twice (the server stores a run's
batch of one id once), and ``flush()`` (called at exit) returns only once all is delivered.
"""

from __future__ import annotations

import atexit
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from ..entities.records import json_number
from ..entities.validation import check_point
from ..errors import AccessDenied, AmlError, AttemptSuperseded, InvalidInput, NotFound, RunStateError
from ..store.http import BATCH, TrackingClient

SEND_EVERY_S = 0.5
FLUSH_TIMEOUT_S = 60.0


class RemoteRun(TrackingClient):
    """The job's run, reached over HTTP; the same logging methods as :class:`~aml_jupyter.tracking.run.Run`.

    Example:
        >>> run = RemoteRun("http://10.0.0.5:8765", run_id, token="...")  # doctest: +SKIP
        >>> run.log("loss", 0.5); run.flush()  # doctest: +SKIP
    """

    _job_owned = True  # the launcher ends it

    def __init__(self, uri: str, run_id: str, token: str | None = None) -> None:
        super().__init__(uri, run_id, token)  # fails fast on a wrong address, token or run
        self._steps: dict[str, int] = {}
        self._lock = threading.Lock()
        self._sending = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.superseded: AttemptSuperseded | None = None
        threading.Thread(target=self._loop, daemon=True, name="aml-remote-writer").start()
        atexit.register(self.flush)

    # metrics ------------------------------------------------------------------------------------

    def log(self, key: str, value: Any, step: int | None = None, timestamp: float | None = None) -> None:
        """Log one metric point (buffered, sent within half a second)."""
        if self.superseded is not None:
            raise self.superseded  # a newer attempt of the job owns the run
        key, v, given, stamp = check_point(key, value, step, timestamp)
        ts = time.time_ns() // 1_000_000 if stamp is None else stamp
        with self._lock:
            step = self._steps.get(key, -1) + 1 if given is None else given
            self._steps[key] = max(step, self._steps.get(key, -1))
            full = self.queue_points([{"key": key, "value": json_number(v), "step": step, "timestamp": ts}]) >= BATCH
        if full:
            self._wake.set()

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None, timestamp: float | None = None) -> None:
        """Log several metrics at one step."""
        for key, value in dict(metrics).items():
            self.log(key, value, step, timestamp)

    def _send_some(self) -> None:
        with self._sending:
            try:
                self.send_batch()  # a batch the server may have stored goes again as it was
            except AttemptSuperseded as exc:
                self.superseded = exc  # refused for good: those points are dropped, and so are later ones
                raise
            # Any other failure: the batch stays as it is, id and all, and goes first next time.

    def _loop(self) -> None:
        delay = SEND_EVERY_S
        while not self._closed:
            self._wake.wait(delay)
            self._wake.clear()
            try:
                while self.points_waiting():
                    self._send_some()
                delay = SEND_EVERY_S
            except (OSError, AmlError):
                delay = min(delay * 2, 10.0)  # the server is away: back off, keep the points

    def flush(self) -> None:
        """Deliver every buffered point; raises if the server stays unreachable for a minute."""
        deadline = time.monotonic() + FLUSH_TIMEOUT_S
        while True:
            try:
                while True:
                    with self._sending:  # a batch the writer thread is sending counts until it lands
                        if not self.points_waiting():
                            return
                    self._send_some()
            except (OSError, AmlError) as exc:
                refused = isinstance(exc, InvalidInput | RunStateError | NotFound | AccessDenied)
                if refused or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    # params, tags, artifacts -------------------------------------------------------------------------

    def log_params(self, params: dict[str, Any]) -> None:
        """Log params (text, immutable)."""
        self._post("/params", {"params": {k: v if isinstance(v, str) else json.dumps(v) for k, v in params.items()}})

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def adopt_names(self, experiment: str | None, name: str | None) -> None:
        """The job's run takes the experiment and name its script asks for (where its submission named none)."""
        self._post("/names", {"experiment": experiment, "name": name})

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Any:
        """Upload a file as an artifact."""
        p = Path(path)
        if not p.is_file():
            raise InvalidInput(f"{path}: no such file to log as an artifact")
        return self.put_artifact(name or p.name, p.read_bytes())

    def log_text(self, text: str, name: str) -> Any:
        """Store text as an artifact."""
        return self.put_artifact(name, text.encode("utf-8"), "text/plain")

    def __enter__(self) -> RemoteRun:
        return self

    def __exit__(self, *exc: object) -> None:
        self.flush()

    def __repr__(self) -> str:
        return f"<RemoteRun {self.id[:8]} via {self.base}>"
