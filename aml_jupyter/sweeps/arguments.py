"""The sweep's command-line arguments, shared by ``aml sweep`` and ``%aml sweep``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the runner loads the workspace: `aml --help` need not
    from .runner import Progress


def add_sweep_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the sweep's arguments to ``parser``.

    Example:
        >>> p = argparse.ArgumentParser(); add_sweep_arguments(p)
        >>> p.parse_args(["nb.ipynb", "--param", "lr=choice(1,2)", "--metric", "acc"]).method
        'random'
    """
    parser.add_argument("path", help="a .py or .ipynb file in the project folder")
    parser.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="NAME=FUNCTION(ARGS)",
        help="a searched param: choice(a,b,..), uniform(lo,hi), loguniform(lo,hi), randint(lo,hi), normal(mu,sigma)",
    )
    parser.add_argument("-p", "--fixed", nargs=2, action="append", metavar=("NAME", "VALUE"), help="a fixed param")
    parser.add_argument("--method", choices=["grid", "random", "bayes"], default="random")
    parser.add_argument("--metric", required=True, help="the metric the children log, to rank and stop them")
    parser.add_argument("--goal", choices=["max", "min"], default="max")
    parser.add_argument("--max-runs", type=int, default=20)
    parser.add_argument("--max-concurrent", type=int, default=4)
    parser.add_argument("--max-duration", type=float, default=None, help="seconds; then running children are cancelled")
    parser.add_argument("--early-stop", choices=["none", "median", "bandit", "truncation"], default="none")
    parser.add_argument("--evaluation-interval", type=int, default=1)
    parser.add_argument("--delay-evaluation", type=int, default=0)
    parser.add_argument("--slack-factor", type=float, default=0.1)
    parser.add_argument("--truncation-percentage", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--target", default="local")
    parser.add_argument("-e", "--experiment", default="default")
    parser.add_argument("--name", default=None)
    parser.add_argument("--allow-new-params", action="store_true")


def sweep_from_args(args: argparse.Namespace, workspace: Any, on_progress: Callable[[Progress], None] | None) -> Any:
    """Run the sweep the parsed arguments describe.

    Example:
        >>> sweep_from_args(parser.parse_args(argv), ws, None)["best"]  # doctest: +SKIP
    """
    from .policies import EarlyStop
    from .runner import sweep

    policy = EarlyStop(
        args.early_stop,
        evaluation_interval=args.evaluation_interval,
        delay_evaluation=args.delay_evaluation,
        slack_factor=args.slack_factor,
        truncation_percentage=args.truncation_percentage,
    )
    return sweep(
        args.path,
        args.param,
        metric=args.metric,
        goal=args.goal,
        method=args.method,
        max_runs=args.max_runs,
        max_concurrent=args.max_concurrent,
        max_duration=args.max_duration,
        early_stop=policy,
        params=dict(args.fixed or []),
        target=args.target,
        experiment=args.experiment,
        name=args.name,
        seed=args.seed,
        allow_new_params=args.allow_new_params,
        on_progress=on_progress,
        workspace=workspace,
    )
