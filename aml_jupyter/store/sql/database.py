"""The store's database: engine set-up, file checks, and transactions that retry when busy.

SQLite runs in WAL mode with a busy timeout; write transactions start with ``BEGIN IMMEDIATE`` so
two writers never deadlock on a lock upgrade, and a writer killed mid-transaction leaves nothing
behind (SQLite rolls the journal back). PostgreSQL takes the same code through plain transactions.
"""

from __future__ import annotations

import os
import random
import sqlite3
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, DisconnectionError, IntegrityError, OperationalError

from ...errors import (
    ConfigError,
    StoreBusy,
    StoreCorrupt,
    StoreError,
    StoreSchemaTooOld,
    StoreUnreachable,
    WorkspaceReadOnly,
)
from . import migrations

T = TypeVar("T")
SQLITE_MAGIC = b"SQLite format 3\x00"


def check_sqlite_file(path: Path) -> None:
    """Refuse a store file that is empty, not SQLite, or shorter than its header says.

    Reads only the 100-byte header, so opening stays cheap on large stores.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "x.db"; _ = p.write_bytes(b"hello")
        >>> check_sqlite_file(p)
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.StoreCorrupt: ... is not an SQLite database (5 bytes); it was left as it is
    """
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            header = f.read(100)
    except FileNotFoundError:
        raise StoreError(f"{path}: the store file is missing", path=str(path)) from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store: {exc.strerror}", path=str(path)) from None
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        raise StoreCorrupt(f"{path} is not an SQLite database ({size} bytes); it was left as it is", path=str(path))
    page_size = struct.unpack(">H", header[16:18])[0]
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    valid_for = struct.unpack(">I", header[92:96])[0]
    # The page count is trusted only when it was written with the current change counter.
    # A writer killed while checkpointing leaves page 1 (with the new page count) copied before the
    # pages after it; the WAL still holds them all and SQLite finishes from it. Only without a WAL
    # does a file shorter than its header says mean lost pages.
    short = valid_for == change_counter and size < page_count * page_size and not _has_wal(path)
    if page_size < 512 or size % page_size or short:
        raise StoreCorrupt(
            f"{path} is truncated or damaged ({size} bytes, header says {page_count} pages of "
            f"{page_size}); it was left as it is",
            path=str(path),
        )


def _has_wal(path: Path) -> bool:
    try:
        return path.with_name(path.name + "-wal").stat().st_size > 0
    except OSError:
        return False


# The engines a store can live on, by URL scheme; the driver each needs, and the extra bringing it.
SCHEMES = {"sqlite": ("sqlite3", ""), "postgresql": ("psycopg", "postgres")}
DEFAULT_DRIVERS = {"postgresql": "postgresql+psycopg", "postgres": "postgresql+psycopg"}


SECRET_QUERY = ("password", "sslpassword")  # libpq's keywords that hold a secret


def _parts(url: str) -> tuple[str, str | None, str, str]:
    # (scheme, userinfo or None, host and path, query). libpq reads the user and password up to
    # the LAST '@' of the authority: 'aml:pa@ss@host' is user aml, password 'pa@ss', host 'host'.
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", None, url, ""
    rest, _, query = rest.partition("?")
    authority, slash, path = rest.partition("/")
    if "@" not in authority:
        return scheme, None, rest, query
    userinfo, _, host = authority.rpartition("@")
    return scheme, userinfo, host + slash + path, query


def engine_url(url: str) -> str:
    """The SQLAlchemy URL for a store URL as a user writes it (``postgresql://`` means psycopg 3;
    an ``@`` inside the password is kept in it, as libpq reads it).

    Example:
        >>> engine_url("postgresql://aml@db/runs")
        'postgresql+psycopg://aml@db/runs'
        >>> engine_url("postgresql://aml:pa@ss@db/runs")
        'postgresql+psycopg://aml:pa%40ss@db/runs'
    """
    scheme, userinfo, rest, query = _parts(url)
    if not scheme:
        return url
    driver = DEFAULT_DRIVERS.get(scheme, scheme)
    auth = userinfo.replace("@", "%40") + "@" if userinfo is not None else ""
    return f"{driver}://{auth}{rest}" + (f"?{query}" if query else "")


