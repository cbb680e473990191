"""Who may do what, in one place for every surface: roles, groups, the audit log and the per-user
tokens of ``aml server``.

=========== ====================================================================
role        may
=========== ====================================================================
reader      read: runs, metrics, artifacts, models, notebooks and files
contributor read, write (log, create runs, save files) and execute (submit and
            cancel jobs, rerun, start kernels, deploy)
owner       all of that, and admin: give roles, delete runs, read the audit log
=========== ====================================================================

The Jupyter extension (``AmlAuthorizer``) and ``aml server`` both ask :func:`role_of`, over the
roles and groups stored in the workspace (``aml roles``, ``PUT /api/v1/roles``) plus, for the
extension, those of its traitlets config. A token is ``aml_<id>_<secret>``; the store keeps only
its SHA-256, so a stolen database yields no usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..entities.lifecycle import is_live
from ..entities.tokens import RUN_TOKEN_DAYS, RUN_TOKEN_MAKER, run_token_name
from ..errors import AccessDenied, InvalidInput, NotFound

if TYPE_CHECKING:
    from ..store.interfaces import AccessStore
    from ..workspace import Workspace

ROLES = ("reader", "contributor", "owner")
ACTIONS = {
    "reader": frozenset({"read"}),
    "contributor": frozenset({"read", "write", "execute"}),
    "owner": frozenset({"read", "write", "execute", "admin"}),
}
TOUCH_EVERY_MS = 60_000  # "last used" is written at most this often per token: not a write per request


class TokenRefused(AccessDenied):
    """A token aml knows but no longer takes (revoked or expired); ``token`` is its row."""

    def __init__(self, message: str, token: dict[str, Any]) -> None:
        super().__init__(message)
        self.token = token


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: a user name and, for a per-user token, its id.

    Example:
        >>> Principal("alice", "1a2b3c4d").user
        'alice'
    """

    user: str
    token_id: str | None = None
    run_id: str | None = None  # a run-scoped token's run: it may touch that run and nothing else


def _store(ws: Workspace) -> AccessStore:
    return ws.store.access


def _now() -> int:
    return int(time.time() * 1000)


def check_name(name: object, what: str = "user or group name") -> str:
    """A user or group name as aml stores it: text of 1 to 250 printable characters.

    Example:
        >>> check_name("alice")
        'alice'
    """
    if not isinstance(name, str) or not name.strip() or len(name) > 250 or not name.isprintable():
        raise InvalidInput(f"{name!r} is not a {what} (1 to 250 printable characters)")
    return name


# roles ---------------------------------------------------------------------------------------


def strongest_role(user: str, given: dict[str, str], groups: dict[str, list[str]], default: str | None) -> str | None:
    """The strongest role ``user`` holds by name or through a group, else ``default``.

    Example:
        >>> strongest_role("bob", {"team": "contributor"}, {"team": ["bob"]}, "reader")
        'contributor'
        >>> strongest_role("eve", {}, {}, None) is None
        True
    """
    names = [user, *sorted(g for g, members in groups.items() if user in members)]
    held = [given[n] for n in names if n in given]
    if not held:
        return default or None
    return max(held, key=ROLES.index)


def allows(role: str | None, action: str) -> bool:
    """Whether ``role`` may do ``action`` (read, write, execute, admin).

    Example:
        >>> allows("contributor", "write"), allows("reader", "write"), allows(None, "read")
        (True, False, False)
    """
    return role is not None and action in ACTIONS[role]


def stored_roles(ws: Workspace) -> dict[str, str]:
    """Roles given in the workspace (user or group name -> role).

    Example:
        >>> stored_roles(ws)  # doctest: +SKIP
        {'alice': 'owner'}
    """
    return _store(ws).roles()


def stored_groups(ws: Workspace) -> dict[str, list[str]]:
    """Groups kept in the workspace (group name -> members).

    Example:
        >>> stored_groups(ws)  # doctest: +SKIP
        {'ml-team': ['alice', 'bob']}
    """
    return _store(ws).groups()


def set_roles(ws: Workspace, changes: dict[str, Any], groups: dict[str, list[str]] | None = None) -> dict[str, str]:
    """Give (``name: role``) or take (``name: None``) roles, and make each of ``groups`` hold
    exactly its members (``[]`` deletes it); all checked before any is written. The roles as they
    then stand.

    Example:
        >>> set_roles(ws, {"bob": "contributor", "eve": None})  # doctest: +SKIP
        {'alice': 'owner', 'bob': 'contributor'}
    """
    for name, role in changes.items():
        check_name(name)
        if role is not None and role not in ROLES:
            raise InvalidInput(f"{role!r} is not a role ({', '.join(ROLES)}, or null to take it away)")
    for group, members in (groups or {}).items():
        check_name(group, "group name")
        if not isinstance(members, list):
            raise InvalidInput(f"the members of group {group!r} must be a list of names")
        for member in members:
            check_name(member, "member name")
    store = _store(ws)
    if changes:
        store.set_roles(dict(changes), _now())
    for group, members in (groups or {}).items():
        store.set_group(group, list(members))
    return store.roles()


