"""Running a sweep: a parent run, children sampled by Optuna, stopped early on their live metrics.

The sweep runs where it is called (the ``aml sweep`` command, a notebook): it asks Optuna for up to
``max_concurrent`` trials at a time, submits each as a child run of the parent on the target,
reports the metric the children log as they go (so the pruner can stop a poor child: it is
cancelled and tagged ``aml.early_stopped``), and tells Optuna each child's final value. When it
ends, the parent run holds the best child (tag ``aml.best_child``, metric ``best_METRIC``, the
best params as tag ``aml.best_params``). Ctrl-C cancels the running children and the parent.
"""

from __future__ import annotations

import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..entities.lifecycle import is_live
from ..entities.validation import check_key
from ..errors import InvalidValue, JobError
from ..workspace import Workspace
from .policies import METHODS, EarlyStop, make_sampler
from .space import Dimension, grid_of, parse_dimension

POLL_S = 0.05  # a slot freed by an ending child is refilled within this
METRICS_EVERY_S = 0.25  # how often the children's metrics are read for the early-stopping policy


@dataclass
class Progress:
    """Where a sweep stands; handed to the ``on_progress`` callback after every change."""

    total: int
    started: int = 0
    completed: int = 0
    failed: int = 0
    stopped_early: int = 0
    best_value: float | None = None
    best_child: str | None = None
    running: list[str] = field(default_factory=list)

    @property
    def ended(self) -> int:
        return self.completed + self.failed + self.stopped_early


class _Child:
    def __init__(self, run_id: str, pk: int, trial: Any, params: dict[str, Any]) -> None:
        self.run_id, self.pk, self.trial, self.params = run_id, pk, trial, params
        self.reported: set[int] = set()


