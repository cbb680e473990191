"""Runs' snapshots as the surfaces use them: a run's snapshot, its files, an archive of it, two
compared, one restored into a folder (``aml snapshot``, the REST snapshot routes)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import SnapshotError
from . import runs

if TYPE_CHECKING:
    from ..workspace import Workspace


def of_run(ws: Workspace, run_id: str) -> str:
    """The id of run ``run_id``'s snapshot; :class:`~aml_jupyter.errors.SnapshotError` when it has none.

    Example:
        >>> of_run(ws, run.id[:8])  # doctest: +SKIP
        '9c1f...'
    """
    record = runs.get(ws, run_id)
    if not record.snapshot_id:
        raise SnapshotError(f"run {record.id[:8]} has no snapshot", run_id=record.id)
    return str(record.snapshot_id)


def files(ws: Workspace, snapshot_id: str) -> list[str]:
    """The paths a snapshot holds.

    Example:
        >>> files(ws, of_run(ws, run.id))  # doctest: +SKIP
        ['train.py']
    """
    return ws.snapshot_store.files(snapshot_id)


def archive(ws: Workspace, snapshot_id: str) -> bytes:
    """A snapshot as a tar archive (what a remote job unpacks).

    Example:
        >>> archive(ws, of_run(ws, run.id))[:5]  # doctest: +SKIP
    """
    return ws.snapshot_store.archive(snapshot_id)


def diff(ws: Workspace, a: str, b: str) -> tuple[list[tuple[str, str]], str]:
    """What changed from snapshot ``a`` to ``b``: ``[(status, path)]`` and a unified diff.

    Example:
        >>> changes, patch = diff(ws, of_run(ws, first.id), of_run(ws, second.id))  # doctest: +SKIP
    """
    return ws.snapshot_store.diff(a, b)


def restore(ws: Workspace, snapshot_id: str, dest: Path) -> list[str]:
    """Write a snapshot's files into the folder ``dest``; the paths written.

    Example:
        >>> restore(ws, of_run(ws, run.id), Path("restored"))  # doctest: +SKIP
        ['train.py']
    """
    return ws.snapshot_store.restore(snapshot_id, dest)
