"""``%aml``: run history from inside IPython, as thin calls to the SDK.

%aml runs [FILTER] [--experiment E] [--max N]   the run table (a DataFrame, rendered as HTML)
%aml show RUN                                   one run's record
%aml best METRIC [--experiment E] [--goal min]  the best completed run
%aml experiments                                experiments and their run counts
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class

from aml_jupyter.errors import AmlError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel
        raise AmlError(f"%aml: {message}")


def _parser() -> _Parser:
    p = _Parser(prog="%aml", add_help=False)
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    runs = sub.add_parser("runs")
    runs.add_argument("filter", nargs="*")
    runs.add_argument("--experiment", "-e", action="append")
    runs.add_argument("--max", type=int, default=100)
    show = sub.add_parser("show")
    show.add_argument("run")
    best = sub.add_parser("best")
    best.add_argument("metric")
    best.add_argument("--experiment", "-e", default="default")
    best.add_argument("--goal", choices=["max", "min"], default="max")
    sub.add_parser("experiments")
    sub.add_parser("targets")
    submit = sub.add_parser("submit")
    submit.add_argument("path")
    submit.add_argument("-p", "--param", nargs=2, action="append", metavar=("NAME", "VALUE"))
    submit.add_argument("--target", default="local")
    submit.add_argument("-e", "--experiment", default="default")
    submit.add_argument("--wait", action="store_true")
    logs = sub.add_parser("logs")
    logs.add_argument("run")
    logs.add_argument("--stderr", action="store_true")
    cancel = sub.add_parser("cancel")
    cancel.add_argument("run")
    return p


@magics_class
class AmlMagics(Magics):
    """The ``%aml`` line magic."""

    def _jobs(self, args: argparse.Namespace) -> Any:
        from aml_jupyter.jobs.control import cancel, read_log, target_rows
        from aml_jupyter.jobs.submit import submit
        from aml_jupyter.workspace import Workspace

        ws = Workspace.open()
        if args.command == "targets":
            return target_rows(ws)
        if args.command == "submit":
            params = dict(args.param or [])
            return submit(
                args.path, params, target=args.target, experiment=args.experiment, wait=args.wait, workspace=ws
            )
        if args.command == "logs":
            print(read_log(ws, ws.store.get_run(args.run), "stderr" if args.stderr else "stdout"), end="")
            return None
        return f"cancelling run {cancel(ws, args.run)}"

    @line_magic
    def aml(self, line: str) -> Any:
        """Run-history commands; see this module's docstring. Errors print one line."""
        import aml_jupyter as aml

        try:
            args = _parser().parse_args(shlex.split(line))
            if args.command == "runs":
                return aml.search_runs(" ".join(args.filter) or None, experiments=args.experiment, max_results=args.max)
            if args.command == "show":
                return aml.get_run(args.run).info.to_dict()
            if args.command == "best":
                return aml.best_run(args.experiment, metric=args.metric, goal=args.goal)
            if args.command == "experiments":
                return aml.list_experiments()
            return self._jobs(args)
        except AmlError as exc:
            print(f"aml: error: {exc}")
            return None
