"""Shared fixtures: fresh workspaces, a clean active-run stack, helpers for child processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

import aml_jupyter as aml
from aml_jupyter.tracking import fluent
from aml_jupyter.tracking.uri import set_tracking_uri
from aml_jupyter.workspace import Workspace

if TYPE_CHECKING:
    from tests.objectstore import S3Server
    from tests.postgres import PostgresServer

REPO = Path(__file__).resolve().parents[1]
# Scripts run by MLflow's own client in its venv (test_mlflow_client.py, test_import_mlflow.py): they import mlflow,
# which is never installed here, so --doctest-modules leaves it alone.
collect_ignore = ["server/mlflow_client.py", "services/mlflow_writer.py"]
T = TypeVar("T")


# Set by pytest_configure below, for the whole run.
SUITE_VARIABLES = ("AML_WARM_DIR", "AML_WARM_IDLE_S", "AML_CONFIG_DIR")


def pytest_configure(config: pytest.Config) -> None:
    # No test depends on the caller's environment: an exported AML_WORKSPACE, AML_TRACKING_URI or
    # AML_SERVER_TOKEN would otherwise reach the code under test and every process it starts. The
    # workers keep what the run itself set (below) and drop nothing else, having none.
    for name in [n for n in os.environ if n.startswith("AML_")]:
        if not hasattr(config, "workerinput") or name not in SUITE_VARIABLES:
            del os.environ[name]
    # The suite's `aml` commands share one warm process (as a user's would), in a folder of the
    # run's own; the workers inherit it, and the run stops what started there at its end.
    if not hasattr(config, "workerinput"):
        import tempfile

        os.environ["AML_WARM_DIR"] = tempfile.mkdtemp(prefix="aml-warm-suite-")
        os.environ["AML_WARM_IDLE_S"] = "120"
        config._aml_warm_dir = os.environ["AML_WARM_DIR"]  # type: ignore[attr-defined]
        # The user's own settings (a saved `aml login`) never reach the suite: an empty folder of its own.
        os.environ["AML_CONFIG_DIR"] = tempfile.mkdtemp(prefix="aml-config-suite-")
        config._aml_config_dir = os.environ["AML_CONFIG_DIR"]  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    import shutil

    folder = getattr(config, "_aml_warm_dir", None)
    if folder:
        stop_warm_servers(Path(folder))
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(getattr(config, "_aml_config_dir", "") or "/nonexistent", ignore_errors=True)


def stop_warm_servers(folder: Path) -> list[int]:
    """Stop, by their pid files, the warm servers whose sockets are in ``folder``; their pids."""
    stopped = []
    for pid_file in folder.glob("*.sock.pid"):
        try:
            pid = int(pid_file.read_text())
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
        except (ValueError, OSError):
            continue
    return stopped


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("AML_WORKSPACE", raising=False)
    monkeypatch.delenv("AML_RUN_ID", raising=False)
    yield
    for run in list(fluent._stack):
        if run._active:
            run.end("cancelled")
    fluent._stack.clear()
    fluent._env_run = None
    set_tracking_uri(None)


# The test folders whose workspaces are proven on both stores: each of their tests taking `ws` runs
# once on SQLite and once on PostgreSQL.
BOTH_STORES = (
    "tests/tracking/",
    "tests/store/",
    "tests/models/",
    "tests/dataprep/test_lineage.py",
    "tests/server/test_rest.py",
)


# The modules that take longest, longest first: `make test` hands whole modules to its two workers
# in collection order (--no-loadscope-reorder), and starting the long ones first lets both workers
# end together instead of one waiting on the other's last long module. Measured, not exact: a
# module missing here just runs after these.
LONGEST_FIRST = (
    "tests/browser/test_lab.py",
    "tests/test_templates.py",
    "tests/test_lint.py",  # mypy --strict from cold on a fresh clone
    "tests/browser/test_lab_faults.py",
    "tests/server/test_large_uploads.py",
    "tests/test_readme.py",
    "tests/server/test_rest.py",
    "tests/server/test_mlflow_client.py",  # two MLflow clients, each in its own venv
    "tests/services/test_import_mlflow.py",  # MLflow writes two stores first
    "tests/sweeps/test_sweeps.py",
    "tests/jobs/test_dask_jobs.py",
    "tests/store/test_durability.py",
    "tests/jobs/test_job_faults.py",
    "tests/jobs/test_notebook_jobs.py",
    "tests/test_warm.py",
    "tests/test_release.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))  # stable: in-module order kept


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "store_kind" in metafunc.fixturenames:
        path = Path(str(metafunc.definition.fspath)).resolve().relative_to(REPO).as_posix()
        marked = metafunc.definition.get_closest_marker
        both = path.startswith(BOTH_STORES) and (marked("both_stores") or not marked("sqlite_only"))
        kinds = ["sqlite", "postgresql-s3"] if both else ["sqlite"]
        metafunc.parametrize("store_kind", kinds, scope="session")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """This test process's PostgreSQL server, started on first use and stopped at the end."""
    from tests import postgres as pg

    if pg.binaries() is None:
        pytest.skip("PostgreSQL is not installed here (make test installs it)")
    server = pg.start(free_port())
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """This test process's S3-compatible server; its endpoint and credentials go into the
    environment (so that child processes reach it too), and a cache folder of the run's own."""
    from tests import objectstore

    folder = tmp_path_factory.mktemp("s3")
    server = objectstore.start(free_port(), folder / "s3.log")
    saved = {k: os.environ.get(k) for k in [*server.env(), "AML_CACHE_DIR"]}
    os.environ.update({**server.env(), "AML_CACHE_DIR": str(folder / "cache")})
    try:
        yield server
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        server.stop()


