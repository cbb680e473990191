"""Content-addressed artifact files in a local folder: stored once under their SHA-256, never
under user names.

The logical name a user gives (``plots/loss.png``) lives only in the store's ``artifacts`` table.
A crash between writing a file here and recording its row leaves an orphan file that ``aml gc``
sweeps; never a row that points nowhere, because the file is written first.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ...errors import InvalidInput, StoreError
from ...paths import atomic_copy, atomic_write_bytes

_HEX64 = re.compile(r"^[0-9a-f]{64}$")


def hash_file(path: str | os.PathLike[str]) -> tuple[str, int]:
    """(SHA-256 hex digest, size) of a file, read a megabyte at a time.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "x"; _ = f.write_bytes(b"hello")
        >>> hash_file(f)[1]
        5
    """
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


@contextmanager
def _write_errors(dest: Path) -> Iterator[None]:
    # A full disk or a read-only folder is the user's to fix: say so in one line.
    try:
        yield
    except OSError as exc:
        raise StoreError(
            f"cannot write an artifact into {dest.parent.parent}: {exc.strerror}",
            path=str(dest.parent.parent),
            errno=exc.errno,
        ) from None


class LocalArtifactStore:
    """Files under ``root/ab/cdef...`` named by the SHA-256 of their content.

    Example:
        >>> import tempfile
        >>> store = LocalArtifactStore(tempfile.mkdtemp())
        >>> digest, size = store.put_bytes(b"hello")
        >>> store.path_of(digest).read_bytes(), size
        (b'hello', 5)
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def exists(self, digest: str) -> bool:
        """Whether the content with this digest is stored."""
        return self.path_of(digest).exists()

    def read_bytes(self, digest: str) -> bytes:
        """The stored content with this digest."""
        return self.path_of(digest).read_bytes()

    def path_of(self, digest: str) -> Path:
        """Where the content with this digest is (or would be) kept."""
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise InvalidInput(f"not a content digest: {digest!r}")
        return self.root / digest[:2] / digest[2:]

    def put_file(self, src: str | os.PathLike[str]) -> tuple[str, int]:
        """Store a copy of the file ``src``; returns (digest, size). Same content, one copy."""
        digest, size = hash_file(src)
        dest = self.path_of(digest)
        if not dest.exists():
            with _write_errors(dest):
                dest.parent.mkdir(parents=True, exist_ok=True)
                atomic_copy(src, dest)
        return digest, size

    def staging_dir(self) -> Path:
        """A folder for files on their way in (a server streaming an upload), on the store's own
        file system so that :meth:`adopt_file` renames instead of copying; ``aml gc`` sweeps leftovers."""
        folder = self.root / "incoming"
        with _write_errors(folder / "x"):
            folder.mkdir(parents=True, exist_ok=True)
        return folder

    def adopt_file(self, src: str | os.PathLike[str], digest: str, size: int, synced: bool = False) -> None:
        """Store the file ``src`` whose SHA-256 the caller computed while writing it, by moving it
        in (``src`` is gone afterwards). Same content already there: ``src`` is just removed.
        ``synced``: the caller already flushed ``src`` to disk."""
        dest = self.path_of(digest)
        if dest.exists():
            Path(src).unlink(missing_ok=True)
            return
        with _write_errors(dest):
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not synced:
                with open(src, "rb") as f:
                    os.fsync(f.fileno())
            try:
                os.replace(src, dest)
            except OSError:  # another file system: copy through a temporary file, then let go of src
                atomic_copy(src, dest)
                Path(src).unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Store ``data``; returns (digest, size)."""
        digest = hashlib.sha256(data).hexdigest()
        dest = self.path_of(digest)
        if not dest.exists():
            with _write_errors(dest):
                dest.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(dest, data)
        return digest, len(data)

    def digests(self) -> dict[str, int]:
        """Every stored digest with its size."""
        out: dict[str, int] = {}
        if not self.root.is_dir():
            return out
        for sub in self.root.iterdir():
            if not sub.is_dir() or len(sub.name) != 2:
                continue
            for f in sub.iterdir():
                digest = sub.name + f.name
                if _HEX64.match(digest):
                    out[digest] = f.stat().st_size
        return out

    def sweep(self, keep: set[str], dry_run: bool = False, min_age: float = 3600.0) -> list[tuple[str, int]]:
        """Remove stored files whose digest is not in ``keep`` (and stale temp files).

        Files younger than ``min_age`` seconds stay: a run may have written one and not yet
        recorded its row. Returns the (digest, size) pairs removed, or that would be.
        """
        cutoff = time.time() - min_age
        gone = [
            (d, s)
            for d, s in sorted(self.digests().items())
            if d not in keep and self.path_of(d).stat().st_mtime <= cutoff
        ]
        if dry_run:
            return gone
        for digest, _ in gone:
            self.path_of(digest).unlink(missing_ok=True)
        for tmp in self.root.glob("*/.tmp-*"):
            if tmp.stat().st_mtime < cutoff:
                tmp.unlink(missing_ok=True)
        return gone
