"""``aml import-mlflow``: an MLflow tracking store's experiments and runs into a workspace, with
their status, times, params, tags, every metric point and their files; idempotent, and checked.

Each imported run carries the tag ``aml.mlflow_run`` (the MLflow run id it came from) and, once
everything of it is in, ``aml.mlflow_import = complete``. A second import skips complete runs; a run
an interrupted import left incomplete has its points cleared and written again, so nothing is
counted twice and nothing is lost.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..entities.lifecycle import FROM_MLFLOW, RunStatus
from ..entities.query import RunQuery
from ..entities.series import Series, pack_steps, pack_times, pack_values
from ..entities.validation import check_key, check_name, param_to_str
from ..errors import AmlError
from ..store.mlflow_source import SourceRun, open_mlflow_store

if TYPE_CHECKING:
    from ..workspace import Workspace

FROM_TAG = "aml.mlflow_run"
DONE_TAG = "aml.mlflow_import"
CHUNK = 100_000  # points written in one transaction
Progress = Callable[[int, int, str], None]  # (runs done, runs in all, what now)


def import_mlflow(
    ws: Workspace, source: str, artifacts: str | None = None, progress: Progress | None = None
) -> dict[str, Any]:
    """Import the MLflow store ``source`` (a ``mlruns/`` folder, ``sqlite:///mlflow.db``, a
    PostgreSQL URL; ``artifacts``: its artifact root, where the files moved) into ``ws``; returns
    the report: counts read from the source and found in the workspace, per kind, and the problems.

    Example:
        >>> report = import_mlflow(ws, "sqlite:///mlflow.db")  # doctest: +SKIP
        >>> report["runs"]["imported"], report["verified"]  # doctest: +SKIP
        (120, True)
    """
    store = open_mlflow_store(source, artifacts)
    runs = _parents_first(list(store.runs()))
    there = _imported(ws)
    ids: dict[str, str] = {mlflow_id: r["id"] for mlflow_id, r in there.items()}
    counts = {"imported": 0, "already": 0, "failed": 0}
    source_side = {"params": 0, "tags": 0, "metric_points": 0, "artifacts": 0}
    problems = list(store.problems)
    for n, run in enumerate(runs):
        if progress is not None:
            progress(n, len(runs), run.name)
        known = there.get(run.run_id)
        points = run.metrics()
        files = run.files()
        if run.artifact_dir is None and run.artifact_uri and known is None:
            problems.append(
                f"run {run.run_id} ({run.name}): its files are at {run.artifact_uri}, not a local folder; "
                "imported without them (copy them here and pass --artifacts ROOT)"
            )
        source_side["params"] += len(run.params)
        source_side["tags"] += len([k for k in run.tags if not k.startswith("aml.")])  # aml's own are not taken
        source_side["metric_points"] += sum(len(p[0]) for p in points.values())
        source_side["artifacts"] += len(files)
        if known is not None and known["tags"].get(DONE_TAG) == "complete":
            counts["already"] += 1
            continue
        try:
            ids[run.run_id] = _one(ws, run, points, files, known, ids)
            counts["imported"] += 1
        except (AmlError, OSError, ValueError) as exc:
            counts["failed"] += 1
            problems.append(f"run {run.run_id} ({run.name}): {exc}; not imported")
    if progress is not None:
        progress(len(runs), len(runs), "checking")
    found = _count(ws, [ids[r.run_id] for r in runs if r.run_id in ids])
    verified = counts["failed"] == 0 and all(found[k] == source_side[k] for k in source_side)
    return {
        "source": source,
        "experiments": len(store.experiments()),
        "runs": {"source": len(runs), **counts},
        "source_counts": source_side,
        "workspace_counts": found,
        "verified": verified,
        "problems": problems,
    }


def _parents_first(runs: list[SourceRun]) -> list[SourceRun]:
    # A nested run is imported after its parent, which it names by id.
    by_id = {r.run_id: r for r in runs}
    ordered: list[SourceRun] = []
    placed: set[str] = set()

    def place(r: SourceRun, depth: int = 0) -> None:
        if r.run_id in placed:
            return
        parent = r.tags.get("mlflow.parentRunId")
        if parent in by_id and depth < 100:
            place(by_id[parent], depth + 1)
        placed.add(r.run_id)
        ordered.append(r)

    for r in sorted(runs, key=lambda r: (r.start_time or 0, r.run_id)):
        place(r)
    return ordered


def _imported(ws: Workspace) -> dict[str, dict[str, Any]]:
    # The runs an earlier import made, by the MLflow id each came from.
    found = ws.store.search(RunQuery(f"tags.`{FROM_TAG}` LIKE '%'", max_results=1_000_000))
    return {r["tags"][FROM_TAG]: r for r in found}


def _one(
    ws: Workspace,
    run: SourceRun,
    points: dict[str, tuple[list[int], list[float], list[int]]],
    files: list[Any],
    known: dict[str, Any] | None,
    ids: dict[str, str],
) -> str:
    store = ws.store
    limit = ws.tracking.param_value_max_length
    params = {k: param_to_str(k, v, limit) for k, v in run.params.items()}
    tag_limit = ws.tracking.tag_value_max_length
    tags = {k: param_to_str(k, v, tag_limit) for k, v in run.tags.items() if not k.startswith("aml.")}
    if known is None:
        status = RunStatus(FROM_MLFLOW.get(run.status, "failed"))
        error = None
        if status in (RunStatus.RUNNING, RunStatus.QUEUED):  # not running here: nothing will end it
            status, error = RunStatus.LOST, f"imported from MLflow while {run.status}"
        parent = run.tags.get("mlflow.parentRunId")
        experiment = "default" if run.experiment == "Default" else run.experiment  # MLflow's "0" is aml's default
        record = store.create_run(
            store.experiment_id(check_name(experiment, "experiment name"), create=True),
            name=check_name(run.name, "run name"),
            source_kind="mlflow",
            user=run.user,
            parent_pk=store.get_run(ids[parent]).pk if parent in ids else None,
            status=status,
            params=params,
            tags={**tags, FROM_TAG: run.run_id},
            error=error,
            times=(run.start_time or 0, run.end_time if status.is_terminal else None),
        )
        pk, run_id = record.pk, record.id
    else:
        run_id = known["id"]
        pk = store.get_run(run_id).pk
        store.clear_metrics(pk)  # an import cut short: its points again, from the start
    for key, (steps, values, times) in points.items():
        check_key(key)
        for at in range(0, len(values), CHUNK):
            part = slice(at, at + CHUNK)
            chunk = values[part]
            store.write_metrics(
                series=[
                    Series(
                        pk,
                        key,
                        pack_steps(steps[part], len(chunk), 0, key),
                        pack_values(chunk, key),
                        pack_times(times[part], len(chunk), 0, key),
                    )
                ]
            )
    for name, path in files:
        digest, size = ws.artifacts.put_file(path)
        store.add_artifact(pk, name, digest, size, mimetypes.guess_type(name)[0] or "application/octet-stream")
    store.set_tags(pk, {DONE_TAG: "complete"})
    return str(run_id)


def _count(ws: Workspace, run_ids: list[str]) -> dict[str, int]:
    # What the workspace holds of the imported runs, counted from the store (not from this import).
    out = {"params": 0, "tags": 0, "metric_points": 0, "artifacts": 0}
    for run_id in run_ids:
        record = ws.store.get_run(run_id)
        out["params"] += len(record.params)
        out["tags"] += len([k for k in record.tags if not k.startswith("aml.")])
        out["artifacts"] += len(record.artifacts)
        for key in {**record.metrics, **record.system_metrics}:
            steps, _, _ = ws.store.metric_history(record.pk, key)
            out["metric_points"] += len(steps)
    return out
