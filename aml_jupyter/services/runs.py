"""Runs: the one way a run comes to exist, the one shape it is shown in, and deleting one.

Every surface that makes a run (``aml.start_run``, ``aml submit``, ``%%aml run``, a rerun, a sweep's
trials, ``POST /api/v1/runs``) describes it as a :class:`RunSpec` and calls :func:`create`, which
validates, prepares and inserts in that order: a bad input is refused before anything is written,
a job is counted against its target's queue (:func:`aml_jupyter.services.jobs.check_queue`), the
project is snapshotted and the environment captured, and the run is written once, in one
transaction, already in its first status. A failure to prepare is recorded (a failed run, or a
cancelled one on Ctrl-C) and raised.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..entities.lifecycle import RunEvent, RunStatus, next_status
from ..entities.validation import check_count, check_key, check_name, check_resource_name, param_to_str
from ..errors import ExperimentNotFound, InvalidInput, InvalidPath, InvalidValue
from ..processes import current_user as current_user  # the name its callers know
from . import liveness

if TYPE_CHECKING:
    from ..entities.records import RunRecord
    from ..entities.validation import MetricPoint
    from ..workspace import Workspace

# How a run came to be; "mlflow": an MLflow client created it through aml's MLflow routes.
SOURCE_KINDS = ("python", "script", "notebook", "cell", "interactive", "sweep", "api", "mlflow")


@dataclass(frozen=True)
class Prepared:
    """What a run is prepared with: its snapshot, the user's git state and the environment."""

    snapshot_id: str | None = None
    git: dict[str, Any] | None = None
    environment: tuple[str, dict[str, Any]] | None = None


@dataclass(frozen=True)
class RunSpec:
    """A run to create, as every surface describes it.

    ``job`` marks a submitted job: it is recorded ``queued`` and counted against its target's
    ``max_queued``; other runs start ``running``. ``snapshot`` takes one (True), none (False), or
    as aml.toml says (None). ``reuse`` gives a rerun its original's snapshot and environment
    instead of preparing anew. ``needs`` names project files the job must find in its snapshot.
    ``error`` records the run ``failed`` at once (a notebook that cannot be read is still the run
    the user asked for). ``parent`` is a run id or prefix, or a run's primary key.

    Example:
        >>> RunSpec("iris", params={"C": 0.5}).source_kind
        'python'
    """

    experiment: str = "default"
    name: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    tags: Mapping[str, Any] = field(default_factory=dict)
    source_kind: str = "python"
    source_path: str | None = None
    user: str | None = None
    target: str = "local"
    parent: str | int | None = None
    job: bool = False
    snapshot: bool | None = None
    reuse: Prepared | None = None
    needs: tuple[str, ...] = ()
    error: str | None = None


def create(ws: Workspace, spec: RunSpec) -> RunRecord:
    """Validate ``spec``, prepare the run and insert it; returns its record.

    Example:
        >>> import tempfile, aml_jupyter as aml
        >>> ws = aml.Workspace.init(tempfile.mkdtemp())
        >>> create(ws, RunSpec("iris", params={"C": 0.5}, user="ada", snapshot=False)).status
        'running'
        >>> create(ws, RunSpec("iris", params={"a..b": 1}))
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidKey: param key 'a..b' must not contain '..'
    """
    experiment = check_name(spec.experiment, "experiment name")
    try:
        ws.store.experiment_id(experiment)
    except ExperimentNotFound:  # a new one meets the stricter rule; old ones go on as they were
        check_resource_name(experiment, "experiment name")
    name = check_name(spec.name, "run name") if spec.name is not None else None
    if spec.source_kind not in SOURCE_KINDS:
        raise InvalidValue(f"source_kind must be one of {', '.join(SOURCE_KINDS)}, not {spec.source_kind!r}")
    limits = ws.tracking
    params = _checked(spec.params, "params", "param key", limits.param_value_max_length)
    tags = _checked(spec.tags, "tags", "tag key", limits.tag_value_max_length)
    store = ws.store
    parent_pk = spec.parent if isinstance(spec.parent, int) else None
    if isinstance(spec.parent, str):
        parent_pk = store.get_run(spec.parent).pk
    if spec.job and spec.error is None:
        from .jobs import check_queue

        check_queue(ws, spec.target)
    fields: dict[str, Any] = dict(
        name=name,
        source_kind=spec.source_kind,
        source_path=spec.source_path,
        user=spec.user or current_user(),
        compute_target=spec.target,
        parent_pk=parent_pk,
        params=params,
        tags=tags,
    )
    exp_id = store.experiment_id(experiment, create=True)
    if spec.error is not None:
        return store.create_run(exp_id, status=RunStatus.FAILED, error=spec.error, **fields)
    # Preparing happens before the run row exists, so a run is written once, in its first status.
    try:
        prepared = spec.reuse or prepare(ws, spec.snapshot)
    except BaseException as exc:
        event = RunEvent.CANCEL if isinstance(exc, KeyboardInterrupt) else RunEvent.FAIL
        ended = next_status(RunStatus.PREPARING, event)
        store.create_run(exp_id, status=ended, error=f"{type(exc).__name__}: {exc}", **fields)
        raise
    _check_needs(ws, prepared, spec.needs)
    status = RunStatus.QUEUED if spec.job else next_status(RunStatus.PREPARING, RunEvent.START)
    return store.create_run(exp_id, status=status, **fields, **prepared.__dict__)


