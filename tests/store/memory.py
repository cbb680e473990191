"""A second run store, in memory, written against store/interfaces.py alone: the plug-in a test
registers to prove that the SDK, the REST API and the CLI need nothing of a store but its Protocols.

It keeps runs, metrics and what a search reads; the model registry, datasets and deployments it does
not keep (each says so). It is a test's, not a product: one process, no durability.
"""

from __future__ import annotations

import fnmatch
import math
import threading
import time
import uuid
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar

from aml_jupyter.entities.filter import Clause, parse_filter, parse_order_by
from aml_jupyter.entities.lifecycle import HEARTBEATING, LIVE, RunEvent, RunStatus, next_status
from aml_jupyter.entities.query import RunQuery
from aml_jupyter.entities.records import SUMMARY_KEYS, RunRecord, json_number
from aml_jupyter.errors import ExperimentNotFound, RunNotFound, RunStateError, StoreError

T = TypeVar("T")
SCHEME = "memory"


def _now() -> int:
    return int(time.time() * 1000)


class NotKept:
    """A part of the workspace this store does not keep: every call says so."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __getattr__(self, name: str) -> Any:
        raise StoreError(f"the in-memory store keeps no {self.what}")


class MemoryAccess:
    """Roles, groups, tokens and the audit log, in lists."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.rows: list[dict[str, Any]] = []
        self._roles: dict[str, str] = {}
        self._groups: dict[str, list[str]] = {}

    def roles(self) -> dict[str, str]:
        return dict(self._roles)

    def set_roles(self, changes: dict[str, str | None], at: int) -> None:
        for who, role in changes.items():
            if role is None:
                self._roles.pop(who, None)
            else:
                self._roles[who] = role

    def groups(self) -> dict[str, list[str]]:
        return {g: list(m) for g, m in self._groups.items()}

    def set_group(self, group: str, members: list[str]) -> None:
        self._groups[group] = list(members)

    def audit(self, row: dict[str, Any]) -> None:
        self.entries.append(dict(row))

    def audit_entries(self, limit: int) -> list[dict[str, Any]]:
        return list(reversed(self.entries))[:limit]

    def add_token(self, row: dict[str, Any]) -> None:
        self.rows.append(dict(row))

    def token_by_digest(self, digest: str) -> dict[str, Any] | None:
        return next((dict(r) for r in self.rows if r.get("digest") == digest), None)

    def tokens(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.rows]

    def revoke_token(self, token_id: str, at: int) -> bool:
        for r in self.rows:
            if r["id"] == token_id and r.get("revoked_at") is None:
                r["revoked_at"] = at
                return True
        return False

    def touch_token(self, token_id: str, at: int) -> None:
        for r in self.rows:
            if r["id"] == token_id:
                r["last_used_at"] = at


