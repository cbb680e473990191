"""Looking at and stopping submitted runs: their logs, their cancellation, the targets they use.
Shared by the ``aml`` command and the ``%aml`` magics."""

from __future__ import annotations

import os
import signal
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue, RunStateError
from ..tracking.lifecycle import TERMINAL

if TYPE_CHECKING:
    from ..tracking.records import RunRecord
    from ..workspace import Workspace


def read_log(ws: Workspace, record: RunRecord, which: str) -> str:
    """A submitted run's ``stdout`` or ``stderr``: the live file while it runs, then the artifact.

    Example:
        >>> read_log(ws, ws.store.get_run(run_id), "stdout").splitlines()[0]  # doctest: +SKIP
        'epoch 0'
    """
    job_dir = record.tags.get("aml.job_dir")
    live = os.path.join(job_dir, f"{which}.txt") if job_dir else None
    if live and os.path.exists(live):
        with open(live, "rb") as f:
            return f.read().decode("utf-8", "replace")
    for art in record.artifacts:
        if art.name == f"logs/{which}.txt":
            return str(ws.artifacts.path_of(art.digest).read_bytes().decode("utf-8", "replace"))
    return ""


def has_ended(record: RunRecord) -> bool:
    """Whether the run is in a terminal state.

    Example:
        >>> has_ended(ws.store.get_run(run_id))  # doctest: +SKIP
        True
    """
    return record.status in {s.value for s in TERMINAL}


def cancel(ws: Workspace, run_id: str) -> str:
    """Ask a submitted run's supervisor to stop it (SIGTERM); the run then ends cancelled.

    Example:
        >>> cancel(ws, "1a2b3c4d")  # doctest: +SKIP
        '1a2b3c4d...'
    """
    record = ws.store.get_run(run_id)
    if has_ended(record):
        raise RunStateError(
            f"run {record.id[:8]} has already ended ({record.status}); it is not a submitted run that is still going",
            run_id=record.id,
        )
    pid = record.tags.get("aml.pid", "")
    if not pid.isdigit():
        raise InvalidValue(f"run {record.id[:8]} was not started by `aml submit`; end it where it runs")
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        raise RunStateError(f"run {record.id[:8]}'s supervisor (pid {pid}) is gone") from None
    return record.id


def target_rows(ws: Workspace) -> list[dict[str, Any]]:
    """The workspace's targets as plain rows (name, type, runs_jobs, settings).

    Example:
        >>> [r["name"] for r in target_rows(ws)]  # doctest: +SKIP
        ['dask', 'local']
    """
    from ..compute.targets import list_targets

    return [{"name": t.name, "type": t.type, "runs_jobs": t.runs_jobs, **t.settings} for t in list_targets(ws)]
