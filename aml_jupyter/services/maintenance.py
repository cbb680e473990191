"""Workspace upkeep: removing artifact files and snapshots that no run references any more."""

from __future__ import annotations

from typing import Any

from ..workspace import Workspace


def collect_garbage(ws: Workspace, dry_run: bool = False, min_age: float = 3600.0) -> dict[str, Any]:
    """Sweep unreferenced artifact files and snapshots older than ``min_age`` seconds.

    Returns what went (or, with ``dry_run``, what would go): artifact digests with sizes and
    snapshot ids.

    Example:
        >>> import tempfile
        >>> ws = Workspace.init(tempfile.mkdtemp())
        >>> collect_garbage(ws, dry_run=True)["artifacts"]
        []
    """
    store = ws.store
    artifacts = ws.artifacts.sweep(store.referenced_digests(), dry_run=dry_run, min_age=min_age)
    snapshots = ws.snapshot_store.sweep(store.referenced_snapshots(), dry_run=dry_run, min_age=min_age)
    return {
        "dry_run": dry_run,
        "artifacts": [{"digest": d, "size": s} for d, s in artifacts],
        "artifact_bytes": sum(s for _, s in artifacts),
        "snapshots": snapshots,
    }
