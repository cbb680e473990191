"""Persistence of deployments: which model version serves where, under which supervisor. Starting,
watching and stopping them is :mod:`aml_jupyter.services.deployments`'s."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from . import schema as t
from .database import Database


class DeploymentStore:
    """Deployment rows of one store.

    Example:
        >>> import tempfile, os
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> DeploymentStore(db).all()
        []
    """

    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, row: dict[str, Any]) -> None:
        """Record a new deployment."""
        self.db.write(lambda c: c.execute(t.deployments.insert().values(**row)))

    def get(self, name: str) -> dict[str, Any] | None:
        """One deployment's row."""
        d = t.deployments
        row = self.db.read(lambda c: c.execute(select(d).where(d.c.name == name)).mappings().first())
        return None if row is None else dict(row)

    def update(self, name: str, values: dict[str, Any]) -> None:
        """Change some columns of one deployment."""
        d = t.deployments
        self.db.write(lambda c: c.execute(d.update().where(d.c.name == name).values(**values)))

    def all(self) -> list[dict[str, Any]]:
        """Every deployment, by name."""
        d = t.deployments
        return [dict(r) for r in self.db.read(lambda c: c.execute(select(d).order_by(d.c.name)).mappings().all())]

    def of_version(self, model: str, version: int) -> list[dict[str, Any]]:
        """Name, target, URL and creation time of the deployments serving one model version."""
        d = t.deployments
        q = select(d.c.name, d.c.target, d.c.url, d.c.created_at).where(d.c.model == model, d.c.version == version)
        return [dict(r) for r in self.db.read(lambda c: c.execute(q).mappings().all())]

    def delete(self, name: str) -> None:
        """Forget one deployment."""
        d = t.deployments
        self.db.write(lambda c: c.execute(d.delete().where(d.c.name == name)))
