"""Finding, creating and opening a workspace: a ``.aml/`` folder with aml.toml, the store and artifacts.

Discovery order: an explicit path, else ``AML_WORKSPACE``, else the nearest folder at or above the
current one that holds ``.aml/``. The folder holding ``.aml/`` is the project folder: runs started
from it snapshot it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from traitlets.config import Config

from .config import DeploymentSettings, SnapshotSettings, TrackingSettings, default_toml, load_config
from .errors import ConfigError, StoreError, WorkspaceExists, WorkspaceNotFound, WorkspaceReadOnly

if TYPE_CHECKING:
    from .snapshots.capture import SnapshotTaker
    from .snapshots.gitstore import GitSnapshotStore
    from .store.files import ArtifactStore
    from .store.interfaces import RunStore
    from .store.writer import MetricWriter

AML_DIR = ".aml"
CONFIG_FILE = "aml.toml"
STORE_FILE = "store.db"
_open: dict[Path, Workspace] = {}
_open_lock = threading.Lock()


class Workspace:
    """An opened workspace and its services (store, artifact area, snapshots), created lazily.

    Example:
        >>> import tempfile
        >>> ws = Workspace.init(tempfile.mkdtemp(), name="demo")
        >>> ws.name, (ws.root / ".aml" / "aml.toml").is_file()
        ('demo', True)
    """

    def __init__(self, root: Path, config: Config, raw: dict[str, Any]) -> None:
        self.root = root
        self.config = config
        self.name = str(raw.get("workspace", {}).get("name", root.name))
        self.tracking = TrackingSettings(config=config)
        self.snapshots = SnapshotSettings(config=config)
        self.deployments = DeploymentSettings(config=config)

    # discovery ------------------------------------------------------------------------------

    @staticmethod
    def find(start: str | os.PathLike[str] | None = None) -> Path:
        """The project folder of the workspace for ``start`` (or AML_WORKSPACE, or the cwd)."""
        if start is None:
            env = os.environ.get("AML_WORKSPACE")
            if env:
                root = _root_of(Path(env))
                if root is None:
                    raise WorkspaceNotFound(f"AML_WORKSPACE={env} holds no {AML_DIR}/ workspace", path=env)
                return root
            here = Path.cwd()
            for folder in (here, *here.parents):
                if _root_of(folder) is not None:
                    return folder
            raise WorkspaceNotFound(
                f"no workspace in {here} or above it; create one with `aml init` or set AML_WORKSPACE",
                path=str(here),
            )
        root = _root_of(Path(start))
        if root is None:
            raise WorkspaceNotFound(
                f"{start} holds no {AML_DIR}/ workspace (create one with `aml init`)", path=str(start)
            )
        return root

    @classmethod
    def open(cls, path: Workspace | str | os.PathLike[str] | None = None) -> Workspace:
        """Open the workspace at ``path`` (or discover it); one instance per folder per process.
        A Workspace given as ``path`` is returned as it is, so every ``workspace=`` argument of the
        SDK takes a Workspace, a folder or None alike.

        Example:
            >>> import tempfile
            >>> d = tempfile.mkdtemp(); _ = Workspace.init(d)
            >>> Workspace.open(d) is Workspace.open(d)
            True
        """
        if isinstance(path, Workspace):
            return path
        root = cls.find(path).resolve()
        with _open_lock:
            ws = _open.get(root)
            if ws is None:
                cfg, raw = load_config(root / AML_DIR / CONFIG_FILE)
                ws = _open[root] = cls(root, cfg, raw)
            return ws

    @classmethod
    def init(
        cls,
        path: str | os.PathLike[str] = ".",
        name: str | None = None,
        exist_ok: bool = False,
        repair: bool = False,
        store: str | None = None,
        artifacts: str | None = None,
    ) -> Workspace:
        """Create a workspace in ``path`` (made if missing); refuses if one is already there,
        unless ``exist_ok``, which opens it instead (so a notebook or script can be run again).
        ``repair`` writes the default settings into a workspace whose ``aml.toml`` is missing.
        ``store`` is the URL of a shared run store (``postgresql://user@host/db``), written to
        ``aml.toml``; an empty database gets its tables now, one a team already uses must be at
        this version's schema (``aml migrate``). Without it the runs live in ``.aml/store.db``
        (SQLite). ``artifacts`` is where artifact files go: a folder or a URL
        (``s3://bucket/prefix``); by default ``.aml/artifacts``. It is listed once now, so a wrong
        URL or missing credentials are said before anything is made.

        Everything is built in a temporary folder beside ``.aml`` and renamed into place, so a
        failure leaves no half-made workspace.

        Example:
            >>> import tempfile
            >>> folder = tempfile.mkdtemp()
            >>> Workspace.init(folder).name == Workspace.init(folder, exist_ok=True).name
            True
        """
        from .store import BUILT_IN, _scheme, open_store
        from .store.sql.database import Database, check_store_url, has_password

        plugged = bool(store) and _scheme(store or "") not in BUILT_IN and "://" in (store or "")
        if store and not plugged:
            check_store_url(store)
        if artifacts:
            from .store.files import open_artifacts

            if "://" not in artifacts:
                artifacts = str(Path(artifacts).resolve())  # as typed, from where it was typed
            open_artifacts(artifacts).digests()
        root = Path(path).resolve()
        target = root / AML_DIR
        if repair and target.is_dir() and not (target / CONFIG_FILE).exists():
            (target / CONFIG_FILE).write_text(default_toml(name or root.name), encoding="utf-8")
            return cls.open(root)
        if target.exists() and not (target / CONFIG_FILE).is_file():
            raise _missing_settings(root)
        if target.exists():
            if exist_ok:
                return cls.open(root)
            raise WorkspaceExists(
                f"{root} already holds a workspace ({target}); open it, or pass exist_ok=True (aml init --exist-ok)",
                path=str(root),
            )
        try:
            root.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".aml-init-", dir=root))
        except OSError as exc:
            raise WorkspaceReadOnly(f"cannot create a workspace in {root}: {exc.strerror}", path=str(root)) from None
        try:
            settings = tmp / CONFIG_FILE
            settings.write_text(default_toml(name or root.name, store or "", artifacts or ""), encoding="utf-8")
            if any(u and has_password(u) for u in (store, artifacts)):
                os.chmod(settings, 0o600)  # a URL holds a password: for this user's eyes only
            (tmp / ".gitignore").write_text("# aml_jupyter's private data\n*\n", encoding="utf-8")
            (tmp / "artifacts").mkdir()
            if store and plugged:
                open_store(store)  # a plug-in's store: its own factory checks and prepares it
            else:
                db = Database.join(store) if store else Database.create(f"sqlite:///{tmp / STORE_FILE}")
                db.dispose()
            os.chmod(tmp, 0o755)
            os.rename(tmp, target)
        except OSError as exc:
            shutil.rmtree(tmp, ignore_errors=True)
            raise WorkspaceReadOnly(f"cannot create a workspace in {root}: {exc.strerror}", path=str(root)) from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return cls.open(root)

    # layout and services -------------------------------------------------------------------

    @property
    def aml_dir(self) -> Path:
        return self.root / AML_DIR

    @property
    def store_url(self) -> str:
        return self.tracking.store_url or f"sqlite:///{self.aml_dir / STORE_FILE}"

    @cached_property
    def store(self) -> RunStore:
        from .store import open_store

        if not self.tracking.store_url and not (self.aml_dir / STORE_FILE).exists():
            raise StoreError(
                f"{self.aml_dir / STORE_FILE} is missing; the workspace is damaged", path=str(self.aml_dir)
            )
        return open_store(
            self.store_url, busy_timeout=self.tracking.busy_timeout, heartbeat_timeout=self.tracking.heartbeat_timeout
        )

    @cached_property
    def writer(self) -> MetricWriter:
        from .store.writer import MetricWriter

        t = self.tracking
        return MetricWriter(self.store, t.flush_interval, t.max_buffered_points, t.heartbeat_interval)

    @cached_property
    def artifacts(self) -> ArtifactStore:
        from .store.files import open_artifacts

        where = self.tracking.artifacts_url or str(self.aml_dir / "artifacts")
        if "://" not in where and not os.path.isabs(where):
            where = str(self.root / where)  # a folder named in aml.toml is relative to the project
        return open_artifacts(where)

    @cached_property
    def snapshot_store(self) -> GitSnapshotStore:
        from .snapshots.gitstore import GitSnapshotStore

        return GitSnapshotStore(self.aml_dir / "snapshots.git")

    @cached_property
    def snapshot_taker(self) -> SnapshotTaker:
        from .snapshots.capture import SnapshotTaker

        return SnapshotTaker(self.snapshot_store, self.snapshots.max_git_diff_bytes)

    def close(self) -> None:
        """Flush and release this workspace's services (tests and long-lived servers call this)."""
        if "writer" in self.__dict__:
            self.writer.close()
        if "store" in self.__dict__:
            self.store.close()
        with _open_lock:
            if _open.get(self.root) is self:  # a stale instance closing leaves the current one open
                del _open[self.root]

    def __repr__(self) -> str:
        return f"<Workspace {self.name!r} at {self.root}>"


def _root_of(path: Path) -> Path | None:
    path = path.expanduser()
    if path.name == AML_DIR and path.is_dir():
        path = path.parent
    if (path / AML_DIR / CONFIG_FILE).is_file():
        return path.resolve()
    if (path / AML_DIR).is_dir():  # a workspace whose settings file is gone: say so, not "no workspace"
        raise _missing_settings(path)
    return None


def _missing_settings(root: Path) -> ConfigError:
    return ConfigError(
        f"{root / AML_DIR} has no {CONFIG_FILE}: the workspace's settings are missing. Put the file back, "
        f"or write the defaults with `aml init --repair {root}`",
        path=str(root / AML_DIR / CONFIG_FILE),
    )
