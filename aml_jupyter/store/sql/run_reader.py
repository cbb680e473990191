"""Reading runs back from the store: ids and id prefixes, and full records with their params,
latest metrics, tags, artifacts and inputs (a base of :class:`~aml_jupyter.store.sql.runs.RunStore`)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, select

from ...entities.records import ArtifactRecord, RunRecord, decode_value
from ...errors import RunNotFound
from . import schema as t
from .database import Database

_PARENT = t.runs.alias("parent")  # built once: aliasing a table is costly


class RunReader:
    """Queries that load run records (they never write); needs ``self.db``."""

    db: Database

    def resolve_run_id(self, run_id: str) -> str:
        """Expand a unique id prefix (at least 4 characters) to the full run id."""
        if not isinstance(run_id, str) or not run_id or len(run_id) > 32 or not run_id.isalnum():
            raise RunNotFound(f"no run with id {run_id!r}", run_id=str(run_id)[:40])
        if len(run_id) == 32:
            return run_id
        if len(run_id) < 4:
            raise RunNotFound(f"run id prefix {run_id!r} is too short (4 characters at least)", run_id=run_id)
        q = select(t.runs.c.id).where(t.runs.c.id.like(run_id.lower() + "%")).limit(2)
        found = self.db.read(lambda c: c.execute(q).scalars().all())
        if len(found) != 1:
            why = "matches several runs: give more of it" if found else "matches no run" + self._near(run_id)
            raise RunNotFound(f"run id {run_id!r} {why}", run_id=run_id)
        return str(found[0])

    def _near(self, run_id: str) -> str:
        # A typo in an id: the ids that share its first four characters, as long as the one typed.
        from ...errors import did_you_mean

        q = select(t.runs.c.id).where(t.runs.c.id.like(run_id[:4].lower() + "%")).limit(50)
        near = [str(i)[: len(run_id)] for i in self.db.read(lambda c: c.execute(q).scalars().all())]
        return did_you_mean(run_id.lower(), near) if near else ""

    def get_run(self, run_id: str) -> RunRecord:
        """One run with its params, latest metrics, tags, artifacts and inputs."""
        full = self.resolve_run_id(run_id)
        records = self.db.read(lambda c: self._load_runs(c, t.runs.c.id == full))
        if not records:
            raise RunNotFound(f"no run with id {run_id!r}", run_id=run_id)
        return records[0]

    def runs_by_pk(self, pks: Sequence[int]) -> list[RunRecord]:
        """Full records of these runs, in the given order."""
        if not pks:
            return []
        found = {r.pk: r for r in self.db.read(lambda c: self._load_runs(c, t.runs.c.pk.in_(list(pks))))}
        return [found[pk] for pk in pks if pk in found]

    def _load_runs(self, conn: Connection, where: Any) -> list[RunRecord]:
        r, e = t.runs, t.experiments
        parent = _PARENT
        q = (
            select(r, e.c.name.label("experiment"), parent.c.id.label("parent_id"))
            .join(e, e.c.id == r.c.experiment_id)
            .outerjoin(parent, parent.c.pk == r.c.parent_pk)
            .where(where)
        )
        rows = conn.execute(q).mappings().all()
        if not rows:
            return []
        pks = [row["pk"] for row in rows]
        params = _grouped(
            conn.execute(select(t.params.c.run_pk, t.params.c.key, t.params.c.value).where(t.params.c.run_pk.in_(pks)))
        )
        tags = _grouped(
            conn.execute(select(t.tags.c.run_pk, t.tags.c.key, t.tags.c.value).where(t.tags.c.run_pk.in_(pks)))
        )
        lm, mk = t.latest_metrics, t.metric_keys
        metrics: dict[int, dict[str, float]] = {}
        for pk, key, value, special in conn.execute(
            select(lm.c.run_pk, mk.c.key, lm.c.value, lm.c.special)
            .join(mk, mk.c.id == lm.c.key_id)
            .where(lm.c.run_pk.in_(pks))
        ):
            metrics.setdefault(pk, {})[key] = decode_value(value, special)
        a = t.artifacts
        arts: dict[int, list[ArtifactRecord]] = {}
        for row in conn.execute(select(a).where(a.c.run_pk.in_(pks)).order_by(a.c.name)).mappings():
            arts.setdefault(row["run_pk"], []).append(
                ArtifactRecord(row["name"], row["digest"], row["size"], row["media_type"], row["created_at"])
            )
        ri = t.run_inputs
        inputs: dict[int, list[dict[str, Any]]] = {}
        for row in conn.execute(select(ri).where(ri.c.run_pk.in_(pks)).order_by(ri.c.id)).mappings():
            inputs.setdefault(row["run_pk"], []).append({k: row[k] for k in ("kind", "name", "uri", "digest", "role")})
        out = []
        for row in rows:
            pk = row["pk"]
            attrs = {k: row[k] for k in RunRecord.__dataclass_fields__ if k in row and k != "git"}
            attrs["git"] = json.loads(row["git"]) if row["git"] else None
            out.append(
                RunRecord(
                    **attrs,
                    params=params.get(pk, {}),
                    metrics=metrics.get(pk, {}),
                    tags=tags.get(pk, {}),
                    artifacts=arts.get(pk, []),
                    inputs=inputs.get(pk, []),
                )
            )
        return out


def _grouped(rows: Iterable[Any]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {}
    for pk, key, value in rows:
        out.setdefault(pk, {})[key] = value
    return out
