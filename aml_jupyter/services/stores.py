"""The store as a whole, for ``aml migrate``, ``aml copy-store`` and a server's ``/health``:
upgrading a schema, copying every table (and the artifact files) into an empty store, and
showing a store URL without its password.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..workspace import Workspace


def shown_url(url: str) -> str:
    """``url`` with its password replaced by ``***``, fit to print or log.

    Example:
        >>> shown_url("postgresql://aml:secret@db/aml")
        'postgresql://aml:***@db/aml'
    """
    from ..store.sql.database import shown_url as shown

    return shown(url)


def artifacts_url(ws: Workspace) -> str:
    """Where the workspace's artifact files live: a folder, or a URL (``s3://bucket/prefix``).

    Example:
        >>> artifacts_url(ws)  # doctest: +SKIP
        '/home/me/project/.aml/artifacts'
    """
    return ws.artifacts.url


def ping(ws: Workspace) -> None:
    """Raise :class:`~aml_jupyter.errors.StoreUnreachable` unless the workspace's store answers.

    Example:
        >>> ping(ws)  # doctest: +SKIP
    """
    ws.store.ping()


def migrate(url: str, dry_run: bool = False) -> dict[str, Any]:
    """Upgrade the store at ``url`` to this version's schema (or, ``dry_run``, list the steps):
    ``{"store", "from", "to", "dry_run", "steps", "applied"}``. Two clients migrating at once
    take turns; each step applies once.

    Example:
        >>> migrate("sqlite:////tmp/p/.aml/store.db", dry_run=True)["steps"]  # doctest: +SKIP
        []
    """
    from ..store.sql import migrations
    from ..store.sql.database import Database

    db = Database.connect(url)
    try:
        todo = db.read(migrations.pending)
        before = db.schema_version()
        applied = [] if dry_run else db.migrate()
    finally:
        db.dispose()
    steps = [{"version": v, "description": d} for v, d, _ in todo]
    return {
        "store": db.url,
        "from": before,
        "to": migrations.LATEST,
        "dry_run": dry_run,
        "steps": steps,
        "applied": applied,
    }


def copy(
    src: str,
    dst: str,
    artifacts: str | None = None,
    switch: bool = False,
    progress: Callable[[str, int], None] | None = None,
) -> dict[str, Any]:
    """Copy the whole store of ``src`` (a workspace folder or a store URL) into the empty store
    ``dst``: every table in one transaction, each table's count compared (a mismatch rolls the
    copy back), the artifact files first (to ``artifacts``, or the destination workspace's).
    ``switch`` then points the source workspace at the copy. Returns ``{"source", "destination",
    "rows", "artifact_files", "switched", "source_workspace", "destination_workspace"}``.

    Example:
        >>> copy("proj", "postgresql://aml@db/aml")["rows"]["runs"]  # doctest: +SKIP
        1200
    """
    from ..errors import InvalidInput
    from ..store.sql.copy import copy_store
    from ..store.sql.database import Database

    src_url, src_ws = _store_of(src)
    dst_url, dst_ws = _store_of(dst)
    if src_ws is None and (switch or artifacts):
        raise InvalidInput("--switch and --artifacts need a workspace folder as the source")
    if src_url == dst_url:
        raise InvalidInput(f"{shown_url(src_url)} is both the source and the destination")
    # The files first: they are named by their content, so a copy that stops half-way is finished
    # by running it again, and the rows (written in one transaction) never name a missing file.
    copied = None
    if src_ws and (artifacts or (dst_ws and dst_ws != src_ws)):
        from ..store.files import open_artifacts
        from ..workspace import Workspace

        target = open_artifacts(artifacts) if artifacts else Workspace.open(dst_ws).artifacts
        copied = _copy_artifacts(Workspace.open(src_ws).artifacts, target)
    source = Database.open(src_url)
    # A new database gets its tables; an older store is not upgraded behind its users' backs.
    destination = Database.create(dst_url) if not _exists(dst_url) else Database.join(dst_url)
    try:
        counts = copy_store(source, destination, progress or (lambda table, done: None))
    finally:
        source.dispose()
        destination.dispose()
    if switch:
        _switch(src_ws, {"store_url": dst_url, "artifacts_url": artifacts})
    return {
        "source": shown_url(src_url),
        "destination": shown_url(dst_url),
        "rows": counts,
        "artifact_files": copied,
        "switched": switch,
        "source_workspace": str(src_ws) if src_ws else None,
        "destination_workspace": str(dst_ws) if dst_ws else None,
    }


def _store_of(place: str) -> tuple[str, Path | None]:
    """(store URL, workspace folder or None) for a workspace folder or a store URL."""
    from ..workspace import AML_DIR, Workspace

    if "://" in place:
        return place, None
    if not (Path(place) / AML_DIR).is_dir():
        from ..errors import WorkspaceNotFound

        raise WorkspaceNotFound(f"{place} is neither a store URL nor a workspace folder", path=place)
    ws = Workspace.open(place)
    return ws.store_url, ws.root


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

    from ..config import _toml_str
    from ..store.sql.database import has_password
    from ..workspace import AML_DIR, CONFIG_FILE

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