def sweep(
    path: str,
    space: list[str] | list[Dimension],
    *,
    metric: str,
    goal: str = "max",
    method: str = "random",
    max_runs: int = 20,
    max_concurrent: int = 4,
    max_duration: float | None = None,
    early_stop: EarlyStop | str = "none",
    params: dict[str, Any] | None = None,
    target: str = "local",
    experiment: str = "default",
    name: str | None = None,
    seed: int | None = None,
    allow_new_params: bool = False,
    on_progress: Callable[[Progress], None] | None = None,
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Sweep the script or notebook ``path`` over ``space``; returns the parent run and the best child.

    Example:
        >>> aml_jupyter.sweep("train.ipynb", ["lr=loguniform(1e-4,1e-1)", "depth=choice(2,4,8)"],
        ...                   metric="acc", method="bayes", max_runs=20, max_concurrent=4,
        ...                   early_stop="median", target="dask")  # doctest: +SKIP
        {'id': '...', 'status': 'completed', 'best': {'id': '...', 'value': 0.97, 'params': {...}}, ...}
    """
    import optuna

    from ..services.submit import project_file, submit
    from ..tracking.fluent import _forget, start_run

    ws = Workspace.open(workspace)
    dims = [d if isinstance(d, Dimension) else parse_dimension(d) for d in space]
    if not dims:
        raise InvalidValue("a sweep needs at least one --param NAME=FUNCTION(ARGS)")
    if len({d.name for d in dims}) != len(dims):
        raise InvalidValue("each swept param may be given once")
    if goal not in ("max", "min"):
        raise InvalidValue(f"--goal must be max or min, not {goal!r}")
    if method not in METHODS:
        raise InvalidValue(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
    if max_runs < 1 or max_concurrent < 1:
        raise InvalidValue("--max-runs and --max-concurrent must be at least 1")
    if max_duration is not None and max_duration <= 0:
        raise InvalidValue("--max-duration must be positive (seconds)")
    metric = check_key(metric, "metric name")
    policy = early_stop if isinstance(early_stop, EarlyStop) else EarlyStop(early_stop)
    if method == "grid":
        max_runs = min(max_runs, math.prod(len(v) for v in grid_of(dims).values()))
    _, rel = project_file(ws, path)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if goal == "max" else "minimize",
        sampler=make_sampler(method, dims, seed),
        pruner=policy.pruner(),
    )
    config = {
        "method": method,
        "metric": metric,
        "goal": goal,
        "max_runs": max_runs,
        "max_concurrent": max_concurrent,
        "early_stop": policy.policy,
        "space": json.dumps([f"{d.name}={d.function}{d.args}" for d in dims]),
    }
    parent = start_run(
        experiment, config, name=name, source_kind="sweep", source_path=rel, compute_target=target, workspace=ws
    )
    _forget(parent)  # the parent is not the notebook's active run: aml.log elsewhere must not reach it
    if on_progress is None and progress_display is not None:
        on_progress = progress_display(max_runs, metric)
    progress = Progress(total=max_runs)
    children: dict[str, _Child] = {}
    stopping: list[int] = []  # children asked to stop: the sweep ends once they have
    next_metrics = 0.0
    deadline = time.monotonic() + max_duration if max_duration else None
    store = ws.store
    try:
        while True:
            timed_out = deadline is not None and time.monotonic() > deadline
            while len(children) < max_concurrent and progress.started < max_runs and not timed_out:
                trial = study.ask()
                values = {d.name: d.suggest(trial) for d in dims}
                result = submit(
                    path,
                    {**(params or {}), **values},
                    target=target,
                    experiment=experiment,
                    name=f"{parent.name}-{progress.started + 1}",
                    parent=parent.id,
                    allow_new_params=allow_new_params,
                    tags={"aml.sweep_trial": str(trial.number)},
                    workspace=ws,
                )
                trial.set_user_attr("run_id", result["id"])
                trial.set_user_attr("params", values)
                children[result["id"]] = _Child(result["id"], store.get_run(result["id"]).pk, trial, values)
                progress.started += 1
            if timed_out:
                stopping += _stop_all(ws, children, study, progress, "the sweep reached --max-duration")
            if not children:
                break
            read_metrics = time.monotonic() >= next_metrics
            if read_metrics:
                next_metrics = time.monotonic() + METRICS_EVERY_S
            for child in list(children.values()):
                ended = _poll(ws, child, study, metric, progress, read_metrics)
                if ended:
                    del children[child.run_id]
                    if ended == "stopped":
                        stopping.append(child.pk)
            progress.running = list(children)
            if on_progress is not None:
                on_progress(progress)
            time.sleep(POLL_S)
    except BaseException as exc:
        _wait_until_ended(ws, stopping + _stop_all(ws, children, study, progress, "the sweep was interrupted"))
        if isinstance(exc, KeyboardInterrupt):
            parent.end("cancelled")
        else:
            parent.end("failed", error=f"{type(exc).__name__}: {exc}")
        raise
    _wait_until_ended(ws, stopping)
    best = _best(study)
    if best is not None:
        child_id, value, best_params = best
        progress.best_child, progress.best_value = child_id, value
        parent.set_tags({"aml.best_child": child_id, "aml.best_params": json.dumps(best_params)})
        parent.log(f"best_{metric}", value)
    parent.log_metrics(
        {
            "children_completed": progress.completed,
            "children_stopped_early": progress.stopped_early,
            "children_failed": progress.failed,
        }
    )
    if on_progress is not None:
        on_progress(progress)
    if best is not None:
        status = parent.end("completed")
    else:
        status = parent.end("failed", error=f"no child run completed with the metric {metric!r}")
    return {
        "id": parent.id,
        "status": status,
        "best": None if best is None else {"id": best[0], "value": best[1], "params": best[2]},
        "completed": progress.completed,
        "stopped_early": progress.stopped_early,
        "failed": progress.failed,
    }


# How a sweep shows its progress where nobody passed on_progress: set by a surface (the IPython
# extension sets a live widget in a notebook); None shows nothing. Core code imports no surface.
progress_display: Callable[[int, str], Callable[[Progress], None] | None] | None = None


def _poll(ws: Workspace, child: _Child, study: Any, metric: str, progress: Progress, read_metrics: bool) -> str:
    """Report the child's new metric points; "ended" or "stopped" once Optuna was told its end, else ""."""
    from optuna.trial import TrialState

    from ..jobs.supervise import request_cancel

    store = ws.store
    status = store.status_of(child.pk)
    ended = status is not None and not is_live(status)
    if not ended and not read_metrics:
        return ""
    steps, values, _ = store.metric_history(child.pk, metric)
    last_value = values[-1] if len(values) else None
    if ended:
        if status == "completed" and last_value is not None and math.isfinite(last_value):
            study.tell(child.trial, last_value)
            store.set_tags(child.pk, {"aml.sweep_value": repr(last_value)})
            progress.completed += 1
            _update_best(progress, study)
        else:
            study.tell(child.trial, state=TrialState.FAIL)
            progress.failed += 1
        return "ended"
    for step, value in zip(steps, values, strict=True):
        if step in child.reported or not math.isfinite(value):
            continue
        child.reported.add(step)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna warns about steps reported out of order
            child.trial.report(value, step)
    if child.reported and child.trial.should_prune():
        store.set_tags(child.pk, {"aml.early_stopped": f"at step {max(child.reported)} by the sweep's policy"})
        try:
            request_cancel(ws, child.run_id)
        except JobError:
            pass
        study.tell(child.trial, state=TrialState.PRUNED)
        progress.stopped_early += 1
        return "stopped"
    return ""


def _update_best(progress: Progress, study: Any) -> None:
    best = _best(study)
    if best is not None:
        progress.best_child, progress.best_value = best[0], best[1]


def _best(study: Any) -> tuple[str, float, dict[str, Any]] | None:
    from optuna.trial import TrialState

    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
    if not done:
        return None
    best = study.best_trial
    return best.user_attrs["run_id"], float(best.value), best.user_attrs["params"]


def _wait_until_ended(ws: Workspace, pks: list[int], timeout: float = 60.0) -> None:
    # Stopping a child takes its job a moment (its watcher polls); the sweep returns after.
    deadline = time.monotonic() + timeout
    for pk in pks:
        while is_live(ws.store.status_of(pk) or "lost") and time.monotonic() < deadline:
            time.sleep(POLL_S / 2)


def _stop_all(ws: Workspace, children: dict[str, _Child], study: Any, progress: Progress, why: str) -> list[int]:
    from optuna.trial import TrialState

    from ..jobs.supervise import request_cancel

    stopped = []
    for child in list(children.values()):
        ws.store.set_tags(child.pk, {"aml.sweep_stopped": why})
        try:
            request_cancel(ws, child.run_id)
        except Exception:  # it ended meanwhile
            pass
        study.tell(child.trial, state=TrialState.FAIL, skip_if_finished=True)
        progress.failed += 1
        del children[child.run_id]
        stopped.append(child.pk)
    return stopped
