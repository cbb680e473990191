"""Project snapshots kept in a private git object database under ``.aml/snapshots.git``.

Git gives us a well-kept content store: deduplicated, compressed objects, and an index that
remembers file stats so unchanged files are not hashed again. A snapshot id is the id of the tree
that ``git write-tree`` returns; a ref ``refs/trees/<id>`` keeps it alive until ``aml gc``. The
user's own repository is never touched: we pass our own GIT_DIR and GIT_INDEX_FILE.
"""

from __future__ import annotations

import fcntl
import os
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidInput, SnapshotError, SnapshotNotFound, SnapshotTooLarge

# Always left out, whatever the ignore files say.
BUILTIN_EXCLUDES = [".aml/", ".git/", "__pycache__/", "*.pyc", ".ipynb_checkpoints/", ".amlignore.swp"]
_TREE_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class SnapshotFile:
    """One file of a snapshot's source folder, as listed before it is taken."""

    path: str
    size: int


def check_snapshot_id(snapshot_id: object) -> str:
    """Return ``snapshot_id`` if it looks like a git tree id, else raise InvalidInput.

    Example:
        >>> check_snapshot_id("0" * 40) == "0" * 40
        True
    """
    if not isinstance(snapshot_id, str) or not _TREE_ID.match(snapshot_id):
        raise InvalidInput(f"not a snapshot id: {snapshot_id!r}")
    return snapshot_id


