"""A store on a real PostgreSQL server: what only a server store does (or can get wrong).

The rest of tests/tracking, tests/models, the lineage tests and the REST tests run on PostgreSQL
too, through the `ws` fixture; this module has the faults, the concurrency, `aml migrate` and
`aml copy-store`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter import dataprep as dp
from aml_jupyter.errors import StoreSchemaTooNew, StoreSchemaTooOld, StoreUnreachable
from aml_jupyter.store.sql import migrations, schema
from aml_jupyter.store.sql.database import Database
from aml_jupyter.workspace import Workspace
from tests import postgres as pg
from tests.conftest import free_port
from tests.objectstore import S3Server

AML = str(Path(sys.executable).with_name("aml"))
pytestmark = pytest.mark.sqlite_only  # each test says which stores it uses


def _aml(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AML_WARM": "0"}
    return subprocess.run([AML, *args], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


@pytest.fixture
def db_url(postgres: pg.PostgresServer) -> Iterator[str]:
    url = postgres.database(empty=True)
    yield url
    postgres.drop(url)


def _with_password(url: str, password: str) -> str:
    return url.replace("aml@", f"aml:{password}@")


def test_a_server_that_is_down_is_a_clear_error_without_the_password(tmp_path: Path) -> None:
    url = f"postgresql://aml:hunter2@127.0.0.1:{free_port()}/runs"
    with pytest.raises(StoreUnreachable) as caught:
        aml.Workspace.init(tmp_path / "p", store=url)
    text = str(caught.value)
    assert f"aml:***@127.0.0.1:{url.split(':')[3].split('/')[0]}/runs" in text and "hunter2" not in text
    assert not (tmp_path / "p" / ".aml").exists()  # nothing half-made
    out = _aml("init", str(tmp_path / "q"), "--store", url)
    assert out.returncode != 0 and "cannot reach the store" in out.stderr and "hunter2" not in out.stderr + out.stdout


@pytest.mark.parametrize("form", ["userinfo", "at-sign", "query"])
def test_a_password_in_the_url_is_never_printed_nor_given_to_jobs(db_url: str, tmp_path: Path, form: str) -> None:
    # Every form libpq takes: before, ?password= was printed and left world-readable, and
    # aml:pa@ss@host was shown as aml:***@ss@host. The test server trusts loopback: any password goes.
    url = {
        "userinfo": _with_password(db_url, "s3cr3t-pw"),
        "at-sign": _with_password(db_url, "s3cr3t-pw@more"),
        "query": db_url + "?password=s3cr3t-pw",
    }[form]
    project = tmp_path / "p"
    project.mkdir()
    (project / "show_env.py").write_text("import os\nprint(sorted(os.environ.items()))\n")
    out = _aml("init", str(project), "--store", url)
    assert out.returncode == 0, out.stderr
    assert "s3cr3t-pw" not in out.stdout + out.stderr and "***" in out.stdout and "more@" not in out.stdout
    settings = project / ".aml" / "aml.toml"
    assert oct(settings.stat().st_mode & 0o777) == "0o600"  # the password is on disk for its user only
    job = _aml("submit", "show_env.py", "--wait", cwd=project)
    assert job.returncode == 0, job.stderr
    assert "s3cr3t-pw" not in job.stdout + job.stderr and "AML_TRACKING_URI" in job.stdout
    ws = Workspace.open(project)
    try:
        (run,) = aml.list_runs(workspace=ws)
        shown = json.dumps(aml.get_run(run["id"], workspace=ws).to_dict(), default=str)
        assert "s3cr3t-pw" not in shown
        env_rows = ws.store.db.read(lambda c: c.execute(schema.environments.select()).all())
        assert "s3cr3t-pw" not in repr(env_rows)
    finally:
        ws.close()


def test_logging_goes_on_while_the_server_is_away_and_nothing_is_lost(tmp_path: Path) -> None:
    server = pg.start(free_port())  # its own: this test stops it
    try:
        url = server.database()
        ws = aml.Workspace.init(tmp_path / "p", store=url)
        run = aml.start_run("e", workspace=ws)
        for i in range(100):
            run.log("x", float(i), step=i)
        ws.writer.flush()
        pg._as_postgres([str(server.bin / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "fast", "-w", "stop"])
        for i in range(100, 200):
            run.log("x", float(i), step=i)  # buffered; the writer retries in the background
        with pytest.raises(StoreUnreachable, match=r"cannot reach the store .*127\.0\.0\.1"):
            ws.writer.flush()
        log = server.folder / "server.log"
        options = f"-c listen_addresses=127.0.0.1 -p {server.port} -k {server.folder} -c fsync=off"
        data = str(server.folder / "data")
        pg._as_postgres([str(server.bin / "pg_ctl"), "-D", data, "-l", str(log), "-w", "-o", options, "start"])
        server.pid = int((server.folder / "data" / "postmaster.pid").read_text().split()[0])
        run.end()
        back = aml.get_run(run.id, workspace=ws)
        assert back.status == "completed"
        history = back.metric_history("x")
        assert history["step"].tolist() == list(range(200))
        assert history["value"].tolist() == [float(i) for i in range(200)]
        ws.close()
    finally:
        server.stop()


def test_concurrent_registrations_get_versions_one_to_n(ws_pg: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "service"
    folder.mkdir()
    (folder / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    code = f"""
        import aml_jupyter as aml
        for i in range(5):
            aml.register_model("shared", path={str(folder)!r}, tags={{"i": i}})
    """
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=ws_pg.root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    (model,) = aml.list_models(workspace=ws_pg)
    assert (model["name"], model["latest"], model["versions"]) == ("shared", 20, 20)  # 1..20: no gap, no twin
    tags = sorted(aml.get_model_version(f"shared:{v}", workspace=ws_pg).tags["i"] for v in range(1, 21))
    assert tags == sorted([str(i) for i in range(5)] * 4) or tags == sorted(list(range(5)) * 4)


def test_an_older_schema_waits_for_aml_migrate_and_a_newer_one_is_refused(db_url: str, tmp_path: Path) -> None:
    ws = aml.Workspace.init(tmp_path / "p", store=db_url)
    with aml.start_run("e", workspace=ws) as run:
        run.log("x", 1.0)
    ws.close()
    db = Database.connect(db_url)
    try:
        _downgrade_then_migrate(db, db_url, tmp_path, run.id)
    finally:
        db.dispose()


def _downgrade_then_migrate(db: Database, db_url: str, tmp_path: Path, run_id: str) -> None:
    db.write(lambda c: c.execute(schema.schema_version.delete().where(schema.schema_version.c.version >= 5)))
    db.write(
        lambda c: c.exec_driver_sql(
            "DROP TABLE audit_log; DROP TABLE workspace_roles; DROP TABLE workspace_groups; DROP TABLE api_tokens"
        )
    )
    with pytest.raises(StoreSchemaTooOld, match="aml migrate"):
        Database.open(db_url)  # a shared store is never upgraded just by opening it
    with pytest.raises(StoreSchemaTooOld, match="aml migrate"):
        aml.Workspace.init(tmp_path / "joining", store=db_url)  # nor by a new workspace joining it
    assert not (tmp_path / "joining" / ".aml").exists()
    dry = _aml("migrate", "--store", db_url, "--dry-run", "--json")
    assert dry.returncode == 0, dry.stderr
    report = json.loads(dry.stdout)
    assert report["from"] == 4 and [s["version"] for s in report["steps"]] == [5, 6, 7]
    assert db.schema_version() == 4  # a dry run changes nothing
    done = _aml("-w", str(tmp_path / "p"), "migrate")
    assert done.returncode == 0 and "schema 4 -> 7" in done.stdout, done.stderr
    assert "up to date" in _aml("migrate", "--store", db_url).stdout
    ws = Workspace.open(tmp_path / "p")
    assert aml.get_run(run_id, workspace=ws).metrics == {"x": 1.0}
    ws.close()
    db.write(lambda c: c.execute(schema.schema_version.insert().values(version=99, applied_at=0, description="x")))
    with pytest.raises(StoreSchemaTooNew, match="upgrade aml_jupyter"):
        Database.open(db_url)


def test_two_clients_upgrading_at_once_apply_each_step_once(db_url: str) -> None:
    code = f"""
        from aml_jupyter.store.sql.database import Database
        db = Database.connect({db_url!r}); print(db.migrate()); db.dispose()
    """
    procs = [
        subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    applied = [json.loads(p.communicate(timeout=60)[0]) for p in procs]
    assert sorted(v for a in applied for v in a) == [m[0] for m in migrations.MIGRATIONS]


def _fill(ws: Workspace) -> dict[str, object]:
    from aml_jupyter.services.access import set_roles

    with aml.start_run("train", params={"lr": 0.1}, workspace=ws) as run:
        run.log_batch("loss", [1.0 / (i + 1) for i in range(1000)])
        run.set_tags({"team": "a"})
        (ws.root / "notes.txt").write_text("hello")
        run.log_artifact(ws.root / "notes.txt")
    folder = ws.root / "service"
    folder.mkdir()
    (folder / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return data\n")
    aml.register_model("echo", path=folder, workspace=ws)
    (ws.root / "c.csv").write_text("a,b\n1,2\n")
    dp.read(ws.root / "c.csv").register("c", workspace=ws)
    set_roles(ws, {"rita": "reader"})
    ws.store.db.write(
        lambda c: c.execute(
            schema.audit_log.insert().values(at=1, user="olga", action="delete", method="DELETE", path="/x", status=200)
        )
    )
    return {"run": run.id}


def test_copy_store_moves_a_laptop_workspace_into_postgresql_and_s3(
    ws_sqlite: Workspace, db_url: str, s3: S3Server
) -> None:
    made = _fill(ws_sqlite)
    before = aml.get_run(str(made["run"]), workspace=ws_sqlite)
    root = ws_sqlite.root
    ws_sqlite.close()
    bucket = s3.bucket()
    out = _aml("copy-store", str(root), db_url, "--artifacts", bucket, "--switch", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    for table in ("runs", "metric_chunks", "artifacts", "models", "model_versions", "datasets", "audit_log"):
        assert report["rows"][table] >= 1, table
    assert report["rows"]["workspace_roles"] == 1 and report["switched"] and report["artifact_files"] >= 2
    shutil.rmtree(root / ".aml" / "artifacts")  # from now on the files come from the bucket
    ws = Workspace.open(root)
    try:
        assert not ws.store.db.is_sqlite and ws.artifacts.url == bucket
        after = aml.get_run(str(made["run"]), workspace=ws)
        assert (after.params, after.tags.get("team"), after.metrics) == (before.params, "a", before.metrics)
        assert after.metric_history("loss")["value"].tolist() == [1.0 / (i + 1) for i in range(1000)]
        assert after.artifact_path("notes.txt").read_text() == "hello"
        assert aml.load_model("echo", workspace=ws).run([1]) == [1]
        with aml.start_run("train", workspace=ws) as newer:  # ids go on after the copied ones
            pass
        assert newer.pk > after.pk
        assert "is both the source" in _aml("copy-store", str(root), db_url).stderr
        other = aml.Workspace.init(root.parent / "other")
        other.close()
        again = _aml("copy-store", str(other.root), db_url)  # the destination is no longer empty
        assert again.returncode != 0 and "is not empty (1 artifacts," in again.stderr
    finally:
        ws.close()


@pytest.fixture
def ws_pg(db_url: str, tmp_path: Path) -> Iterator[Workspace]:
    project = tmp_path / "project"
    project.mkdir()
    w = aml.Workspace.init(project, name="pg", store=db_url)
    yield w
    w.close()


@pytest.fixture
def ws_sqlite(tmp_path: Path) -> Iterator[Workspace]:
    project = tmp_path / "laptop"
    project.mkdir()
    w = aml.Workspace.init(project, name="laptop")
    yield w
    w.close()


def test_a_flush_whose_commit_lost_its_answer_is_stored_once(db_url: str, tmp_path: Path) -> None:
    # A server store can commit a flush and lose the connection before saying so: the writer
    # then sends it again. Before, its points were stored twice; now the flush's id is marked in
    # the same transaction, and the retry finds it.
    from typing import Any

    ws = Workspace.init(tmp_path / "p", store=db_url)
    try:
        run = aml.start_run("lost-answers", workspace=ws, snapshot=False)
        real, lost = ws.store.write_metrics, []

        def answer_lost(*args: Any, **kwargs: Any) -> Any:
            out = real(*args, **kwargs)
            carried = (args[0] if args else kwargs.get("points")) or (
                args[1] if len(args) > 1 else kwargs.get("series")
            )
            if carried and not lost:
                lost.append(True)
                raise StoreUnreachable("the connection went away before the commit was answered")
            return out

        ws.store.write_metrics = answer_lost  # type: ignore[method-assign]
        run.log_batch("m", [float(i) for i in range(100)], list(range(100)))
        try:
            ws.writer.flush()  # this one, or the writer's own thread before it, loses its answer
        except StoreUnreachable:
            pass
        ws.writer.flush()
        ws.store.write_metrics = real  # type: ignore[method-assign]
        steps, _, _ = ws.store.metric_history(run.pk, "m")
        assert lost and list(steps) == list(range(100))
        run.end()
    finally:
        ws.close()
