"""What a job runner needs of the workspace, in two forms: the workspace itself, or ``aml server``.

A worker that can open the workspace folder uses :class:`LocalBackend` (the store, the snapshot
store and the artifact store directly). One that cannot, on a machine of its own, uses
:class:`RemoteBackend`: the same calls over the tracking API, the snapshot fetched as a tar
archive and unpacked with tar's data filter, heartbeats and cancel requests through
``/heartbeat``, and its environments and job folders under ``~/.cache/aml_jupyter``.
"""

from __future__ import annotations

import io
import json
import mimetypes
import os
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..entities.lifecycle import RunEvent
from ..entities.records import json_number
from ..entities.tokens import live_run_tokens
from ..errors import AmlError, IllegalTransition, InvalidInput, JobError
from ..paths import check_relative_name, safe_join
from ..store.http import TrackingClient
from ..sysmetrics import DEFAULT_INTERVAL, check_interval
from .binding import JobBinding

if TYPE_CHECKING:
    from ..workspace import Workspace


@dataclass
class JobRecord:
    """The parts of a run record a job runner reads."""

    id: str
    status: str
    source_kind: str
    source_path: str | None
    snapshot_id: str | None
    error: str | None = None
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def of(data: Any) -> JobRecord:
        get = data.get if isinstance(data, dict) else lambda k: getattr(data, k)
        return JobRecord(
            id=str(get("id")),
            status=str(get("status")),
            source_kind=get("source_kind") or "script",
            source_path=get("source_path"),
            snapshot_id=get("snapshot_id"),
            error=get("error"),
            params=dict(get("params") or {}),
            tags=dict(get("tags") or {}),
        )


class LocalBackend:
    """The workspace itself (the common case: the same machine, or a shared file system).

    ``token``: the run-scoped token its launcher made (services/access.py) for a job that logs
    through ``aml server``; the engine never makes one.
    """

    remote = False

    def __init__(self, ws: Workspace, run_id: str, token: str | None = None) -> None:
        self.ws = ws
        record = ws.store.get_run(run_id)
        self.pk, self.run_id = record.pk, record.id
        self.home = ws.aml_dir
        self.token = token

    def load(self) -> JobRecord:
        return JobRecord.of(self.ws.store.get_run(self.run_id))

    def status(self) -> str:
        return str(self.ws.store.status_of(self.pk))

    def set_tags(self, tags: dict[str, str]) -> None:
        self.ws.store.set_tags(self.pk, tags)

    def transition(self, event: RunEvent, error: str | None = None, trace: str | None = None) -> str:
        try:
            return self.ws.store.transition(self.pk, event, error=error, error_traceback=trace).value
        except IllegalTransition:  # someone else ended it first (its submitter, a lost-run sweep)
            return self.status()

    def clear_metrics(self) -> None:
        self.ws.store.clear_metrics(self.pk)

    def restore_snapshot(self, snapshot_id: str, dest: Path) -> None:
        self.ws.snapshot_store.restore(snapshot_id, dest)

    def link_data(self, paths: list[str], dest: Path) -> None:
        """Make the project's files ``paths`` (left out of snapshots) visible in the job's folder."""
        for rel in paths:
            # A tag is a value someone wrote: each name must stay inside both folders.
            try:
                target, source = safe_join(dest, rel), safe_join(self.ws.root, rel)
            except (InvalidInput, ValueError) as exc:
                raise JobError(f"--data {rel!r} is refused: {exc}") from None
            if target.exists():
                continue  # the snapshot has it already
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(source, target_is_directory=source.is_dir())

    def missing_file_hint(self, rel: str) -> str | None:
        """Why a project file the job could not open was not there, and what to do, or None."""
        if not (self.ws.root / rel).exists():
            return None
        rule = self.ws.snapshot_store.ignored_by(self.ws.root, rel)
        why = f"by {rule}" if rule else "by an ignore rule"
        return (
            f"{rel} is in the project but was left out of the run's snapshot {why}; pass it to the job with "
            f"`aml submit ... --data {rel}` (submit(data=[...])), register it as a dataset, or read it from an "
            "absolute path"
        )

    def log_file(self, path: Path, name: str) -> None:
        logical = check_relative_name(name, "artifact name")  # the rule every artifact name meets
        digest, size = self.ws.artifacts.put_file(path)
        media = mimetypes.guess_type(logical)[0] or "application/octet-stream"
        self.ws.store.add_artifact(self.pk, logical, digest, size, media)

    def log_bytes(self, data: bytes, name: str, media_type: str = "text/plain") -> None:
        digest, size = self.ws.artifacts.put_bytes(data)
        self.ws.store.add_artifact(self.pk, name, digest, size, media_type)

    def cancel_requested(self) -> bool:
        return bool(self.ws.store.get_tag(self.pk, "aml.cancel"))

    def system_interval(self) -> float | None:
        """Seconds between samples of what the machine does (``[tracking] system_metrics``), None for off."""
        return check_interval(self.ws.tracking.system_metrics)

    def log_system(self, values: dict[str, float], step: int, ts: int) -> None:
        """Buffer one sample of system metrics: written with the run's other points."""
        for key, value in values.items():
            self.ws.writer.add((self.pk, key, step, value, ts))

    def flush_system(self) -> None:
        """Nothing held here: the workspace's writer has the samples."""

    def start_heartbeats(self) -> None:
        self.ws.writer.watch(self.pk)

    def stop_heartbeats(self) -> None:
        self.ws.writer.flush()
        self.ws.writer.live_runs.discard(self.pk)

    def job_env(self, record: JobRecord) -> dict[str, str]:
        from ..store.sql.database import shown_url

        env = {
            "AML_WORKSPACE": str(self.ws.root),
            # A target may have its jobs log over HTTP to `aml server` (tracking_uri) instead.
            # Never the store's password: the job opens the store through its workspace's settings.
            "AML_TRACKING_URI": record.tags.get("aml.tracking_uri") or shown_url(self.ws.store_url),
        }
        if env["AML_TRACKING_URI"].startswith(("http://", "https://")):
            # A token for this run alone, which dies with it: never the server's own.
            if not self.token:
                raise JobError(
                    f"run {self.run_id[:8]} logs through {env['AML_TRACKING_URI']} but was launched without its "
                    "run-scoped token: submit it again (aml submit, aml rerun)"
                )
            env["AML_TRACKING_TOKEN"] = self.token
        return env

    def end_tokens(self) -> None:
        """The job has ended: its run-scoped tokens go with it."""
        store = self.ws.store.access
        for token_id in live_run_tokens(store.tokens(), self.run_id):
            store.revoke_token(token_id, int(time.time() * 1000))

    def pass_env(self) -> list[str]:
        """The names the run's target lets through to the job (``pass_env`` in aml.toml)."""
        from ..compute.targets import passed_names

        record = self.ws.store.get_run(self.run_id)
        return passed_names(self.ws, record.compute_target or "local")

    def binding(self) -> JobBinding:
        """Where the SDK finds this job's run, for a cell that runs in this process."""
        return JobBinding(self.run_id, root=str(self.ws.root))