def _checked(values: Mapping[str, Any], what: str, key_name: str, max_length: int) -> dict[str, str]:
    if not isinstance(values, Mapping):
        raise InvalidValue(f"{what} must be a mapping of names to values, not {type(values).__name__}")
    return {
        (key := check_key(k, key_name)): param_to_str(key, v, max_length)
        for k, v in check_count(dict(values), what).items()
    }


def prepare(ws: Workspace, snapshot: bool | None) -> Prepared:
    """The project's snapshot (when taken) with the user's git state, and the environment (when
    aml.toml captures it), for a run about to be created.

    Example:
        >>> prepare(ws, snapshot=False).snapshot_id is None  # doctest: +SKIP
        True
    """
    snapshot_id = git = environment = None
    if snapshot if snapshot is not None else ws.snapshots.enabled:
        snapshot_id, git = ws.snapshot_taker.take(ws.root, ws.snapshots.max_bytes)
    if ws.tracking.capture_environment:
        from ..snapshots.environment import capture

        environment = capture()
    return Prepared(snapshot_id, git, environment)


def _check_needs(ws: Workspace, prepared: Prepared, needs: tuple[str, ...]) -> None:
    # A job that would not find its own script in its snapshot is refused before it is recorded.
    if not needs:
        return
    files = set(ws.snapshot_store.files(prepared.snapshot_id)) if prepared.snapshot_id else set()
    for needed in needs:
        if needed not in files:
            raise InvalidPath(
                f"{needed} is ignored by .gitignore or .amlignore, so the job could not see it", path=needed
            )


def show(ws: Workspace, run_id: str) -> dict[str, Any]:
    """A run in its one JSON shape, with its environment: what ``aml runs show --json``,
    ``GET /api/v1/runs/RUN``, ``%aml show`` and ``Run.to_dict()`` give (docs/guide.md, "JSON shapes").

    Example:
        >>> show(ws, run.id)["status"]  # doctest: +SKIP
        'completed'
    """
    store = ws.store
    record = get(ws, run_id)
    return record.to_dict(store.environment(record.environment_hash) if record.environment_hash else None)


def delete(ws: Workspace, run_ids: list[str]) -> list[str]:
    """Delete ended runs and all they logged; a live one refuses the whole call (the store checks
    it in the deleting transaction, so no surface can get round it). Returns the full ids.

    Example:
        >>> delete(ws, [run.id])  # doctest: +SKIP
        ['3f2a...']
    """
    liveness.sweep(ws)  # a run whose process is gone is no longer live
    return ws.store.delete_runs(run_ids)


def get(ws: Workspace, run_id: str) -> RunRecord:
    """A run's record by id or unique prefix (4+ characters); a run whose process is gone is
    ended ``failed`` first, so what is shown is how it stands.

    Example:
        >>> get(ws, run.id[:8]).id == run.id  # doctest: +SKIP
        True
    """
    liveness.sweep(ws)
    return ws.store.get_run(run_id)


