"""``aml migrate`` and ``aml copy-store``: upgrading a store's schema, moving a workspace's store."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .tables import render_table


def _cmd_migrate(args: argparse.Namespace) -> None:
    from ..services import stores
    from ..workspace import Workspace

    report = stores.migrate(args.store or Workspace.open(args.workspace).store_url, args.dry_run)
    applied = report.pop("applied")
    if not report["steps"]:
        text = f"{report['store']} is up to date (schema version {report['from']})"
    else:
        verb = "would apply" if args.dry_run else "applied"
        lines = [f"{verb} {s['version']}: {s['description']}" for s in report["steps"]]
        text = "\n".join(
            [*lines, f"{report['store']}: schema {report['from']} -> {applied[-1] if applied else report['from']}"]
        )
    print(_dumps(report) if args.json else text)


def _cmd_copy_store(args: argparse.Namespace) -> None:
    from ..services import stores

    def progress(table: str, done: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{table}: {done} rows", end="", file=sys.stderr, flush=True)

    report = stores.copy(args.src, args.dst, args.artifacts, args.switch, progress)
    src_ws, dst_ws = report.pop("source_workspace"), report.pop("destination_workspace")
    if args.json:
        print(_dumps(report))
        return
    if sys.stderr.isatty():
        print(file=sys.stderr)
    counts, copied = report["rows"], report["artifact_files"]
    print(render_table(["table", "rows"], [[name, n] for name, n in counts.items()]))
    src, dst = report["source"], report["destination"]
    print(f"copied {sum(counts.values())} rows from {src} to {dst}; every table's count checked")
    if copied is not None:
        print(f"copied {copied} artifact file(s) into {args.artifacts or dst_ws}")
    elif src_ws and dst_ws is None:
        from ..workspace import Workspace

        where = stores.artifacts_url(Workspace.open(src_ws))
        print(f"artifact files stay in {where} (the runs in the copy refer to them; pass --artifacts to move them)")
    if args.switch:
        print(f"{src_ws} now uses {dst}; its old store file is kept as it was")


def _cmd_import_mlflow(args: argparse.Namespace) -> None:
    from ..services.imports import import_mlflow
    from .common import workspace

    def progress(done: int, total: int, what: str) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{done}/{total} runs  {what[:40]:<40}", end="", file=sys.stderr, flush=True)

    report = import_mlflow(workspace(args), args.source, args.artifacts, progress)
    if args.json:
        print(_dumps(report))
        return
    if sys.stderr.isatty():
        print(file=sys.stderr)
    runs, src, dst = report["runs"], report["source_counts"], report["workspace_counts"]
    print(
        f"{runs['source']} run(s) in {report['experiments']} experiment(s): {runs['imported']} imported, "
        f"{runs['already']} already here, {runs['failed']} not imported"
    )
    print(render_table(["", "in MLflow", "in aml"], [[k, src[k], dst[k]] for k in src]))
    for line in report["problems"]:
        print(f"aml: {line}", file=sys.stderr)
    print("every count checked on both sides" if report["verified"] else "the counts differ: see above")
    if not report["verified"]:
        raise SystemExit(1)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, indent=2)


def add_store_commands(sub: Any, add: Any) -> None:
    """Add ``migrate``, ``copy-store`` and ``import-mlflow`` to the ``aml`` parser.

    Example:
        >>> import argparse
        >>> p = argparse.ArgumentParser(); sub = p.add_subparsers()
        >>> def add(parent, name, fn, help, json=True):
        ...     sp = parent.add_parser(name); sp.set_defaults(fn=fn); sp.add_argument("--json", action="store_true")
        ...     return sp
        >>> add_store_commands(sub, add)
        >>> p.parse_args(["migrate", "--dry-run"]).dry_run
        True
    """
    sp = add(sub, "migrate", _cmd_migrate, "upgrade the store's schema to this aml_jupyter's")
    sp.add_argument("--store", default=None, help="a store URL (default: the workspace's store)")
    sp.add_argument("--dry-run", action="store_true", help="only list the steps")
    sp = add(sub, "copy-store", _cmd_copy_store, "copy a whole store (runs, metrics, models, datasets, roles, audit)")
    sp.add_argument("src", help="a workspace folder or a store URL")
    sp.add_argument("dst", help="an empty store: a URL (postgresql://user@host/db) or a workspace folder")
    sp.add_argument("--artifacts", default=None, help="also copy the artifact files there (s3://bucket/prefix, ...)")
    sp.add_argument(
        "--switch", action="store_true", help="then point the source workspace at the destination (and --artifacts)"
    )
    sp = add(sub, "import-mlflow", _cmd_import_mlflow, "bring an MLflow tracking store's runs into the workspace")
    sp.add_argument("source", help="a mlruns/ folder, sqlite:///mlflow.db or postgresql://user@host/db")
    sp.add_argument("--artifacts", default=None, help="the store's artifact root, where its files are now")
