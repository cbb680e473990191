"""Whether a model version's "registered by" can be believed, for the trust decision of loading
code-bearing models (pickle, ``score.py``) without ``trusted=True``.

A row's ``user`` is whatever its writer put there: in a shared store (PostgreSQL, a shared folder)
anyone with write access can write any row under any name. So a registration is sealed when it is
made: an HMAC of what it is and who made it, under a key that lives beside the workspace that
registered it (``.aml/registry.key``, readable by its owner only), never in the store. A
registration made through a server (the Jupyter extension, ``aml server``) is sealed by the server
with its caller's authenticated name. A version is vouched for when the store is this user's
private SQLite file, or when its seal checks out under this workspace's key; any other
registration is unverified, and loading it needs ``trusted=True``, whoever's name it carries.
Datasets whose recipe runs code are sealed the same way (the seal kept beside the key).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..workspace import Workspace

KEY_FILE = "registry.key"
SEAL_TAG = "aml.seal"  # in the version's tags; never shown, never set by a client


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


def _checks(ws: Workspace, given: str | None, name: str, content_hash: str, user: str, stamp: int, kind: str) -> bool:
    # Whether ``given`` is this workspace's seal of these; never when the key is not here.
    if not given or not (ws.aml_dir / KEY_FILE).exists():
        return False
    return hmac.compare_digest(seal(ws, name, content_hash, user, stamp, kind=kind), given)


def vouched(ws: Workspace, name: str, content_hash: str, user: str, created_at: int, given: str | None) -> bool:
    """Whether the store can vouch that ``user`` registered this version.

    Example:
        >>> vouched(ws, mv.name, mv.content_hash, mv.user, mv.created_at, mv.seal)  # doctest: +SKIP
        True
    """
    from .stores import private

    return private(ws) or _checks(ws, given, name, content_hash, user, created_at, "model")


def _dataset_seal_file(ws: Workspace, name: str, version: int) -> os.PathLike[str]:
    # The datasets table has no room for a seal: it stays beside the key, in the registering workspace.
    return ws.aml_dir / "seals" / f"dataset-{hashlib.sha256(name.encode()).hexdigest()[:32]}-{version}"


def seal_dataset(ws: Workspace, name: str, version: int, recipe_hash: str, user: str) -> None:
    """Seal a dataset version just registered by ``user`` (see :func:`vouched_dataset`).

    Example:
        >>> seal_dataset(ws, "customers", 1, "ab" * 32, "alice")  # doctest: +SKIP
    """
    path = _dataset_seal_file(ws, name, version)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "w") as f:
        f.write(seal(ws, name, recipe_hash, user, version, kind="dataset"))


def vouched_dataset(ws: Workspace, name: str, version: int, recipe_hash: str, user: str) -> bool:
    """Whether the store can vouch that ``user`` registered this dataset version: a private store,
    or a seal of this workspace's that checks out.

    Example:
        >>> vouched_dataset(ws, "customers", 1, ds.digest, "alice")  # doctest: +SKIP
        True
    """
    from .stores import private

    if private(ws):
        return True
    try:
        with open(_dataset_seal_file(ws, name, version)) as f:
            given = f.read().strip()
    except OSError:
        return False
    return _checks(ws, given, name, recipe_hash, user, version, "dataset")


APPROVAL_TAG = "aml.approved_by"  # "USER SEAL": an owner's approval to deploy a code-bearing version


def approval_value(ws: Workspace, name: str, content_hash: str, owner: str, version: int) -> str:
    """The tag value that records ``owner``'s approval of this version, sealed like a registration.

    Example:
        >>> approval_value(ws, "iris", mv.content_hash, "olga", 3)  # doctest: +SKIP
        'olga 9c1f...'
    """
    return f"{owner} {seal(ws, name, content_hash, owner, version, kind='approval')}"


def approved_by(ws: Workspace, name: str, content_hash: str, version: int, value: str | None) -> str | None:
    """Who approved this version, when the approval's seal checks out under this workspace's key.

    Example:
        >>> approved_by(ws, "iris", mv.content_hash, 3, mv_tags.get(APPROVAL_TAG))  # doctest: +SKIP
        'olga'
    """
    owner, _, given = (value or "").partition(" ")
    return owner if owner and _checks(ws, given, name, content_hash, owner, version, "approval") else None