def experiments(ws: Workspace) -> list[dict[str, Any]]:
    """Every experiment with its run count and last run time.

    Example:
        >>> [e["name"] for e in experiments(ws)]  # doctest: +SKIP
        ['iris']
    """
    return ws.store.list_experiments()


def create_experiment(ws: Workspace, name: str) -> int:
    """The id of experiment ``name``, made now if missing (an experiment is otherwise made by its
    first run); its name checked as every surface checks it.

    Example:
        >>> create_experiment(ws, "iris") == create_experiment(ws, "iris")  # doctest: +SKIP
        True
    """
    return ws.store.experiment_id(check_name(name, "experiment name"), create=True)


def end(
    ws: Workspace, run: str | int, event: RunEvent, error: str | None = None, traceback: str | None = None
) -> tuple[str | None, bool]:
    """Move a run (an id, or its primary key) along ``event`` (complete, fail, cancel, ...):
    ``(its status now, whether this call moved it)``. A run someone else ended first is left as
    it is and reported as it stands, so two enders never fight.

    Example:
        >>> end(ws, run.id, RunEvent.COMPLETE)  # doctest: +SKIP
        ('completed', True)
    """
    from ..errors import IllegalTransition

    store = ws.store
    pk = run if isinstance(run, int) else store.get_run(run).pk
    try:
        return store.transition(pk, event, error=error, error_traceback=traceback).value, True
    except IllegalTransition:
        return store.status_of(pk), False


def beat(ws: Workspace, run_pk: int) -> bool:
    """Record a live run's heartbeat; whether someone asked it to stop (``aml cancel``).

    Example:
        >>> beat(ws, run.pk)  # doctest: +SKIP
        False
    """
    ws.store.heartbeat([run_pk])
    return bool(ws.store.get_tag(run_pk, "aml.cancel"))


def clear_metrics(ws: Workspace, run_pk: int) -> None:
    """Drop everything a live run logged as metrics (a job's attempt starting over).

    Example:
        >>> clear_metrics(ws, run.pk)  # doctest: +SKIP
    """
    ws.store.clear_metrics(run_pk)


def live_state(ws: Workspace, run_id: str) -> tuple[int, str, str, str | None, str] | None:
    """``(pk, id, status, current attempt, experiment)`` of a run in one light query, or None:
    what a server checks on every batch a remote job sends.

    Example:
        >>> live_state(ws, run.id)[2]  # doctest: +SKIP
        'running'
    """
    return ws.store.live_state(run_id)


def changed_since(ws: Workspace, since_ms: int) -> list[tuple[str, str, str | None]]:
    """``(id, status, error)`` of runs that are live, or that started or ended since ``since_ms``:
    what the events socket pushes.

    Example:
        >>> changed_since(ws, 0)[:1]  # doctest: +SKIP
        [('3f2a...', 'completed', None)]
    """
    return ws.store.changed_runs(since_ms)


def kernel_runs(ws: Workspace, kernel_id: str | None = None) -> list[tuple[int, str, str, str | None, str | None]]:
    """``(pk, id, kernel id, pid, host)`` of running runs started in a kernel (that one's only,
    when given): what the kernel watcher ends when their kernel goes.

    Example:
        >>> kernel_runs(ws, "5d2c...")  # doctest: +SKIP
        [(7, '3f2a...', '5d2c...', '4242', 'box')]
    """
    return ws.store.kernel_runs(kernel_id)


TOKEN_TAG = "aml.created_with"  # the id of the per-user token that created a run over REST (not secret)

# Tags aml writes itself when a job is submitted or rerun: they decide what runs and where, so no
# client may write them, not even the job's own run-scoped token.
SUBMISSION_TAGS = frozenset(
    {
        "aml.args", "aml.requirements", "aml.data", "aml.tracking_uri", "aml.kernel", "aml.nb_params",
        "aml.defaults", "aml.flags",
        "aml.retries", "aml.submitted", "aml.rerun_of", "aml.cancel", TOKEN_TAG,
    }
)  # fmt: skip