def role_of(
    ws: Workspace,
    user: str,
    default: str | None = "reader",
    roles: dict[str, str] | None = None,
    groups: dict[str, list[str]] | None = None,
) -> str | None:
    """The role ``user`` holds in the workspace; ``roles`` and ``groups`` (a server's own config)
    are the base, the stored ones win for the same name; the stored groups add members.

    Example:
        >>> role_of(ws, "alice")  # doctest: +SKIP
        'owner'
    """
    store = _store(ws)
    given = {**(roles or {}), **store.roles()}
    members = {k: list(v) for k, v in (groups or {}).items()}
    for group, names in store.groups().items():
        members.setdefault(group, []).extend(names)
    return strongest_role(user, given, members, default)


# audit ---------------------------------------------------------------------------------------


def audit(ws: Workspace, user: str, action: str, method: str, path: str, status: int, address: str | None) -> None:
    """Append one entry to the audit log (the path without its query: no token ever lands there).

    Example:
        >>> audit(ws, "alice", "write", "POST", "/api/v1/runs", 201, "10.0.0.7")  # doctest: +SKIP
    """
    row = {
        "at": _now(),
        "user": user[:250],
        "action": action,
        "method": method,
        "path": path.partition("?")[0][:2000],
        "address": (address or "")[:64] or None,
        "status": status,
    }
    _store(ws).audit(row)


def audit_entries(ws: Workspace, limit: int) -> list[dict[str, Any]]:
    """The newest ``limit`` audit entries.

    Example:
        >>> audit_entries(ws, 10)[0]["action"]  # doctest: +SKIP
        'write'
    """
    return _store(ws).audit_entries(limit)


# tokens --------------------------------------------------------------------------------------


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(
    ws: Workspace, user: str, name: str = "", created_by: str = "", expires_days: float | None = None
) -> tuple[str, dict[str, Any]]:
    """A new token for ``user``: (the secret, shown only now; its row without the digest).

    Example:
        >>> secret, row = create_token(ws, "alice", "laptop")  # doctest: +SKIP
        >>> secret.startswith("aml_"), row["user"]  # doctest: +SKIP
        (True, 'alice')
    """
    check_name(user, "user name")
    if name:
        check_name(name, "token name")
    if expires_days is not None and not 0 < expires_days <= 3650:
        raise InvalidInput("a token expires after more than 0 and at most 3650 days")
    token_id = secrets.token_hex(4)
    secret = f"aml_{token_id}_{secrets.token_urlsafe(24)}"
    now = _now()
    row = {
        "id": token_id,
        "digest": _digest(secret),
        "user": user,
        "name": name or token_id,
        "created_at": now,
        "created_by": created_by or user,
        "expires_at": None if expires_days is None else now + int(expires_days * 86_400_000),
        "revoked_at": None,
        "last_used_at": None,
    }
    _store(ws).add_token(row)
    return secret, {k: v for k, v in row.items() if k != "digest"}


def list_tokens(ws: Workspace) -> list[dict[str, Any]]:
    """Every token (revoked ones too), without secrets or digests, oldest first.

    Example:
        >>> [t["user"] for t in list_tokens(ws)]  # doctest: +SKIP
        ['alice', 'bob']
    """
    return _store(ws).tokens()


def revoke_token(ws: Workspace, token_id: str) -> dict[str, Any]:
    """Revoke a token at once: the next request carrying it is refused. Returns its row.

    Example:
        >>> revoke_token(ws, "1a2b3c4d")["revoked_at"] > 0  # doctest: +SKIP
        True
    """
    store = _store(ws)
    if not store.revoke_token(str(token_id), _now()):
        known = {t["id"]: t for t in store.tokens()}
        if token_id in known:
            return known[token_id]  # revoked before: nothing more to do
        raise NotFound(f"no token {token_id!r}; `aml tokens list` shows them")
    return {t["id"]: t for t in store.tokens()}[token_id]


_touched: dict[str, int] = {}


def authenticate(ws: Workspace, secret: str) -> Principal | None:
    """The principal a per-user token names; None for a secret aml never gave out. A revoked or
    expired token raises :class:`TokenRefused` saying which and since when.

    Example:
        >>> authenticate(ws, "aml_1a2b3c4d_...").user  # doctest: +SKIP
        'alice'
    """
    if not secret.startswith("aml_") or len(secret) > 200:
        return None
    store = _store(ws)
    row = store.token_by_digest(_digest(secret))
    if row is None or not hmac.compare_digest(row["digest"], _digest(secret)):
        return None
    now = _now()
    shown = f"token {row['id']} ({row['name']}) of {row['user']}"
    if row["revoked_at"] is not None:
        when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(row["revoked_at"] / 1000))
        raise TokenRefused(f"{shown} was revoked at {when}", row)
    if row["expires_at"] is not None and row["expires_at"] <= now:
        raise TokenRefused(f"{shown} expired", row)
    run_id = _scoped_run(row)
    if run_id is not None:
        _check_run_live(ws, run_id, shown, row)
    if now - _touched.get(row["id"], 0) >= TOUCH_EVERY_MS:
        _touched[row["id"]] = now
        store.touch_token(row["id"], now)
    return Principal(row["user"], row["id"], run_id)


