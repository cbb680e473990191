"""The store file: opening, refusing bad files, schema versions, integrity (SECURITY.md J)."""

from __future__ import annotations

import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import StoreCorrupt, StoreError, StoreSchemaTooNew, WorkspaceReadOnly
from aml_jupyter.store.sql import migrations
from aml_jupyter.store.sql.database import Database, check_sqlite_file
from aml_jupyter.workspace import Workspace

pytestmark = pytest.mark.sqlite_only  # the SQLite file itself; tests/store/test_postgres.py has the server's


def _reopen(ws: Workspace) -> Workspace:
    ws.close()
    return Workspace.open(ws.root)


def test_new_store_is_wal_at_the_latest_schema(ws: Workspace) -> None:
    con = sqlite3.connect(ws.aml_dir / "store.db")
    assert con.execute("pragma journal_mode").fetchone()[0] == "wal"
    assert con.execute("select max(version) from aml_schema_version").fetchone()[0] == migrations.LATEST
    con.close()


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all, just text" * 10, b"SQLite format 3\x00" + b"\x00" * 20]
)
def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(ws: Workspace, content: bytes) -> None:
    ws.close()
    db = ws.aml_dir / "store.db"
    for extra in ("-wal", "-shm"):
        Path(str(db) + extra).unlink(missing_ok=True)
    db.write_bytes(content)
    with pytest.raises(StoreCorrupt, match="left as it is"):
        Workspace.open(ws.root).store  # noqa: B018
    assert db.read_bytes() == content


def test_a_truncated_store_is_refused_and_left_alone(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws) as run:
        run.log_batch("x", list(range(20_000)))
    ws.close()
    db = ws.aml_dir / "store.db"
    con = sqlite3.connect(db)
    con.execute("pragma wal_checkpoint(truncate)")
    con.close()
    data = db.read_bytes()
    assert len(data) > 16384
    cut = data[: len(data) // 2 + 100]
    db.write_bytes(cut)
    with pytest.raises(StoreCorrupt, match="truncated"):
        Workspace.open(ws.root).store  # noqa: B018
    assert db.read_bytes() == cut


def test_a_store_killed_mid_checkpoint_opens_from_its_wal(tmp_path: Path) -> None:
    # The checkpointer copies page 1 (with the new page count) before the pages after it: killed
    # in between, the file is shorter than its header says, and the WAL still holds every page.
    live = tmp_path / "live.db"
    con = sqlite3.connect(live, isolation_level=None)
    con.execute("pragma journal_mode = wal")
    con.execute("pragma wal_autocheckpoint = 0")
    con.execute("create table t (x text)")
    con.executemany("insert into t values (?)", [("x" * 200,) for _ in range(2000)])
    on_disk = {suffix: (tmp_path / f"live.db{suffix}").read_bytes() for suffix in ("", "-wal")}
    con.execute("pragma wal_checkpoint(truncate)")
    con.close()
    page_1 = live.read_bytes()[:4096]
    killed = tmp_path / "killed.db"
    killed.write_bytes(page_1 + on_disk[""][4096:])
    assert len(killed.read_bytes()) < len(live.read_bytes())
    with pytest.raises(StoreCorrupt, match="truncated"):  # without its WAL, pages are lost
        check_sqlite_file(killed)
    (tmp_path / "killed.db-wal").write_bytes(on_disk["-wal"])
    check_sqlite_file(killed)  # not refused: SQLite finishes from the WAL
    reader = sqlite3.connect(killed)
    assert reader.execute("select count(*) from t").fetchone() == (2000,)
    assert reader.execute("pragma integrity_check").fetchone() == ("ok",)
    reader.close()


def test_a_newer_schema_is_refused(ws: Workspace) -> None:
    ws.close()
    con = sqlite3.connect(ws.aml_dir / "store.db")
    con.execute("insert into aml_schema_version values (?, 0, 'from the future')", (migrations.LATEST + 1,))
    con.commit()
    con.close()
    with pytest.raises(StoreSchemaTooNew, match="upgrade aml_jupyter"):
        Workspace.open(ws.root).store  # noqa: B018


def test_create_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"precious")
    with pytest.raises(StoreError, match="refusing to overwrite"):
        Database.create(f"sqlite:///{path}")
    assert path.read_bytes() == b"precious"


def test_missing_store_file_is_a_clear_error(ws: Workspace) -> None:
    ws.close()
    (ws.aml_dir / "store.db").unlink()
    with pytest.raises(StoreError, match="missing"):
        Workspace.open(ws.root).store  # noqa: B018


def test_migrations_are_idempotent(ws: Workspace) -> None:
    ws.store.db.migrate()
    ws = _reopen(ws)
    con = sqlite3.connect(ws.aml_dir / "store.db")
    assert con.execute("select count(*) from aml_schema_version").fetchone()[0] == len(migrations.MIGRATIONS)
    con.close()


@contextmanager
def tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A small tmpfs mounted at ``folder`` for the test, unmounted after (skips where mount is refused)."""
    folder.mkdir()
    if subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    ).returncode:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_readonly_workspace_gives_a_clear_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "8m") as mnt:
        aml.Workspace.init(mnt / "p").close()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        with pytest.raises(WorkspaceReadOnly, match="cannot create a workspace"):
            aml.Workspace.init(mnt / "q")
        ws = Workspace.open(mnt / "p")
        with pytest.raises(WorkspaceReadOnly, match="cannot be written"):
            aml.start_run("e", workspace=ws)
        ws.close()


def test_disk_full_fails_the_artifact_cleanly(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "tiny", "3m") as mnt:
        ws = aml.Workspace.init(mnt / "p")
        big = tmp_path / "big.bin"
        big.write_bytes(b"\x01" * 5_000_000)
        with pytest.raises(StoreError, match="No space left"):
            with aml.start_run("e", workspace=ws, snapshot=False) as run:
                run.log("x", 1.0)
                run.log_artifact(big)
        r = aml.get_run(run.id, workspace=ws)
        assert r.status == "failed" and r.metrics == {"x": 1.0}
        assert ws.artifacts.digests() == {}
        con = sqlite3.connect(ws.aml_dir / "store.db")
        assert con.execute("pragma integrity_check").fetchone()[0] == "ok"
        con.close()
        ws.close()


def test_an_older_store_is_migrated_in_place(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, inspect

    path = tmp_path / "old.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        migrations.apply(conn, migrations.MIGRATIONS[0])  # a store written by the first release
    engine.dispose()
    db = Database.open(f"sqlite:///{path}")
    assert db.read(migrations.current_version) == migrations.LATEST
    assert "datasets" in db.read(lambda c: inspect(c).get_table_names())
    db.dispose()


def test_a_run_still_going_is_never_deleted_a_queued_one_included(ws: Workspace) -> None:
    from aml_jupyter.entities.lifecycle import LIVE, RunStatus
    from aml_jupyter.errors import RunStateError
    from aml_jupyter.services import runs

    exp = ws.store.experiment_id("going", create=True)
    for status in sorted(LIVE):
        record = ws.store.create_run(exp, source_kind="python", user="ada", status=RunStatus(status))
        with pytest.raises(RunStateError, match=f"is {status}"):
            runs.delete(ws, [record.id])
        assert ws.store.get_run(record.id).status == status
