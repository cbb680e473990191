"""`aml server` streams a 5 GB upload and its download in constant memory (a module of its own:
it is the suite's longest single test, and the workers share files, not tests)."""

from __future__ import annotations

import http.client
import json
import os
import shutil
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.services import access

from .test_team_server import Team, _start, _stop, _wait_healthy


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.mark.slow
def test_a_5_gb_upload_and_its_download_stream_in_constant_memory(tmp_path: Path) -> None:
    shm = Path("/dev/shm")  # memory-backed when it has room: the test measures the server, not the disk
    size = 5 * 1000**3
    room = shutil.disk_usage(shm).free if shm.is_dir() else 0
    folder = Path(tempfile_in(shm)) if room > 2.5 * size else tmp_path
    try:
        ws = aml.Workspace.init(folder / "p")
        access.set_roles(ws, {"alice": "contributor"})
        secret, _ = access.create_token(ws, "alice")
        ws.close()
        proc, port = _start(["-w", str(folder / "p")])
        url = f"http://127.0.0.1:{port}"
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
        try:
            _wait_healthy(url)
            team = Team(ws, url, {"alice": secret})
            status, run, _ = team.call("POST", "/api/v1/runs", "alice", {"experiment": "big"})
            before = _peak_kib(proc.pid)
            block = os.urandom(1 << 20)
            conn.putrequest("PUT", f"/api/v1/runs/{run['id']}/artifacts/weights.bin")
            conn.putheader("Authorization", f"Bearer {secret}")
            conn.putheader("Content-Length", str(size))
            conn.endheaders()
            left = size
            while left:
                piece = block[: min(len(block), left)]
                conn.send(piece)
                left -= len(piece)
            answer = conn.getresponse()
            stored = json.loads(answer.read())
            # The content's digest is checked by the smaller streamed test beside the others; hashing
            # 5 GB here too would only cost the suite time.
            assert answer.status == 200 and stored["size"] == size and len(stored["digest"]) == 64
            after_upload = _peak_kib(proc.pid)
            conn.request(
                "GET", f"/api/v1/runs/{run['id']}/artifacts/weights.bin", headers={"Authorization": f"Bearer {secret}"}
            )
            answer = conn.getresponse()
            n, first = 0, b""
            while chunk := answer.read(1 << 20):  # size and start here
                first = first or chunk
                n += len(chunk)
            assert answer.status == 200 and n == size and block.startswith(first)
            after_download = _peak_kib(proc.pid)
        finally:
            conn.close()
            _stop(proc)
        assert after_upload - before < 200 * 1024, f"the upload took {(after_upload - before) // 1024} MiB"
        assert after_download - before < 200 * 1024, f"the download took {(after_download - before) // 1024} MiB"
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder, ignore_errors=True)


def tempfile_in(folder: Path) -> str:
    import tempfile

    return tempfile.mkdtemp(dir=folder, prefix="aml-test-")
