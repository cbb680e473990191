"""Creating, discovering and configuring workspaces."""

from __future__ import annotations

from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.config import TrackingSettings, load_config
from aml_jupyter.errors import ConfigError, WorkspaceExists, WorkspaceNotFound
from aml_jupyter.workspace import Workspace
from tests.conftest import write_settings


def test_init_layout(tmp_path: Path) -> None:
    ws = aml.Workspace.init(tmp_path / "new", name="team")
    aml_dir = tmp_path / "new" / ".aml"
    assert sorted(p.name for p in aml_dir.iterdir()) == [".gitignore", "aml.toml", "artifacts", "store.db"]
    assert ws.name == "team"
    assert not list((tmp_path / "new").glob(".aml-init-*"))
    ws.close()


def test_init_twice_is_refused(ws: Workspace) -> None:
    with pytest.raises(WorkspaceExists):
        aml.Workspace.init(ws.root)


def test_discovery_walks_up_and_honours_the_environment(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = ws.root / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    assert Workspace.find() == ws.root
    assert Workspace.open() is Workspace.open(ws.root)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with pytest.raises(WorkspaceNotFound, match="aml init"):
        Workspace.find()
    monkeypatch.setenv("AML_WORKSPACE", str(ws.root))
    assert Workspace.find() == ws.root
    monkeypatch.setenv("AML_WORKSPACE", str(ws.root / ".aml"))
    assert Workspace.find() == ws.root
    monkeypatch.setenv("AML_WORKSPACE", str(elsewhere))
    with pytest.raises(WorkspaceNotFound, match="AML_WORKSPACE"):
        Workspace.find()
    with pytest.raises(WorkspaceNotFound):
        Workspace.open(elsewhere)


def test_settings_from_aml_toml(ws: Workspace) -> None:
    ws = write_settings(
        ws,
        """
        [tracking]
        flush_interval = 0.25
        heartbeat_timeout = 30
        [snapshots]
        enabled = false
    """,
    )
    assert ws.tracking.flush_interval == 0.25
    assert ws.tracking.heartbeat_timeout == 30
    assert ws.snapshots.enabled is False
    assert ws.writer.flush_interval == 0.25


@pytest.mark.parametrize(
    "text,match",
    [
        ("[tracking]\nflush_intervall = 1\n", "unknown setting tracking.flush_intervall"),
        ("[tracking]\nflush_interval = -1\n", "flush_interval must be > 0"),
        ("[tracking]\nflush_interval = 'fast'\n", "tracking"),
        ("[trackin]\n", "unknown table"),
        ("[tracking\n", "not valid TOML"),
        ("tracking = 3\n", "must be a table"),
    ],
)
def test_bad_settings_are_named(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "aml.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match):
        load_config(path)


def test_every_setting_has_help() -> None:
    for name, trait in TrackingSettings.class_own_traits(config=True).items():
        assert trait.help, name


def test_a_missing_settings_file_is_said_the_same_way_everywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from aml_jupyter.cli.main import main
    from aml_jupyter.errors import ConfigError

    ws = Workspace.init(tmp_path / "p")
    ws.close()
    (tmp_path / "p" / ".aml" / "aml.toml").unlink()
    monkeypatch.chdir(tmp_path / "p")
    for argv in (["runs", "list"], ["init", "."], ["-w", str(tmp_path / "p"), "runs", "list"]):
        assert main(argv) == 1
        assert "has no aml.toml: the workspace's settings are missing" in capsys.readouterr().err, argv
    with pytest.raises(ConfigError, match="aml init --repair"):
        Workspace.open(tmp_path / "p" / ".aml")
    assert main(["init", "--repair", "."]) == 0
    capsys.readouterr()
    assert main(["runs", "list", "--json"]) == 0 and capsys.readouterr().out.strip() == "[]"


def test_a_plugged_in_run_store_is_opened_by_its_scheme(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import aml_jupyter.store as store
    from aml_jupyter.errors import ConfigError
    from aml_jupyter.store.sql.database import Database
    from aml_jupyter.store.sql.runs import RunStore

    backing = f"sqlite:///{tmp_path / 'behind.db'}"
    Database.create(backing).dispose()
    opened: list[str] = []

    def factory(url: str, **options: float) -> RunStore:  # a package's store: here, SQLite behind a name
        opened.append(url)
        return RunStore(Database.open(backing), heartbeat_timeout=options["heartbeat_timeout"])

    monkeypatch.setattr(store, "_plugins", lambda: {"memo": lambda: factory})
    ws = aml.Workspace.init(tmp_path / "p", store="memo://team/runs")
    with aml.start_run("e", workspace=ws) as run:
        run.log("x", 1.0)
    assert opened and opened[0] == "memo://team/runs"
    assert aml.get_run(run.id, workspace=aml.Workspace.open(tmp_path / "p")).metrics == {"x": 1.0}
    monkeypatch.setattr(store, "_plugins", dict)
    with pytest.raises(ConfigError, match="no run store serves memo://"):
        aml.Workspace.init(tmp_path / "q", store="memo://team/runs")
    assert not (tmp_path / "q" / ".aml").exists()