def shown_url(url: str) -> str:
    """``url`` with every password in it (``user:PASSWORD@``, ``?password=``, ``?sslpassword=``)
    replaced by ``***``: the only form ever printed, logged or passed to a job.

    Example:
        >>> shown_url("postgresql://aml:s3cret@db:5432/runs")
        'postgresql://aml:***@db:5432/runs'
        >>> shown_url("postgresql://aml:pa@ss@db/runs?user=a&password=x")
        'postgresql://aml:***@db/runs?user=a&password=***'
    """
    scheme, userinfo, rest, query = _parts(url)
    if not scheme:
        return "(unreadable URL)"
    auth = ""
    if userinfo is not None:
        user, colon, _ = userinfo.partition(":")
        auth = f"{user}:***@" if colon else f"{user}@"
    shown = []
    for pair in query.split("&") if query else []:
        key, eq, _ = pair.partition("=")
        shown.append(f"{key}=***" if eq and key.lower() in SECRET_QUERY else pair)
    return f"{scheme}://{auth}{rest}" + ("?" + "&".join(shown) if shown else "")


def has_password(url: str) -> bool:
    """Whether a store URL carries a password, in any form libpq takes.

    Example:
        >>> has_password("postgresql://aml:s3cret@db/runs"), has_password("postgresql://aml@db/runs")
        (True, False)
        >>> has_password("postgresql://db/runs?user=aml&password=x")
        True
    """
    _, userinfo, _, query = _parts(url)
    if userinfo is not None and userinfo.partition(":")[2]:
        return True
    return any(p.partition("=")[0].lower() in SECRET_QUERY and p.partition("=")[2] for p in query.split("&"))


def check_store_url(url: str) -> None:
    """Refuse a store URL this build cannot open, saying what to install or write instead.

    Example:
        >>> check_store_url("mysql://db/runs")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.ConfigError: mysql://db/runs: stores live on sqlite or postgresql (got 'mysql')
    """
    import importlib.util

    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(engine_url(url))
    except (ArgumentError, ValueError):
        raise ConfigError(f"{shown_url(url)} is not a store URL (write it as postgresql://user@host/db)") from None
    backend = parsed.get_backend_name()
    if backend not in SCHEMES:
        raise ConfigError(f"{shown_url(url)}: stores live on {' or '.join(SCHEMES)} (got {backend!r})")
    module, extra = SCHEMES[backend]
    if importlib.util.find_spec(module) is None:
        raise ConfigError(f"{shown_url(url)} needs {module}: pip install 'aml_jupyter[{extra}]'")
    if backend == "postgresql" and not parsed.database:
        raise ConfigError(f"{shown_url(url)} names no database (postgresql://user@host/DATABASE)")


def _is_busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "database is locked" in text or "database is busy" in text or "deadlock" in text


