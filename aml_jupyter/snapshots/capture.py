"""Taking a run's snapshot fast: reuse the last one when nothing in the folder has changed.

A process that starts many runs from one folder (a sweep, a notebook) would otherwise call git
every time. After each snapshot we keep the stat (mtime, size, inode) of every file in it, of every
folder holding them (a new or removed file changes its folder's mtime) and of the user's git
markers; if all of those are unchanged the snapshot and git state are unchanged too.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import EmptySnapshotWarning
from .gitstore import GitSnapshotStore
from .usergit import git_marker_files, git_state

Stat = tuple[int, int, int] | None


def _stat(path: Path) -> Stat:
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


@dataclass
class _Cached:
    snapshot_id: str
    git: dict[str, Any] | None
    stats: dict[Path, Stat]


def _empty(source: Path) -> EmptySnapshotWarning:
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    where = f" ({script} is outside it)" if script and not Path(script).resolve().is_relative_to(source) else ""
    return EmptySnapshotWarning(
        f"this run's snapshot of {source} holds no file{where}: its code is not recorded. Keep the code "
        "in the workspace folder, or open the workspace of the folder the code is in."
    )


class SnapshotTaker:
    """Snapshots of folders for one workspace, with the per-process unchanged-folder shortcut.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp()); _ = (root / "a.py").write_text("x = 1")
        >>> taker = SnapshotTaker(GitSnapshotStore(root / ".aml" / "snapshots.git"))
        >>> first = taker.take(root, max_bytes=1000)
        >>> taker.take(root, max_bytes=1000) == first
        True
    """

    def __init__(self, store: GitSnapshotStore, max_git_diff_bytes: int = 1_000_000) -> None:
        self.store = store
        self.max_git_diff_bytes = max_git_diff_bytes
        self._cache: dict[Path, _Cached] = {}
        self._lock = threading.Lock()

    def take(self, source: Path, max_bytes: int) -> tuple[str, dict[str, Any] | None]:
        """(snapshot id, user git state) of ``source`` now."""
        source = Path(source).resolve()
        with self._lock:
            cached = self._cache.get(source)
            if cached is not None and all(_stat(p) == s for p, s in cached.stats.items()):
                return cached.snapshot_id, cached.git
            watched = self._watch_list(source)
            before = {p: _stat(p) for p in watched}
            snapshot_id = self.store.take(source, max_bytes)
            git = git_state(source, self.max_git_diff_bytes)
            files = self.store.files(snapshot_id)
            if not files:
                warnings.warn(_empty(source), stacklevel=_callers_level())  # at the user's line that asked
            # Files listed after the snapshot join the watch list, so the next check is complete.
            for rel in files:
                p = source / rel
                before.setdefault(p, _stat(p))
                before.setdefault(p.parent, _stat(p.parent))
            self._cache[source] = _Cached(snapshot_id, git, before)
            return snapshot_id, git

    def _watch_list(self, source: Path) -> list[Path]:
        cached = self._cache.get(source)
        paths = [source, source / ".gitignore", source / ".amlignore", *git_marker_files(source)]
        if cached is not None:
            paths.extend(cached.stats)
        return paths


def _callers_level() -> int:
    # The stacklevel of the first frame outside this package: the user's start_run() or submit(),
    # however many of the package's own frames lie between.
    import sys

    package = str(Path(__file__).resolve().parents[1])
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1  # type: ignore[assignment]
    return level
