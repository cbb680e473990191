"""The job commands of ``aml``: submit, targets, logs, cancel."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .tables import dumps, render_table


def _ws(args: argparse.Namespace) -> Any:
    from .workspace import Workspace

    return Workspace.open(args.workspace)


def cmd_submit(args: argparse.Namespace) -> None:
    from .jobs.submit import submit

    extra = list(args.args or [])
    result = submit(
        args.path,
        dict(args.param or []),
        extra,
        target=args.target,
        experiment=args.experiment,
        name=args.name,
        wait=args.wait,
        echo=args.wait and not args.json,
        workspace=_ws(args),
    )
    if args.json:
        print(dumps(result))
    else:
        print(f"run {result['id']} {result['status']}")
    if args.wait and result["status"] != "completed":
        raise SystemExit(1)


def cmd_targets(args: argparse.Namespace) -> None:
    from .jobs.control import target_rows

    rows = target_rows(_ws(args))
    if args.json:
        print(dumps(rows))
        return
    print(
        render_table(
            ["name", "type", "runs jobs"],
            [[r["name"], r["type"], "yes" if r["runs_jobs"] else "not yet"] for r in rows],
        )
    )


def cmd_logs(args: argparse.Namespace) -> None:
    from .jobs.control import has_ended, read_log

    ws = _ws(args)
    which = "stderr" if args.stderr else "stdout"
    shown = 0
    while True:
        record = ws.store.get_run(args.run)
        text = read_log(ws, record, which)
        if len(text) > shown:
            sys.stdout.write(text[shown:])
            sys.stdout.flush()
            shown = len(text)
        if not args.follow or has_ended(record):
            return
        time.sleep(0.5)


def cmd_cancel(args: argparse.Namespace) -> None:
    from .jobs.control import cancel

    print(f"cancelling run {cancel(_ws(args), args.run)}")


def add_job_commands(sub: Any, add: Any) -> None:
    """Register submit, targets, logs and cancel on the ``aml`` parser."""
    sp = add(sub, "submit", cmd_submit, "run a project script as a tracked run on a compute target")
    sp.add_argument("path", help="a .py file in the project folder")
    sp.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a param, recorded and passed to the script as --NAME VALUE (repeatable)",
    )
    sp.add_argument("--target", default="local")
    sp.add_argument("-e", "--experiment", default="default")
    sp.add_argument("--name", default=None)
    sp.add_argument("--wait", action="store_true", help="stream the output and return when the run ends")
    sp.set_defaults(args=[])  # what follows a `--` on the command line goes to the script
    add(sub, "targets", cmd_targets, "the workspace's compute targets")
    sp = add(sub, "logs", cmd_logs, "a run's output", json=False)
    sp.add_argument("run")
    sp.add_argument("--stderr", action="store_true", help="the error stream instead of the output")
    sp.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    sp = add(sub, "cancel", cmd_cancel, "stop a submitted run (it ends cancelled)", json=False)
    sp.add_argument("run")
