"""The job commands of ``aml``: submit, targets, logs, cancel."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from typing import Any

from .errors import InvalidValue, RunStateError
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
    from .compute.targets import list_targets

    targets = list_targets(_ws(args))
    rows = [{"name": t.name, "type": t.type, "runs_jobs": t.runs_jobs, **t.settings} for t in targets]
    if args.json:
        print(dumps(rows))
        return
    print(
        render_table(
            ["name", "type", "runs jobs"], [[t.name, t.type, "yes" if t.runs_jobs else "not yet"] for t in targets]
        )
    )


def read_log(ws: Any, record: Any, which: str) -> str:
    """A submitted run's ``stdout`` or ``stderr``: the live file while it runs, then the artifact.

    Example:
        >>> read_log(ws, ws.store.get_run(run_id), "stdout").splitlines()[0]  # doctest: +SKIP
        'epoch 0'
    """
    job_dir = record.tags.get("aml.job_dir")
    live = os.path.join(job_dir, f"{which}.txt") if job_dir else None
    if live and os.path.exists(live):
        with open(live, "rb") as f:
            return f.read().decode("utf-8", "replace")
    for art in record.artifacts:
        if art.name == f"logs/{which}.txt":
            return str(ws.artifacts.path_of(art.digest).read_bytes().decode("utf-8", "replace"))
    return ""


def cmd_logs(args: argparse.Namespace) -> None:
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
        if not args.follow or record.status in ("completed", "failed", "cancelled", "lost"):
            return
        time.sleep(0.5)


def cmd_cancel(args: argparse.Namespace) -> None:
    ws = _ws(args)
    record = ws.store.get_run(args.run)
    if record.status in ("completed", "failed", "cancelled", "lost"):
        raise RunStateError(f"run {record.id[:8]} has already ended ({record.status})", run_id=record.id)
    pid = record.tags.get("aml.pid")
    if not pid or not pid.isdigit():
        raise InvalidValue(f"run {record.id[:8]} was not started by `aml submit`; end it where it runs")
    try:
        os.kill(int(pid), signal.SIGTERM)
    except ProcessLookupError:
        raise RunStateError(f"run {record.id[:8]}'s supervisor (pid {pid}) is gone") from None
    print(f"cancelling run {record.id}")


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