@pytest.fixture
def store_url(store_kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[str | None, str | None]]:
    """(store URL, artifacts URL): (None, None) for a workspace's own SQLite file and folder; a
    fresh PostgreSQL database and a fresh S3 bucket for a team's set-up."""
    if store_kind == "sqlite":
        yield None, None
        return
    server: PostgresServer = request.getfixturevalue("postgres")
    bucket = request.getfixturevalue("s3").bucket()
    url = server.database()
    yield url, bucket
    server.drop(url)


@pytest.fixture
def ws(tmp_path: Path, store_url: tuple[str | None, str | None]) -> Iterator[Workspace]:
    """A new workspace in a project folder holding one small source file (on each store kind in
    the folders of BOTH_STORES)."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "train.py").write_text("print('hello')\n")
    workspace = aml.Workspace.init(project, name="test", store=store_url[0], artifacts=store_url[1])
    yield workspace
    workspace.close()
    from aml_jupyter import workspace as module

    reopened = module._open.get(workspace.root)
    if reopened is not None:
        reopened.close()  # reopened by the test (new settings): its connections go before its database


def store_dump(ws: Workspace) -> bytes:
    """Everything the workspace's store holds, as bytes: the SQLite files, or every row of every
    table on a database server (to prove something is nowhere in it)."""
    from aml_jupyter.store.sql import schema

    if ws.store.db.is_sqlite:
        ws.writer.flush()
        files = [ws.aml_dir / "store.db", ws.aml_dir / "store.db-wal"]
        return b"".join(f.read_bytes() for f in files if f.exists())
    ws.writer.flush()
    tables = schema.metadata.sorted_tables
    rows = ws.store.db.read(lambda c: [repr(list(c.execute(t.select()).all())) for t in tables])
    return "\n".join(rows).encode()


def run_child(
    code: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run Python ``code`` in a child process (the project's interpreter) and wait for it."""
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@contextmanager
def start_child(code: str, cwd: Path, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[str]]:
    """Start Python ``code`` in a child process; killed by its pid (if still alive) on exit."""
    full_env = {**os.environ, **(env or {})}
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)


def write_settings(ws: Workspace, text: str) -> Workspace:
    """Put ``[section]`` settings into the workspace's aml.toml and reopen it so they apply."""
    path = ws.aml_dir / "aml.toml"
    lines = path.read_text().splitlines()
    section = None
    for line in textwrap.dedent(text).strip().splitlines():
        if line.startswith("["):
            section = line.strip()
            continue
        at = lines.index(section) + 1
        lines.insert(at, line)
    path.write_text("\n".join(lines) + "\n")
    ws.close()
    return Workspace.open(ws.root)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    """`make demo`'s program run once in a temporary folder: (its workspace folder, the process).

    Once for the whole run, also when pytest-xdist spreads the tests over several workers: the
    first worker to ask runs it (the others wait on a lock) and leaves its output beside it."""
    import fcntl
    import json

    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root, folder, result = shared / "demo-shared", shared / "demo-shared" / "demo", shared / "demo-shared.json"
    with open(shared / "demo-shared.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not result.exists():
            root.mkdir(exist_ok=True)
            proc = subprocess.run(
                [sys.executable, "-m", "aml_jupyter.demo", str(folder)],
                capture_output=True,
                text=True,
                timeout=300,
                cwd=root,
            )
            result.write_text(json.dumps([proc.returncode, proc.stdout, proc.stderr]))
    code, out, err = json.loads(result.read_text())
    return folder, subprocess.CompletedProcess(["aml_jupyter.demo"], code, out, err)


def eventually(
    check: Callable[[], T],
    timeout: float = 30,
    what: str = "the condition",
    ignore: tuple[type[BaseException], ...] = (),
) -> T:
    """Call ``check`` until it returns something true, and return that; fail with ``what`` (and
    the last value) after ``timeout`` seconds. The one wait of the suite for what sends no event
    (a process's state, a row in the store): first again at once, then less and less often
    (up to 0.25 s). Exceptions in ``ignore`` count as "not yet".

    Example:
        >>> eventually(lambda: 42)
        42
    """
    import time

    deadline = time.monotonic() + timeout
    pause, last = 0.01, None
    while True:
        try:
            last = check()
            if last:
                return last
        except ignore as exc:
            last = exc  # type: ignore[assignment]
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout:g} s (last: {last!r})")
        time.sleep(pause)
        pause = min(pause * 2, 0.25)


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> None:
    """Wait until ``url`` answers, failing with the process's stderr if it exits first."""
    import urllib.error
    import urllib.request

    def answers() -> bool:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        urllib.request.urlopen(url, timeout=1).close()
        return True

    eventually(answers, timeout, f"{url} answering", ignore=(urllib.error.URLError, ConnectionError))


def free_port() -> int:
    """A loopback port nobody listens on (for servers the tests start)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
