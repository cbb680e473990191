"""Reading an MLflow tracking store, for ``aml import-mlflow``: a file store (an ``mlruns/`` folder
of ``meta.yaml`` files and one file per metric, param and tag) or a SQL store (``sqlite:///mlflow.db``,
``postgresql://...``), as MLflow documents and writes them. Nothing here writes to it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from ..errors import ConfigError, InvalidInput

STATUS_OF_NUMBER = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}  # the file store's
Points = tuple[list[int], list[float], list[int]]  # steps, values, timestamps (ms)


@dataclass
class SourceRun:
    """One MLflow run as its store holds it; its metric points and files are read when asked for."""

    run_id: str
    experiment: str
    name: str
    user: str
    status: str  # MLflow's: RUNNING, SCHEDULED, FINISHED, FAILED, KILLED
    start_time: int | None
    end_time: int | None
    params: dict[str, str]
    tags: dict[str, str]
    artifact_dir: Path | None  # a local folder, or None where the files are elsewhere (a server, a bucket)
    artifact_uri: str
    read_metrics: Callable[[], dict[str, Points]] = field(repr=False)

    def metrics(self) -> dict[str, Points]:
        """Every point of every metric, by key.

        Example:
            >>> run.metrics()["loss"][1][:2]  # doctest: +SKIP
            [0.9, 0.5]
        """
        return self.read_metrics()

    def files(self) -> list[tuple[str, Path]]:
        """(artifact name, local file) for every file the run logged, in name order.

        Example:
            >>> run.files()  # doctest: +SKIP
            [('model/model.pkl', PosixPath('/.../artifacts/model/model.pkl'))]
        """
        if self.artifact_dir is None or not self.artifact_dir.is_dir():
            return []
        root = self.artifact_dir
        found = [(p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file() and not p.is_symlink()]
        return sorted(found)


class FileStore:
    """An MLflow file store: ``mlruns/EXPERIMENT_ID/meta.yaml`` and ``mlruns/EXPERIMENT_ID/RUN_ID/``.

    Example:
        >>> store = FileStore(Path("mlruns"))  # doctest: +SKIP
        >>> [r.name for r in store.runs()]  # doctest: +SKIP
        ['rf', 'child']
    """

    def __init__(self, root: Path, artifact_root: Path | None = None) -> None:
        if not root.is_dir():
            raise InvalidInput(f"{root}: no such MLflow store (a mlruns/ folder, or sqlite:///mlflow.db)")
        self.root = root
        self.artifact_root = artifact_root
        self.problems: list[str] = []  # what could not be read: named in the report, the rest read

    def _meta(self, path: Path) -> dict[str, Any] | None:
        import yaml

        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            self.problems.append(f"{path}: unreadable ({type(exc).__name__}); skipped")
            return None
        if not isinstance(data, dict):
            self.problems.append(f"{path}: not an MLflow meta.yaml; skipped")
            return None
        return data

    def experiments(self) -> dict[str, str]:
        """MLflow experiment id -> name, of the experiments not deleted."""
        found: dict[str, str] = {}
        for folder in sorted(self.root.iterdir()):
            if not folder.is_dir() or folder.name.startswith(".") or folder.name == "models":
                continue
            if not (folder / "meta.yaml").exists():
                continue
            meta = self._meta(folder / "meta.yaml")
            if meta is None or meta.get("lifecycle_stage") == "deleted":
                continue
            found[str(meta.get("experiment_id", folder.name))] = str(meta.get("name") or folder.name)
        return found

    def runs(self) -> Iterator[SourceRun]:
        """Every run not deleted, experiment by experiment."""
        for exp_id, exp_name in self.experiments().items():
            for folder in sorted(p for p in (self.root / exp_id).iterdir() if p.is_dir()):
                if not (folder / "meta.yaml").exists():
                    continue
                meta = self._meta(folder / "meta.yaml")
                if meta is None or meta.get("lifecycle_stage") == "deleted":
                    continue
                run = self._run(folder, meta, exp_id, exp_name)
                if run is not None:
                    yield run

    def _run(self, folder: Path, meta: dict[str, Any], exp_id: str, exp_name: str) -> SourceRun | None:
        run_id = str(meta.get("run_id") or meta.get("run_uuid") or folder.name)
        try:
            params = _values(folder / "params")
            tags = _values(folder / "tags")
        except (OSError, UnicodeDecodeError) as exc:
            self.problems.append(f"{folder}: params or tags unreadable ({exc}); skipped")
            return None
        status = meta.get("status")
        here = folder / "artifacts"
        given = _local(str(meta.get("artifact_uri") or ""))
        if self.artifact_root is not None:
            place: Path | None = self.artifact_root / exp_id / run_id / "artifacts"
        else:
            place = given if given is not None and given.is_dir() else (here if here.is_dir() else given)
        return SourceRun(
            run_id=run_id,
            experiment=exp_name,
            name=str(meta.get("run_name") or tags.get("mlflow.runName") or run_id[:8]),
            user=str(meta.get("user_id") or tags.get("mlflow.user") or "mlflow"),
            status=STATUS_OF_NUMBER.get(status, str(status)) if isinstance(status, int) else str(status or "FINISHED"),
            start_time=_ms(meta.get("start_time")),
            end_time=_ms(meta.get("end_time")),
            params=params,
            tags=tags,
            artifact_dir=place,
            artifact_uri=str(meta.get("artifact_uri") or ""),
            read_metrics=lambda: _file_metrics(folder / "metrics"),
        )


def _values(folder: Path) -> dict[str, str]:
    # One file per key; a key with "/" is a path of folders.
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _file_metrics(folder: Path) -> dict[str, Points]:
    out: dict[str, Points] = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.rglob("*")):
        if not p.is_file():
            continue
        steps: list[int] = []
        values: list[float] = []
        times: list[int] = []
        with open(p, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) < 2:
                    continue
                times.append(int(parts[0]))
                values.append(float(parts[1]))
                steps.append(int(parts[2]) if len(parts) > 2 else 0)
        out[p.relative_to(folder).as_posix()] = (steps, values, times)
    return out


def _ms(value: Any) -> int | None:
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _local(uri: str) -> Path | None:
    # A file:// URI or a plain path is a local folder; anything else (s3://, mlflow-artifacts:/) is not.
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return Path(uri)
    return None


class SqlStore:
    """An MLflow SQL store (``sqlite:///mlflow.db``, ``postgresql://...``), read with SQLAlchemy.

    Example:
        >>> [r.status for r in SqlStore("sqlite:///mlflow.db").runs()]  # doctest: +SKIP
        ['FINISHED', 'FAILED']
    """

    def __init__(self, url: str, artifact_root: Path | None = None) -> None:
        from sqlalchemy import create_engine, inspect

        self.url = url
        self.artifact_root = artifact_root
        self.problems: list[str] = []
        if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
            raise InvalidInput(f"{url}: no such MLflow database")
        self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
        try:
            tables = set(inspect(self.engine).get_table_names())
        except Exception as exc:  # noqa: BLE001 - any driver's refusal, said in one line
            raise ConfigError(f"{url}: cannot read it as an MLflow store ({type(exc).__name__}: {exc})") from None
        if not {"experiments", "runs", "metrics", "params", "tags"} <= tables:
            raise ConfigError(f"{url}: not an MLflow tracking database (no experiments, runs, metrics tables)")

    def _rows(self, sql: str, **args: Any) -> list[Any]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.execute(text(sql), args))

    def experiments(self) -> dict[str, str]:
        """MLflow experiment id -> name, of the experiments not deleted."""
        rows = self._rows("SELECT experiment_id, name FROM experiments WHERE lifecycle_stage != 'deleted'")
        return {str(i): str(n) for i, n in rows}

    def runs(self) -> Iterator[SourceRun]:
        """Every run not deleted, oldest first."""
        names = self.experiments()
        rows = self._rows(
            "SELECT run_uuid, name, user_id, status, start_time, end_time, artifact_uri, experiment_id "
            "FROM runs WHERE lifecycle_stage != 'deleted' ORDER BY start_time, run_uuid"
        )
        for run_id, name, user, status, start, end, uri, exp_id in rows:
            if str(exp_id) not in names:
                continue
            params = {k: v for k, v in self._rows("SELECT key, value FROM params WHERE run_uuid = :r", r=run_id)}
            tags = {k: v for k, v in self._rows("SELECT key, value FROM tags WHERE run_uuid = :r", r=run_id)}
            if self.artifact_root is not None:
                place: Path | None = self.artifact_root / str(exp_id) / run_id / "artifacts"
            else:
                place = _local(str(uri or ""))
            yield SourceRun(
                run_id=run_id,
                experiment=names[str(exp_id)],
                name=str(name or tags.get("mlflow.runName") or run_id[:8]),
                user=str(user or tags.get("mlflow.user") or "mlflow"),
                status=str(status or "FINISHED"),
                start_time=_ms(start),
                end_time=_ms(end),
                params=params,
                tags=tags,
                artifact_dir=place,
                artifact_uri=str(uri or ""),
                read_metrics=partial(self._metrics, run_id),
            )

    def _metrics(self, run_id: str) -> dict[str, Points]:
        out: dict[str, Points] = {}
        rows = self._rows(
            "SELECT key, value, timestamp, step, is_nan FROM metrics WHERE run_uuid = :r ORDER BY key, step, timestamp",
            r=run_id,
        )
        for key, value, ts, step, is_nan in rows:
            steps, values, times = out.setdefault(key, ([], [], []))
            steps.append(int(step or 0))
            values.append(math.nan if is_nan else float(value))
            times.append(int(ts or 0))
        return out


def open_mlflow_store(source: str, artifacts: str | None = None) -> FileStore | SqlStore:
    """The MLflow store ``source`` names: a SQLAlchemy URL (``sqlite:///mlflow.db``,
    ``postgresql://...``), or a ``mlruns/`` folder (``file:///...`` too). ``artifacts`` is the
    artifact root when the files are no longer where the store says (a copied store).

    Example:
        >>> open_mlflow_store("/nonexistent/mlruns")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidInput: /nonexistent/mlruns: no such MLflow store (a mlruns/ folder, or sqlite:///mlflow.db)
    """
    root = Path(artifacts).expanduser() if artifacts else None
    scheme = source.partition("://")[0].partition("+")[0] if "://" in source else ""
    if scheme in ("sqlite", "postgresql", "mysql", "mssql"):
        return SqlStore(source, root)
    folder = Path(unquote(urlparse(source).path)) if scheme == "file" else Path(source).expanduser()
    return FileStore(folder, root)
