"""Copying a whole store into an empty one (SQLite to PostgreSQL, or back), and checking the copy.

Every row keeps its keys, so whatever refers to a run, a model version or a dataset by its id
(artifacts, lineage, deployments, the audit log) still does. The source is read in one transaction
(a consistent snapshot, while its users go on writing) and the destination is written in one: a
copy that fails half-way leaves the destination as empty as it was.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, func, select

from ...errors import StoreError
from . import schema
from .database import Database

CHUNK = 5_000  # rows per INSERT batch: bounded memory on stores of millions of metric chunks
Progress = Callable[[str, int], None]


def _tables() -> list[Any]:
    # Parents before children (foreign keys); the schema version belongs to the store itself.
    return [t for t in schema.metadata.sorted_tables if t is not schema.schema_version]


def count_rows(conn: Connection) -> dict[str, int]:
    """The number of rows of every table of the store.

    Example:
        >>> import tempfile, os
        >>> db = Database.create("sqlite:///" + os.path.join(tempfile.mkdtemp(), "s.db"))
        >>> db.read(count_rows)["runs"]
        0
    """
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one()) for t in _tables()}


def copy_store(src: Database, dst: Database, progress: Progress | None = None) -> dict[str, int]:
    """Copy every row of ``src`` into the empty store ``dst``; the rows copied, per table.

    Refuses a destination that holds anything (copying never merges two stores), and checks after
    the copy that each table holds as many rows as the source's snapshot did.

    Example:
        >>> import tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> a = Database.create(f"sqlite:///{folder}/a.db"); b = Database.create(f"sqlite:///{folder}/b.db")
        >>> copy_store(a, b)["runs"]
        0
    """
    held = {k: v for k, v in dst.read(count_rows).items() if v}
    if held:
        listed = ", ".join(f"{n} {k}" for k, n in sorted(held.items()))
        raise StoreError(f"{dst.url} is not empty ({listed}); copy-store only copies into an empty store", url=dst.url)

    def copy_from(source: Connection) -> dict[str, int]:
        expected = count_rows(source)

        def write(target: Connection) -> dict[str, int]:
            for table in _tables():
                done = 0
                rows = source.execution_options(yield_per=CHUNK).execute(select(table).order_by(*table.primary_key))
                for part in rows.mappings().partitions(CHUNK):
                    target.execute(table.insert(), [dict(r) for r in part])
                    done += len(part)
                    if progress:
                        progress(table.name, done)
                if not dst.is_sqlite:
                    _advance_sequences(target, table)
            got = count_rows(target)
            wrong = {k: (expected[k], got[k]) for k in expected if expected[k] != got[k]}
            if wrong:  # raising rolls the whole copy back
                raise StoreError(f"the copy does not match its source: {wrong} (source, copy); nothing was kept")
            return got

        return dst.write(write)

    return src.read(copy_from)


def _advance_sequences(conn: Connection, table: Any) -> None:
    # Rows came in with their ids; PostgreSQL's id sequence must start after the highest of them.
    for col in table.primary_key.columns:
        if col.autoincrement is True or (col.autoincrement == "auto" and len(table.primary_key.columns) == 1):
            if col.type.python_type is not int:
                continue
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', '{col.name}'), "
                f"COALESCE((SELECT MAX({col.name}) FROM {table.name}), 0) + 1, false)"
            )
