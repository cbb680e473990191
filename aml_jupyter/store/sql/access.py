"""Persistence of who may do what: roles given to users and groups, group members, the audit log,
and the bearer tokens of ``aml server``. Rules (which role allows what, how a token is checked)
are :mod:`aml_jupyter.services.access`'s; this module only reads and writes rows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select, update

from . import schema as t
from .database import Database


class AccessStore:
    """Roles, groups, audit entries and tokens of one store.

    Example:
        >>> import tempfile, os
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> AccessStore(db).roles()
        {}
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    # roles and groups ------------------------------------------------------------------------

    def roles(self) -> dict[str, str]:
        """Roles given through aml (user or group name -> role)."""
        r = t.workspace_roles
        return dict(self.db.read(lambda c: c.execute(select(r.c.principal, r.c.role)).all()))

    def set_roles(self, changes: dict[str, str | None], at: int) -> None:
        """Give (``name: role``) or take (``name: None``) roles in one transaction; checked by the caller."""
        r = t.workspace_roles

        def write(conn: Any) -> None:
            for name, role in changes.items():
                conn.execute(delete(r).where(r.c.principal == name))
                if role is not None:
                    conn.execute(r.insert().values(principal=name, role=role, updated_at=at))

        self.db.write(write)

    def groups(self) -> dict[str, list[str]]:
        """Group name -> its members, sorted."""
        g = t.workspace_groups
        rows = self.db.read(lambda c: c.execute(select(g.c.group_name, g.c.member).order_by(g.c.member)).all())
        out: dict[str, list[str]] = {}
        for group, member in rows:
            out.setdefault(group, []).append(member)
        return out

    def set_group(self, group: str, members: list[str]) -> None:
        """Replace the members of ``group`` (none deletes it)."""
        g = t.workspace_groups

        def write(conn: Any) -> None:
            conn.execute(delete(g).where(g.c.group_name == group))
            for member in sorted(set(members)):
                conn.execute(g.insert().values(group_name=group, member=member))

        self.db.write(write)

    # audit -----------------------------------------------------------------------------------

    def audit(self, row: dict[str, Any]) -> None:
        """Append one audit entry."""
        self.db.write(lambda conn: conn.execute(t.audit_log.insert().values(**row)))

    def audit_entries(self, limit: int) -> list[dict[str, Any]]:
        """The newest ``limit`` audit entries, newest first."""
        a = t.audit_log
        rows = self.db.read(lambda c: c.execute(select(a).order_by(a.c.id.desc()).limit(limit)).mappings().all())
        return [dict(r) for r in rows]

    # tokens ----------------------------------------------------------------------------------

    def add_token(self, row: dict[str, Any]) -> None:
        """Store a new token's row (its digest, never its secret)."""
        self.db.write(lambda conn: conn.execute(t.api_tokens.insert().values(**row)))

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        """The token whose secret hashes to ``digest``, revoked or not."""
        k = t.api_tokens
        row = self.db.read(lambda c: c.execute(select(k).where(k.c.digest == digest)).mappings().first())
        return dict(row) if row else None

    def tokens(self) -> list[dict[str, Any]]:
        """Every token, oldest first, without digests."""
        k = t.api_tokens
        columns = [c for c in k.c if c.name != "digest"]
        rows = self.db.read(lambda c: c.execute(select(*columns).order_by(k.c.created_at, k.c.id)).mappings().all())
        return [dict(r) for r in rows]

    def revoke_token(self, token_id: str, at: int) -> bool:
        """Mark a token revoked; False when there is no such live token."""
        k = t.api_tokens
        done = self.db.write(
            lambda c: c.execute(update(k).where(k.c.id == token_id, k.c.revoked_at.is_(None)).values(revoked_at=at))
        )
        return bool(done.rowcount)

    def touch_token(self, token_id: str, at: int) -> None:
        """Record when a token was last used."""
        k = t.api_tokens
        self.db.write(lambda c: c.execute(update(k).where(k.c.id == token_id).values(last_used_at=at)))
