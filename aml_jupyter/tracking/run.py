"""Run: a handle on one run, for logging while it is active and for reading it afterwards."""

from __future__ import annotations

import logging
import mimetypes
import os
import threading
import time
import traceback
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from ..entities.lifecycle import END_EVENTS, ENDED_BY, RunEvent, RunStatus, event_for_exit
from ..entities.media import figure_to_bytes, table_to_parquet
from ..entities.records import ArtifactRecord, RunRecord
from ..entities.series import Series, pack_steps, pack_times, pack_values
from ..entities.validation import (
    check_count,
    check_key,
    check_metric_value,
    check_name,
    check_point,
    check_step,
    check_timestamp,
    param_to_str,
)
from ..errors import AttemptSuperseded, InvalidPath, InvalidValue, RunStateError, StoreBusy, StoreError
from ..paths import check_relative_name

log = logging.getLogger("aml_jupyter")

if TYPE_CHECKING:
    import pandas as pd

    from ..workspace import Workspace


class Run:
    """One run. ``aml.start_run`` gives an active one; ``aml.get_run`` a read-only view.

    Example:
        >>> import tempfile, aml_jupyter as aml
        >>> ws = aml.Workspace.init(tempfile.mkdtemp())
        >>> with aml.start_run(experiment="iris", params={"C": 0.5}, workspace=ws) as run:
        ...     run.log("loss", 0.25)
        >>> aml.get_run(run.id, workspace=ws).metrics
        {'loss': 0.25}
    """

    def __init__(self, workspace: Workspace, record: RunRecord, active: bool = False) -> None:
        self.workspace = workspace
        self._record = record
        self.id = record.id
        self.pk = record.pk
        self._active = active
        self._job_owned = False  # True when start_run() inside a submitted job returned its run
        self._steps: dict[str, int] = {}
        self._lock = threading.Lock()
        self._writer = workspace.writer if active else None
        self._stale = False
        # Work logging to this run off the caller's thread (autolog saving a fitted model): waited
        # for before the run is flushed or ended, so nothing it logs is lost.
        self._pending: list[Any] = []
        self._sampler: Any = None  # what the machine does meanwhile (sysmetrics.py), when asked

    # reading ---------------------------------------------------------------------------------

    def refresh(self) -> Run:
        """Re-read the run from the store (flushing this process's buffered metrics first).

        Example:
            >>> run.refresh().status  # doctest: +SKIP
        """
        if self._writer is not None:
            self._writer.flush()
        from ..services.runs import get

        self._record = get(self.workspace, self.id)
        return self

    def to_dict(self) -> dict[str, Any]:
        """The run in its one JSON shape, as stored now (docs/guide.md, "JSON shapes").

        Example:
            >>> run.to_dict()["id"] == run.id  # doctest: +SKIP
            True
        """
        if self._writer is not None:
            self._writer.flush()
        from ..services.runs import show

        return show(self.workspace, self.id)

    @property
    def info(self) -> RunRecord:
        """The stored record as last read (see :meth:`refresh`)."""
        if self._stale:
            self._stale = False
            self._record = self.workspace.store.get_run(self.id)
        return self._record

    @property
    def name(self) -> str:
        return self.info.name

    @property
    def experiment(self) -> str:
        return self.info.experiment

    @property
    def status(self) -> str:
        return self.refresh()._record.status if self._active else self.info.status

    @property
    def params(self) -> dict[str, str]:
        return self.refresh()._record.params if self._active else self.info.params

    @property
    def metrics(self) -> dict[str, float]:
        """The latest value of every metric."""
        return self.refresh()._record.metrics if self._active else self.info.metrics

    @property
    def tags(self) -> dict[str, str]:
        return self.refresh()._record.tags if self._active else self.info.tags

    @property
    def system_metrics(self) -> dict[str, float]:
        """The latest value of every system metric (``system/...``: CPU, memory, disk, network, GPUs).

        Example:
            >>> run.system_metrics["system/process_memory_peak_megabytes"]  # doctest: +SKIP
            412.5
        """
        return self.refresh()._record.system_metrics if self._active else self.info.system_metrics

    @property
    def artifacts(self) -> list[ArtifactRecord]:
        return self.refresh()._record.artifacts if self._active else self.info.artifacts

    def metric_history(self, key: str) -> pd.DataFrame:
        """Every point of metric ``key``: a DataFrame with columns step, value, timestamp (UTC).

        Example:
            >>> run.metric_history("loss").columns.tolist()  # doctest: +SKIP
            ['step', 'value', 'timestamp']
        """
        import numpy as np
        import pandas as pd

        if self._writer is not None:
            self._writer.flush()
        steps, values, times = self.workspace.store.metric_history(self.pk, check_key(key))
        step_arr = np.frombuffer(steps, dtype=np.int64) if len(steps) else np.zeros(0, np.int64)
        order = np.argsort(step_arr, kind="stable")  # by step; logging order among equal steps
        return pd.DataFrame(
            {
                "step": step_arr[order],
                "value": (np.frombuffer(values, dtype=np.float64) if len(values) else np.zeros(0))[order],
                "timestamp": pd.to_datetime(
                    (np.frombuffer(times, dtype=np.int64) if len(times) else np.zeros(0, np.int64))[order],
                    unit="ms",
                    utc=True,
                ),
            }
        )

    def artifact_path(self, name: str) -> Path:
        """The local file holding artifact ``name`` (read it; never write it).

        Example:
            >>> run.artifact_path("model.pkl").read_bytes()  # doctest: +SKIP
        """
        from ..errors import ArtifactNotFound

        for art in self.artifacts:
            if art.name == name:
                return self.workspace.artifacts.path_of(art.digest)
        raise ArtifactNotFound(f"run {self.id[:8]} has no artifact {name!r}", run_id=self.id, name=name)

    # logging -----------------------------------------------------------------------------------

    def _check_active(self) -> None:
        if not self._active:
            raise RunStateError(f"run {self.id[:8]} is not active in this process; it can only be read", run_id=self.id)
        if self.pk in self.workspace.store.superseded:
            raise AttemptSuperseded(
                f"run {self.id[:8]} was taken over by a newer attempt of its job: this one's writes are refused",
                run_id=self.id,
            )

    def log(self, key: str, value: Any, step: int | None = None, timestamp: float | None = None) -> None:
        """Log one metric point (buffered; durable within the flush interval).

        ``step`` defaults to one more than the last step of this key; ``timestamp`` is in
        milliseconds since the epoch and defaults to now.

        Example:
            >>> run.log("loss", 0.25, step=3)  # doctest: +SKIP
        """
        if self._writer is None:
            self._check_active()
            return
        key, v, checked_step, ts = check_point(key, value, step, timestamp)
        self._buffer(key, v, checked_step, time.time_ns() // 1_000_000 if ts is None else ts)

    def _buffer(self, key: str, value: float, step: int | None, ts: int) -> None:
        # Inputs are checked by the caller; this numbers the step and hands the point over.
        assert self._writer is not None
        if self._writer.store.superseded and self.pk in self._writer.store.superseded:
            self._check_active()  # raises: a newer attempt of the job owns the run
        with self._lock:
            if step is None:
                step = self._steps.get(key, -1) + 1
            if step > self._steps.get(key, -1):
                self._steps[key] = step
        self._writer.add((self.pk, key, step, value, ts))

    def log_metrics(self, metrics: dict[str, Any], step: int | None = None, timestamp: float | None = None) -> None:
        """Log several metrics at one step; all are checked before any is buffered.

        Example:
            >>> run.log_metrics({"acc": 0.9, "f1": 0.8})  # doctest: +SKIP
        """
        self._check_active()
        checked = {check_key(k): check_metric_value(v, k) for k, v in check_count(dict(metrics), "metrics").items()}
        ts = time.time_ns() // 1_000_000 if timestamp is None else check_timestamp(timestamp)
        checked_step = None if step is None else check_step(step)
        for key, value in checked.items():
            self._buffer(key, value, checked_step, ts)

    def log_batch(self, key: str, values: Any, steps: Any = None, timestamps: Any = None) -> int:
        """Log a whole series of one metric at once (lists or numpy arrays); returns the count.

        Steps default to continuing this key's numbering; timestamps (ms) default to now.
        Numpy float arrays go in without a Python loop.

        Example:
            >>> run.log_batch("loss", [0.9, 0.5, 0.3])  # doctest: +SKIP
            3
        """
        self._check_active()
        assert self._writer is not None
        key = check_key(key)
        vals = pack_values(values, key)
        n = len(vals)
        if n == 0:
            return 0
        times = pack_times(timestamps, n, time.time_ns() // 1_000_000, key)
        with self._lock:
            stps = pack_steps(steps, n, self._steps.get(key, -1) + 1, key)
            self._steps[key] = max(self._steps.get(key, -1), max(stps))
        self._writer.add_series(Series(self.pk, key, stps, vals, times))
        return n

    def log_param(self, key: str, value: Any) -> None:
        """Log one param (stored as text; cannot change once logged).

        Example:
            >>> run.log_param("lr", 0.01)  # doctest: +SKIP
        """
        self.log_params({key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        """Log params; all are checked before any is written.

        Example:
            >>> run.log_params({"lr": 0.01, "batch": 32})  # doctest: +SKIP
        """
        self._check_active()
        limit = self.workspace.tracking.param_value_max_length
        given = check_count(dict(params), "params")
        checked = {check_key(k, "param key"): param_to_str(check_key(k), v, limit) for k, v in given.items()}
        self.workspace.store.log_params(self.pk, checked)

    def set_tag(self, key: str, value: Any) -> None:
        """Set one tag (tags, unlike params, can change).

        Example:
            >>> run.set_tag("stage", "tuning")  # doctest: +SKIP
        """
        self.set_tags({key: value})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set tags; all are checked before any is written. Tags may be set on ended runs too.

        Example:
            >>> run.set_tags({"stage": "tuning"})  # doctest: +SKIP
        """
        limit = self.workspace.tracking.tag_value_max_length
        given = check_count(dict(tags), "tags")
        checked = {check_key(k, "tag key"): param_to_str(check_key(k), v, limit) for k, v in given.items()}
        self.workspace.store.set_tags(self.pk, checked)

    def log_artifact(self, path: str | os.PathLike[str], name: str | None = None) -> ArtifactRecord:
        """Store a copy of the file ``path`` as artifact ``name`` (default: the file's name).

        Example:
            >>> run.log_artifact("model.pkl")  # doctest: +SKIP
        """
        self._check_active()
        src = Path(path)
        if not src.is_file():
            raise InvalidPath(f"log_artifact: {src} is not a file", path=str(src))
        logical = check_relative_name(name if name is not None else src.name, "artifact name")
        digest, size = self.workspace.artifacts.put_file(src)
        media = mimetypes.guess_type(logical)[0] or "application/octet-stream"
        self.workspace.store.add_artifact(self.pk, logical, digest, size, media)
        return ArtifactRecord(logical, digest, size, media, int(time.time() * 1000))

    def log_artifacts(self, folder: str | os.PathLike[str], prefix: str | None = None) -> list[ArtifactRecord]:
        """Store every file below ``folder``, named by its path relative to it (under ``prefix``).

        Example:
            >>> run.log_artifacts("outputs/", prefix="outputs")  # doctest: +SKIP
        """
        self._check_active()
        root = Path(folder)
        if not root.is_dir():
            raise InvalidPath(f"log_artifacts: {root} is not a folder", path=str(root))
        if prefix is not None:
            check_relative_name(prefix, "artifact prefix")
        files = sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
        names = [
            check_relative_name(
                f"{prefix}/{p.relative_to(root).as_posix()}" if prefix else p.relative_to(root).as_posix(),
                "artifact name",
            )
            for p in files
        ]
        return [self.log_artifact(p, n) for p, n in zip(files, names, strict=True)]

    def _log_staged(self, src: Path, digest: str, size: int, name: str, media_type: str) -> ArtifactRecord:
        # A file a server streamed in and hashed on the way: moved into the store, not copied.
        self._check_active()
        logical = check_relative_name(name, "artifact name")
        self.workspace.artifacts.adopt_file(src, digest, size)
        self.workspace.store.add_artifact(self.pk, logical, digest, size, media_type)
        return ArtifactRecord(logical, digest, size, media_type, int(time.time() * 1000))

    def _log_bytes(self, data: bytes, name: str, media_type: str) -> ArtifactRecord:
        self._check_active()
        logical = check_relative_name(name, "artifact name")
        digest, size = self.workspace.artifacts.put_bytes(data)
        self.workspace.store.add_artifact(self.pk, logical, digest, size, media_type)
        return ArtifactRecord(logical, digest, size, media_type, int(time.time() * 1000))

    def log_text(self, text: str, name: str) -> ArtifactRecord:
        """Store ``text`` as the UTF-8 artifact ``name``.

        Example:
            >>> run.log_text("# Notes", "notes.md")  # doctest: +SKIP
        """
        if not isinstance(text, str):
            raise InvalidValue(f"log_text needs a str, not {type(text).__name__}")
        media = mimetypes.guess_type(name)[0] or "text/plain"
        return self._log_bytes(text.encode("utf-8"), name, media)

    def log_table(self, table: Any, name: str) -> ArtifactRecord:
        """Store a DataFrame as a Parquet artifact (``.parquet`` is added when missing).

        Example:
            >>> run.log_table(df, "predictions")  # doctest: +SKIP
        """
        if not name.endswith(".parquet"):
            name += ".parquet"
        return self._log_bytes(table_to_parquet(table), name, "application/vnd.apache.parquet")

    def log_figure(self, figure: Any, name: str) -> ArtifactRecord:
        """Store a matplotlib figure as PNG or a plotly figure as HTML (suffix added when missing).

        Example:
            >>> run.log_figure(fig, "plots/loss")  # doctest: +SKIP
        """
        data, suffix, media = figure_to_bytes(figure)
        if not name.lower().endswith(suffix):
            name += suffix
        return self._log_bytes(data, name, media)

    def log_input(
        self, name: str, uri: str | None = None, digest: str | None = None, kind: str = "dataset", role: str = "input"
    ) -> None:
        """Record a dataset the run read (for lineage).

        Example:
            >>> run.log_input("customers", uri="data/customers.csv")  # doctest: +SKIP
        """
        self._check_active()
        self.workspace.store.add_input(
            self.pk, kind=kind, name=check_name(name, "input name"), uri=uri, digest=digest, role=role
        )

    def _sample_system(self, interval: float) -> None:
        # Sampled into this run's buffer like the user's points: as durable, flushed with them.
        from ..entities.tags import gpus_tag
        from ..sysmetrics import Sampler

        def emit(values: dict[str, float], step: int, ts: int) -> None:
            for key, value in values.items():
                self._buffer(key, value, step, ts)

        self._sampler = Sampler(emit, interval, on_gpus=lambda gpus: self.set_tags(gpus_tag(gpus))).start()

    def _stop_sampling(self) -> None:
        sampler, self._sampler = self._sampler, None
        if sampler is not None:
            sampler.stop()

    def add_pending(self, future: Any) -> None:
        """Have :meth:`flush` and :meth:`end` wait for ``future`` (a concurrent.futures.Future)."""
        with self._lock:
            self._pending.append(future)

    def wait_pending(self) -> None:
        """Wait for the work handed over with :meth:`add_pending`; its failures become warnings.

        Example:
            >>> run.wait_pending()  # doctest: +SKIP
        """
        import warnings

        with self._lock:
            pending, self._pending = self._pending, []
        for future in pending:
            try:
                future.result()
            except Exception as exc:  # logging beside the user's code must not fail their run
                warnings.warn(f"run {self.id[:8]}: {exc}", RuntimeWarning, stacklevel=2)

    def flush(self) -> None:
        """Block until everything logged so far is durable in the store.

        Example:
            >>> run.flush()  # doctest: +SKIP
        """
        self.wait_pending()
        if self._writer is not None:
            self._writer.flush()

    # ending --------------------------------------------------------------------------------------

    def end(
        self,
        status: str | RunStatus = RunStatus.COMPLETED,
        error: str | None = None,
        error_traceback: str | None = None,
    ) -> str:
        """Flush, then end the run as completed, failed or cancelled; returns the final status.

        Example:
            >>> run.end("failed", error="diverged")  # doctest: +SKIP
        """
        from . import fluent

        if not self._active:
            raise RunStateError(f"run {self.id[:8]} is not active in this process", run_id=self.id)
        self._stop_sampling()  # its last sample goes with the run's last points
        self.wait_pending()
        event = END_EVENTS.get(RunStatus(status))
        if event is None:
            raise InvalidValue(f"a run ends completed, failed or cancelled, not {status}")
        writer = self._writer
        assert writer is not None
        store = self.workspace.store
        try:
            # The last points and the final status commit together.
            final = writer.flush(then=lambda conn: store.transition_in(conn, self.pk, event, error, error_traceback))
        except StoreBusy:
            raise  # another writer held the store: the points stay buffered, nothing is given up
        except StoreError as exc:
            self._end_without_points(exc, error, error_traceback)
            raise  # the caller hears that points were lost; the run is already failed
        finally:
            writer.live_runs.discard(self.pk)
            self._active = False
            self._writer = None
            self._stale = True
            fluent._forget(self)
        assert final is not None
        return final.value

    def _end_without_points(self, exc: StoreError, error: str | None, error_traceback: str | None) -> None:
        # The store refused the last points (a full disk, say): a run must not stay "running" after
        # its process, so it ends failed on its own, saying how many points it could not keep. If
        # even that cannot be written, the original error stands (and the run goes lost later).
        assert self._writer is not None
        lost = self._writer.drop_run(self.pk)
        cause = f"the store could not take this run's last {lost} point(s): {exc}"
        try:
            self.workspace.store.transition(
                self.pk, RunEvent.FAIL, error=f"{error}; {cause}" if error else cause, error_traceback=error_traceback
            )
        except StoreError:
            return  # the original error stands
        log.error("aml_jupyter: run %s ended failed: %s", self.id[:8], cause)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self._active:
            return
        if self._job_owned:  # a job's run: its launcher ends it when the process does
            self.flush()
            return
        code = exc.code if isinstance(exc, SystemExit) else None
        event = event_for_exit(exc_type, code)
        status = ENDED_BY[event]
        error = text = None
        if exc is not None and event is not RunEvent.COMPLETE:
            error = f"{exc_type.__name__}: {exc}" if exc_type else None
            text = "".join(traceback.format_exception(exc_type, exc, tb))
        self.end(status, error=error, error_traceback=text)

    def __repr__(self) -> str:
        r = self._record
        return f"<Run {r.id[:8]} {r.experiment}/{r.name} {r.status}>"


def _as_list(values: Any) -> list[Any]:
    if hasattr(values, "tolist"):
        out = values.tolist()
        return out if isinstance(out, list) else [out]
    return list(values)
