"""Samplers and early-termination policies, as Optuna objects.

Methods: ``grid`` (GridSampler), ``random`` (RandomSampler), ``bayes`` (TPESampler).
Policies, acting on the metric the children log as they run:

- ``median``: MedianPruner: stop a child whose best value so far is worse than the median of the
  others at the same step.
- ``truncation``: PercentilePruner: stop a child in the worst ``truncation_percentage`` percent at
  the step.
- ``bandit``: stop a child whose value at an evaluation step is worse than the best child's
  value there by more than ``slack_factor`` (Optuna has no such pruner: :class:`BanditPruner`).

All take ``evaluation_interval`` (steps between checks) and ``delay_evaluation`` (steps before the
first check).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InvalidValue
from .space import Dimension, grid_of

METHODS = ("grid", "random", "bayes")
POLICIES = ("none", "median", "bandit", "truncation")


@dataclass(frozen=True)
class EarlyStop:
    """An early-termination policy and its settings.

    Example:
        >>> EarlyStop("bandit", slack_factor=0.1).pruner().__class__.__name__
        'BanditPruner'
    """

    policy: str = "none"
    evaluation_interval: int = 1
    delay_evaluation: int = 0
    slack_factor: float = 0.1
    truncation_percentage: float = 20.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise InvalidValue(f"--early-stop must be one of {', '.join(POLICIES)}, not {self.policy!r}")
        if self.evaluation_interval < 1 or self.delay_evaluation < 0:
            raise InvalidValue("evaluation_interval must be ≥ 1 and delay_evaluation ≥ 0")
        if not 0 < self.slack_factor:
            raise InvalidValue("slack_factor must be > 0")
        if not 0 < self.truncation_percentage < 100:
            raise InvalidValue("truncation_percentage must be between 0 and 100")

    def pruner(self) -> Any:
        """The Optuna pruner for this policy."""
        from optuna.pruners import MedianPruner, NopPruner, PercentilePruner

        common = dict(n_warmup_steps=self.delay_evaluation, interval_steps=self.evaluation_interval)
        if self.policy == "median":
            return MedianPruner(n_startup_trials=1, **common)
        if self.policy == "truncation":
            return PercentilePruner(self.truncation_percentage, n_startup_trials=1, **common)
        if self.policy == "bandit":
            return _bandit_class()(self.slack_factor, self.evaluation_interval, self.delay_evaluation)
        return NopPruner()


def _bandit_class() -> type:
    from optuna.pruners import BasePruner
    from optuna.study import StudyDirection
    from optuna.trial import TrialState

    class BanditPruner(BasePruner):
        """Azure ML's bandit policy over Optuna's intermediate values."""

        def __init__(self, slack_factor: float, interval: int, delay: int) -> None:
            self.slack, self.interval, self.delay = slack_factor, interval, delay

        def prune(self, study: Any, trial: Any) -> bool:
            step = trial.last_step
            if step is None or step < self.delay or (step - self.delay) % self.interval:
                return False
            value = trial.intermediate_values[step]
            others = [
                t.intermediate_values[step]
                for t in study.get_trials(
                    deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING, TrialState.PRUNED)
                )
                if t.number != trial.number and step in t.intermediate_values
            ]
            if not others:
                return False
            if study.direction == StudyDirection.MAXIMIZE:
                return bool(value < max(others) / (1 + self.slack))
            return bool(value > min(others) * (1 + self.slack))

    return BanditPruner


def make_sampler(method: str, space: list[Dimension], seed: int | None) -> Any:
    """The Optuna sampler for ``method``.

    Example:
        >>> make_sampler("random", [], 0).__class__.__name__
        'RandomSampler'
    """
    from optuna.samplers import GridSampler, RandomSampler, TPESampler

    if method == "grid":

        class Grid(GridSampler):
            # GridSampler calls study.stop() once the grid is used up, which Optuna only allows
            # inside study.optimize(); the sweep asks and tells itself and stops at the grid's size.
            def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
                try:
                    super().after_trial(study, trial, state, values)
                except RuntimeError:
                    pass

        return Grid(grid_of(space), seed=seed)
    if method == "random":
        return RandomSampler(seed=seed)
    if method == "bayes":
        return TPESampler(seed=seed, n_startup_trials=5, constant_liar=True)
    raise InvalidValue(f"--method must be one of {', '.join(METHODS)}, not {method!r}")