def client_values(values: object, what: str) -> dict[str, Any]:
    """Params or tags a client sent over REST: an object of scalars (text, numbers, booleans).
    Objects, lists and null would be stored as Python's spelling of them (``"{'b': [1]}"``,
    ``"None"``): refused, naming the first.

    Example:
        >>> client_values({"lr": 0.1, "opt": "adam"}, "params")
        {'lr': 0.1, 'opt': 'adam'}
        >>> client_values({"a": None}, "tags")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: tags: 'a' is null; a value is text, a number or a boolean
    """
    if not isinstance(values, dict):
        raise InvalidValue(f'"{what}" must be an object')
    for key, value in values.items():
        if not isinstance(value, str | int | float | bool):
            kind = "null" if value is None else f"an {type(value).__name__}".replace("an dict", "an object")
            kind = kind.replace("an list", "a list")
            raise InvalidValue(f"{what}: {key!r} is {kind}; a value is text, a number or a boolean", key=str(key))
    return values


def client_tags(tags: object, job_of_run: bool) -> dict[str, Any]:
    """Tags a client sent over REST. ``aml.*`` tags are aml's own: refused, but for the run's own
    job (its run-scoped token, or a server's own token) writing what a job records of itself
    (attempt, host, folders, environment), never what its submission decided.

    Example:
        >>> client_tags({"team": "a"}, job_of_run=False)
        {'team': 'a'}
        >>> client_tags({"aml.args": "[]"}, job_of_run=True)
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: tag 'aml.args' is aml's own: no client may set it
    """
    checked = client_values(tags, "tags")
    for key in checked:
        if str(key).startswith("aml.") and (not job_of_run or key in SUBMISSION_TAGS):
            raise InvalidValue(f"tag {key!r} is aml's own: no client may set it", key=str(key))
    return checked


def metric_batch(points: object) -> list[MetricPoint]:
    """A client's batch of metric points (``[{"key", "value", "step"?, "timestamp"?}]``, NaN and the
    infinities spelled out as JSON has them), each checked as the SDK checks one it logs
    (:func:`~aml_jupyter.entities.validation.check_point`); all of them before any is written.

    Example:
        >>> metric_batch([{"key": "loss", "value": "NaN", "step": 0}])[0][:1]
        ('loss',)
    """
    from ..entities.records import number_from_json
    from ..entities.validation import MAX_POINTS_PER_BATCH, check_point

    if not isinstance(points, list):
        raise InvalidInput('"metrics" must be a list of {"key", "value", "step", "timestamp"}')
    check_count(points, "metric points", MAX_POINTS_PER_BATCH)
    checked = []
    for p in points:
        if not isinstance(p, dict):
            raise InvalidInput("each metric point must be an object")
        checked.append(check_point(p.get("key"), number_from_json(p.get("value")), p.get("step"), p.get("timestamp")))
    check_count({key for key, *_ in checked}, "distinct metric keys")
    return checked


def write_points(run: Any, checked: list[Any]) -> None:
    """Write checked points ``(key, value, step, timestamp)`` to a live run, durable on return: one
    series per key, packed without a Python loop where every point of it names its step and time
    (or none does). aml's metric batches and MLflow's log-batch both write so.

    Example:
        >>> write_points(api.live_run(run_id), metric_batch([{"key": "a", "value": 1}]))  # doctest: +SKIP
    """
    by_key: dict[str, list[tuple[Any, Any, Any]]] = {}
    for key, value, step, ts in checked:
        by_key.setdefault(key, []).append((value, step, ts))
    for key, rows in by_key.items():
        steps, stamps = [r[1] for r in rows], [r[2] for r in rows]
        whole = all(x is not None for x in steps) or all(x is None for x in steps)
        if whole and (all(x is not None for x in stamps) or all(x is None for x in stamps)):
            # One series per key, in the order sent: checked once above, packed without a loop.
            run.log_batch(
                key,
                [r[0] for r in rows],
                None if steps[0] is None else steps,
                None if stamps[0] is None else stamps,
            )
        else:  # some points name their step or time and some do not: one at a time, as sent
            for value, step, ts in rows:
                run.log(key, value, step, ts)
    run.flush()  # acknowledged means durable


