"""Persistence of registered datasets: each version's recipe (JSON), its hashes, who and when.
What a recipe means and who may run it is :mod:`aml_jupyter.dataprep.datasets`'s."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import schema as t
from .database import Database

COLUMNS = ("name", "version", "recipe_hash", "source_fingerprint", "created_at", "user")


class DatasetStore:
    """Dataset versions of one store.

    Example:
        >>> import tempfile, os
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> DatasetStore(db).add("d", "{}", "r1", "f1", "ada", 1)
        1
        >>> DatasetStore(db).add("d", "{}", "r1", "f1", "ada", 2)  # same recipe and data: same version
        1
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, name: str, recipe: str, recipe_hash: str, fingerprint: str, user: str, at: int) -> int:
        """The version for this recipe and source: the latest when neither changed, else a new one."""
        d = t.datasets

        def add(conn: Any) -> int:
            latest = conn.execute(
                select(d.c.version, d.c.recipe_hash, d.c.source_fingerprint)
                .where(d.c.name == name)
                .order_by(d.c.version.desc())
                .limit(1)
            ).first()
            if latest is not None and latest[1] == recipe_hash and latest[2] == fingerprint:
                return int(latest[0])
            version = 1 if latest is None else int(latest[0]) + 1
            conn.execute(
                d.insert().values(
                    name=name,
                    version=version,
                    recipe=recipe,
                    recipe_hash=recipe_hash,
                    source_fingerprint=fingerprint,
                    created_at=at,
                    user=user,
                )
            )
            return version

        return self.db.write(add, numbering=True)  # two registrations never share a number

    def get(self, name: str, version: int | None = None) -> tuple[int, str, str, str, str] | None:
        """(version, recipe, recipe_hash, source_fingerprint, user) of one version (the latest by default)."""
        d = t.datasets
        q = select(d.c.version, d.c.recipe, d.c.recipe_hash, d.c.source_fingerprint, d.c.user).where(d.c.name == name)
        q = q.where(d.c.version == version) if version is not None else q.order_by(d.c.version.desc()).limit(1)
        row = self.db.read(lambda c: c.execute(q).first())
        return None if row is None else (int(row[0]), row[1], row[2], row[3], row[4])

    def versions(self) -> list[dict[str, Any]]:
        """Every version of every dataset, by name and version."""
        d = t.datasets
        q = select(*(d.c[c] for c in COLUMNS)).order_by(d.c.name, d.c.version)
        return [dict(zip(COLUMNS, r, strict=True)) for r in self.db.read(lambda c: c.execute(q).all())]
