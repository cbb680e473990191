"""Snapshots: ignore rules, dedup, the size limit, restore, diff, the user's git state, gc."""

from __future__ import annotations

import subprocess
import warnings
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidInput, SnapshotError, SnapshotTooLarge
from aml_jupyter.services.maintenance import collect_garbage
from aml_jupyter.workspace import Workspace
from tests.conftest import write_settings


def _snap(ws: Workspace) -> str:
    with aml.start_run("e", workspace=ws) as run:
        pass
    sid = aml.get_run(run.id, workspace=ws).info.snapshot_id
    assert sid
    return sid


def test_snapshot_honours_gitignore_and_amlignore(ws: Workspace) -> None:
    root = ws.root
    (root / ".gitignore").write_text("*.log\n")
    (root / ".amlignore").write_text("data/\n")
    (root / "run.log").write_text("x")
    (root / "data").mkdir()
    (root / "data" / "big.csv").write_text("1,2")
    (root / "src").mkdir()
    (root / "src" / "model.py").write_text("pass")
    (root / "__pycache__").mkdir()
    (root / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    files = ws.snapshot_store.files(_snap(ws))
    assert files == [".amlignore", ".gitignore", "src/model.py", "train.py"]


def test_unchanged_folder_gives_the_same_snapshot_and_a_change_a_new_one(ws: Workspace) -> None:
    first = _snap(ws)
    assert _snap(ws) == first
    (ws.root / "train.py").write_text("print('changed')\n")
    second = _snap(ws)
    assert second != first
    (ws.root / "new.py").write_text("x = 1\n")
    third = _snap(ws)
    assert "new.py" in ws.snapshot_store.files(third)
    (ws.root / "new.py").unlink()
    assert _snap(ws) == second  # same content, same id


def test_a_file_ignored_later_leaves_the_snapshot(ws: Workspace) -> None:
    (ws.root / "secret.txt").write_text("s")
    assert "secret.txt" in ws.snapshot_store.files(_snap(ws))
    (ws.root / ".amlignore").write_text("secret.txt\n")
    assert "secret.txt" not in ws.snapshot_store.files(_snap(ws))


def test_the_size_limit_names_the_largest_files_and_fails_the_run(ws: Workspace) -> None:
    ws = write_settings(
        ws,
        """
        [snapshots]
        max_bytes = 100000
    """,
    )
    (ws.root / "data").mkdir()
    (ws.root / "data" / "big.bin").write_bytes(b"\0" * 200_000)
    with pytest.raises(SnapshotTooLarge) as info:
        aml.start_run("e", workspace=ws)
    message = str(info.value)
    assert "data/big.bin" in message and "data/" in message and ".amlignore" in message
    assert info.value.fields["largest"][0] == ("data/big.bin", 200_000)
    frame = aml.search_runs(workspace=ws)
    assert frame["status"].tolist() == ["failed"]
    (ws.root / ".amlignore").write_text("data/\n")
    with aml.start_run("e", workspace=ws):
        pass


def test_restore_into_a_new_folder_and_refuse_to_overwrite(ws: Workspace, tmp_path: Path) -> None:
    (ws.root / "pkg").mkdir()
    (ws.root / "pkg" / "m.py").write_text("VALUE = 1\n")
    sid = _snap(ws)
    dest = tmp_path / "restored"
    assert ws.snapshot_store.restore(sid, dest) == ["pkg/m.py", "train.py"]
    assert (dest / "pkg" / "m.py").read_text() == "VALUE = 1\n"
    with pytest.raises(SnapshotError, match="not empty"):
        ws.snapshot_store.restore(sid, dest)
    with pytest.raises(InvalidInput):
        ws.snapshot_store.restore("--upload-pack=evil", tmp_path / "x")


def test_restore_to_a_relative_path_writes_the_files_there(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sid = _snap(ws)
    monkeypatch.chdir(ws.root)  # the README's `aml snapshot restore RUN --to ../restored`
    assert ws.snapshot_store.restore(sid, Path("../restored")) == ["train.py"]
    assert (tmp_path / "restored" / "train.py").read_text() == "print('hello')\n"
    leftovers = [p.name for p in [*ws.aml_dir.rglob("*restore*"), *tmp_path.glob(".aml-restore*")]]
    assert leftovers == []


def test_a_failed_restore_leaves_no_folder_behind(ws: Workspace, tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="no snapshot"):
        ws.snapshot_store.restore("0" * 40, tmp_path / "ghost" / "deep" / "folder")
    assert not (tmp_path / "ghost").exists()


def test_diff_between_two_snapshots(ws: Workspace) -> None:
    a = _snap(ws)
    (ws.root / "train.py").write_text("print('hello, world')\n")
    (ws.root / "extra.py").write_text("pass\n")
    b = _snap(ws)
    changes, patch = ws.snapshot_store.diff(a, b)
    assert changes == [("A", "extra.py"), ("M", "train.py")]
    assert "-print('hello')" in patch and "+print('hello, world')" in patch


def test_user_git_state_is_recorded_without_credentials(ws: Workspace) -> None:
    def git(*args: str) -> None:
        subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args], cwd=ws.root, check=True, capture_output=True
        )

    git("init", "-q", "-b", "main")
    git("remote", "add", "origin", "https://alice:s3cret@git.example.com/team/proj.git")
    git("add", "train.py")
    git("commit", "-q", "-m", "first")
    (ws.root / "train.py").write_text("print('dirty')\n")
    with aml.start_run("e", workspace=ws) as run:
        pass
    g = aml.get_run(run.id, workspace=ws).info.git
    assert g is not None
    assert g["branch"] == "main" and len(g["commit"]) == 40 and g["dirty"] is True
    assert "+print('dirty')" in g["diff"]
    assert g["remote"] == "https://git.example.com/team/proj.git"
    assert "s3cret" not in str(g)
    # our private snapshot repository did not touch the user's
    assert not (ws.root / ".git" / "refs" / "trees").exists()


