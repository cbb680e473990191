"""``%aml`` and ``%%aml``: run history and jobs from inside IPython, as thin calls to the SDK.

%aml runs [FILTER] [--experiment E] [--max N]   the run table (a DataFrame, rendered as HTML)
%aml show RUN                                   one run's record
%aml best METRIC [--experiment E] [--goal min]  the best completed run
%aml experiments                                experiments and their run counts
%aml targets                                    compute targets
%aml submit PATH [-p NAME VALUE]... [--target T] [--name N] [--wait] [--requirements F] [--data PATH]...
           [--allow-new-params] [--kernel K]   (the arguments of `aml submit`: cli/arguments.py)
%aml sweep PATH --param NAME=FUNC(ARGS)... --metric M [--goal max] [--method random] [--max-runs N]
           [--max-concurrent N] [--early-stop median|bandit|truncation] [--target T]
%aml logs RUN [--stderr]                        a submitted run's output
%aml cancel RUN                                 stop a submitted run
%aml templates                                  the project templates
%aml new PROJECT --template NAME                a new project folder from a template (a workspace)
%aml history on|off                             record every executed cell as a run ("interactive")
%aml login URL                                  work through a team server: the token is asked for, never typed in
%aml logout                                     back to the workspace of the current folder
%%aml run [--target T] [--inputs A B] [--outputs M] [--param C=0.5]... [--experiment E]
          run the cell as a tracked run; only the named inputs cross over; outputs come back
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from typing import Any

from IPython.core.magic import Magics, line_cell_magic, magics_class

from .errors import AmlError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit the kernel
        raise AmlError(f"%aml: {message}")


def _names(values: list[str] | None) -> list[str]:
    # --inputs df features  and  --inputs df,features  both name two inputs.
    return [n for v in values or [] for n in v.replace(",", " ").split()]


def _parser() -> _Parser:
    from .cli.arguments import add_submit_arguments
    from .sweeps.arguments import add_sweep_arguments

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
    sub.add_parser("templates")
    new = sub.add_parser("new")
    new.add_argument("project")
    new.add_argument("--template", "-t", required=True)
    add_submit_arguments(sub.add_parser("submit"))
    sweep = sub.add_parser("sweep")
    add_sweep_arguments(sweep)
    logs = sub.add_parser("logs")
    logs.add_argument("run")
    logs.add_argument("--stderr", action="store_true")
    cancel = sub.add_parser("cancel")
    cancel.add_argument("run")
    login = sub.add_parser("login")
    login.add_argument("url")
    sub.add_parser("logout")
    history = sub.add_parser("history")
    history.add_argument("state", choices=["on", "off"])
    run = sub.add_parser("run")
    run.add_argument("--target", default="local")
    run.add_argument("--inputs", nargs="*", action="append")
    run.add_argument("--outputs", nargs="*", action="append")
    run.add_argument("--param", action="append", default=[])
    run.add_argument("-e", "--experiment", default="default")
    run.add_argument("--name", default=None)
    return p


def _stream(which: str, data: bytes) -> None:
    stream = sys.stdout if which == "stdout" else sys.stderr
    stream.write(data.decode("utf-8", "replace"))
    stream.flush()


@magics_class
class AmlMagics(Magics):
    """The ``%aml`` line magic and the ``%%aml run`` cell magic."""

    history: Any = None

    def _jobs(self, args: argparse.Namespace) -> Any:
        from .cli.arguments import submit_from_args
        from .services.jobs import cancel, read_log, targets
        from .services.runs import get
        from .workspace import Workspace

        ws = Workspace.open()
        if args.command == "targets":
            return targets(ws)
        if args.command == "submit":
            return submit_from_args(args, ws, echo=False)
        if args.command == "sweep":
            return self._sweep(args, ws)
        if args.command == "logs":
            print(read_log(ws, get(ws, args.run), "stderr" if args.stderr else "stdout"), end="")
            return None
        return f"cancelling run {cancel(ws, args.run)}"

    def _sweep(self, args: argparse.Namespace, ws: Any) -> Any:
        from .sweeps.arguments import sweep_from_args

        on_progress = None
        try:
            from .widgets.sweep_progress import SweepProgress

            on_progress = SweepProgress(args.max_runs, args.metric, display=True)
        except ImportError:  # no ipywidgets: the result alone
            pass
        return sweep_from_args(args, ws, on_progress)

    def _run_cell(self, args: argparse.Namespace, cell: str) -> Any:
        from .jobs.cell_code import parse_param
        from .services.cell_jobs import run_cell

        ns = self.shell.user_ns if self.shell is not None else {}
        inputs = _names(args.inputs and [x for group in args.inputs for x in group])
        missing = [n for n in inputs if n not in ns]
        if missing:
            raise AmlError(f"%%aml run: no variable {', '.join(map(repr, missing))} in the notebook to pass as input")
        started = time.perf_counter()
        result = run_cell(
            cell,
            {n: ns[n] for n in inputs},
            _names(args.outputs and [x for group in args.outputs for x in group]),
            dict(parse_param(p) for p in args.param),
            target=args.target,
            experiment=args.experiment,
            name=args.name,
            on_output=_stream,
        )
        took = time.perf_counter() - started
        if result["status"] == "completed":
            ns.update(result["outputs"] or {})
            print(f"[aml] run {result['id'][:8]} completed on {args.target} in {took:.2f} s")
        else:
            print(f"[aml] run {result['id'][:8]} {result['status']}: {result['error']}", file=sys.stderr)
        return None

    def _login(self, args: argparse.Namespace) -> str:
        # The token is asked for (a password box in a notebook): typed into a cell it would be saved with it.
        from .tracking import uri

        if args.command == "logout":
            gone = uri.logout()
            uri.set_tracking_uri(None)
            return f"logged out of {gone}" if gone else "not logged in"
        import getpass

        me = uri.login(args.url, getpass.getpass(f"token for {args.url}: "))
        uri.set_tracking_uri(None)  # the saved login now decides, in this kernel as in new ones
        return f"logged in to {args.url.rstrip('/')} as {me['user']}: runs and queries go there"

    def _history(self, state: str) -> str:
        from .history import CellHistory

        if state == "on":
            if AmlMagics.history is None:
                AmlMagics.history = CellHistory(self.shell)
                AmlMagics.history.start()
            return "recording every cell as a run of the experiment 'interactive'"
        if AmlMagics.history is not None:
            AmlMagics.history.stop()
            AmlMagics.history = None
        return "cell history off"

    def _templates(self, args: Any) -> Any:
        from .templates import list_templates, new_project

        if args.command == "templates":
            import pandas as pd

            return pd.DataFrame(list_templates())
        folder = new_project(args.project, args.template)
        print(f"created {folder} from {args.template}")
        return None

    @line_cell_magic
    def aml(self, line: str, cell: str | None = None) -> Any:
        """Run-history and job commands; see this module's docstring. Errors print one line."""
        import aml_jupyter as aml

        try:
            args = _parser().parse_args(shlex.split(line))
            if cell is not None:
                if args.command != "run":
                    raise AmlError("%%aml as a cell magic takes `run`: %%aml run --target dask --inputs df")
                return self._run_cell(args, cell)
            if args.command == "run":
                raise AmlError("`run` is a cell magic: start the cell with %%aml run")
            if args.command == "runs":
                return aml.search_runs(" ".join(args.filter) or None, experiments=args.experiment, max_results=args.max)
            if args.command == "show":
                return aml.get_run(args.run).to_dict()
            if args.command == "best":
                return aml.best_run(args.experiment, metric=args.metric, goal=args.goal)
            if args.command == "experiments":
                return aml.list_experiments()
            if args.command in ("templates", "new"):
                return self._templates(args)
            if args.command in ("login", "logout"):
                print(self._login(args))
                return None
            if args.command == "history":
                print(self._history(args.state))
                return None
            return self._jobs(args)
        except AmlError as exc:
            print(f"aml: error: {exc}")
            return None


def sweep_widget(total: int, metric: str) -> Any:
    """A sweep's live progress widget, in a Jupyter kernel with ipywidgets; None elsewhere (what
    ``%load_ext aml_jupyter`` has ``aml.sweep`` show when it is given no ``on_progress``).

    Example:
        >>> sweep_widget(10, "acc") is None  # not in a kernel
        True
    """
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    if shell is None or "IPKernelApp" not in getattr(shell, "config", {}):
        return None
    try:
        from .widgets.sweep_progress import SweepProgress
    except ImportError:  # no ipywidgets
        return None
    return SweepProgress(total, metric, display=True)
