"""Content-addressed artifact files on any fsspec file system: S3 and its look-alikes, GCS,
Azure, or a plain folder through ``file://``.

Objects are named ``PREFIX/ab/cdef...`` by their SHA-256, exactly as in a local folder, so the
store's rows are the same on every backend. No half-written object is ever visible: an object
store makes an upload (multipart included) visible only once it completes, and on a file system
the upload goes to a temporary name renamed into place. Reading fetches the object into a local
cache once, checking that its content still hashes to its name.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from ...errors import ArtifactNotFound, InvalidInput, StoreCorrupt, StoreError
from .local import _HEX64, LocalArtifactStore, hash_file

# Object stores whose uploads appear whole or not at all.
ATOMIC_UPLOADS = {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "memory"}


class FsspecArtifactStore:
    """Artifact files under an fsspec URL, read through a local cache.

    Example:
        >>> import tempfile
        >>> store = FsspecArtifactStore("file://" + tempfile.mkdtemp(), cache=tempfile.mkdtemp())
        >>> digest, size = store.put_bytes(b"hello")
        >>> store.read_bytes(digest), size
        (b'hello', 5)
    """

    def __init__(self, url: str, cache: str | os.PathLike[str], **options: Any) -> None:
        import fsspec

        if any(part == ".." for part in url.split("/")):
            raise InvalidInput(f"{url}: an artifact URL may not climb out of its prefix with '..'")
        self.url = url.rstrip("/")
        try:
            self.fs, root = fsspec.core.url_to_fs(self.url, **options)
        except (ImportError, ValueError) as exc:
            raise StoreError(f"cannot use the artifact store {self.url}: {exc}", url=self.url) from None
        self.root = root.rstrip("/")
        protocol = self.fs.protocol if isinstance(self.fs.protocol, str) else self.fs.protocol[0]
        self.atomic = protocol in ATOMIC_UPLOADS
        self.cache = LocalArtifactStore(cache)

    def key_of(self, digest: str) -> str:
        """The object's path inside the file system; always under the configured prefix."""
        if not isinstance(digest, str) or not _HEX64.match(digest):
            raise InvalidInput(f"not a content digest: {digest!r}")
        return f"{self.root}/{digest[:2]}/{digest[2:]}"

    def exists(self, digest: str) -> bool:
        """Whether the content with this digest is stored."""
        return bool(self._call("look for", lambda: self.fs.exists(self.key_of(digest))))

    def put_file(self, src: str | os.PathLike[str]) -> tuple[str, int]:
        """Upload a copy of the file ``src`` (unless that content is there); (digest, size)."""
        digest, size = hash_file(src)
        if not self.exists(digest):
            self._upload(digest, lambda key: self.fs.put_file(os.fspath(src), key))
        return digest, size

    def staging_dir(self) -> Path:
        """A local folder for files on their way in (in the cache: adopted files stay cached)."""
        return self.cache.staging_dir()

    def adopt_file(self, src: str | os.PathLike[str], digest: str, size: int, synced: bool = False) -> None:
        """Upload the file ``src`` hashed by the caller, then keep it as the cached copy
        (``synced``: the caller already flushed ``src`` to disk)."""
        if self.exists(digest):
            self.cache.adopt_file(src, digest, size)
            return
        # The cached copy's flush to disk overlaps the upload (both only read the file): a large
        # upload through the server then costs the upload alone.
        flushed: list[BaseException | None] = []

        def sync() -> None:
            try:
                with open(src, "rb") as f:
                    os.fsync(f.fileno())
                flushed.append(None)
            except OSError as exc:
                flushed.append(exc)

        flusher = threading.Thread(target=sync, name="aml-cache-fsync", daemon=True)
        flusher.start()
        try:
            self._upload(digest, lambda key: self.fs.put_file(os.fspath(src), key))
        finally:
            flusher.join()
        self.cache.adopt_file(src, digest, size, synced=synced or flushed == [None])

    def put_bytes(self, data: bytes) -> tuple[str, int]:
        """Upload ``data``; returns (digest, size)."""
        digest = hashlib.sha256(data).hexdigest()
        if not self.exists(digest):
            self._upload(digest, lambda key: self.fs.pipe_file(key, data))
        return digest, len(data)

    def _upload(self, digest: str, send: Any) -> None:
        key = self.key_of(digest)
        if self.atomic:
            self._call("upload", lambda: send(key))
            return
        tmp = f"{self.root}/{digest[:2]}/.tmp-{uuid.uuid4().hex}"
        self._call("upload", lambda: self.fs.makedirs(f"{self.root}/{digest[:2]}", exist_ok=True))
        try:
            self._call("upload", lambda: send(tmp))
            self._call("upload", lambda: self.fs.mv(tmp, key))
        except BaseException:
            try:
                self.fs.rm(tmp)
            except Exception:  # noqa: BLE001 - a leftover temporary object is swept by `aml gc`
                pass
            raise

    def path_of(self, digest: str) -> Path:
        """A local file holding the content (fetched into the cache on first use, checked)."""
        path = self.cache.path_of(digest)
        if path.exists():
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{uuid.uuid4().hex}"
        try:
            try:
                self.fs.get_file(self.key_of(digest), str(tmp))
            except FileNotFoundError:
                raise ArtifactNotFound(f"artifact {digest[:12]} is missing from {self.url}", digest=digest) from None
            except OSError as exc:
                raise StoreError(f"cannot read artifact {digest[:12]} from {self.url}: {exc}", url=self.url) from None
            got, _ = hash_file(tmp)
            if got != digest:
                raise StoreCorrupt(
                    f"artifact {digest[:12]} in {self.url} is damaged (its content hashes to {got[:12]}); "
                    "it was not used",
                    digest=digest,
                )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return path

    def read_bytes(self, digest: str) -> bytes:
        """The stored content with this digest (checked against it)."""
        return self.path_of(digest).read_bytes()

    def _listing(self) -> dict[str, dict[str, Any]]:
        found = self._call("list", lambda: self.fs.find(self.root, detail=True))
        out = {}
        for name, info in found.items():
            rel = name[len(self.root) :].strip("/").split("/")
            if len(rel) == 2 and _HEX64.match(rel[0] + rel[1]):
                out[rel[0] + rel[1]] = info
        return out

    def digests(self) -> dict[str, int]:
        """Every stored digest with its size."""
        return {d: int(info.get("size") or 0) for d, info in self._listing().items()}

    def sweep(self, keep: set[str], dry_run: bool = False, min_age: float = 3600.0) -> list[tuple[str, int]]:
        """Remove stored objects whose digest is not in ``keep`` and that are older than ``min_age``."""
        cutoff = time.time() - min_age
        gone = [
            (d, int(info.get("size") or 0))
            for d, info in sorted(self._listing().items())
            if d not in keep and _mtime(info) <= cutoff
        ]
        if not dry_run:
            for digest, _ in gone:
                self._call("delete", lambda d=digest: self.fs.rm(self.key_of(d)))
                self.cache.path_of(digest).unlink(missing_ok=True)
        return gone

    def _call(self, what: str, fn: Any) -> Any:
        try:
            return fn()
        except (InvalidInput, StoreError):
            raise
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot {what} artifacts in {self.url}: {exc}", url=self.url) from None


def _mtime(info: dict[str, Any]) -> float:
    for field in ("LastModified", "mtime", "last_modified", "created"):
        value = info.get(field)
        if isinstance(value, datetime):
            return value.timestamp()
        if isinstance(value, int | float):
            return float(value)
    return 0.0  # unknown age: old enough
