"""Logging to a run over HTTP: a job that cannot reach the workspace file, or a person whose SDK
logs to a server (``aml login``, :func:`~aml_jupyter.tracking.uri.set_tracking_uri`).

When ``AML_TRACKING_URI`` is ``http(s)://...``, ``aml.log`` and friends in the job write through
``aml server`` (:mod:`aml_jupyter.server`); ``aml.start_run`` on a laptop logged in to a server
creates its run there, beats its heartbeat and ends it. Metrics are checked here, buffered and sent in batches
by a background thread; a batch that cannot be delivered stays buffered and is retried with the
same id, so a server restart loses nothing and counts nothing twice (the server stores a run's
batch of one id once), and ``flush()`` (called at exit) returns only once all is delivered.
"""

from __future__ import annotations

import atexit
import json
import mimetypes
import os
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..entities.lifecycle import END_EVENTS, ENDED_BY, RunEvent, RunStatus, event_for_exit
from ..entities.media import figure_to_bytes, table_to_parquet
from ..entities.records import SPELLED, ArtifactRecord, json_number
from ..entities.validation import check_key, check_point
from ..errors import (
    AccessDenied,
    AmlError,
    ArtifactNotFound,
    AttemptSuperseded,
    InvalidInput,
    InvalidPath,
    InvalidValue,
    NotFound,
    RunStateError,
)
from ..paths import check_relative_name
from ..store.http import BATCH, ServerClient, TrackingClient

if TYPE_CHECKING:
    import pandas as pd

SEND_EVERY_S = 0.5
FLUSH_TIMEOUT_S = 60.0
HEARTBEAT_S = 15.0  # a person's run beats this often (the server's timeout is minutes)


