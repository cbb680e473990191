"""The job commands of ``aml``: submit, sweep, targets, cluster, server, logs, cancel."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InvalidInput
from .common import workspace
from .tables import dumps, render_table


def cmd_submit(args: argparse.Namespace) -> None:
    from .arguments import submit_from_args

    result = submit_from_args(args, workspace(args), echo=args.wait and not args.json)
    if not args.wait:
        from ..compute.dask_cluster import close_clients

        close_clients()  # a job handed to Dask must reach the scheduler before this process ends
    if args.json:
        print(dumps({"id": result["id"], "status": result["status"]}))
    else:
        print(f"run {result['id']} {result['status']}" + (f": {result['error']}" if result.get("error") else ""))
    if (args.wait or result["status"] == "failed") and result["status"] != "completed":
        raise SystemExit(1)


def cmd_sweep(args: argparse.Namespace) -> None:
    from ..sweeps.arguments import sweep_from_args
    from ..sweeps.runner import Progress

    bar: Any = None
    if not args.json:
        from tqdm import tqdm

        # A bar on a terminal; in a log file it would be thousands of lines.
        bar = tqdm(
            total=args.max_runs, unit="run", file=sys.stderr, dynamic_ncols=True, disable=not sys.stderr.isatty()
        )

    def show(p: Progress) -> None:
        if bar is None:
            return
        bar.total = p.total
        bar.n = p.ended
        best = f"{p.best_value:.6g}" if p.best_value is not None else "-"
        bar.set_postfix_str(f"running {len(p.running)} stopped early {p.stopped_early} failed {p.failed} best {best}")
        bar.refresh()

    try:
        result = sweep_from_args(args, workspace(args), show)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(dumps(result))
        return
    best = result["best"]
    print(
        f"sweep {result['id']} {result['status']}: {result['completed']} completed, "
        f"{result['stopped_early']} stopped early, {result['failed']} failed"
    )
    if best:
        print(f"best child {best['id']}: {args.metric} = {best['value']:.6g} with {json.dumps(best['params'])}")
    if result["status"] != "completed":
        raise SystemExit(1)


def cmd_server(args: argparse.Namespace) -> None:
    import os

    try:
        from ..server.team import serve
    except ImportError:
        raise ConfigError("aml server needs Starlette and uvicorn: pip install 'aml_jupyter[serve]'") from None
    serve(
        workspace(args),
        args.host,
        args.port,
        _server_token(args) or os.environ.get("AML_SERVER_TOKEN"),
        workers=args.workers,
        certfile=args.certfile,
        keyfile=args.keyfile,
        default_role=args.default_role,
    )


def _server_token(args: argparse.Namespace) -> str | None:
    # Never from the command line: every local user reads it there with `ps`.
    if args.token is not None:
        raise InvalidInput(
            "--token would show the server's token to every user of this machine (ps): "
            "use --token-file PATH, --token-stdin or AML_SERVER_TOKEN"
        )
    if args.token_stdin:
        token = sys.stdin.readline().strip()
    elif args.token_file:
        try:
            token = Path(args.token_file).read_text().strip()
        except OSError as exc:
            raise InvalidInput(f"--token-file {args.token_file}: {exc.strerror}") from None
    else:
        return None
    if not token:
        raise InvalidInput("the server's token may not be empty")
    return token


def cmd_cluster(args: argparse.Namespace) -> None:
    from ..compute.dask_cluster import embedded_state, stop_embedded

    ws = workspace(args)
    if args.sub == "stop":
        pid = stop_embedded(ws)
        print(
            "no embedded Dask cluster was running" if pid is None else f"stopped the embedded Dask cluster (pid {pid})"
        )
        return
    state = embedded_state(ws)
    if args.json:
        print(dumps(state or {}))
    elif state is None:
        print("no embedded Dask cluster is running (the dask target starts one on first use)")
    else:
        print(
            f"embedded Dask cluster: scheduler {state['address']}, pid {state['pid']}, "
            f"dashboard {state.get('dashboard')}"
        )


def cmd_targets(args: argparse.Namespace) -> None:
    from ..services.jobs import targets

    rows = targets(workspace(args))
    if args.json:
        print(dumps(rows))
        return
    where = [r["settings"].get("address") or ("embedded" if r["type"] == "dask" else "") for r in rows]
    print(
        render_table(["name", "type", "where"], [[r["name"], r["type"], w] for r, w in zip(rows, where, strict=True)])
    )


def cmd_logs(args: argparse.Namespace) -> None:
    from ..services.jobs import follow_log

    for piece in follow_log(workspace(args), args.run, "stderr" if args.stderr else "stdout", follow=args.follow):
        sys.stdout.write(piece)
        sys.stdout.flush()


def cmd_cancel(args: argparse.Namespace) -> None:
    from ..services.jobs import cancel

    print(f"cancelling run {cancel(workspace(args), args.run)}")


def add_job_commands(sub: Any, add: Any) -> None:
    """Register the job commands on the ``aml`` parser."""
    from ..sweeps.arguments import add_sweep_arguments
    from .arguments import add_submit_arguments

    sp = add(sub, "submit", cmd_submit, "run a project script or notebook as a tracked run on a compute target")
    add_submit_arguments(sp)
    sp = add(sub, "sweep", cmd_sweep, "sweep a script or notebook over a search space (child runs, early stopping)")
    add_sweep_arguments(sp)
    sp = add(
        sub,
        "server",
        cmd_server,
        "the team tracking server: the REST API for people (aml tokens) and remote jobs",
        json=False,
    )
    sp.add_argument("--host", default="127.0.0.1", help="the address to listen on (default: this machine only)")
    sp.add_argument("--port", type=int, default=8765)
    sp.add_argument("--token", default=None, help=argparse.SUPPRESS)  # refused, with the way to do it instead
    sp.add_argument(
        "--token-file",
        default=None,
        help="read the server's own (owner) token from this file (default: $AML_SERVER_TOKEN, else a new one)",
    )
    sp.add_argument("--token-stdin", action="store_true", help="read the server's own token from standard input")
    sp.add_argument("--workers", type=int, default=1, help="worker processes (use a PostgreSQL store for several)")
    sp.add_argument("--certfile", default=None, help="serve HTTPS with this certificate (PEM), with --keyfile")
    sp.add_argument("--keyfile", default=None, help="the certificate's private key (PEM)")
    sp.add_argument(
        "--default-role",
        default="reader",
        choices=["reader", "contributor", "owner", ""],
        help="the role of a token's user that no role names (default: reader; empty: none)",
    )
    cl = sub.add_parser("cluster", help="the workspace's embedded Dask cluster").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    add(cl, "status", cmd_cluster, "whether it runs, and where")
    add(cl, "stop", cmd_cluster, "stop it now", json=False)
    add(sub, "targets", cmd_targets, "the workspace's compute targets")
    sp = add(sub, "logs", cmd_logs, "a run's output", json=False)
    sp.add_argument("run")
    sp.add_argument("--stderr", action="store_true", help="the error stream instead of the output")
    sp.add_argument("-f", "--follow", action="store_true", help="keep printing until the run ends")
    sp = add(sub, "cancel", cmd_cancel, "stop a submitted run (it ends cancelled)", json=False)
    sp.add_argument("run")