class RemoteBackend:
    """The workspace through ``aml server``, for a worker that cannot open its folder."""

    remote = True
    HEARTBEAT_S = 10.0

    def __init__(self, uri: str, run_id: str, token: str | None = None) -> None:
        self.uri = uri.rstrip("/")
        self.client = TrackingClient(self.uri, run_id, token)  # checks the address, the token and the run
        self.run_id = str(self.client.record["id"])
        self.home = Path(os.environ.get("AML_CACHE_DIR") or Path.home() / ".cache" / "aml_jupyter")
        self._beating = threading.Event()
        self._cancel = threading.Event()
        self._sending = threading.Lock()

    def load(self) -> JobRecord:
        return JobRecord.of(self.client._request("GET", ""))

    def status(self) -> str:
        return self.load().status

    def set_tags(self, tags: dict[str, str]) -> None:
        self.client.set_tags(tags)

    def transition(self, event: RunEvent, error: str | None = None, trace: str | None = None) -> str:
        body = json.dumps({"event": event.value, "error": error, "traceback": trace}).encode()
        return str(self.client._request("POST", "/transition", body)["status"])

    def clear_metrics(self) -> None:
        self.client._request("POST", "/clear_metrics", b"{}")

    def link_data(self, paths: list[str], dest: Path) -> None:
        raise JobError(
            f"--data {paths[0]} needs the project folder, and this worker reaches the workspace only through "
            "aml server: register the data as a dataset, or give the workers a shared file system"
        )

    def missing_file_hint(self, rel: str) -> str | None:
        return None  # this worker cannot see the project folder to say why

    def restore_snapshot(self, snapshot_id: str, dest: Path) -> None:
        import urllib.request

        req = urllib.request.Request(f"{self.uri}/api/v1/snapshots/{snapshot_id}")
        req.add_header("Authorization", f"Bearer {self.client.token}")
        with urllib.request.urlopen(req, timeout=120) as resp:
            data = resp.read()
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            # The data filter refuses absolute paths, '..', links out of dest and special files.
            tar.extractall(dest, filter="data")

    def log_file(self, path: Path, name: str) -> None:
        self.client.put_artifact(name, path.read_bytes())

    def log_bytes(self, data: bytes, name: str, media_type: str = "text/plain") -> None:
        self.client.put_artifact(name, data)

    def cancel_requested(self) -> bool:
        return self._cancel.is_set()

    def system_interval(self) -> float | None:
        """The default interval: a worker that reaches the run through the server has no aml.toml to read."""
        return DEFAULT_INTERVAL

    def log_system(self, values: dict[str, float], step: int, ts: int) -> None:
        """Send one sample; one the server does not take now goes with the next (same batch id)."""
        points = [{"key": k, "value": json_number(v), "step": step, "timestamp": ts} for k, v in values.items()]
        self.client.queue_points(points)
        self.flush_system()

    def flush_system(self) -> None:
        """Deliver the samples not yet taken (at the job's end, before the run ends)."""
        with self._sending:
            try:
                while self.client.send_batch():
                    pass
            except (OSError, AmlError):
                return  # the server is away for a moment: kept, sent with the next sample

    def _beat(self) -> None:
        while not self._beating.wait(self.HEARTBEAT_S / 10 if self._cancel.is_set() else 1.0):
            try:
                if self.client.heartbeat():
                    self._cancel.set()
            except (OSError, JobError, Exception):  # the server is away for a moment: beat again later
                continue

    def start_heartbeats(self) -> None:
        threading.Thread(target=self._beat, daemon=True, name="aml-remote-heartbeat").start()

    def stop_heartbeats(self) -> None:
        self._beating.set()

    def job_env(self, record: JobRecord) -> dict[str, str]:
        return {"AML_TRACKING_URI": self.uri, "AML_TRACKING_TOKEN": self.client.token}

    def end_tokens(self) -> None:
        """Nothing to do here: the server refuses a run-scoped token once its run has ended."""

    def pass_env(self) -> list[str]:
        """The names this worker's operator lets through to its jobs (``AML_PASS_ENV``)."""
        from ..compute.user_env import worker_pass_env

        return worker_pass_env()

    def binding(self) -> JobBinding:
        """Where the SDK finds this job's run, for a cell that runs in this process."""
        return JobBinding(self.run_id, uri=self.uri, token=self.client.token)