class RemoteRunView(TrackingClient):
    """A run on a server, to read: what :func:`aml_jupyter.get_run` gives when the SDK works against
    a server; the same reading properties as :class:`~aml_jupyter.tracking.run.Run`.

    Example:
        >>> run = aml.get_run("1a2b3c4d")  # doctest: +SKIP
        >>> run.params, run.metric_history("loss").shape  # doctest: +SKIP
        ({'lr': '0.1'}, (100, 3))
    """

    _active = False

    def flush(self) -> None:
        """Nothing to deliver: a view only reads (:class:`RemoteRun` sends its buffered points)."""

    def refresh(self) -> RemoteRunView:
        """Read the run again from the server."""
        self.record = self._request("GET", "")
        return self

    def _now(self) -> dict[str, Any]:
        if self._active:
            self.flush()
            self.refresh()
        return self.record

    def to_dict(self) -> dict[str, Any]:
        """The run in its one JSON shape (the server's)."""
        return dict(self._now())

    @property
    def name(self) -> str:
        return str(self.record["name"])

    @property
    def experiment(self) -> str:
        return str(self.record["experiment"])

    @property
    def status(self) -> str:
        return str(self._now()["status"])

    @property
    def params(self) -> dict[str, str]:
        return dict(self._now()["params"])

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of every metric."""
        return _numbers(self._now()["metrics"])

    @property
    def system_metrics(self) -> dict[str, float]:
        return _numbers(self._now()["system_metrics"])

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._now()["tags"])

    @property
    def artifacts(self) -> list[ArtifactRecord]:
        return [
            ArtifactRecord(a["name"], a["digest"], a["size"], a["media_type"], a["created_at"])
            for a in self._now().get("artifacts") or []
        ]

    def metric_history(self, key: str) -> pd.DataFrame:
        """Every point of metric ``key``: a DataFrame with columns step, value, timestamp (UTC).

        Example:
            >>> run.metric_history("loss").columns.tolist()  # doctest: +SKIP
            ['step', 'value', 'timestamp']
        """
        import pandas as pd

        if self._active:
            self.flush()
        got = self.request("GET", f"/runs/{self.id}/metrics/{quote(check_key(key), safe='')}", query={"all": "true"})
        values = [SPELLED.get(v, v) if isinstance(v, str) else v for v in got["value"]]
        return pd.DataFrame(
            {
                "step": pd.Series(got["step"], dtype="int64"),
                "value": pd.Series(values, dtype="float64"),
                "timestamp": pd.to_datetime(pd.Series(got["timestamp"], dtype="int64"), unit="ms", utc=True),
            }
        )

    def artifact_bytes(self, name: str) -> bytes:
        """The content of artifact ``name``.

        Example:
            >>> run.artifact_bytes("report.txt")[:5]  # doctest: +SKIP
            b'hello'
        """
        if name not in {a.name for a in self.artifacts}:
            raise ArtifactNotFound(f"run {self.id[:8]} has no artifact {name!r}", run_id=self.id, name=name)
        data: bytes = self.request("GET", f"/runs/{self.id}/artifacts/{quote(name)}", raw=True)
        return data

    def __repr__(self) -> str:
        return f"<RemoteRunView {self.id[:8]} {self.record.get('experiment')}/{self.record.get('name')} via {self.uri}>"


class RemoteRun(RemoteRunView):
    """A run logged to over HTTP: a job's (its launcher ends it) or, from :meth:`start`, a person's
    (beats its heartbeat, ended by :meth:`end` or its ``with`` block); the same logging methods as
    :class:`~aml_jupyter.tracking.run.Run`.

    Example:
        >>> run = RemoteRun("http://10.0.0.5:8765", run_id, token="...")  # doctest: +SKIP
        >>> run.log("loss", 0.5); run.flush()  # doctest: +SKIP
    """

    _job_owned = True  # the launcher ends it
    _active = True

    def __init__(self, uri: str, run_id: str, token: str | None = None, record: dict[str, Any] | None = None) -> None:
        super().__init__(uri, run_id, token, record)  # fails fast on a wrong address, token or run
        self._steps: dict[str, int] = {}
        self._beat_at = time.monotonic()
        self._sampler: Any = None
        self._lock = threading.Lock()
        self._sending = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self.superseded: AttemptSuperseded | None = None
        threading.Thread(target=self._loop, daemon=True, name="aml-remote-writer").start()
        atexit.register(self.flush)

    @classmethod
    def start(
        cls,
        server: ServerClient,
        experiment: str,
        *,
        name: str | None = None,
        params: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        parent: str | None = None,
    ) -> RemoteRun:
        """Create a person's run on ``server`` (status running, under the token's user and role)
        and log to it: it beats its heartbeat, and :meth:`end` or its ``with`` block ends it.

        Example:
            >>> run = RemoteRun.start(ServerClient("http://10.0.0.5:8765", token), "iris")  # doctest: +SKIP
            >>> run.log("acc", 0.9); run.end()  # doctest: +SKIP
            'completed'
        """
        body: dict[str, Any] = {"experiment": experiment, "params": _texts(params or {}), "tags": _texts(tags or {})}
        if name is not None:
            body["name"] = name
        if parent is not None:
            body["parent"] = parent
        record = server.request("POST", "/runs", json.dumps(body).encode())
        run = cls(server.uri, record["id"], server.token, record)
        run._job_owned = False
        return run

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
                if not self._job_owned and time.monotonic() - self._beat_at > HEARTBEAT_S:
                    self._beat_at = time.monotonic()  # a person's run: nobody else tells the server it lives
                    self.heartbeat()
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
        self._post("/params", {"params": _texts(params)})

    def log_param(self, key: str, value: Any) -> None:
        self.log_params({key: value})

    def set_tag(self, key: str, value: Any) -> None:
        self.set_tags({key: value})

    def adopt_names(self, experiment: str | None, name: str | None) -> None:
        """The job's run takes the experiment and name its script asks for (where its submission named none)."""
        self._post("/names", {"experiment": experiment, "name": name})

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> Any:
        """Upload a file as artifact ``name`` (default: the file's name).

        Example:
            >>> run.log_artifact("model.pkl")  # doctest: +SKIP
        """
        p = Path(path)
        if not p.is_file():
            raise InvalidPath(f"log_artifact: {p} is not a file", path=str(p))
        logical = check_relative_name(name if name is not None else p.name, "artifact name")
        media = mimetypes.guess_type(logical)[0] or "application/octet-stream"
        return self.put_artifact(logical, p.read_bytes(), media)

    def log_artifacts(self, folder: str | os.PathLike[str], prefix: str | None = None) -> list[Any]:
        """Upload every file below ``folder``, named by its path relative to it (under ``prefix``).

        Example:
            >>> run.log_artifacts("outputs/", prefix="outputs")  # doctest: +SKIP
        """
        root = Path(folder)
        if not root.is_dir():
            raise InvalidPath(f"log_artifacts: {root} is not a folder", path=str(root))
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        names = [
            f"{prefix}/{p.relative_to(root).as_posix()}" if prefix else p.relative_to(root).as_posix() for p in files
        ]
        for n in names:
            check_relative_name(n, "artifact name")  # every name checked before any upload
        return [self.log_artifact(p, n) for p, n in zip(files, names, strict=True)]

    def log_text(self, text: str, name: str) -> Any:
        """Store text as the UTF-8 artifact ``name``."""
        if not isinstance(text, str):
            raise InvalidValue(f"log_text needs a str, not {type(text).__name__}")
        media = mimetypes.guess_type(name)[0] or "text/plain"
        return self.put_artifact(check_relative_name(name, "artifact name"), text.encode("utf-8"), media)

    def log_table(self, table: Any, name: str) -> Any:
        """Store a DataFrame as a Parquet artifact (``.parquet`` is added when missing)."""
        name = name if name.endswith(".parquet") else name + ".parquet"
        data = table_to_parquet(table)
        return self.put_artifact(check_relative_name(name, "artifact name"), data, "application/vnd.apache.parquet")

    def log_figure(self, figure: Any, name: str) -> Any:
        """Store a matplotlib figure as PNG or a plotly figure as HTML (suffix added when missing)."""
        data, suffix, media = figure_to_bytes(figure)
        name = name if name.lower().endswith(suffix) else name + suffix
        return self.put_artifact(check_relative_name(name, "artifact name"), data, media)

    # system metrics and the end ---------------------------------------------------------------------

    def _sample_system(self, interval: float) -> None:
        from ..entities.tags import gpus_tag
        from ..sysmetrics import Sampler

        def emit(values: dict[str, float], step: int, ts: int) -> None:
            self.queue_points(
                [{"key": k, "value": json_number(v), "step": step, "timestamp": ts} for k, v in values.items()]
            )

        self._sampler = Sampler(emit, interval, on_gpus=lambda gpus: self.set_tags(gpus_tag(gpus))).start()

    def end(
        self,
        status: str | RunStatus = RunStatus.COMPLETED,
        error: str | None = None,
        error_traceback: str | None = None,
    ) -> str:
        """Deliver every buffered point, then end the run completed, failed or cancelled; returns
        the final status. A job's run is ended by its launcher, not here.

        Example:
            >>> run.end("failed", error="diverged")  # doctest: +SKIP
            'failed'
        """
        from . import fluent

        if self._job_owned or not self._active:
            raise RunStateError(
                f"run {self.id[:8]} is not one this process started; it cannot end it here", run_id=self.id
            )
        event = END_EVENTS.get(RunStatus(status))
        if event is None:
            raise InvalidValue(f"a run ends completed, failed or cancelled, not {status}")
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop()  # its last sample goes with the run's last points
        self.flush()  # raises, run still live, when the server stays away past the flush budget
        body = {"event": event.value, "error": error, "traceback": error_traceback}
        final = str(self._request("POST", "/transition", json.dumps(body).encode())["status"])
        self._active = False
        self._closed = True
        self._wake.set()
        fluent._forget(self)  # type: ignore[arg-type]
        try:
            self.refresh()  # read as it ended: what it logged, its end time
        except (OSError, AmlError):
            self.record = {**self.record, "status": final}
        return final

    def close(self) -> None:
        """Deliver what is buffered and stop this handle's sender; the run itself goes on.

        Example:
            >>> RemoteRun(uri, run_id, token).close()  # doctest: +SKIP
        """
        try:
            self.flush()
        finally:
            self._closed = True
            self._wake.set()

    def __enter__(self) -> RemoteRun:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._job_owned or not self._active:
            self.flush()  # a job's run: its launcher ends it when the process does
            return
        event = event_for_exit(exc_type, exc.code if isinstance(exc, SystemExit) else None)
        status = ENDED_BY[event]
        error = text = None
        if exc is not None and event is not RunEvent.COMPLETE:
            error = f"{type(exc).__name__}: {exc}"
            text = "".join(traceback.format_exception(exc_type, exc, tb))
        self.end(status, error=error, error_traceback=text)

    def __repr__(self) -> str:
        return f"<RemoteRun {self.id[:8]} via {self.base}>"


def _numbers(values: dict[str, Any]) -> dict[str, float]:
    # JSON spells NaN and the infinities out (entities/records.json_number): read back as floats.
    return {k: SPELLED[v] if isinstance(v, str) else float(v) for k, v in values.items()}


def _texts(values: dict[str, Any]) -> dict[str, str]:
    # Params and tags are text, written as a local run writes them (entities/validation.param_to_str);
    # the server checks them with that same rule.
    return {str(k): v if isinstance(v, str) else str(v) for k, v in dict(values).items()}
