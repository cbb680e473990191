"""Artifact files on an S3-compatible server and on a folder through fsspec's file://.

The run, model and REST tests use S3 artifacts in their PostgreSQL variant (the `ws` fixture);
this module has the faults only an object store has.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import ArtifactNotFound, ConfigError, InvalidInput, StoreCorrupt, StoreError
from aml_jupyter.store.files import open_artifacts
from aml_jupyter.store.files.remote import FsspecArtifactStore
from aml_jupyter.workspace import Workspace
from tests.objectstore import S3Server

pytestmark = pytest.mark.sqlite_only  # each test says which backend it uses
AML = str(Path(sys.executable).with_name("aml"))


def test_a_folder_through_file_urls_keeps_content_by_digest(tmp_path: Path) -> None:
    store = open_artifacts(f"file://{tmp_path / 'objects'}")
    assert isinstance(store, FsspecArtifactStore)
    digest, size = store.put_bytes(b"hello")
    assert store.put_bytes(b"hello") == (digest, size)  # one copy
    assert (tmp_path / "objects" / digest[:2] / digest[2:]).read_bytes() == b"hello"
    assert store.read_bytes(digest) == b"hello" and store.digests() == {digest: 5}
    assert store.sweep(set(), min_age=0) == [(digest, 5)] and store.digests() == {}


def test_a_failed_upload_leaves_nothing_visible(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_artifacts(f"file://{tmp_path / 'objects'}")
    assert isinstance(store, FsspecArtifactStore)

    def broken_mv(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store.fs, "mv", broken_mv)
    with pytest.raises(StoreError, match="cannot upload artifacts .* No space left"):
        store.put_bytes(b"x" * 1000)
    assert store.digests() == {}
    assert [p for p in (tmp_path / "objects").rglob("*") if p.is_file()] == []  # no temporary left


def test_urls_that_climb_out_of_their_prefix_or_name_no_backend_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="climb out"):
        open_artifacts("s3://bucket/prefix/../other")
    with pytest.raises(ConfigError, match="no artifact store serves nosuch://"):
        open_artifacts("nosuch://x/y")
    store = open_artifacts(f"file://{tmp_path}")
    with pytest.raises(InvalidInput, match="not a content digest"):
        store.path_of("../../etc/passwd")


def test_s3_artifacts_round_trip_and_are_checked_on_read(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    ws = aml.Workspace.init(tmp_path / "p", artifacts=bucket)
    try:
        (ws.root / "model.bin").write_bytes(os.urandom(200_000))
        with aml.start_run("e", workspace=ws) as run:
            run.log_artifact(ws.root / "model.bin")
            run.log_text("notes", "hello")
        back = aml.get_run(run.id, workspace=ws)
        assert back.artifact_path("model.bin").read_bytes() == (ws.root / "model.bin").read_bytes()
        (art,) = [a for a in back.artifacts if a.name == "model.bin"]
        store = ws.artifacts
        assert isinstance(store, FsspecArtifactStore) and store.exists(art.digest)
        store.fs.pipe_file(store.key_of(art.digest), b"tampered")  # someone overwrites the object
        store.cache.path_of(art.digest).unlink()
        with pytest.raises(StoreCorrupt, match="is damaged"):
            back.artifact_path("model.bin")
        assert not store.cache.path_of(art.digest).exists()  # the bad copy is not kept
        store.fs.rm(store.key_of(art.digest))
        with pytest.raises(ArtifactNotFound, match="missing from s3://"):
            back.artifact_path("model.bin")
    finally:
        ws.close()


def test_an_upload_killed_midway_is_never_visible(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket(own=True)  # its multipart uploads are listed by bucket
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(20 << 20))
    # The child uploads in parts of 5 MB and stops for good after the first part is sent: then it
    # is killed, its upload half done.
    code = f"""
        import asyncio, functools
        from aml_jupyter.store.files import open_artifacts
        store = open_artifacts({bucket!r})
        store.fs.put_file = functools.partial(store.fs.put_file, chunksize=5 << 20)
        call, sent = store.fs._call_s3, []

        async def stalling(method, *args, **kwargs):
            if method == "upload_part" and sent:
                print("midway", flush=True)
                await asyncio.sleep(600)
            out = await call(method, *args, **kwargs)
            sent.append(method == "upload_part" or None)
            return out

        store.fs._call_s3 = stalling
        store.put_file({str(big)!r})
        print("done", flush=True)
    """
    with subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    assert line == "midway"
    import s3fs

    assert s3fs.S3FileSystem(skip_instance_cache=True).list_multipart_uploads(bucket.split("/")[2])  # begun
    store = open_artifacts(bucket)
    assert store.digests() == {}  # the parts uploaded so far are not an object
    ws = aml.Workspace.init(tmp_path / "p", artifacts=bucket)
    try:
        with aml.start_run("e", workspace=ws) as run:
            run.log_artifact(big)  # a new upload of the same content completes
        assert aml.get_run(run.id, workspace=ws).artifact_path("big.bin").stat().st_size == 20 << 20
    finally:
        ws.close()


def test_aml_init_with_artifacts_on_s3_and_gc(s3: S3Server, tmp_path: Path) -> None:
    bucket = s3.bucket()
    out = subprocess.run(
        [AML, "init", str(tmp_path / "p"), "--artifacts", bucket], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert f'artifacts_url = "{bucket}"' in (tmp_path / "p" / ".aml" / "aml.toml").read_text()
    ws = Workspace.open(tmp_path / "p")
    try:
        digest, _ = ws.artifacts.put_bytes(b"orphan")  # no run refers to it
        report = subprocess.run(
            [AML, "-w", str(ws.root), "gc", "--min-age", "0", "--json"], capture_output=True, text=True, timeout=60
        )
        assert report.returncode == 0 and digest in report.stdout, report.stderr
        assert ws.artifacts.digests() == {}
    finally:
        ws.close()
    wrong = subprocess.run(
        [AML, "init", str(tmp_path / "q"), "--artifacts", "s3://no-such-bucket-here/x"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert wrong.returncode != 0 and "no-such-bucket-here" in wrong.stderr
    assert not (tmp_path / "q" / ".aml").exists()
