"""RunStore: every read and write of experiments, runs, params, tags, metrics and artifacts.

Runs are born in services/runs.create alone; a live run's points come from the SDK's buffered writer
(docs/design.md, "The exceptions, and why"). Statements are SQLAlchemy Core;
the one hot path (inserting metric points) hands pre-built tuples straight to the driver.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, select, update

from ...entities.lifecycle import HEARTBEATING, LIVE, RunEvent, RunStatus, next_status, sources, target
from ...entities.query import RunQuery
from ...entities.records import RunRecord
from ...entities.tags import CANCEL_TAG
from ...errors import ExperimentNotFound, InvalidValue, RunNotFound, RunStateError
from . import facets
from . import schema as t
from .access import AccessStore as SqlAccessStore
from .database import Database, Prepared
from .datasets import DatasetStore as SqlDatasetStore
from .deployments import DeploymentStore as SqlDeploymentStore
from .metrics import MetricStore, now_ms
from .models import ModelStore as SqlModelStore
from .run_reader import RunReader
from .search import best_run_pk, search_frame, search_records

# Statements on the hot path are built once; building SQLAlchemy statements costs more than running them.
_RUN_COLUMNS = (
    "id",
    "experiment_id",
    "name",
    "status",
    "parent_pk",
    "start_time",
    "end_time",
    "heartbeat_at",
    "source_kind",
    "source_path",
    "user",
    "compute_target",
    "snapshot_id",
    "git",
    "environment_hash",
    "error",
)
_INSERT_RUN = t.runs.insert().values({c: bindparam(c) for c in _RUN_COLUMNS}).returning(t.runs.c.pk)
_INSERT_PARAMS = t.params.insert().values(run_pk=bindparam("run_pk"), key=bindparam("key"), value=bindparam("value"))
# What a server checks before each write of a remote job: the run's state and current attempt.
_LIVE_STATE = (
    select(t.runs.c.pk, t.runs.c.id, t.runs.c.status, t.tags.c.value, t.runs.c.user)
    .outerjoin(t.tags, and_(t.tags.c.run_pk == t.runs.c.pk, t.tags.c.key == "aml.attempt"))
    .where(t.runs.c.id == bindparam("id"))
)
_INSERT_TAGS = t.tags.insert().values(run_pk=bindparam("run_pk"), key=bindparam("key"), value=bindparam("value"))


def _transition_statement(event: RunEvent) -> Any:
    # One UPDATE per event, legal only from the states the lifecycle table allows.
    froms = sorted(s.value for s in sources(event))
    return (
        update(t.runs)
        .where(
            and_(
                t.runs.c.pk == bindparam("b_pk"),
                t.runs.c.status.in_([bindparam(f"from_{i}", v) for i, v in enumerate(froms)]),
            )
        )
        .values(
            status=target(event).value,
            end_time=bindparam("end_time"),
            error=bindparam("error"),
            error_traceback=bindparam("error_traceback"),
        )
    )


class RunStore(MetricStore, RunReader):
    """The store of one workspace, over a :class:`Database`.

    Example:
        >>> import tempfile, os
        >>> store = RunStore(Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db")))
        >>> exp = store.experiment_id("iris", create=True)
        >>> run = store.create_run(exp, name="first", source_kind="python", user="ada")
        >>> store.get_run(run.id).status
        'running'
    """

    def __init__(self, db: Database, heartbeat_timeout: float = 120.0) -> None:
        super().__init__(db)
        self.heartbeat_timeout = heartbeat_timeout
        self._insert_run = Prepared(db, _INSERT_RUN)
        self._insert_params = Prepared(db, _INSERT_PARAMS)
        self._insert_tags = Prepared(db, _INSERT_TAGS)
        self._transitions = {e: Prepared(db, _transition_statement(e)) for e in RunEvent}
        self._live_state = Prepared(db, _LIVE_STATE)
        self._experiment_ids: dict[str, int] = {}
        self._saved_environments: set[str] = set()

    # the workspace's other stores, over the same database -----------------------------------

    @functools.cached_property
    def models(self) -> SqlModelStore:
        """The model registry's rows (:class:`~aml_jupyter.store.interfaces.ModelStore`)."""
        return SqlModelStore(self.db)

    @functools.cached_property
    def datasets(self) -> SqlDatasetStore:
        """Registered dataset versions (:class:`~aml_jupyter.store.interfaces.DatasetStore`)."""
        return SqlDatasetStore(self.db)

    @functools.cached_property
    def deployments(self) -> SqlDeploymentStore:
        """Deployment rows (:class:`~aml_jupyter.store.interfaces.DeploymentStore`)."""
        return SqlDeploymentStore(self.db)

    @functools.cached_property
    def access(self) -> SqlAccessStore:
        """Roles, groups, audit and tokens (:class:`~aml_jupyter.store.interfaces.AccessStore`)."""
        return SqlAccessStore(self.db)

    def ping(self) -> None:
        """Raise :class:`~aml_jupyter.errors.StoreUnreachable` unless the database answers now."""
        self.db.ping()

    def close(self) -> None:
        """Close the store's connections (a later call opens new ones)."""
        self.db.dispose()

    def after_fork(self) -> None:
        """In a forked child: forget the parent's pooled connections without closing them."""
        self.db.engine.dispose(close=False)

    # searching ----------------------------------------------------------------------------

    def search(self, query: RunQuery) -> list[dict[str, Any]]:
        """One page of a search, as listings' JSON shape (see :func:`.search.search_records`)."""
        return search_records(self.db, query)

    def search_frame(self, query: RunQuery) -> Any:
        """One page of a search as a DataFrame (see :func:`.search.search_frame`)."""
        return search_frame(self.db, query)

    def best_run_pk(self, experiment_id: int, metric: str, goal: str) -> int | None:
        """The completed run with the best latest ``metric`` (see :func:`.search.best_run_pk`)."""
        return best_run_pk(self.db, experiment_id, metric, goal)

    def run_keys(self, experiment_ids: list[int] | None) -> dict[str, list[str]]:
        """The param, metric and tag keys these experiments' runs hold (see :func:`.facets.run_keys`)."""
        return facets.run_keys(self.db, experiment_ids)

    def count_runs(self, query: RunQuery) -> int:
        """How many runs a query's filter matches in its experiments (see :func:`.facets.count_runs`)."""
        ids = list(query.experiment_ids) if query.experiment_ids is not None else None
        return facets.count_runs(self.db, query.filter, ids)

    def group_runs(
        self, filter: str | None, experiment_ids: list[int] | None, by: str, metric: str | None, goal: str = "max"
    ) -> list[dict[str, Any]]:
        """Matching runs grouped by a param or tag (see :func:`.facets.group_runs`)."""
        return facets.group_runs(self.db, filter, experiment_ids, by, metric, goal)

    # experiments -------------------------------------------------------------------------

    def experiment_id(self, name: str, create: bool = False) -> int:
        """The id of the experiment ``name``; created when missing and ``create`` is true."""

        cached = self._experiment_ids.get(name)
        if cached is not None:
            return cached

        def find(conn: Connection) -> int | None:
            return conn.execute(select(t.experiments.c.id).where(t.experiments.c.name == name)).scalar()

        found = self.db.read(find)
        if found is not None:
            self._experiment_ids[name] = int(found)
            return int(found)
        if not create:
            raise ExperimentNotFound(f"no experiment named {name!r}", experiment=name)

        def make(conn: Connection) -> int:
            conn.execute(
                self._insert(t.experiments)
                .values(name=name, created_at=now_ms())
                .on_conflict_do_nothing(index_elements=["name"])
            )
            return int(conn.execute(select(t.experiments.c.id).where(t.experiments.c.name == name)).scalar_one())

        self._experiment_ids[name] = self.db.write(make)
        return self._experiment_ids[name]

    def list_experiments(self) -> list[dict[str, Any]]:
        """Every experiment with its number of runs and the time of its last run."""
        e, r = t.experiments, t.runs
        q = (
            select(e.c.id, e.c.name, e.c.created_at, func.count(r.c.pk), func.max(r.c.start_time))
            .select_from(e.outerjoin(r, r.c.experiment_id == e.c.id))
            .group_by(e.c.id)
            .order_by(e.c.name)
        )
        rows = self.db.read(lambda c: c.execute(q).all())
        return [
            {"id": i, "name": n, "created_at": ca, "runs": cnt, "last_run_at": last} for i, n, ca, cnt, last in rows
        ]

    # runs ----------------------------------------------------------------------------------

    def create_run(
        self,
        experiment_id: int,
        *,
        name: str | None = None,
        source_kind: str,
        user: str,
        source_path: str | None = None,
        compute_target: str = "local",
        parent_pk: int | None = None,
        status: RunStatus = RunStatus.RUNNING,
        params: dict[str, str] | None = None,
        tags: dict[str, str] | None = None,
        snapshot_id: str | None = None,
        git: dict[str, Any] | None = None,
        environment: tuple[str, dict[str, Any]] | None = None,
        error: str | None = None,
        times: tuple[int, int | None] | None = None,
    ) -> RunRecord:
        """Insert a new run with its first params, tags, snapshot and environment, in one transaction.
        ``times`` (start, end in epoch ms) are a run's own, brought in from elsewhere (an import)."""
        run_id = uuid.uuid4().hex
        start = now_ms() if times is None else times[0]
        env_hash = environment[0] if environment else None
        values = {
            "id": run_id,
            "experiment_id": experiment_id,
            "name": name or run_id[:8],
            "status": status.value,
            "parent_pk": parent_pk,
            "start_time": start,
            "end_time": (start if status.is_terminal else None) if times is None else times[1],
            "heartbeat_at": start,
            "source_kind": source_kind,
            "source_path": source_path,
            "user": user,
            "compute_target": compute_target,
            "snapshot_id": snapshot_id,
            "git": json.dumps(git) if git is not None else None,
            "environment_hash": env_hash,
            "error": error,
        }

        def insert(conn: Connection) -> int:
            if environment and env_hash not in self._saved_environments:
                self._save_environment(conn, *environment)
            pk = int(self._insert_run.execute(conn, values).fetchone()[0])
            if params:
                self._insert_params.execute(conn, [{"run_pk": pk, "key": k, "value": v} for k, v in params.items()])
            if tags:
                self._insert_tags.execute(conn, [{"run_pk": pk, "key": k, "value": v} for k, v in tags.items()])
            return pk

        pk = self.db.write(insert)
        if env_hash:
            self._saved_environments.add(env_hash)
        attrs: dict[str, Any] = {k: v for k, v in values.items() if k in RunRecord.__dataclass_fields__}
        parent_id = None
        if parent_pk is not None:
            q = select(t.runs.c.id).where(t.runs.c.pk == parent_pk)
            parent_id = self.db.read(lambda c: c.execute(q).scalar())
        attrs.update(
            git=git, experiment=self._experiment_name(experiment_id), parent_id=parent_id, error_traceback=None
        )
        return RunRecord(pk=pk, **attrs, params=dict(params or {}), tags=dict(tags or {}))

    def _experiment_name(self, experiment_id: int) -> str:
        for name, eid in self._experiment_ids.items():
            if eid == experiment_id:
                return name
        q = select(t.experiments.c.name).where(t.experiments.c.id == experiment_id)
        return str(self.db.read(lambda c: c.execute(q).scalar_one()))

    def _save_environment(self, conn: Connection, digest: str, info: dict[str, Any]) -> None:
        conn.execute(
            self._insert(t.environments)
            .values(hash=digest, info=json.dumps(info, sort_keys=True), created_at=now_ms())
            .on_conflict_do_nothing(index_elements=["hash"])
        )

    def environment(self, digest: str) -> dict[str, Any] | None:
        """The environment stored under ``digest``, or None."""
        q = select(t.environments.c.info).where(t.environments.c.hash == digest)
        text = self.db.read(lambda c: c.execute(q).scalar())
        return json.loads(text) if text else None

    def transition(
        self,
        run_pk: int,
        event: RunEvent,
        *,
        error: str | None = None,
        error_traceback: str | None = None,
    ) -> RunStatus:
        """Move a run through the lifecycle; compare-and-set, so a racing change is detected."""
        return self.db.write(lambda conn: self.transition_in(conn, run_pk, event, error, error_traceback))

    def transition_in(
        self,
        conn: Connection,
        run_pk: int,
        event: RunEvent,
        error: str | None = None,
        error_traceback: str | None = None,
    ) -> RunStatus:
        """:meth:`transition` inside the caller's transaction."""
        new = target(event)
        # Runs that can still move carry no end time or error yet: setting all of them is safe.
        done = self._transitions[RunEvent(event)].execute(
            conn,
            {
                "b_pk": run_pk,
                "end_time": now_ms() if new.is_terminal else None,
                "error": error[:10_000] if error is not None else None,
                "error_traceback": (error_traceback or "")[-100_000:] if error is not None else None,
            },
        )
        if done.rowcount == 1:
            return new
        current = conn.execute(select(t.runs.c.status).where(t.runs.c.pk == run_pk)).scalar()
        if current is None:
            raise RunNotFound(f"run {run_pk} no longer exists", run_pk=run_pk)
        return next_status(current, event)  # raises IllegalTransition

    def move_run(self, run_pk: int, experiment_id: int) -> None:
        """Put a run in another experiment (a job's run taking the experiment its script names).

        Example:
            >>> store.move_run(run.pk, store.experiment_id("churn", create=True))  # doctest: +SKIP
        """
        self.db.write(
            lambda c: c.execute(update(t.runs).where(t.runs.c.pk == run_pk).values(experiment_id=experiment_id))
        )

    def rename_run(self, run_pk: int, name: str) -> None:
        """Give a run another name (checked like any run name).

        Example:
            >>> store.rename_run(run.pk, "cell 8")  # doctest: +SKIP
        """
        from ...entities.validation import check_name

        checked = check_name(name, "run name")
        self.db.write(lambda c: c.execute(update(t.runs).where(t.runs.c.pk == run_pk).values(name=checked)))

    def heartbeat(self, run_pks: Sequence[int]) -> None:
        """Record that these runs are alive now."""
        run_pks = [pk for pk in run_pks if pk not in self.superseded]  # a superseded attempt is not alive
        if not run_pks:
            return
        stmt = (
            update(t.runs)
            .where(and_(t.runs.c.pk.in_(list(run_pks)), t.runs.c.status.in_([s.value for s in HEARTBEATING])))
            .values(heartbeat_at=now_ms())
        )
        self.db.write(lambda c: c.execute(stmt))

    def mark_silent_runs_lost(self) -> int:
        """End ``lost`` every live run whose heartbeat is older than the timeout; how many.

        The policy of when to look is services/liveness.py's: the store only does what it is told.
        """
        cutoff = now_ms() - int(self.heartbeat_timeout * 1000)
        r = t.runs
        stale = and_(r.c.status.in_([s.value for s in HEARTBEATING]), r.c.heartbeat_at < cutoff)
        if not self.db.read(lambda c: c.execute(select(r.c.pk).where(stale).limit(1)).first()):
            return 0
        message = f"no heartbeat for more than {self.heartbeat_timeout:g} s: its process, kernel or worker is gone"
        stmt = update(r).where(stale).values(status=RunStatus.LOST.value, end_time=r.c.heartbeat_at, error=message)
        return int(self.db.write(lambda c: c.execute(stmt).rowcount))

    def live_runs_tagged(self, pid_tag: str, host_tag: str) -> list[tuple[int, str, str | None, str | None]]:
        """(pk, the tag's value, the host tag's value, the cancel tag's value) of live runs that have ``pid_tag``.

        Example:
            >>> store.live_runs_tagged("aml.supervisor_pid", "aml.host")  # doctest: +SKIP
            [(7, '4242', 'laptop', None)]
        """
        r, sup, host, cancel = t.runs, t.tags.alias("sup"), t.tags.alias("host"), t.tags.alias("cancel")
        q = (
            select(r.c.pk, sup.c.value, host.c.value, cancel.c.value)
            .join(sup, and_(sup.c.run_pk == r.c.pk, sup.c.key == pid_tag))
            .outerjoin(host, and_(host.c.run_pk == r.c.pk, host.c.key == host_tag))
            .outerjoin(cancel, and_(cancel.c.run_pk == r.c.pk, cancel.c.key == CANCEL_TAG))
            .where(r.c.status.in_([s.value for s in HEARTBEATING]))
        )
        return [tuple(row) for row in self.db.read(lambda c: c.execute(q).all())]

    def delete_runs(self, run_ids: Iterable[str]) -> list[str]:
        """Delete runs and everything logged to them; artifacts' files go at the next ``gc``.

        A run still going (queued, preparing, running) is refused, whoever asks (the SDK, the CLI,
        REST): its process would go on logging into nothing. Nothing is deleted then.
        """
        full = [self.resolve_run_id(i) for i in run_ids]

        def drop(conn: Connection) -> None:
            live = conn.execute(
                select(t.runs.c.id, t.runs.c.status).where(
                    t.runs.c.id.in_(full), t.runs.c.status.in_([s.value for s in LIVE])
                )
            ).first()
            if live is not None:
                raise RunStateError(
                    f"run {live[0][:8]} is {live[1]}; cancel it (aml cancel) or end it before deleting it",
                    run_id=live[0],
                )
            pks = conn.execute(select(t.runs.c.pk).where(t.runs.c.id.in_(full))).scalars().all()
            for table in (t.metric_chunks, t.latest_metrics, t.params, t.tags, t.artifacts, t.run_inputs):
                conn.execute(delete(table).where(table.c.run_pk.in_(pks)))
            conn.execute(update(t.runs).where(t.runs.c.parent_pk.in_(pks)).values(parent_pk=None))
            conn.execute(delete(t.runs).where(t.runs.c.pk.in_(pks)))

        self.db.write(drop)
        return full

    # params and tags -----------------------------------------------------------------------

    def log_params(self, run_pk: int, values: dict[str, str]) -> None:
        """Add params; logging a key again with another value is refused (params are immutable)."""
        if not values:
            return

        def add(conn: Connection) -> None:
            self.check_fences(conn, {run_pk})
            p = t.params
            existing = dict(
                conn.execute(
                    select(p.c.key, p.c.value).where(and_(p.c.run_pk == run_pk, p.c.key.in_(list(values))))
                ).all()
            )
            for key, value in values.items():
                if key in existing and existing[key] != value:
                    raise InvalidValue(
                        f"param {key!r} is already {existing[key]!r}; params cannot change (log a tag or a new run)",
                        key=key,
                    )
            new = [{"run_pk": run_pk, "key": k, "value": v} for k, v in values.items() if k not in existing]
            if new:
                conn.execute(p.insert(), new)

        self.db.write(add)

    def set_tags(self, run_pk: int, values: dict[str, str]) -> None:
        """Set tags (a key set again takes the new value)."""
        if not values:
            return
        stmt = self._insert(t.tags)
        stmt = stmt.on_conflict_do_update(index_elements=["run_pk", "key"], set_={"value": stmt.excluded.value})
        rows = [{"run_pk": run_pk, "key": k, "value": v} for k, v in values.items()]

        def write(conn: Connection) -> None:
            self.check_fences(conn, {run_pk})
            conn.execute(stmt, rows)

        self.db.write(write)

    def get_tag(self, run_pk: int, key: str) -> str | None:
        """One tag's value (cheap: for the pollers that wait for a cancel request)."""
        q = select(t.tags.c.value).where(and_(t.tags.c.run_pk == run_pk, t.tags.c.key == key))
        return self.db.read(lambda c: c.execute(q).scalar())

    def kernel_runs(self, kernel_id: str | None = None) -> list[tuple[int, str, str, str | None, str | None]]:
        """(pk, id, kernel id, kernel pid, host) of running runs started in a kernel (that kernel's only)."""
        from ...entities.kernel import HOST, KERNEL_ID, KERNEL_PID

        r = t.runs
        kid, pid, host = (t.tags.alias(n) for n in ("kid", "kpid", "khost"))
        q = (
            select(r.c.pk, r.c.id, kid.c.value, pid.c.value, host.c.value)
            .join(kid, and_(kid.c.run_pk == r.c.pk, kid.c.key == KERNEL_ID))
            .outerjoin(pid, and_(pid.c.run_pk == r.c.pk, pid.c.key == KERNEL_PID))
            .outerjoin(host, and_(host.c.run_pk == r.c.pk, host.c.key == HOST))
            .where(r.c.status == "running")
        )
        if kernel_id is not None:
            q = q.where(kid.c.value == kernel_id)
        return [tuple(row) for row in self.db.read(lambda c: c.execute(q).all())]

    def changed_runs(self, since_ms: int) -> list[tuple[str, str, str | None]]:
        """(id, status, error) of runs that are live, or that ended or started since ``since_ms``."""
        from sqlalchemy import or_

        r = t.runs
        q = select(r.c.id, r.c.status, r.c.error).where(
            or_(r.c.status.in_([s.value for s in LIVE]), r.c.end_time >= since_ms, r.c.start_time >= since_ms)
        )
        return [(row[0], row[1], row[2]) for row in self.db.read(lambda c: c.execute(q).all())]

    def live_state(self, run_id: str) -> tuple[int, str, str, str | None, str] | None:
        """(pk, id, status, the ``aml.attempt`` tag, user) of a run in one query: what a server
        checks before each write a remote job sends, without loading the whole run."""
        row = self.db.read_prepared(self._live_state, {"id": self.resolve_run_id(run_id)})
        return None if row is None else (int(row[0]), str(row[1]), str(row[2]), row[3], str(row[4]))

    def status_of(self, run_pk: int) -> str | None:
        """A run's status alone, or None if the run is gone."""
        q = select(t.runs.c.status).where(t.runs.c.pk == run_pk)
        return self.db.read(lambda c: c.execute(q).scalar())

    def count_pending(self, compute_target: str) -> int:
        """How many runs on ``compute_target`` are queued or live (the bounded queue's length)."""
        r = t.runs
        waiting = [s.value for s in LIVE]
        q = select(func.count()).where(and_(r.c.compute_target == compute_target, r.c.status.in_(waiting)))
        return int(self.db.read(lambda c: c.execute(q).scalar() or 0))

    def clear_metrics(self, run_pk: int) -> None:
        """Drop a run's metric history: a retried job starts its metrics again, never twice."""

        def drop(conn: Connection) -> None:
            for table in (t.metric_chunks, t.latest_metrics):
                conn.execute(delete(table).where(table.c.run_pk == run_pk))

        self.db.write(drop)

    # artifacts and inputs ------------------------------------------------------------------

    def add_artifact(self, run_pk: int, name: str, digest: str, size: int, media_type: str) -> None:
        """Record (or replace) the artifact ``name`` of a run."""
        stmt = self._insert(t.artifacts).values(
            run_pk=run_pk, name=name, digest=digest, size=size, media_type=media_type, created_at=now_ms()
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=["run_pk", "name"],
            set_={c: stmt.excluded[c] for c in ("digest", "size", "media_type", "created_at")},
        )

        def write(conn: Connection) -> None:
            self.check_fences(conn, {run_pk})
            conn.execute(stmt)

        self.db.write(write)

    def add_input(self, run_pk: int, *, kind: str, name: str, uri: str | None, digest: str | None, role: str) -> None:
        """Record a dataset (or other input) a run read, for lineage."""
        values = dict(run_pk=run_pk, kind=kind, name=name, uri=uri, digest=digest, role=role, created_at=now_ms())
        self.db.write(lambda c: c.execute(t.run_inputs.insert().values(**values)))

    def referenced_digests(self) -> set[str]:
        """Content hashes of every artifact some run still points to, and of every model version's files."""
        runs = set(self.db.read(lambda c: c.execute(select(t.artifacts.c.digest).distinct()).scalars().all()))
        manifests = self.db.read(lambda c: c.execute(select(t.model_versions.c.files)).scalars().all())
        return runs | {f["digest"] for text in manifests for f in json.loads(text)}

    def referenced_snapshots(self) -> set[str]:
        """Snapshot ids some run still points to."""
        q = select(t.runs.c.snapshot_id).where(t.runs.c.snapshot_id.is_not(None)).distinct()
        return set(self.db.read(lambda c: c.execute(q).scalars().all()))
