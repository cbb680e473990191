"""``aml migrate`` and ``aml copy-store``: upgrading a store's schema, moving a workspace's store."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .tables import render_table


def _store_of(place: str) -> tuple[str, Path | None]:
    """(store URL, workspace folder or None) for a workspace folder or a store URL."""
    from .workspace import AML_DIR, Workspace

    if "://" in place:
        return place, None
    if not (Path(place) / AML_DIR).is_dir():
        from .errors import WorkspaceNotFound

        raise WorkspaceNotFound(f"{place} is neither a store URL nor a workspace folder", path=place)
    ws = Workspace.open(place)
    return ws.store_url, ws.root


def _cmd_migrate(args: argparse.Namespace) -> None:
    from .store.sql import migrations
    from .store.sql.database import Database
    from .workspace import Workspace

    url = args.store or Workspace.open(args.workspace).store_url
    db = Database.connect(url)
    try:
        todo = db.read(migrations.pending)
        before = db.schema_version()
        applied = [] if args.dry_run else db.migrate()
    finally:
        db.dispose()
    steps = [{"version": v, "description": d} for v, d, _ in todo]
    report = {"store": db.url, "from": before, "to": migrations.LATEST, "dry_run": args.dry_run, "steps": steps}
    if not todo:
        text = f"{db.url} is up to date (schema version {before})"
    else:
        verb = "would apply" if args.dry_run else "applied"
        lines = [f"{verb} {s['version']}: {s['description']}" for s in steps]
        text = "\n".join([*lines, f"{db.url}: schema {before} -> {applied[-1] if applied else before}"])
    print(_dumps(report) if args.json else text)


def _cmd_copy_store(args: argparse.Namespace) -> None:
    from .store.sql.copy import copy_store
    from .store.sql.database import Database
    from .store.sql.database import shown_url as shown

    src_url, src_ws = _store_of(args.src)
    dst_url, dst_ws = _store_of(args.dst)
    if src_ws is None and (args.switch or args.artifacts):
        from .errors import InvalidInput

        raise InvalidInput("--switch and --artifacts need a workspace folder as the source")
    if src_url == dst_url:
        from .errors import InvalidInput

        raise InvalidInput(f"{shown(src_url)} is both the source and the destination")
    # The files first: they are named by their content, so a copy that stops half-way is finished
    # by running it again, and the rows (written in one transaction) never name a missing file.
    copied = None
    if src_ws and (args.artifacts or (dst_ws and dst_ws != src_ws)):
        from .store.files import open_artifacts
        from .workspace import Workspace

        target = open_artifacts(args.artifacts) if args.artifacts else Workspace.open(dst_ws).artifacts
        copied = _copy_artifacts(Workspace.open(src_ws).artifacts, target)
    src = Database.open(src_url)
    # A new database gets its tables; an older store is not upgraded behind its users' backs.
    dst = Database.create(dst_url) if not _exists(dst_url) else Database.join(dst_url)

    def progress(table: str, done: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(f"\r{table}: {done} rows", end="", file=sys.stderr, flush=True)

    try:
        counts = copy_store(src, dst, progress)
    finally:
        src.dispose()
        dst.dispose()
    if args.switch:
        _switch(src_ws, {"store_url": dst_url, "artifacts_url": args.artifacts})
    report: dict[str, Any] = {"source": shown(src_url), "destination": shown(dst_url), "rows": counts}
    report["artifact_files"] = copied
    report["switched"] = bool(args.switch)
    if args.json:
        print(_dumps(report))
        return
    if sys.stderr.isatty():
        print(file=sys.stderr)
    rows = [[name, n] for name, n in counts.items()]
    print(render_table(["table", "rows"], rows))
    print(f"copied {sum(counts.values())} rows from {shown(src_url)} to {shown(dst_url)}; every table's count checked")
    if copied is not None:
        print(f"copied {copied} artifact file(s) into {args.artifacts or dst_ws}")
    elif src_ws and dst_ws is None:
        from .workspace import Workspace

        where = Workspace.open(src_ws).artifacts.url
        print(f"artifact files stay in {where} (the runs in the copy refer to them; pass --artifacts to move them)")
    if args.switch:
        print(f"{src_ws} now uses {shown(dst_url)}; its old store file is kept as it was")


def _exists(url: str) -> bool:
    if not url.startswith("sqlite:///"):
        return True  # a server's database exists or the connection says so
    return Path(url[len("sqlite:///") :]).exists()


def _copy_artifacts(a: Any, b: Any) -> int:
    if a.url == b.url:
        return 0
    have = b.digests()
    n = 0
    for digest in a.digests():
        if digest not in have:
            b.put_file(a.path_of(digest))
            n += 1
    return n


def _switch(root: Path | None, settings: dict[str, str | None]) -> None:
    """Set ``[tracking]`` settings in the workspace's aml.toml (replaced whole, atomically)."""
    import os

    from .config import _toml_str
    from .store.sql.database import has_password
    from .workspace import AML_DIR, CONFIG_FILE

    assert root is not None
    given = {k: v for k, v in settings.items() if v}
    path = root / AML_DIR / CONFIG_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [ln for ln in lines if ln.split("=")[0].strip() not in given]
    if "[tracking]" not in kept:
        kept.append("[tracking]")
    at = kept.index("[tracking]") + 1
    for key, value in given.items():
        kept.insert(at, f"{key} = {_toml_str(value)}")
    tmp = path.with_suffix(".toml.tmp")
    tmp.write_text("\n".join(kept) + "\n", encoding="utf-8")
    if has_password(given["store_url"]):
        os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, indent=2)


def add_store_commands(sub: Any, add: Any) -> None:
    """Add ``migrate`` and ``copy-store`` to the ``aml`` parser.

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