def _scoped_run(row: dict[str, Any]) -> str | None:
    # Only aml makes these (created_by is never a caller's choice); a name alone scopes nothing.
    name = str(row.get("name") or "")
    prefix = run_token_name("")
    if row.get("created_by") == RUN_TOKEN_MAKER and name.startswith(prefix):
        return name[len(prefix) :]
    return None


def _check_run_live(ws: Workspace, run_id: str, shown: str, row: dict[str, Any]) -> None:
    from ..entities.lifecycle import RunStatus

    try:
        status = RunStatus(ws.store.get_run(run_id).status)
    except NotFound:
        raise TokenRefused(f"{shown}: its run {run_id} is gone", row) from None
    if status.is_terminal:
        raise TokenRefused(f"{shown}: its run {run_id} has ended ({status.value})", row)


def create_run_token(ws: Workspace, run_id: str, user: str) -> str:
    """A token for the job of run ``run_id`` to reach ``aml server`` with: it acts as ``user``, a
    contributor on that run alone, and is refused once the run has ended.

    Example:
        >>> secret = create_run_token(ws, run.id, run.user)  # doctest: +SKIP
    """
    secret, _ = create_token(ws, user, run_token_name(run_id), created_by=RUN_TOKEN_MAKER, expires_days=RUN_TOKEN_DAYS)
    return secret


def job_token(ws: Workspace, run_id: str) -> str | None:
    """The run-scoped token a job launcher hands its job when the job logs through ``aml server``
    (its target's ``tracking_uri``), else None. The job engine revokes it when the job ends.

    Example:
        >>> job_token(ws, run.id) is None  # a job that opens the workspace itself  # doctest: +SKIP
        True
    """
    from ..compute.targets import get_target

    record = ws.store.get_run(run_id)
    uri = record.tags.get("aml.tracking_uri") or get_target(ws, record.compute_target or "local").settings.get(
        "tracking_uri"
    )
    if not str(uri or "").startswith(("http://", "https://")):
        return None
    return create_run_token(ws, record.id, record.user)


def scope_allows(principal: Principal, method: str, path: str) -> bool:
    """Whether a run-scoped principal may call ``method path`` (any other principal may: its role
    decides). Its own run's routes, and the snapshot archive its job unpacks.

    Example:
        >>> p = Principal("bob", "1a2b3c4d", "ab" * 16)
        >>> scope_allows(p, "POST", "/api/v1/runs/" + "ab" * 16 + "/metrics"), scope_allows(p, "PUT", "/api/v1/roles")
        (True, False)
    """
    if principal.run_id is None:
        return True
    parts = path.split("/")
    if len(parts) >= 5 and parts[1:4] == ["api", "v1", "runs"]:
        return parts[4] == principal.run_id
    return method == "GET" and len(parts) == 5 and parts[1:4] == ["api", "v1", "snapshots"]


def scoped_role(principal: Principal, role: str | None) -> str | None:
    """A run-scoped principal acts as a contributor, whatever its user's role: the submission it
    was made for was allowed, and :func:`scope_allows` keeps it to that run.

    Example:
        >>> scoped_role(Principal("ann", "1", "ab" * 16), "owner"), scoped_role(Principal("ann", "1"), "owner")
        ('contributor', 'owner')
    """
    return role if principal.run_id is None else "contributor"


def end_run_of_refused_token(ws: Workspace, run_id: str, refused: TokenRefused) -> str | None:
    """A job kept calling with a token that was revoked: its live run ends ``failed`` with the
    reason, when that token wrote it (the run it was scoped to, or one it created over REST): never
    another live run of the same user. Returns the run's id when it was ended.

    Example:
        >>> end_run_of_refused_token(ws, run_id, refused)  # doctest: +SKIP
        '5f1e...'
    """
    from ..entities.lifecycle import RunEvent
    from ..errors import IllegalTransition

    try:
        record = ws.store.get_run(run_id)
    except NotFound:
        return None
    from .runs import TOKEN_TAG

    wrote_it = _scoped_run(refused.token) == record.id or record.tags.get(TOKEN_TAG) == refused.token["id"]
    if not is_live(record.status) or not wrote_it:
        return None
    reason = f"the tracking server refused the job's calls: {refused}"
    try:
        ws.store.transition(record.pk, RunEvent.FAIL, error=reason)
    except IllegalTransition:
        return None
    return record.id
