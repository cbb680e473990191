"""The ``aml`` command: workspace, runs, metrics, artifacts, snapshots and upkeep.

Every listing prints a table for people or, with ``--json``, JSON for scripts. An error is one
line on stderr and a non-zero exit code (1 for a failed request, 2 for bad usage).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import AmlError
from .access import add_access_commands
from .common import emit, where, workspace
from .jobs import add_job_commands
from .login import add_login_commands
from .models import add_model_commands
from .store import add_store_commands
from .tables import dumps, render_table

RUN_COLUMNS = ["run_id", "experiment", "name", "status", "start_time"]


def _cmd_init(args: argparse.Namespace) -> None:
    from ..services.stores import shown_url
    from ..workspace import Workspace

    existed = args.exist_ok and (Path(args.dir) / ".aml").is_dir()
    ws = Workspace.init(
        args.dir,
        name=args.name,
        exist_ok=args.exist_ok,
        repair=args.repair,
        store=args.store,
        artifacts=args.artifacts,
    )
    store = shown_url(ws.store_url)
    said = "Found" if existed else "Created"
    emit(
        args,
        {"root": str(ws.root), "name": ws.name, "config": str(ws.aml_dir / "aml.toml"), "store": store},
        f"{said} workspace {ws.name!r} in {ws.aml_dir}" + (f" (runs in {store})" if args.store else ""),
    )


def _cmd_experiments(args: argparse.Namespace) -> None:
    from ..tracking.queries import list_experiments

    rows = list_experiments(workspace=where(args))
    emit(args, rows, render_table(["name", "runs", "id"], [[r["name"], r["runs"], r["id"]] for r in rows]))


def _cmd_runs_list(args: argparse.Namespace) -> None:
    import datetime as dt

    from ..tracking.queries import list_runs

    runs = list_runs(
        args.filter,
        experiments=args.experiment,
        order_by=args.order_by,
        max_results=args.max_results,
        workspace=where(args),
    )
    if args.json:
        print(dumps(runs))
        return
    metric_keys, param_keys = _chosen_columns(runs, args.columns)
    headers = [*RUN_COLUMNS, *metric_keys, *(f"p:{k}" for k in param_keys)]
    rows = []
    for r in runs:
        started = r["start_time"]
        when = None if started is None else dt.datetime.fromtimestamp(started / 1000, dt.UTC)
        rows.append(
            [
                r["id"][:8],
                r["experiment"],
                r["name"],
                r["status"],
                when,
                *(_float(r["metrics"].get(k)) for k in metric_keys),
                *(r["params"].get(k) for k in param_keys),
            ]
        )
    print(render_table(headers, rows, width=24))
    print(f"{len(rows)} run(s)")
    from ..tracking.uri import server_for

    if not rows and args.filter and server_for(where(args)) is None:
        from ..services.search import unknown_names

        for line in unknown_names(workspace(args), args.filter, args.experiment):
            print(f"aml: {line}", file=sys.stderr)


def _chosen_columns(runs: list[dict[str, Any]], columns: str | None) -> tuple[list[str], list[str]]:
    # --columns names them (metrics.acc, params.lr, or a bare key: a metric first, else a param);
    # otherwise four metrics, and the params whose values differ between the runs listed (a sweep's
    # lr, not early_stop that every run shares), then the others, four in all.
    metrics = sorted({k for r in runs for k in r["metrics"]})
    params = sorted({k for r in runs for k in r["params"]})
    if columns:
        chosen_m, chosen_p = [], []
        for name in (c.strip() for c in columns.split(",") if c.strip()):
            kind, _, key = name.partition(".") if name.startswith(("metrics.", "params.")) else ("", "", name)
            if kind == "metrics" or (not kind and key in metrics):
                chosen_m.append(key)
            elif kind == "params" or (not kind and key in params):
                chosen_p.append(key)
            else:
                known = ", ".join([*metrics, *params][:12]) or "none in these runs"
                from ..errors import InvalidInput

                raise InvalidInput(f"--columns: no metric or param {name!r} in these runs (known: {known})")
        return chosen_m, chosen_p
    varies = [k for k in params if len({r["params"].get(k) for r in runs}) > 1]
    return metrics[:4], (varies + [k for k in params if k not in varies])[:4]


def _float(value: Any) -> Any:
    # A listing spells infinities out for JSON; a table shows them as numbers.
    return float(value) if isinstance(value, str) else value


def _cmd_runs_show(args: argparse.Namespace) -> None:
    from ..tracking.queries import get_run

    r = get_run(args.run, workspace=where(args)).to_dict()
    if args.json:
        print(dumps(r))
        return
    lines = [
        f"run         {r['id']}",
        f"experiment  {r['experiment']}",
        f"name        {r['name']}",
        f"status      {r['status']}",
        f"user        {r['user']}",
        f"source      {r['source_kind']} {r['source_path'] or ''}",
        f"target      {r['compute_target']}",
        f"snapshot    {r['snapshot_id'] or '-'}",
    ]
    if r.get("parent_id"):
        lines.append(f"parent      {r['parent_id']}")
    if r.get("git"):
        g = r["git"]
        lines.append(
            f"git         {g.get('branch')}@{(g.get('commit') or '')[:10]}{' (dirty)' if g.get('dirty') else ''}"
        )
    if r.get("error"):
        lines.append(f"error       {r['error']}")
    for title in ("params", "metrics", "tags"):
        if r[title]:
            lines.append(f"{title}:")
            lines += [f"  {k} = {v}" for k, v in sorted(r[title].items())]
    if r.get("artifacts"):
        lines.append("artifacts:")
        lines += [f"  {a['name']}  ({a['size']} bytes, {a['media_type']})" for a in r["artifacts"]]
    print("\n".join(lines))


def _cmd_runs_compare(args: argparse.Namespace) -> None:
    from ..tracking.queries import compare_runs

    frame = compare_runs(args.runs, workspace=where(args))
    if args.json:
        print(dumps({"rows": frame.index.tolist(), "columns": frame.columns.tolist(), "values": frame.values.tolist()}))
        return
    rows = [[idx, *row] for idx, row in zip(frame.index, frame.values.tolist(), strict=True)]
    print(render_table(["key", *frame.columns], rows, width=24))


def _cmd_runs_delete(args: argparse.Namespace) -> None:
    from ..tracking.queries import delete_runs

    gone = delete_runs(args.runs, workspace=where(args))
    emit(args, {"deleted": gone}, "\n".join(f"deleted {g}" for g in gone) + "\n(files go at the next `aml gc`)")


def _cmd_metrics(args: argparse.Namespace) -> None:
    from ..tracking.queries import get_run

    run = get_run(args.run, workspace=where(args))
    frame = run.metric_history(args.key)
    if frame.empty and args.key not in run.metrics:
        from ..errors import NotFound, did_you_mean

        known = sorted(run.metrics)
        raise NotFound(f"run {run.id[:8]} has no metric {args.key!r}{did_you_mean(args.key, known)}")
    if args.json:
        print(dumps(frame.to_dict("records")))
        return
    print(render_table(["step", "value", "timestamp"], frame.values.tolist()))


def _cmd_artifacts_list(args: argparse.Namespace) -> None:
    from ..tracking.queries import get_run

    arts = get_run(args.run, workspace=where(args)).to_dict()["artifacts"]
    emit(
        args,
        arts,
        render_table(
            ["name", "size", "media_type", "digest"],
            [[a["name"], a["size"], a["media_type"], a["digest"][:12]] for a in arts],
        ),
    )


def _cmd_artifacts_get(args: argparse.Namespace) -> None:
    from ..errors import InvalidPath
    from ..paths import atomic_copy, atomic_write_bytes
    from ..tracking.queries import get_run

    run: Any = get_run(args.run, workspace=where(args))
    on_server = hasattr(run, "artifact_bytes")
    src = None if on_server else run.artifact_path(args.name)  # a wrong name is said before any file is touched
    dest = Path(args.to)
    if dest.is_dir():
        dest = dest / Path(args.name).name
    if dest.exists() and not args.force:
        raise InvalidPath(f"{dest} exists; pass --force to overwrite it", path=str(dest))
    data = run.artifact_bytes(args.name) if on_server else b""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src is not None:
        atomic_copy(src, dest)
    else:
        atomic_write_bytes(dest, data)
    emit(args, {"name": args.name, "path": str(dest)}, f"wrote {dest}")


def _cmd_snapshot_restore(args: argparse.Namespace) -> None:
    ws = workspace(args)
    from ..services import snapshots

    files = snapshots.restore(ws, snapshots.of_run(ws, args.run), Path(args.to))
    emit(args, {"path": str(args.to), "files": files}, f"restored {len(files)} file(s) into {args.to}")


def _cmd_snapshot_diff(args: argparse.Namespace) -> None:
    ws = workspace(args)
    from ..services import snapshots

    changes, patch = snapshots.diff(ws, snapshots.of_run(ws, args.run_a), snapshots.of_run(ws, args.run_b))
    if args.json:
        print(dumps({"changes": [{"status": s, "path": p} for s, p in changes], "diff": patch}))
        return
    if not changes:
        print("no differences")
        return
    names = {"A": "added", "D": "deleted", "M": "modified", "T": "type changed"}
    print("\n".join(f"{names.get(s, s):9} {p}" for s, p in changes))
    if not args.stat:
        print()
        print(patch, end="")


def _cmd_gc(args: argparse.Namespace) -> None:
    from ..services.maintenance import collect_garbage

    report = collect_garbage(workspace(args), dry_run=args.dry_run, min_age=args.min_age)
    verb = "would remove" if args.dry_run else "removed"
    lines = [f"{verb} {d['digest'][:12]} ({d['size']} bytes)" for d in report["artifacts"]]
    lines += [f"{verb} snapshot {s[:12]}" for s in report["snapshots"]]
    lines.append(
        f"{verb} {len(report['artifacts'])} artifact file(s), {report['artifact_bytes']} bytes, "
        f"and {len(report['snapshots'])} snapshot(s)"
    )
    emit(args, report, "\n".join(lines))


class _Help(argparse.HelpFormatter):
    # --help shows each option's default, unless its help already says it or there is none to show.
    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        shown = action.default not in (None, False, argparse.SUPPRESS) and action.option_strings
        if shown and "default" not in text:
            text += " (default: %(default)s)"
        return text


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``aml`` (sub-commands and their options).

    Example:
        >>> build_parser().parse_args(["runs", "list", "--json"]).json
        True
    """
    from ..version import __version__

    p = argparse.ArgumentParser(
        prog="aml", description="aml_jupyter: tracked runs, snapshots and run history.", formatter_class=_Help
    )
    p.add_argument("--version", action="version", version=f"aml_jupyter {__version__}")
    p.add_argument(
        "-w", "--workspace", default=None, help="workspace folder (default: AML_WORKSPACE, else search upward)"
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(parent: Any, name: str, fn: Any, help: str, json: bool = True) -> argparse.ArgumentParser:
        sp: argparse.ArgumentParser = parent.add_parser(name, help=help, description=help, formatter_class=_Help)
        sp.set_defaults(fn=fn)
        if json:
            sp.add_argument("--json", action="store_true", help="print JSON instead of a table")
        return sp

    sp = add(sub, "init", _cmd_init, "create a workspace (.aml/) in DIR")
    sp.add_argument("dir", nargs="?", default=".")
    sp.add_argument("--name", default=None, help="workspace name (default: the folder's name)")
    sp.add_argument("--repair", action="store_true", help="write the default aml.toml into a workspace missing it")
    sp.add_argument(
        "--store", default=None, help="a shared run store, postgresql://user@host/db (default: SQLite in .aml/)"
    )
    sp.add_argument(
        "--artifacts", default=None, help="where artifact files go: s3://bucket/prefix, any fsspec URL, or a folder"
    )
    sp.add_argument("--exist-ok", action="store_true", help="open the workspace if DIR already holds one")

    exps = add(sub, "experiments", _cmd_experiments, "experiments (alone: list them)")
    add(exps.add_subparsers(dest="sub", required=False, metavar="ACTION"), "list", _cmd_experiments, "list experiments")

    runs = sub.add_parser("runs", help="list, show, search, compare and delete runs").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    for name, help in (("list", "list runs, newest first"), ("search", "runs matching FILTER")):
        sp = add(runs, name, _cmd_runs_list, help)
        if name == "search":
            sp.add_argument("filter", help="e.g. \"metrics.acc > 0.9 and params.lr = '0.01'\"")
        else:
            sp.add_argument("--filter", default=None, help='e.g. "metrics.acc > 0.9"')
        sp.add_argument("-e", "--experiment", action="append", default=None, help="only this experiment (repeatable)")
        sp.add_argument("--order-by", action="append", default=None, help="e.g. 'metrics.acc DESC' (repeatable)")
        sp.add_argument("--max-results", type=int, default=1000, help="at most this many runs")
        sp.add_argument(
            "--columns",
            default=None,
            help="metrics and params to show, e.g. acc,params.lr (default: 4 metrics, the params that vary)",
        )
    sp = add(runs, "show", _cmd_runs_show, "one run in full")
    sp.add_argument("run", help="run id or a unique prefix")
    sp = add(runs, "compare", _cmd_runs_compare, "params and metrics of runs side by side")
    sp.add_argument("runs", nargs="+")
    sp = add(runs, "delete", _cmd_runs_delete, "delete runs (files go at the next gc)")
    sp.add_argument("runs", nargs="+")

    sp = add(sub, "metrics", _cmd_metrics, "the history of one metric of a run")
    sp.add_argument("run")
    sp.add_argument("key")

    arts = sub.add_parser("artifacts", help="a run's artifacts").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    sp = add(arts, "list", _cmd_artifacts_list, "list a run's artifacts")
    sp.add_argument("run")
    sp = add(arts, "get", _cmd_artifacts_get, "copy an artifact to a local path")
    sp.add_argument("run")
    sp.add_argument("name")
    sp.add_argument("--to", required=True, help="file or existing folder to write to")
    sp.add_argument("--force", action="store_true", help="overwrite an existing file")

    snaps = sub.add_parser("snapshot", help="restore or compare run snapshots").add_subparsers(
        dest="sub", required=True, metavar="ACTION"
    )
    sp = add(snaps, "restore", _cmd_snapshot_restore, "restore a run's snapshot into a new folder")
    sp.add_argument("run")
    sp.add_argument("--to", required=True, help="a folder that does not exist yet (or is empty)")
    sp = add(snaps, "diff", _cmd_snapshot_diff, "files changed between two runs' snapshots, and the diff")
    sp.add_argument("run_a")
    sp.add_argument("run_b")
    sp.add_argument("--stat", action="store_true", help="only the list of changed files")

    add_job_commands(sub, add)
    add_model_commands(sub, add)
    add_store_commands(sub, add)
    add_access_commands(sub, add)
    add_login_commands(sub, add)

    add(sub, "templates", _cmd_templates, "the project templates `aml new` renders")
    sp = add(sub, "new", _cmd_new, "a new project folder from a template (a workspace, ready to run)", json=False)
    sp.add_argument("project", help="a folder that does not exist yet (or is empty)")
    sp.add_argument("--template", "-t", required=True, help="a template name (see `aml templates`)")
    sp.add_argument("--experiment", default=None, help="the experiment its runs go to (default: the project's name)")

    sp = add(sub, "gc", _cmd_gc, "remove artifact files and snapshots no run references")
    sp.add_argument("--dry-run", action="store_true", help="only print what would go")
    sp.add_argument("--min-age", type=float, default=3600.0, help="keep anything younger than this many seconds")
    return p


def _cmd_templates(args: argparse.Namespace) -> None:
    from ..templates import list_templates

    rows = list_templates()
    if args.json:
        print(json.dumps(rows, indent=2))
        return
    for t in rows:
        print(f"{t['name']:<24} {t['title']}\n{'':<24} {t['description']}")


def _cmd_new(args: argparse.Namespace) -> None:
    from ..templates import new_project

    values = {"experiment": args.experiment} if args.experiment else {}
    folder = new_project(args.project, args.template, values)
    main = "sweep.py" if (folder / "sweep.py").exists() else "train.py"
    print(f"created {folder} from {args.template}: cd {args.project} && python {main}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``aml``; returns the exit code.

    Example:
        >>> main(["--workspace", "/nonexistent", "runs", "list"])
        1
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    if not sys.stdout.isatty() and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(line_buffering=True)  # `aml sweep | tee log` shows each line as it comes
    script_args: list[str] = []
    if "--" in argv:  # `aml submit train.py -p lr 0.1 -- --epochs 3`: the rest is the script's
        cut = argv.index("--")
        argv, script_args = argv[:cut], argv[cut + 1 :]
    args = build_parser().parse_args(argv)
    if script_args:
        if args.command != "submit":
            print("aml: error: arguments after -- are for `aml submit` only", file=sys.stderr)
            return 2
        args.args = script_args
    try:
        args.fn(args)
    except AmlError as exc:
        first = str(exc).strip().splitlines() or [type(exc).__name__]
        print(f"aml: error: {first[0]}", file=sys.stderr)
        for line in first[1:]:
            print(f"  {line}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("aml: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - one line for people; the traceback on request
        if os.environ.get("AML_DEBUG"):
            raise
        print(f"aml: internal error: {type(exc).__name__}: {exc} (set AML_DEBUG=1 for the traceback)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
