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

from typing import TYPE_CHECKING

from ..seals import checks, private, seal

if TYPE_CHECKING:
    from ..workspace import Workspace

SEAL_TAG = "aml.seal"  # in the version's tags; never shown, never set by a client


def vouched(ws: Workspace, name: str, content_hash: str, user: str, created_at: int, given: str | None) -> bool:
    """Whether the store can vouch that ``user`` registered this version.

    Example:
        >>> vouched(ws, mv.name, mv.content_hash, mv.user, mv.created_at, mv.seal)  # doctest: +SKIP
        True
    """
    return private(ws) or checks(ws, given, name, content_hash, user, created_at, "model")


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
    return owner if owner and checks(ws, given, name, content_hash, owner, version, "approval") else None
