"""The workspace's registry key and the seals made with it: the ground both the model registry
(services/provenance.py) and the dataset registry (dataprep/datasets.py) stand on to tell a
registration its workspace made from a row anyone with write access to a shared store could write.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workspace import Workspace

KEY_FILE = "registry.key"


def _key(ws: Workspace) -> bytes:
    path = ws.aml_dir / KEY_FILE
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    try:  # made once, 0600, by whoever registers first; a second maker reads the first one's
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes()
    with os.fdopen(fd, "wb") as f:
        f.write(secrets.token_bytes(32))
    return path.read_bytes()


def seal(ws: Workspace, name: str, content_hash: str, user: str, created_at: int, kind: str = "model") -> str:
    """The seal of a registration: who registered which bytes under which name, and when.

    Example:
        >>> seal(ws, "iris", "ab" * 32, "alice", 1700000000000)  # doctest: +SKIP
        '5d41...'
    """
    message = "\0".join([kind, name, content_hash, user, str(created_at)]).encode()
    return hmac.new(_key(ws), message, hashlib.sha256).hexdigest()


def checks(ws: Workspace, given: str | None, name: str, content_hash: str, user: str, stamp: int, kind: str) -> bool:
    """Whether ``given`` is this workspace's seal of these; never when the key is not here.

    Example:
        >>> checks(ws, None, "iris", "ab" * 32, "alice", 1700000000000, "model")  # doctest: +SKIP
        False
    """
    if not given or not (ws.aml_dir / KEY_FILE).exists():
        return False
    return hmac.compare_digest(seal(ws, name, content_hash, user, stamp, kind=kind), given)


def private(ws: Workspace) -> bool:
    """Whether only this operating-system user can write the workspace's store: an SQLite file
    (and its folder) owned by this user, writable by no group or other. In any other store
    (PostgreSQL, a shared folder) anyone with write access can write any row, so a row's "registered
    by" is a claim, never an identity to base a trust decision on.

    Example:
        >>> private(ws)  # doctest: +SKIP
        True
    """
    url = ws.store_url
    if not url.startswith("sqlite:///"):
        return False
    path = Path(url[len("sqlite:///") :])
    try:
        for p in (path, path.parent):
            st = p.stat()
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return False
    except OSError:
        return False
    return True