def _is_duplicate(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "unique" in text or "duplicate key" in text


def _is_unreachable(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(
        words in text
        for words in (
            "connection refused",
            "could not connect",
            "connection failed",
            "server closed the connection",
            "terminating connection",
            "connection timeout",
            "timeout expired",
            "no such host",
            "name or service not known",
            "the connection is closed",
            "consuming input failed",
        )
    )


def _is_corrupt(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "file is not a database" in text or "malformed" in text or "disk image" in text


def _is_readonly(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "readonly" in text or "read-only" in text or "unable to open database" in text


class Database:
    """An engine on the store URL with checked opening, migrations and retrying transactions.

    Example:
        >>> import tempfile, os
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> db.read(lambda c: c.exec_driver_sql("select 1").scalar())
        1
    """

    def __init__(self, engine: Engine, busy_timeout: float) -> None:
        self.engine = engine
        self.busy_timeout = busy_timeout
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.url = engine.url.render_as_string(hide_password=True)

    @classmethod
    def open(cls, url: str, busy_timeout: float = 30.0, upgrade: bool | None = None) -> Database:
        """Open an existing store; refuse one from a newer aml_jupyter.

        An older schema is brought up to date when ``upgrade`` (by default: for an SQLite file, one
        user's store). A store on a server is shared by a team whose clients may not all be
        upgraded yet, so it is upgraded only when someone says so (``aml migrate``); until then
        opening it says what to run.
        """
        db = cls.connect(url, busy_timeout)
        try:
            if upgrade if upgrade is not None else db.is_sqlite:
                db.migrate()
            else:
                db.check_schema()
        except BaseException:
            db.dispose()  # a store refused leaves no connection open behind it
            raise
        return db

    @classmethod
    def connect(cls, url: str, busy_timeout: float = 30.0) -> Database:
        """An existing store as it is, its schema neither checked nor changed (``aml migrate``)."""
        path = _sqlite_path(url)
        if path is not None:
            check_sqlite_file(path)
        return cls(_make_engine(url, busy_timeout), busy_timeout)

    @classmethod
    def join(cls, url: str, busy_timeout: float = 30.0) -> Database:
        """A server store a new workspace joins: its tables are made when the database is empty;
        one a team already uses must be at this aml_jupyter's schema (it is not upgraded here)."""
        db = cls.connect(url, busy_timeout)
        try:
            if db.schema_version() == 0:
                db.migrate()
            db.check_schema()
        except BaseException:
            db.dispose()
            raise
        return db

    def check_schema(self) -> None:
        """Refuse a store whose schema is not this aml_jupyter's (older: run ``aml migrate``)."""
        version = self.read(migrations.current_version)
        if version > migrations.LATEST:
            self.read(migrations.pending)  # raises StoreSchemaTooNew, with its words
        if version < migrations.LATEST:
            raise StoreSchemaTooOld(
                f"the store {self.url} has schema version {version}; this aml_jupyter needs "
                f"{migrations.LATEST}: upgrade it with `aml migrate` (clients older than this one "
                "cannot open it afterwards)",
                url=self.url,
                version=version,
                supported=migrations.LATEST,
            )

    def schema_version(self) -> int:
        """The store's schema version (0 for an empty database)."""
        return self.read(migrations.current_version)

    @classmethod
    def create(cls, url: str, busy_timeout: float = 30.0) -> Database:
        """Create a new store; an existing SQLite file is never overwritten."""
        path = _sqlite_path(url)
        if path is not None and path.exists():
            raise StoreError(f"{path} already exists; refusing to overwrite it", path=str(path))
        db = cls(_make_engine(url, busy_timeout), busy_timeout)
        try:
            db.migrate()
        except BaseException:
            db.dispose()
            raise
        return db

    def migrate(self) -> list[int]:
        """Apply pending migrations, each in its own write transaction; the versions applied."""
        if not self.read(lambda conn: bool(migrations.pending(conn))):
            return []  # up to date: opening the store takes no write lock

        def step(conn: Connection) -> int:
            if not self.is_sqlite:  # two clients upgrading at once: the second waits, then finds none
                conn.exec_driver_sql("SELECT pg_advisory_xact_lock(7420211)")
            todo = migrations.pending(conn)
            if todo:
                migrations.apply(conn, todo[0])
            return todo[0][0] if todo else 0

        applied = []
        while version := self.write(step):
            applied.append(version)
        return applied

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            if write:
                conn.execution_options(aml_write=True)
            with conn.begin():
                yield conn

    def write(self, fn: Callable[[Connection], T], numbering: bool = False) -> T:
        """Run ``fn(conn)`` in a write transaction, retrying while other writers hold the lock.

        ``numbering``: ``fn`` gives out the next number of something (a model's version) by reading
        the highest one. SQLite has one writer at a time, so that is safe; on PostgreSQL two
        transactions may pick the same number, the unique key refuses the second, and the whole
        transaction is run again (it then reads the new highest number).
        """
        return self._run(fn, write=True, numbering=numbering)

    def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn(conn)`` in a read transaction (one consistent snapshot of the store)."""
        return self._run(fn, write=False)

    def ping(self) -> None:
        """Raise unless the store answers a trivial query (a server's readiness check).

        Example:
            >>> import tempfile, os
            >>> Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db")).ping()
        """
        self.read(lambda c: c.exec_driver_sql("SELECT 1").scalar())

    def read_prepared(self, prepared: Prepared, values: dict[str, Any]) -> Any:
        """The first row of a :class:`Prepared` SELECT. On a server store it goes to the driver
        outside a transaction, as a server-side prepared statement: one round trip and little
        Python, for the check a server makes before every write a remote job sends.

        Example:
            >>> import tempfile, os
            >>> from sqlalchemy import bindparam, literal, select
            >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
            >>> tuple(db.read_prepared(Prepared(db, select(literal(1) + bindparam("n"))), {"n": 1}))
            (2,)
        """
        if self.is_sqlite:
            return self.read(lambda c: prepared.execute(c, values).fetchone())
        if not prepared.sql:
            prepared._compile()
        try:
            pooled = self.engine.raw_connection()
        except DBAPIError as exc:
            raise self._translate(exc) from None
        try:
            driver: Any = pooled.driver_connection
            driver.autocommit = True
            try:
                return driver.execute(prepared.sql, prepared._params(values), prepare=True).fetchone()
            finally:
                driver.autocommit = False
        except self.engine.dialect.loaded_dbapi.Error as exc:
            pooled.invalidate()  # a connection that failed here is not given to the next caller
            raise self._translate_driver(exc) from None
        finally:
            pooled.close()

    def _run(self, fn: Callable[[Connection], T], write: bool, numbering: bool = False) -> T:
        deadline = time.monotonic() + self.busy_timeout
        delay = 0.005
        while True:
            try:
                with self._transaction(write) as conn:
                    return fn(conn)
            except IntegrityError as exc:
                if numbering and _is_duplicate(exc) and time.monotonic() < deadline:
                    time.sleep(delay * random.random())
                    delay = min(delay * 2, 0.1)
                    continue
                raise self._translate(exc) from None
            except (OperationalError, DBAPIError) as exc:
                if _is_busy(exc) and time.monotonic() < deadline:
                    time.sleep(delay * (1 + random.random()))
                    delay = min(delay * 2, 0.25)
                    continue
                raise self._translate(exc) from None

    def _translate(self, exc: DBAPIError) -> Exception:
        return self._translate_driver(exc.orig if exc.orig is not None else exc)

    def _translate_driver(self, orig: BaseException) -> Exception:
        if _is_unreachable(orig):
            # psycopg's words name the host and port, never the password; say which store it was.
            first = str(orig).strip().splitlines()[0] if str(orig).strip() else type(orig).__name__
            return StoreUnreachable(f"cannot reach the store {self.url}: {first}", url=self.url)
        if _is_busy(orig):
            return StoreBusy(f"the store stayed locked for {self.busy_timeout:.0f} s: {orig}", url=self.url)
        if _is_corrupt(orig):
            return StoreCorrupt(f"the store {self.url} is damaged: {orig}", url=self.url)
        if _is_readonly(orig):
            return WorkspaceReadOnly(f"the store {self.url} cannot be written: {orig}", url=self.url)
        return StoreError(f"store error: {orig}", url=self.url)

    def dispose(self) -> None:
        """Close every pooled connection (call after fork, or when done)."""
        self.engine.dispose()


def _sqlite_path(url: str) -> Path | None:
    if not url.startswith("sqlite:///"):
        return None
    return Path(url[len("sqlite:///") :])


def _make_engine(url: str, busy_timeout: float) -> Engine:
    if not url.startswith("sqlite"):
        check_store_url(url)
        server = create_engine(engine_url(url), connect_args={"connect_timeout": 10})
        _ping_after_idle(server)
        return server
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
        # We issue BEGIN ourselves (below), so pysqlite must not.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()
            # WAL + NORMAL: every commit survives a process crash; only an OS crash may lose
            # the last transactions, and the file never corrupts.
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        except sqlite3.DatabaseError as exc:
            cur.close()
            if _is_corrupt(exc):
                raise StoreCorrupt(f"the store {url} is damaged: {exc}", url=url) from None
            if _is_readonly(exc):
                raise WorkspaceReadOnly(f"the store {url} cannot be written: {exc}", url=url) from None
            raise
        cur.close()
        if mode and str(mode[0]).lower() != "wal" and not os.environ.get("AML_ALLOW_NON_WAL"):
            raise StoreError(f"the store {url} could not switch to WAL mode (got {mode[0]})", url=url)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("aml_write", False)
        # Straight to the driver: this runs for every transaction.
        conn.connection.dbapi_connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")  # type: ignore[union-attr]

    return engine


PING_AFTER_IDLE_S = 1.0


def _ping_after_idle(engine: Engine) -> None:
    # A pooled connection that sat idle may have been closed by the server (a restart, an idle
    # timeout): it is tried with one round trip before use, and a dead one is replaced (the pool
    # retries the checkout on DisconnectionError). One in steady use is not pinged: pre-pinging
    # every checkout cost a round trip per transaction, a fifth of a remote batch's time.
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["aml_idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _check(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("aml_idle_since")
        if since is None or time.monotonic() - since < PING_AFTER_IDLE_S:
            return
        try:
            with dbapi_conn.cursor() as cur:
                cur.execute("SELECT 1")
            if not dbapi_conn.autocommit:
                dbapi_conn.rollback()
        except Exception as exc:
            raise DisconnectionError(str(exc)) from exc


def fetch_all(conn: Connection, stmt: Any) -> list[tuple[Any, ...]]:
    """All rows of a Core SELECT as plain tuples; on SQLite straight from the driver's cursor.

    Bulk reads (every run into a DataFrame) spend most of their time turning rows into objects;
    the driver's tuples are the cheapest form.

    Example:
        >>> from sqlalchemy import create_engine, literal, select
        >>> with create_engine("sqlite://").connect() as c:
        ...     fetch_all(c, select(literal(1)))
        [(1,)]
    """
    if conn.dialect.name != "sqlite":
        return [tuple(row) for row in conn.execute(stmt)]
    # render_postcompile spells IN lists out, so the SQL takes plain positional parameters.
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = tuple(params[name] for name in compiled.positiontup or ())
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        rows: list[tuple[Any, ...]] = cursor.execute(str(compiled), args).fetchall()
        return rows
    finally:
        cursor.close()


class Prepared:
    """A Core statement compiled once for the store's dialect and run through the driver directly.

    Running a Core statement costs several times what SQLite spends on it; the few statements every
    run goes through are prepared like this, and on SQLite they go straight to the connection's
    cursor inside the current transaction. The SQL still comes from the portable Core statement, so
    PostgreSQL gets its own spelling of it (through SQLAlchemy's driver call).

    Example:
        >>> import tempfile, os
        >>> from sqlalchemy import bindparam, select
        >>> from aml_jupyter.store.sql import schema as t
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> q = Prepared(db, select(t.experiments.c.id).where(t.experiments.c.name == bindparam("n")))
        >>> db.read(lambda c: q.execute(c, {"n": "x"}).fetchone()) is None
        True
    """

    def __init__(self, db: Database, stmt: Any) -> None:
        self.raw = db.is_sqlite
        self._stmt: Any = stmt
        self._dialect = db.engine.dialect
        self.sql = ""
        self.names: tuple[str, ...] | None = None
        self.fixed: dict[str, Any] = {}

    def _compile(self) -> None:
        # On first use, not when the store opens: a command that only reads compiles no insert.
        compiled = self._stmt.compile(dialect=self._dialect)
        self.names = tuple(compiled.positiontup) if compiled.positiontup else None
        # Values fixed in the statement itself (constants, bindparams with a value).
        self.fixed = {k: v for k, v in compiled.params.items() if v is not None}
        self.sql = str(compiled)  # last: another thread sees it set only once the rest is

    def _params(self, values: dict[str, Any]) -> Any:
        if self.fixed:
            values = {**self.fixed, **values}
        return values if self.names is None else tuple(values[n] for n in self.names)

    def execute(self, conn: Connection, values: dict[str, Any] | list[dict[str, Any]]) -> Any:
        """Execute with one dict of parameters, or a list of them (executemany).

        Returns a cursor: ``rowcount`` and ``fetchone()`` work on every backend.
        """
        many = isinstance(values, list)
        if not self.sql:
            self._compile()
        params = [self._params(v) for v in values] if many else self._params(values)  # type: ignore[arg-type]
        if not self.raw:
            return conn.exec_driver_sql(self.sql, params)
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        if many:
            cursor.executemany(self.sql, params)
        else:
            cursor.execute(self.sql, params)
        return cursor
