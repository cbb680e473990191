"""The state of the user's own git repository around a run's source folder, if there is one."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

_CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")


def _git(cwd: Path, *args: str) -> str | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["GIT_TERMINAL_PROMPT"] = "0"
    try:
        proc = subprocess.run(
            ["git", "-c", "safe.directory=*", *args], cwd=cwd, env=env, capture_output=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    return proc.stdout.decode("utf-8", "replace")


def git_state(source: Path, max_diff_bytes: int = 1_000_000) -> dict[str, Any] | None:
    """Repository, branch, commit, dirty flag and uncommitted diff of ``source``'s git, or None.

    Credentials in the remote URL are removed before anything is stored.

    Example:
        >>> import tempfile, pathlib
        >>> git_state(pathlib.Path(tempfile.mkdtemp())) is None
        True
    """
    top = _git(source, "rev-parse", "--show-toplevel")
    if top is None:
        return None
    commit = (_git(source, "rev-parse", "--verify", "-q", "HEAD") or "").strip() or None
    branch = (_git(source, "rev-parse", "--abbrev-ref", "HEAD") or "").strip() or None
    status = _git(source, "status", "--porcelain", "--untracked-files=normal") or ""
    remote = (_git(source, "config", "--get", "remote.origin.url") or "").strip() or None
    diff = _git(source, "diff", "HEAD", "--no-color") if commit else None
    truncated = False
    if diff is not None and len(diff.encode()) > max_diff_bytes:
        diff, truncated = diff.encode()[:max_diff_bytes].decode("utf-8", "ignore"), True
    return {
        "repo": top.strip(),
        "remote": _CREDENTIALS.sub("", remote) if remote else None,
        "branch": branch,
        "commit": commit,
        "dirty": bool(status.strip()),
        "diff": diff or None,
        "diff_truncated": truncated,
    }


def git_marker_files(source: Path) -> list[Path]:
    """Files whose change means the git state may have changed (HEAD, index, the branch ref).

    Example:
        >>> import tempfile, pathlib
        >>> git_marker_files(pathlib.Path(tempfile.mkdtemp()))
        []
    """
    for folder in (source, *source.parents):
        dot = folder / ".git"
        if dot.is_dir():
            out = [dot / "HEAD", dot / "index", dot / "packed-refs"]
            try:
                head = (dot / "HEAD").read_text().strip()
            except OSError:
                return out
            if head.startswith("ref: "):
                out.append(dot / head[5:])
            return out
        if dot.is_file():  # a worktree or submodule: follow gitdir
            return [dot]
    return []
