"""tune: search a learner family's hyper-parameters with the sweep engine's search spaces and
samplers (random, grid or bayes), each trial trained here and evaluated in a child run.
"""

from __future__ import annotations

import math
from typing import Any

from ..errors import InvalidValue
from .best import Best, goal_of, search, trial_run
from .train import train_classifier, train_regressor


def tune(
    df: Any,
    label: str,
    val_df: Any,
    space: list[str],
    *,
    model: str = "hgb",
    task: str = "classification",
    metric: str | None = None,
    goal: str | None = None,
    method: str = "random",
    max_runs: int = 10,
    seed: int | None = 0,
    experiment: str = "default",
    workspace: Any = None,
) -> Best:
    """Train ``model`` with parameters drawn from ``space`` (the sweep syntax,
    ``"learning_rate=loguniform(0.01,0.3)"``), evaluate each on ``val_df``, and keep the best.

    Each trial is a child run of the active run (or of a new ``tune`` run), holding its params and
    its evaluation; the parent gets the leaderboard.

    Example:
        >>> import pandas as pd, tempfile, aml_jupyter as aml
        >>> ws = aml.Workspace.init(tempfile.mkdtemp())
        >>> df = pd.DataFrame({"x": range(60), "y": ["a", "b", "b"] * 20})
        >>> best = tune(df, "y", df, ["C=loguniform(0.01,10)"], model="logreg", max_runs=2, workspace=ws)
        >>> len(best.leaderboard), "C" in best.leaderboard.columns
        (2, True)
    """
    import optuna

    from ..sweeps.policies import METHODS, make_sampler
    from ..sweeps.space import grid_of, parse_dimension

    if task not in ("classification", "regression"):
        raise InvalidValue(f"task must be classification or regression, not {task!r}")
    if method not in METHODS:
        raise InvalidValue(f"method must be one of {', '.join(METHODS)}, not {method!r}")
    if max_runs < 1:
        raise InvalidValue("max_runs must be at least 1")
    dims = [parse_dimension(d) for d in space]
    if not dims:
        raise InvalidValue('tune needs a search space, e.g. ["max_depth=choice(3,5,8)"]')
    if method == "grid":  # each point of the grid once
        max_runs = min(max_runs, math.prod(len(v) for v in grid_of(dims).values()))
    metric = metric or ("roc_auc" if task == "classification" else "root_mean_squared_error")
    goal = goal or goal_of(metric)
    train = train_classifier if task == "classification" else train_regressor
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize" if goal == "max" else "minimize", sampler=make_sampler(method, dims, seed)
    )

    def trials(parent: Any) -> tuple[list[Any], list[Any], list[Any]]:
        rows, reports, models = [], [], []
        for i in range(max_runs):
            trial = study.ask()
            params = {d.name: d.suggest(trial) for d in dims}
            candidate = train(df, label, model=model, params=params)
            row, report = trial_run(parent, i, candidate, val_df, label, metric, extra=params)
            study.tell(trial, row[metric])
            rows.append(row)
            reports.append(report)
            models.append(candidate)
        return rows, reports, models

    return search("tune", trials, metric, goal, experiment, workspace)
