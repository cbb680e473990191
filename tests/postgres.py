"""A real PostgreSQL server for the tests: ``initdb`` in a temporary folder, started on a free
loopback port, stopped by ``pg_ctl stop`` (and its pid, should that fail).

The server is made for speed, not durability (no fsync): a test's database is thrown away. As
root, PostgreSQL refuses to run, so the folder belongs to the ``postgres`` user and the programs
run as that user.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

_names = itertools.count(1)


def binaries() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(folder, "pg_ctl").exists():
            return Path(folder)
    return None


@dataclass
class PostgresServer:
    """One running server; ``database()`` makes a fresh database on it and returns its URL."""

    folder: Path
    port: int
    pid: int
    bin: Path
    user: str = "aml"
    _dbs: list[str] = field(default_factory=list)
    _made_template: bool = False

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/postgres"

    def admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=self.user, dbname="postgres", autocommit=True) as c:
            c.execute(sql)  # type: ignore[arg-type]

    def database(self, empty: bool = False) -> str:
        """A new database: with the store's tables at the latest schema (copied from a template made
        once: a workspace's init then finds them), or ``empty``."""
        name = f"t{os.getpid()}_{next(_names)}"
        if empty:
            self.admin(f"CREATE DATABASE {name}")
        else:
            self.admin(f"CREATE DATABASE {name} TEMPLATE {self._template()}")
        self._dbs.append(name)
        return self._url(name)

    def _url(self, name: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{name}"

    def _template(self) -> str:
        if not self._made_template:
            from aml_jupyter.store.sql.database import Database

            self.admin("CREATE DATABASE aml_template")
            Database.create(self._url("aml_template")).dispose()
            self._made_template = True
        return "aml_template"

    def drop(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        data = str(self.folder / "data")
        done = _as_postgres([str(self.bin / "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], check=False)
        if done.returncode != 0:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_postgres(cmd: list[str], check: bool = True) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=check, timeout=120)


def start(port: int, durable: bool = False) -> PostgresServer:
    """Start a server on ``port``; raises RuntimeError (with PostgreSQL's words) when it cannot.
    Without ``durable`` it never syncs to disk (a test's database is thrown away)."""
    bin = binaries()
    if bin is None:
        raise RuntimeError("PostgreSQL is not installed (no pg_ctl on PATH or in /usr/lib/postgresql)")
    # Short: the server's Unix socket lives here too, and its path is limited to ~107 bytes.
    folder = Path(tempfile.mkdtemp(prefix="aml-pg-", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data = folder / "data"
    try:
        _as_postgres([str(bin / "initdb"), "-D", str(data), "-A", "trust", "-U", "aml", "-E", "UTF8", "--no-sync"])
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {folder} -c max_connections=200"
        if not durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        log = folder / "server.log"
        _as_postgres([str(bin / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60", "-o", options, "start"])
    except subprocess.CalledProcessError as exc:
        text = (exc.stderr or "") + (exc.stdout or "")
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"PostgreSQL did not start: {text.strip()[-800:]}") from None
    pid = int((data / "postmaster.pid").read_text().split()[0])
    return PostgresServer(folder, port, pid, bin)
