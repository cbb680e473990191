"""Persistence of the model registry: models, their numbered versions and aliases. What a version
holds and how it loads is :mod:`aml_jupyter.services.models`'s."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, func, select

from ...errors import ModelNotFound
from . import schema as t
from .database import Database


class ModelStore:
    """Models, versions and aliases of one store.

    Example:
        >>> import tempfile, os
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> ModelStore(db).models()
        []
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def add_version(self, name: str, description: str | None, values: dict[str, Any]) -> int:
        """Add the next version of ``name`` (making the model on its first version); its number."""

        def insert(conn: Connection) -> int:
            model_id = conn.execute(select(t.models.c.id).where(t.models.c.name == name)).scalar()
            if model_id is None:
                created = conn.execute(
                    t.models.insert().values(name=name, description=description, created_at=values["created_at"])
                )
                model_id = created.inserted_primary_key[0] if created.inserted_primary_key else None
            latest = conn.execute(
                select(func.max(t.model_versions.c.version)).where(t.model_versions.c.model_id == model_id)
            ).scalar()
            version = int(latest or 0) + 1
            conn.execute(t.model_versions.insert().values(model_id=model_id, version=version, **values))
            return version

        return self.db.write(insert, numbering=True)  # two registrations never share a number

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set one tag of version ``version`` of ``name`` (the others kept)."""
        mv = t.model_versions

        def write(conn: Connection) -> None:
            model_id = conn.execute(select(t.models.c.id).where(t.models.c.name == name)).scalar()
            where = (mv.c.model_id == model_id) & (mv.c.version == version)
            tags = json.loads(conn.execute(select(mv.c.tags).where(where)).scalar() or "{}")
            tags[key] = value
            conn.execute(mv.update().where(where).values(tags=json.dumps(tags, sort_keys=True)))

        self.db.write(write)

    def version(self, name: str, version: int | None, alias: str | None) -> tuple[Any, list[str], str | None]:
        """(the version's row, its aliases, its run's id) for ``name`` at ``version`` or ``alias``
        (the newest when neither); ModelNotFound says what exists instead."""
        mv, al, runs = t.model_versions, t.model_aliases, t.runs

        def read(conn: Connection) -> tuple[Any, list[str], str | None]:
            model_id = conn.execute(select(t.models.c.id).where(t.models.c.name == name)).scalar()
            if model_id is None:
                known = conn.execute(select(t.models.c.name).order_by(t.models.c.name).limit(10)).scalars().all()
                raise ModelNotFound(f"no model {name!r} (models: {', '.join(known) or 'none yet'})", model=name)
            wanted = version
            if alias is not None:
                wanted = conn.execute(
                    select(al.c.version).where(al.c.model_id == model_id, al.c.alias == alias)
                ).scalar()
                if wanted is None:
                    have = conn.execute(select(al.c.alias).where(al.c.model_id == model_id)).scalars().all()
                    raise ModelNotFound(
                        f"model {name!r} has no alias {alias!r} (aliases: {', '.join(sorted(have)) or 'none'})",
                        model=name,
                        alias=alias,
                    )
            q = (
                select(mv, runs.c.id.label("run_id"))
                .outerjoin(runs, runs.c.pk == mv.c.run_pk)
                .where(mv.c.model_id == model_id)
            )
            q = q.where(mv.c.version == wanted) if wanted is not None else q.order_by(mv.c.version.desc()).limit(1)
            row = conn.execute(q).first()
            if row is None:
                raise ModelNotFound(f"model {name!r} has no version {wanted}", model=name, version=wanted)
            aliases = (
                conn.execute(
                    select(al.c.alias)
                    .where(al.c.model_id == model_id, al.c.version == row.version)
                    .order_by(al.c.alias)
                )
                .scalars()
                .all()
            )
            return row, list(aliases), row.run_id

        return self.db.read(read)

    def models(self) -> list[dict[str, Any]]:
        """Every model with its newest version, version count, aliases and description."""
        m, mv, al = t.models, t.model_versions, t.model_aliases

        def read(conn: Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                select(m.c.id, m.c.name, m.c.description, func.max(mv.c.version), func.count(mv.c.id))
                .outerjoin(mv, mv.c.model_id == m.c.id)
                .group_by(m.c.id)
                .order_by(m.c.name)
            ).all()
            aliases: dict[int, dict[str, int]] = {}
            for model_id, alias, version in conn.execute(select(al.c.model_id, al.c.alias, al.c.version)).all():
                aliases.setdefault(model_id, {})[alias] = version
            return [
                {
                    "name": name,
                    "latest": latest,
                    "versions": count,
                    "aliases": aliases.get(mid, {}),
                    "description": desc,
                }
                for mid, name, desc, latest, count in rows
            ]

        return self.db.read(read)

    def versions_of_run(self, run_id: str) -> list[dict[str, Any]]:
        """The versions registered from run ``run_id``, oldest first: name, version, flavor, user,
        creation time and aliases. (A registry holds few versions: no index on the run is needed.)"""
        m, mv, al, runs = t.models, t.model_versions, t.model_aliases, t.runs

        def read(conn: Connection) -> list[dict[str, Any]]:
            rows = conn.execute(
                select(m.c.id, m.c.name, mv.c.version, mv.c.flavor, mv.c.user, mv.c.created_at)
                .join(mv, mv.c.model_id == m.c.id)
                .join(runs, runs.c.pk == mv.c.run_pk)
                .where(runs.c.id == run_id)
                .order_by(mv.c.created_at, m.c.name, mv.c.version)
            ).all()
            if not rows:
                return []
            aliases: dict[tuple[int, int], list[str]] = {}
            for model_id, alias, version in conn.execute(
                select(al.c.model_id, al.c.alias, al.c.version)
                .where(al.c.model_id.in_({r.id for r in rows}))
                .order_by(al.c.alias)
            ).all():
                aliases.setdefault((model_id, version), []).append(alias)
            return [
                {
                    "name": r.name,
                    "version": int(r.version),
                    "flavor": r.flavor,
                    "user": r.user,
                    "created_at": int(r.created_at),
                    "aliases": aliases.get((r.id, int(r.version)), []),
                }
                for r in rows
            ]

        return self.db.read(read)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``name@alias`` at ``version``, moving it if it pointed elsewhere."""
        al = t.model_aliases

        def write(conn: Connection) -> None:
            model_id = conn.execute(select(t.models.c.id).where(t.models.c.name == name)).scalar()
            conn.execute(al.delete().where(al.c.model_id == model_id, al.c.alias == alias))
            conn.execute(al.insert().values(model_id=model_id, alias=alias, version=version))

        self.db.write(write)
