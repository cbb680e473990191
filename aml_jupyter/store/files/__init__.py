"""Where artifact files live: a local folder, or any URL an fsspec file system (or a plug-in) serves.

Every backend keeps content under its SHA-256 and offers the same calls, so the rest of the package
never knows which one it has.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from ...errors import ConfigError
from .local import LocalArtifactStore

ENTRY_POINTS = "aml_jupyter.artifact_stores"  # scheme -> factory(url, cache) for other backends


class ArtifactStore(Protocol):
    """What every artifact backend offers (content named by its SHA-256)."""

    url: str

    def put_file(self, src: str | os.PathLike[str]) -> tuple[str, int]: ...
    def put_bytes(self, data: bytes) -> tuple[str, int]: ...
    def staging_dir(self) -> Path: ...
    def adopt_file(self, src: str | os.PathLike[str], digest: str, size: int, synced: bool = False) -> None: ...
    def path_of(self, digest: str) -> Path: ...
    def read_bytes(self, digest: str) -> bytes: ...
    def exists(self, digest: str) -> bool: ...
    def digests(self) -> dict[str, int]: ...
    def sweep(self, keep: set[str], dry_run: bool = False, min_age: float = 3600.0) -> list[tuple[str, int]]: ...


def cache_folder(url: str) -> Path:
    """The local cache of the artifact store at ``url`` (``AML_CACHE_DIR``, else ~/.cache/aml_jupyter).

    Example:
        >>> cache_folder("s3://bucket/runs").parent.name, len(cache_folder("s3://bucket/runs").name)
        ('artifacts', 16)
    """
    base = Path(os.environ.get("AML_CACHE_DIR") or Path.home() / ".cache" / "aml_jupyter")
    return base / "artifacts" / hashlib.sha256(url.rstrip("/").encode()).hexdigest()[:16]


def _plugins() -> dict[str, Callable[..., Any]]:
    from importlib.metadata import entry_points

    return {ep.name: ep.load for ep in entry_points(group=ENTRY_POINTS)}


def open_artifacts(where: str | os.PathLike[str]) -> ArtifactStore:
    """The artifact store for a folder or a URL (``s3://bucket/prefix``, ``file:///srv/a``, ...).

    Example:
        >>> import tempfile
        >>> type(open_artifacts(tempfile.mkdtemp())).__name__
        'LocalArtifactStore'
    """
    text = os.fspath(where)
    scheme, sep, _ = text.partition("://")
    if not sep:
        return LocalArtifactStore(text)
    plugins = _plugins() if scheme not in _known_to_fsspec() else {}
    if scheme in plugins:
        store: ArtifactStore = plugins[scheme]()(text, cache_folder(text))
        return store
    if scheme not in _known_to_fsspec():
        raise ConfigError(f"{text}: no artifact store serves {scheme}:// (fsspec knows none, and no plug-in)")
    try:
        from .remote import FsspecArtifactStore
    except ImportError:
        raise ConfigError(f"{text} needs fsspec: pip install 'aml_jupyter[s3]'") from None
    return FsspecArtifactStore(text, cache_folder(text))


def _known_to_fsspec() -> set[str]:
    try:
        from fsspec.registry import known_implementations
    except ImportError:
        return set()
    return set(known_implementations)
