"""find_best_model: evaluate candidates on one validation table, each in a child run, and keep the
best (MMLSpark's FindBestModel); register: a learned model into the registry with its lineage.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidValue
from .evaluation import evaluate
from .report import Report

LOWER_IS_BETTER = ("log_loss", "mean_squared_error", "root_mean_squared_error", "mean_absolute_error", "max_error")


@dataclass
class Best:
    """The winner of :func:`find_best_model` and the leaderboard of every candidate.

    Example:
        >>> best = learn.find_best_model([m1, m2], val_df, metric="roc_auc")  # doctest: +SKIP
        >>> best.score, best.leaderboard[["candidate", "roc_auc"]]  # doctest: +SKIP
    """

    model: Any
    metric: str
    score: float
    leaderboard: Any
    report: Report
    run_id: str | None
    parent_run_id: str | None

    def _repr_html_(self) -> str:
        first = html.escape(str(self.leaderboard.iloc[0]["candidate"]))
        head = f"<p>best: {first}, {html.escape(self.metric)} = {self.score:.4g}</p>"
        return head + str(self.leaderboard.to_html(escape=True, index=False))


def goal_of(metric: str) -> str:
    """``min`` for losses and errors, ``max`` for the rest.

    Example:
        >>> goal_of("log_loss"), goal_of("roc_auc")
        ('min', 'max')
    """
    return "min" if metric in LOWER_IS_BETTER else "max"


def find_best_model(
    candidates: list[Any],
    df: Any,
    metric: str | None = None,
    *,
    label: str | None = None,
    goal: str | None = None,
    experiment: str = "default",
    workspace: Any = None,
) -> Best:
    """Evaluate each candidate on ``df`` and return the best by ``metric`` (default ``roc_auc`` for
    classifiers, ``root_mean_squared_error`` for regressors).

    Each candidate's training record and evaluation go to a child run of the active run (or of a
    new ``find_best_model`` run in ``experiment``); the parent gets the leaderboard as a table and
    a chart. Candidates must share a task and a label.

    Example:
        >>> import pandas as pd, tempfile, aml_jupyter as aml
        >>> from aml_jupyter.learn import train_classifier
        >>> ws = aml.Workspace.init(tempfile.mkdtemp())
        >>> df = pd.DataFrame({"x": range(60), "y": ["a", "b", "b"] * 20})
        >>> ms = [train_classifier(df, label="y", model=f) for f in ("logreg", "hgb")]
        >>> best = find_best_model(ms, df, metric="accuracy_score", workspace=ws)
        >>> list(best.leaderboard.columns[:3]), len(best.leaderboard)
        (['rank', 'candidate', 'accuracy_score'], 2)
    """
    if not candidates:
        raise InvalidValue("find_best_model needs at least one candidate model")
    tasks = {getattr(m, "task", None) for m in candidates}
    if len(tasks) != 1:
        raise InvalidValue("the candidates mix classifiers and regressors; compare one kind at a time")
    task = tasks.pop() or ("classification" if hasattr(candidates[0], "classes_") else "regression")
    metric = metric or ("roc_auc" if task == "classification" else "root_mean_squared_error")
    goal = goal or goal_of(metric)
    if goal not in ("max", "min"):
        raise InvalidValue(f"goal must be max or min, not {goal!r}")

    def trials(parent: Any) -> tuple[list[Any], list[Any], list[Any]]:
        rows, reports = _evaluate_all(candidates, df, label, metric, parent)
        return rows, reports, candidates

    return search("find_best_model", trials, metric, goal, experiment, workspace)


def search(
    name: str,
    trials: Callable[[Any], tuple[list[Any], list[Any], list[Any]]],
    metric: str,
    goal: str,
    experiment: str,
    workspace: Any,
) -> Best:
    """Run ``trials(parent)`` (rows, reports, models) under the active run or a new one named
    ``name``, log the leaderboard to that run, and return the best."""
    from ..tracking.fluent import active_run, start_run

    outer = active_run()
    parent = outer if outer is not None else start_run(experiment, name=name, workspace=workspace)
    try:
        rows, reports, models = trials(parent)
        board = leaderboard(rows, metric, goal)
        log_board(parent, board, metric)
    except BaseException:
        if outer is None:
            parent.end("failed")
        raise
    if outer is None:
        parent.end()
    first = int(board.iloc[0]["index"])
    top = board.iloc[0]
    return Best(
        models[first],
        metric,
        float(top[metric]),
        board.drop(columns=["index"]),
        reports[first],
        str(top["run_id"]),
        parent.id,
    )


def _evaluate_all(candidates: list[Any], df: Any, label: Any, metric: str, parent: Any) -> tuple[list[Any], list[Any]]:
    rows, reports = [], []
    for i, model in enumerate(candidates):
        row, report = trial_run(parent, i, model, df, label, metric)
        rows.append(row)
        reports.append(report)
    return rows, reports


def trial_run(
    parent: Any, i: int, model: Any, df: Any, label: Any, metric: str, extra: dict[str, Any] | None = None
) -> tuple[dict[str, Any], Report]:
    """Evaluate one candidate in a child run of ``parent``; its leaderboard row and its report."""
    from ..tracking.fluent import _forget, start_run

    training = dict(getattr(model, "training", None) or {})
    name = f"{i + 1}-{training.get('family', type(model).__name__)}"
    child = start_run(parent.experiment, name=name, parent=parent, snapshot=False, workspace=parent.workspace)
    _forget(child)  # the caller's active run stays the active one
    with child:
        _log_training(child, model, training)
        report = evaluate(model, df, label, log=False)
        report.log(child)
    if metric not in report.metrics:
        known = ", ".join(sorted(report.metrics))
        raise InvalidValue(f"metric {metric!r} is not measured for these models (measured: {known})")
    row = {
        "index": i,
        "candidate": name,
        **dict(extra or {}),
        **report.metrics,
        "train_seconds": training.get("seconds"),
        "run_id": child.id,
    }
    return row, report


def _log_training(run: Any, model: Any, training: dict[str, Any]) -> None:
    if not training:
        return
    run.log_params(
        {
            "learn.task": model.task,
            "learn.label": model.label,
            "learn.family": training["family"],
            **{f"learn.{k}": v for k, v in training["params"].items() if v is not None},
        }
    )
    run.log_metrics({"learn.rows": training["rows"], "learn.train_seconds": training["seconds"]})
    run.log_table(model.featurization, "learn/featurization")


def leaderboard(rows: list[dict[str, Any]], metric: str, goal: str) -> Any:
    import pandas as pd

    board = pd.DataFrame(rows)
    board = board.sort_values(metric, ascending=goal == "min", kind="stable", na_position="last")
    board.insert(0, "rank", range(1, len(board) + 1))
    first = ["rank", "candidate", metric]
    return board[first + [c for c in board.columns if c not in first]].reset_index(drop=True)


def log_board(parent: Any, board: Any, metric: str) -> None:
    from .figures import _axes

    fig, ax = _axes(f"candidates by {metric}")
    ax.barh(board["candidate"][::-1], board[metric][::-1])
    ax.set_xlabel(metric)
    parent.log_figure(fig, "find_best_model/leaderboard")
    parent.log_table(board.drop(columns=["index"]), "find_best_model/leaderboard")
    parent.log_metrics({f"best_{metric}": float(board.iloc[0][metric])})
    parent.set_tags({"learn.best_run": str(board.iloc[0]["run_id"]), "learn.metric": metric})


def register(model: Any, name: str, *, tags: dict[str, Any] | None = None, workspace: Any = None, **kw: Any) -> Any:
    """Register a learned model (or the model of a :class:`Best`) as a new version of ``name``,
    saved with skops (no pickles), its lineage the run that made it, its input signature a few
    training rows, so the scoring service takes JSON records with the training columns.

    Example:
        >>> mv = learn.register(best, "churn-clf")  # doctest: +SKIP
        >>> mv.ref  # doctest: +SKIP
        'churn-clf:1'
    """
    from ..services.models import register_model

    run_id = model.run_id if isinstance(model, Best) else (getattr(model, "training", None) or {}).get("run_id")
    learned = model.model if isinstance(model, Best) else model
    info = {
        "learn.task": getattr(learned, "task", ""),
        "learn.label": getattr(learned, "label", ""),
        "learn.family": getattr(learned, "family", "custom"),
    }
    sample = learned.sample_input() if hasattr(learned, "sample_input") else None
    return register_model(
        name,
        run=run_id,
        model=learned,
        sample_input=sample,
        tags={**info, **dict(tags or {})},
        workspace=workspace,
        **kw,
    )