class MemoryStore:
    """Runs with their params, tags, metric series and artifacts, in dicts behind one lock."""

    def __init__(self, url: str = f"{SCHEME}://", busy_timeout: float = 30.0, heartbeat_timeout: float = 120.0) -> None:
        self.heartbeat_timeout = heartbeat_timeout
        self.superseded: set[int] = set()
        self._lock = threading.RLock()
        self._experiments: dict[str, tuple[int, int]] = {}  # name -> (id, created_at)
        self._runs: dict[int, RunRecord] = {}
        self._series: dict[tuple[int, str], tuple[array[int], array[float], array[int]]] = {}
        self._environments: dict[str, dict[str, Any]] = {}
        self._batches: set[tuple[int, str]] = set()
        self._fences: dict[int, str] = {}
        self._access = MemoryAccess()

    # The workspace's other records -----------------------------------------------------------------

    @property
    def models(self) -> Any:
        return NotKept("model registry")

    @property
    def datasets(self) -> Any:
        return NotKept("datasets")

    @property
    def deployments(self) -> Any:
        return NotKept("deployments")

    @property
    def access(self) -> MemoryAccess:
        return self._access

    # experiments and runs ----------------------------------------------------------------------------

    def experiment_id(self, name: str, create: bool = False) -> int:
        with self._lock:
            if name not in self._experiments:
                if not create:
                    raise ExperimentNotFound(f"no experiment named {name!r}", experiment=name)
                self._experiments[name] = (len(self._experiments) + 1, _now())
            return self._experiments[name][0]

    def list_experiments(self) -> list[dict[str, Any]]:
        with self._lock:
            out = []
            for name, (eid, created) in sorted(self._experiments.items(), key=lambda kv: kv[1][0]):
                runs = [r for r in self._runs.values() if r.experiment_id == eid]
                last = max((r.start_time for r in runs), default=None)
                out.append({"id": eid, "name": name, "created_at": created, "runs": len(runs), "last_run_at": last})
            return out

    def resolve_run_id(self, run_id: str) -> str:
        with self._lock:
            found = [r.id for r in self._runs.values() if r.id.startswith(str(run_id).lower())]
        if len(run_id) < 4 or len(found) != 1:
            raise RunNotFound(f"no run with id {run_id!r}", run_id=str(run_id))
        return found[0]

    def _by_id(self, run_id: str) -> RunRecord:
        full = self.resolve_run_id(run_id)
        return next(r for r in self._runs.values() if r.id == full)

    def get_run(self, run_id: str) -> RunRecord:
        with self._lock:
            return self._by_id(run_id)

    def runs_by_pk(self, pks: Sequence[int]) -> list[RunRecord]:
        with self._lock:
            return [self._runs[pk] for pk in pks if pk in self._runs]

    def environment(self, digest: str) -> dict[str, Any] | None:
        return self._environments.get(digest)

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
        with self._lock:
            pk, run_id, start = len(self._runs) + 1, uuid.uuid4().hex, _now() if times is None else times[0]
            experiment = next(n for n, (i, _) in self._experiments.items() if i == experiment_id)
            if environment is not None:
                self._environments[environment[0]] = environment[1]
            record = RunRecord(
                pk=pk,
                id=run_id,
                experiment_id=experiment_id,
                experiment=experiment,
                name=name or run_id[:8],
                status=RunStatus(status).value,
                parent_id=self._runs[parent_pk].id if parent_pk in self._runs else None,
                start_time=start,
                end_time=(start if RunStatus(status).is_terminal else None) if times is None else times[1],
                heartbeat_at=start,
                source_kind=source_kind,
                source_path=source_path,
                user=user,
                compute_target=compute_target,
                snapshot_id=snapshot_id,
                git=git,
                environment_hash=environment[0] if environment else None,
                error=error,
                error_traceback=None,
                params=dict(params or {}),
                tags=dict(tags or {}),
            )
            self._runs[pk] = record
            return record

    def _update(self, pk: int, **changes: Any) -> None:
        self._runs[pk] = replace(self._runs[pk], **changes)

    def transition(
        self, run_pk: int, event: RunEvent, *, error: str | None = None, error_traceback: str | None = None
    ) -> RunStatus:
        return self.transition_in(None, run_pk, event, error, error_traceback)

    def transition_in(
        self, conn: Any, run_pk: int, event: RunEvent, error: str | None = None, error_traceback: str | None = None
    ) -> RunStatus:
        with self._lock:
            record = self._runs[run_pk]
            new = next_status(record.status, event)  # IllegalTransition where the table has no such move
            changes: dict[str, Any] = {"status": new.value}
            if new.is_terminal:
                changes["end_time"] = _now()
            if error is not None:
                changes.update(error=error, error_traceback=error_traceback)
            self._update(run_pk, **changes)
            return new

    def delete_runs(self, run_ids: Iterable[str]) -> list[str]:
        with self._lock:
            records = [self._by_id(i) for i in run_ids]
            going = next((r for r in records if r.status in {s.value for s in LIVE}), None)
            if going is not None:
                raise RunStateError(f"run {going.id[:8]} is {going.status}; cancel it or end it first", run_id=going.id)
            for r in records:
                del self._runs[r.pk]
                for key in [k for k in self._series if k[0] == r.pk]:
                    del self._series[key]
            return [r.id for r in records]

    def log_params(self, run_pk: int, values: dict[str, str]) -> None:
        with self._lock:
            self._update(run_pk, params={**self._runs[run_pk].params, **values})

    def set_tags(self, run_pk: int, values: dict[str, str]) -> None:
        with self._lock:
            self._update(run_pk, tags={**self._runs[run_pk].tags, **values})

    def get_tag(self, run_pk: int, key: str) -> str | None:
        return self._runs[run_pk].tags.get(key)

    def status_of(self, run_pk: int) -> str | None:
        record = self._runs.get(run_pk)
        return None if record is None else record.status

    def live_state(self, run_id: str) -> tuple[int, str, str, str | None, str] | None:
        try:
            r = self.get_run(run_id)
        except RunNotFound:
            return None
        return r.pk, r.id, r.status, self._fences.get(r.pk), r.experiment

    def heartbeat(self, run_pks: Sequence[int]) -> None:
        with self._lock:
            for pk in run_pks:
                if pk in self._runs and self._runs[pk].status in {s.value for s in HEARTBEATING}:
                    self._update(pk, heartbeat_at=_now())

    def mark_silent_runs_lost(self) -> int:
        cutoff = _now() - int(self.heartbeat_timeout * 1000)
        with self._lock:
            silent = [
                r
                for r in self._runs.values()
                if r.status in {s.value for s in HEARTBEATING} and (r.heartbeat_at or 0) < cutoff
            ]
            for r in silent:
                self._update(r.pk, status=RunStatus.LOST.value, end_time=r.heartbeat_at, error="no heartbeat")
            return len(silent)

    def live_runs_tagged(self, pid_tag: str, host_tag: str) -> list[tuple[int, str, str | None, str | None]]:
        live = {s.value for s in HEARTBEATING}
        return [
            (r.pk, r.tags[pid_tag], r.tags.get(host_tag), r.tags.get("aml.cancel"))
            for r in self.runs_by_pk(list(self._runs))
            if r.status in live and pid_tag in r.tags
        ]

    def count_pending(self, compute_target: str) -> int:
        return sum(1 for r in self._runs.values() if r.compute_target == compute_target and r.status in LIVE)

    def clear_metrics(self, run_pk: int) -> None:
        with self._lock:
            for key in [k for k in self._series if k[0] == run_pk]:
                del self._series[key]
            self._update(run_pk, metrics={}, system_metrics={})

    def move_run(self, run_pk: int, experiment_id: int) -> None:
        with self._lock:
            name = next(n for n, (i, _) in self._experiments.items() if i == experiment_id)
            self._update(run_pk, experiment_id=experiment_id, experiment=name)

    def rename_run(self, run_pk: int, name: str) -> None:
        with self._lock:
            self._update(run_pk, name=name)

    def add_artifact(self, run_pk: int, name: str, digest: str, size: int, media_type: str) -> None:
        from aml_jupyter.entities.records import ArtifactRecord

        with self._lock:
            kept = [a for a in self._runs[run_pk].artifacts if a.name != name]
            self._update(run_pk, artifacts=[*kept, ArtifactRecord(name, digest, size, media_type, _now())])

    def add_input(self, run_pk: int, *, kind: str, name: str, uri: str | None, digest: str | None, role: str) -> None:
        with self._lock:
            row = {"kind": kind, "name": name, "uri": uri, "digest": digest, "role": role}
            self._update(run_pk, inputs=[*self._runs[run_pk].inputs, row])

    def kernel_runs(self, kernel_id: str | None = None) -> list[tuple[int, str, str, str | None, str | None]]:
        return []

    def changed_runs(self, since_ms: int) -> list[tuple[str, str, str | None]]:
        return [(r.id, r.status, r.error) for r in self._runs.values() if r.status in LIVE or r.start_time >= since_ms]

    def referenced_digests(self) -> set[str]:
        return {a.digest for r in self._runs.values() for a in r.artifacts}

    def referenced_snapshots(self) -> set[str]:
        return {r.snapshot_id for r in self._runs.values() if r.snapshot_id}

    # metrics ---------------------------------------------------------------------------------------------

    def write_metrics(
        self,
        points: Sequence[Any] = (),
        series: Sequence[Any] = (),
        then: Callable[[Any], T] | None = None,
        batch_id: str | None = None,
    ) -> T | None:
        with self._lock:
            for pk, key, step, value, ts in points:
                self._append(pk, key, [step], [value], [ts])
            for s in series:
                self._append(s.run_pk, s.key, list(s.steps), list(s.values), list(s.times))
            return then(None) if then is not None else None

    def _append(self, pk: int, key: str, steps: list[int], values: list[float], times: list[int]) -> None:
        if pk in self.superseded or pk not in self._runs:
            return
        old = self._series.get((pk, key), (array("q"), array("d"), array("q")))
        self._series[(pk, key)] = (old[0] + array("q", steps), old[1] + array("d", values), old[2] + array("q", times))
        self._update(pk, metrics={**self._runs[pk].metrics, key: values[-1]})

    def write_batch_once(self, run_pk: int, batch_id: str, series: Sequence[Any]) -> bool:
        with self._lock:
            if (run_pk, batch_id) in self._batches:
                return False
            self._batches.add((run_pk, batch_id))
            self.write_metrics((), series)
            return True

    def metric_history(self, run_pk: int, key: str) -> tuple[array[int], array[float], array[int]]:
        with self._lock:
            steps, values, times = self._series.get((run_pk, key), (array("q"), array("d"), array("q")))
            return array("q", steps), array("d", values), array("q", times)

    def fence(self, run_pk: int, attempt: str) -> None:
        self._fences[run_pk] = attempt

    # searching ---------------------------------------------------------------------------------------------

    def _matching(self, query: RunQuery) -> list[RunRecord]:
        clauses = parse_filter(query.filter)
        ids = set(query.experiment_ids) if query.experiment_ids is not None else None
        with self._lock:
            runs = [r for r in self._runs.values() if (ids is None or r.experiment_id in ids)]
        runs = [r for r in runs if all(_holds(c, r) for c in clauses)]
        runs.sort(key=lambda r: (r.start_time, r.pk), reverse=True)
        for order in reversed(parse_order_by(list(query.order_by))):
            present = [r for r in runs if _value(order.entity, order.key, r) is not None]
            missing = [r for r in runs if _value(order.entity, order.key, r) is None]
            present.sort(key=lambda r: _value(order.entity, order.key, r), reverse=order.descending)
            runs = present + missing  # no value: last, either way
        return runs

    def search(self, query: RunQuery) -> list[dict[str, Any]]:
        page = self._matching(query)[query.offset : query.offset + query.max_results]
        out = []
        for r in page:
            whole = r.to_dict()
            row = {k: whole[k] for k in SUMMARY_KEYS}
            row["params"] = dict(sorted(r.params.items()))
            row["metrics"] = {k: json_number(v) for k, v in sorted(r.metrics.items()) if v == v}
            row["system_metrics"] = {k: json_number(v) for k, v in sorted(r.system_metrics.items()) if v == v}
            row["tags"] = dict(sorted(r.tags.items()))
            out.append(row)
        return out

    def search_frame(self, query: RunQuery) -> Any:
        import pandas as pd

        rows = self.search(query)
        frame = pd.DataFrame(
            [
                {
                    "run_id": r["id"],
                    **{k: r[k] for k in SUMMARY_KEYS[1:]},
                    **{f"metrics.{k}": v for k, v in {**r["metrics"], **r["system_metrics"]}.items()},
                    **{f"params.{k}": v for k, v in r["params"].items()},
                    **{f"tags.{k}": v for k, v in r["tags"].items()},
                }
                for r in rows
            ]
        )
        for col in ("start_time", "end_time"):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col].astype("float64"), unit="ms", utc=True)
        return frame

    def best_run_pk(self, experiment_id: int, metric: str, goal: str) -> int | None:
        done = [
            r
            for r in self._runs.values()
            if r.experiment_id == experiment_id
            and r.status == "completed"
            and not math.isnan(r.metrics.get(metric, math.nan))
        ]
        if not done:
            return None
        pick = max if goal == "max" else min
        return pick(done, key=lambda r: r.metrics[metric]).pk

    def run_keys(self, experiment_ids: list[int] | None) -> dict[str, list[str]]:
        runs = [r for r in self._runs.values() if experiment_ids is None or r.experiment_id in experiment_ids]
        keys = {kind: sorted({k for r in runs for k in getattr(r, kind)}) for kind in ("params", "metrics", "tags")}
        keys["metrics"] = sorted({*keys["metrics"], *(k for r in runs for k in r.system_metrics)})
        return keys

    def count_runs(self, query: RunQuery) -> int:
        return len(self._matching(RunQuery(query.filter, query.experiment_ids)))

    def group_runs(
        self, filter: str | None, experiment_ids: list[int] | None, by: str, metric: str | None, goal: str = "max"
    ) -> list[dict[str, Any]]:
        raise StoreError("the in-memory store does not group runs")

    def ping(self) -> None:
        return None

    def close(self) -> None:
        return None

    def after_fork(self) -> None:
        return None