def log_batch_once(ws: Workspace, run_pk: int, batch_id: object, points: list[tuple[str, float, Any, Any]]) -> bool:
    """Store checked points ``(key, value, step, timestamp)`` of one client batch unless the run
    has a batch of that id already: a client that got no answer sends it again, and metrics are
    never counted twice. Whether it was stored now.

    Example:
        >>> log_batch_once(ws, run.pk, "b-0001-aa", [("loss", 0.5, 0, 1700000000000)])  # doctest: +SKIP
        True
    """
    import re

    from ..entities.series import Series, pack_steps, pack_times, pack_values

    if not isinstance(batch_id, str) or not re.fullmatch(r"[A-Za-z0-9_-]{8,64}", batch_id):
        raise InvalidValue('"batch" is an id of 8 to 64 letters, digits, "-" and "_"')
    if any(step is None or ts is None for _, _, step, ts in points):
        raise InvalidValue("a batch with an id names the step and timestamp of each of its points")
    by_key: dict[str, list[tuple[float, Any, Any]]] = {}
    for key, value, step, ts in points:
        by_key.setdefault(key, []).append((value, step, ts))
    series = [
        Series(
            run_pk,
            key,
            pack_steps([r[1] for r in rows], len(rows), 0, key),
            pack_values([r[0] for r in rows], key),
            pack_times([r[2] for r in rows], len(rows), 0, key),
        )
        for key, rows in by_key.items()
    ]
    return bool(ws.store.write_batch_once(run_pk, batch_id, series))


def upload_folder(ws: Workspace) -> Path:
    """Where a server streams an artifact's upload before it is stored (on the artifact store's
    file system, so storing it is a rename).

    Example:
        >>> upload_folder(ws).is_dir()  # doctest: +SKIP
        True
    """
    return ws.artifacts.staging_dir()


def rename(ws: Workspace, run_pk: int, name: str) -> None:
    """Give run ``run_pk`` the name ``name`` (``%aml history`` names a cell's run by its count).

    Example:
        >>> rename(ws, run.pk, "cell 3")  # doctest: +SKIP
    """
    ws.store.rename_run(run_pk, check_name(name, "run name"))


def adopt_names(ws: Workspace, run_id: str, experiment: str | None, name: str | None) -> None:
    """A job's run takes the experiment and name its script passes to ``start_run``, where the
    submission named none (experiment ``default``, the run's id as its name): ``python train.py``
    and ``aml submit train.py`` then record the same work in the same experiment, under one name.

    Example:
        >>> adopt_names(ws, job_run_id, "churn", "find-best")  # doctest: +SKIP
    """
    record = ws.store.get_run(run_id)
    if experiment and experiment != "default" and record.experiment == "default":
        checked = check_name(experiment, "experiment name")
        try:
            ws.store.experiment_id(checked)
        except ExperimentNotFound:
            check_resource_name(checked, "experiment name")
        ws.store.move_run(record.pk, ws.store.experiment_id(checked, create=True))
    if name and record.name == record.id[:8]:
        ws.store.rename_run(record.pk, name)


def create_from_client(
    ws: Workspace, payload: dict[str, Any], user: str, token_id: str | None = None, source_kind: str = "api"
) -> dict[str, Any]:
    """Create a running run from ``{"experiment", "name"?, "params"?, "tags"?, "parent"?}`` (a
    parent run's id nests it); its client then logs to it, sends heartbeats and ends it
    (``/transition``), as a remote job does.

    Example:
        >>> create_from_client(ws, {"experiment": "iris", "params": {"lr": 0.1}}, "alice")["status"]  # doctest: +SKIP
        'running'
    """
    experiment = payload.get("experiment")
    if not isinstance(experiment, str):
        raise InvalidInput('"experiment" (a name) is required')
    params = client_values(payload.get("params") or {}, "params")
    tags = client_tags(payload.get("tags") or {}, job_of_run=False)
    if token_id:  # which token wrote it: revoking that token ends this run, not its user's others
        tags = {**tags, TOKEN_TAG: token_id}
    parent = payload.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise InvalidInput('"parent" must be a run id')
    # The client's project and environment are not the server's: nothing to snapshot or capture here.
    spec = RunSpec(
        experiment,
        name=payload.get("name"),
        params=params,
        tags=tags,
        source_kind=source_kind,
        user=user,
        parent=ws.store.get_run(parent).pk if parent else None,
        reuse=Prepared(),
    )
    record = create(ws, spec)
    return record.to_dict()