def test_gc_removes_only_what_no_run_references(ws: Workspace, tmp_path: Path) -> None:
    keep_file, drop_file = tmp_path / "keep.txt", tmp_path / "drop.txt"
    keep_file.write_text("keep")
    drop_file.write_text("drop")
    with aml.start_run("e", workspace=ws) as keep:
        keep.log_artifact(keep_file)
    (ws.root / "train.py").write_text("print('v2')\n")
    with aml.start_run("e", workspace=ws) as drop:
        drop.log_artifact(drop_file)
    keep_snap = aml.get_run(keep.id, workspace=ws).info.snapshot_id
    drop_snap = aml.get_run(drop.id, workspace=ws).info.snapshot_id
    aml.delete_runs([drop.id], workspace=ws)
    assert collect_garbage(ws, dry_run=True)["artifacts"] == []  # too young by default
    report = collect_garbage(ws, dry_run=True, min_age=0)
    assert len(report["artifacts"]) == 1 and report["snapshots"] == [drop_snap]
    assert len(ws.artifacts.digests()) == 2  # dry run removed nothing
    collect_garbage(ws, min_age=0)
    assert len(ws.artifacts.digests()) == 1
    assert ws.snapshot_store.all_snapshots() == {keep_snap}
    assert aml.get_run(keep.id, workspace=ws).artifact_path("keep.txt").read_text() == "keep"
    assert ws.snapshot_store.files(keep_snap) == ["train.py"]


def test_snapshots_can_be_turned_off(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws, snapshot=False) as run:
        pass
    assert aml.get_run(run.id, workspace=ws).info.snapshot_id is None


def test_an_empty_snapshot_warns_once(tmp_path: Path) -> None:
    from aml_jupyter.errors import EmptySnapshotWarning

    empty = aml.Workspace.init(tmp_path / "empty")
    with pytest.warns(EmptySnapshotWarning, match="holds no file") as seen:
        aml.start_run("e", workspace=empty).end()
    assert seen[0].filename == __file__  # points at the caller's start_run
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        aml.start_run("e", workspace=empty).end()  # unchanged folder: said once
    empty.close()


def test_init_with_exist_ok_opens_the_workspace(ws: Workspace) -> None:
    from aml_jupyter.errors import WorkspaceExists

    with pytest.raises(WorkspaceExists, match="exist_ok=True"):
        aml.Workspace.init(ws.root)
    again = aml.Workspace.init(ws.root, name="other", exist_ok=True)
    assert again.root == ws.root and again.name == "test"