def _value(entity: str, key: str, r: RunRecord) -> Any:
    if entity == "metric":
        v = r.metrics.get(key, r.system_metrics.get(key))
        return None if v is None or v != v else v
    if entity == "param":
        return r.params.get(key)
    if entity == "tag":
        return r.tags.get(key)
    return getattr(r, key)


def _holds(c: Clause, r: RunRecord) -> bool:
    if c.entity == "text":
        word = str(c.value).lower()
        return word in r.name.lower() or r.id.startswith(word) or any(word in v.lower() for v in r.tags.values())
    v = _value(c.entity, c.key, r)
    if v is None:
        return c.op == "!=" and c.entity != "metric"
    if c.op == "=":
        return bool(v == c.value)
    if c.op == "!=":
        return bool(v != c.value)
    if c.op in ("LIKE", "ILIKE"):
        pattern = str(c.value).replace("%", "*").replace("_", "?")
        text = str(v)
        return (
            fnmatch.fnmatchcase(text.lower(), pattern.lower())
            if c.op == "ILIKE"
            else fnmatch.fnmatchcase(text, pattern)
        )
    if c.op == "IN":
        return v in c.value
    if c.op == "NOT IN":
        return v not in c.value
    return bool({"<": v < c.value, "<=": v <= c.value, ">": v > c.value, ">=": v >= c.value}[c.op])


def factory() -> type[MemoryStore]:
    """What the ``aml_jupyter.stores`` entry point of a plug-in package returns: the store's class."""
    return MemoryStore


if TYPE_CHECKING:  # mypy holds this store to the Protocols, as it does the SQL classes
    from aml_jupyter.store.interfaces import AccessStore, RunStore

    def _conforms() -> tuple[RunStore, AccessStore]:
        return MemoryStore(), MemoryAccess()