class GitSnapshotStore:
    """Take, restore, compare and garbage-collect snapshots of a source folder.

    Example:
        >>> import tempfile, pathlib
        >>> root = pathlib.Path(tempfile.mkdtemp()); _ = (root / "train.py").write_text("print(1)")
        >>> store = GitSnapshotStore(root / ".aml" / "snapshots.git")
        >>> tree = store.take(root, max_bytes=10_000)
        >>> store.files(tree)
        ['train.py']
    """

    def __init__(self, repo: Path) -> None:
        self.repo = Path(repo)
        self.index = self.repo / "aml-index"

    def _git(
        self,
        *args: str,
        work_tree: Path | None = None,
        index: Path | None = None,
        input: bytes | None = None,
        check: bool = True,
    ) -> bytes:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(
            GIT_DIR=str(self.repo),
            GIT_INDEX_FILE=str(index or self.index),
            GIT_CONFIG_NOSYSTEM="1",
            GIT_CONFIG_GLOBAL=os.devnull,
            GIT_TERMINAL_PROMPT="0",
        )
        if work_tree is not None:
            env["GIT_WORK_TREE"] = str(work_tree)
        cmd = ["git", "-c", "safe.directory=*", "-c", "core.autocrlf=false", "-c", "core.quotepath=false"]
        if work_tree is not None:
            amlignore = work_tree / ".amlignore"
            if amlignore.is_file():
                cmd += ["-c", f"core.excludesFile={amlignore}"]
        try:
            proc = subprocess.run(
                [*cmd, *args], env=env, input=input, capture_output=True, cwd=work_tree or self.repo, timeout=600
            )
        except FileNotFoundError:
            if shutil.which("git"):
                raise SnapshotError(
                    f"the folder {work_tree or self.repo} is gone", path=str(work_tree or self.repo)
                ) from None
            raise SnapshotError("git is not installed; snapshots need it (or set snapshots.enabled = false)") from None
        if check and proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip().splitlines()
            raise SnapshotError(f"git {args[0]} failed: {message[-1] if message else proc.returncode}")
        return proc.stdout

    def ensure(self) -> None:
        """Create the private repository on first use."""
        if (self.repo / "HEAD").is_file():
            return
        self.repo.parent.mkdir(parents=True, exist_ok=True)
        # Many processes may start their first run at once: one creates, the others wait.
        with open(self.repo.parent / (self.repo.name + ".init-lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (self.repo / "HEAD").is_file():
                return
            tmp = self.repo.parent / f".{self.repo.name}.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            saved, self.repo = self.repo, tmp
            try:
                self._git("init", "--quiet", "--bare", str(tmp))
            finally:
                self.repo = saved
            (tmp / "info").mkdir(exist_ok=True)
            (tmp / "info" / "exclude").write_text("\n".join(BUILTIN_EXCLUDES) + "\n")
            os.rename(tmp, self.repo)

    def list_files(self, source: Path) -> list[SnapshotFile]:
        """The files a snapshot of ``source`` would hold now, after every ignore rule."""
        self.ensure()
        self._forget_ignored(source)
        out = self._git("ls-files", "-z", "--cached", "--others", "--exclude-standard", work_tree=source)
        files = []
        for rel in sorted(set(out.decode("utf-8", "surrogateescape").split("\0")) - {""}):
            try:
                st = os.lstat(source / rel)
            except FileNotFoundError:
                continue
            files.append(SnapshotFile(rel, st.st_size))
        return files

    def _forget_ignored(self, source: Path) -> None:
        # Files indexed by an earlier snapshot and ignored since then must leave the index.
        out = self._git("ls-files", "-z", "--cached", "--ignored", "--exclude-standard", work_tree=source)
        stale = [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
        if stale:
            self._git(
                "rm",
                "--cached",
                "--quiet",
                "-r",
                "--pathspec-from-file=-",
                "--pathspec-file-nul",
                work_tree=source,
                input="\0".join(stale).encode("utf-8", "surrogateescape"),
            )

    def take(self, source: Path, max_bytes: int) -> str:
        """Snapshot ``source``; returns the tree id. Refuses (listing why) above ``max_bytes``."""
        self.ensure()
        # One private index for all processes: take turns (git's own index.lock would fail).
        with open(self.repo / "aml-index.flock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            files = self.list_files(source)
            total = sum(f.size for f in files)
            if total > max_bytes:
                raise too_large(files, total, max_bytes)
            self._git("add", "--all", ".", work_tree=source)
            tree = self._git("write-tree").decode().strip()
            self._git("update-ref", f"refs/trees/{tree}", tree)
            return tree

    def ignored_by(self, source: Path, rel: str) -> str | None:
        """The ignore rule that keeps ``rel`` out of a snapshot of ``source``, as ``FILE:LINE: PATTERN``
        (aml_jupyter's own rules name ``built-in``), or None when nothing ignores it.

        Example:
            >>> store.ignored_by(root, "data/train.csv")  # doctest: +SKIP
            '.gitignore:3: data/'
        """
        self.ensure()
        out = self._git("check-ignore", "-v", "--no-index", "--", rel, work_tree=source, check=False).decode()
        line = out.strip().splitlines()[0] if out.strip() else ""
        where, _, _ = line.partition("\t")
        file, _, rest = where.partition(":")
        number, _, pattern = rest.partition(":")
        if not pattern:
            return None
        shown = "built-in" if Path(file).name == "exclude" and str(self.repo) in file else Path(file).name
        return f"{shown}:{number}: {pattern}"

    def _existing(self, snapshot_id: str) -> str:
        # A well-formed id this store has, else SnapshotNotFound in our words (not git's).
        check_snapshot_id(snapshot_id)
        known = (self.repo / "HEAD").is_file() and self._git("cat-file", "-t", snapshot_id, check=False)
        if not known or known.strip() != b"tree":
            raise SnapshotNotFound(f"no snapshot {snapshot_id} in this workspace", snapshot=snapshot_id)
        return snapshot_id

    def files(self, snapshot_id: str) -> list[str]:
        """The paths in a snapshot."""
        out = self._git("ls-tree", "-r", "-z", "--name-only", self._existing(snapshot_id))
        return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]

    def restore(self, snapshot_id: str, dest: Path) -> list[str]:
        """Write a snapshot's files into the new (or empty) folder ``dest``; never overwrites.

        A relative ``dest`` is taken from the caller's working folder. A restore that fails leaves
        no folder of its own behind.
        """
        check_snapshot_id(snapshot_id)
        dest = Path(dest).absolute()  # git runs elsewhere: a relative path would mean its folder
        if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
            raise SnapshotError(f"{dest} exists and is not empty; restore needs a new folder", path=str(dest))
        self._existing(snapshot_id)
        made = next((p for p in [*reversed(dest.parents), dest] if not p.exists()), None)
        dest.mkdir(parents=True, exist_ok=True)
        index = self.repo / f"restore-index-{os.getpid()}-{secrets.token_hex(6)}"  # git makes the file
        try:
            self._git("read-tree", snapshot_id, index=index)
            self._git("checkout-index", "--all", index=index, work_tree=dest)
        except BaseException:
            if made is not None:
                shutil.rmtree(made, ignore_errors=True)
            raise
        finally:
            index.unlink(missing_ok=True)
        return self.files(snapshot_id)

    def archive(self, snapshot_id: str) -> bytes:
        """A snapshot's files as a tar archive (for a worker that cannot read this store)."""
        return self._git("archive", "--format=tar", self._existing(snapshot_id))

    def diff(self, a: str, b: str) -> tuple[list[tuple[str, str]], str]:
        """(status, path) per changed file, and the unified diff text, from snapshot a to b."""
        a, b = self._existing(a), self._existing(b)
        names = self._git("diff", "--no-renames", "--name-status", "-z", a, b).decode("utf-8", "surrogateescape")
        parts = [p for p in names.split("\0") if p]
        changes = list(zip(parts[0::2], parts[1::2], strict=False))
        patch = self._git("diff", "--no-color", "--no-renames", a, b).decode("utf-8", "replace")
        return changes, patch

    def all_snapshots(self) -> set[str]:
        """Every snapshot id that has a keep-alive ref."""
        if not (self.repo / "HEAD").is_file():
            return set()
        out = self._git("for-each-ref", "--format=%(refname)", "refs/trees/").decode()
        return {line.rsplit("/", 1)[-1] for line in out.split()}

    def sweep(self, keep: set[str], dry_run: bool = False, min_age: float = 3600.0) -> list[str]:
        """Drop snapshots not in ``keep`` and prune their objects; returns the ids dropped.

        Snapshots younger than ``min_age`` seconds stay: their run may not have recorded them yet.
        """
        cutoff = time.time() - min_age
        gone = []
        for tree in sorted(self.all_snapshots() - keep):
            ref = self.repo / "refs" / "trees" / tree
            if not ref.exists() or ref.stat().st_mtime <= cutoff:
                gone.append(tree)
        if dry_run or not gone:
            return gone
        with open(self.repo / "aml-index.flock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self._git("update-ref", "--stdin", input="".join(f"delete refs/trees/{t}\n" for t in gone).encode())
            # Loose refs keep their mtimes, which the age rule above reads.
            self._git("-c", "gc.packRefs=false", "gc", "--quiet", "--prune=now")
        return gone


def too_large(files: list[SnapshotFile], total: int, limit: int) -> SnapshotTooLarge:
    """The error for an oversized folder: its largest files and the ignore lines to add.

    Example:
        >>> e = too_large([SnapshotFile("data/big.csv", 900)], 900, 100)
        >>> "data/" in str(e)
        True
    """
    largest = sorted(files, key=lambda f: -f.size)[:10]
    lines = sorted({(f.path.split("/")[0] + "/") if "/" in f.path else f.path for f in largest[:3]})
    listing = "\n".join(f"  {f.size / 1e6:10.1f} MB  {f.path}" for f in largest)
    return SnapshotTooLarge(
        f"the source folder holds {total / 1e6:.1f} MB, over the snapshot limit of {limit / 1e6:.1f} MB.\n"
        f"Largest files:\n{listing}\n"
        f"Add to .amlignore (or .gitignore) for example:\n"
        + "\n".join(f"  {line}" for line in lines)
        + "\nor raise [snapshots] max_bytes in .aml/aml.toml.",
        largest=[(f.path, f.size) for f in largest],
        total=total,
        limit=limit,
        suggested_ignore=lines,
    )
