"""`aml server`'s HTTP layer in process (uvicorn in a thread): the token before the body,
Content-Length checked against the route's limit, bodies read under a deadline, and bursts of
clients all answered."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.entities.lifecycle import RunStatus
from aml_jupyter.server.team import TeamServer, start_in_thread

TOKEN = "tok-http-7c1"


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, str]]:
    ws = aml.Workspace.init(tmp_path_factory.mktemp("http") / "project")
    record = ws.store.create_run(
        ws.store.experiment_id("e", create=True),
        source_kind="script",
        user="t",
        status=RunStatus.RUNNING,
        tags={"aml.attempt": "2"},
    )
    handle = start_in_thread(TeamServer(ws, TOKEN, read_timeout=0.5).app)
    try:
        yield "127.0.0.1", handle.port, record.id
    finally:
        handle.stop()
        ws.close()


def _raw(address: tuple[str, int, str], head: str, body: bytes = b"", timeout: float = 5) -> bytes:
    """Send ``head`` (request line and headers) and ``body``; what the server answers before closing."""
    with socket.create_connection(address[:2], timeout=timeout) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b"Connection: close" not in b"".join(chunks):
                break
        return b"".join(chunks)


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1]) if answer else 0


def test_no_token_is_refused_before_the_body_is_read(address: tuple[str, int, str]) -> None:
    started = time.monotonic()
    answer = _raw(address, f"POST /api/v1/runs HTTP/1.1\nHost: x\nContent-Length: {400 * 1024 * 1024}\n")
    assert _status(answer) == 401 and time.monotonic() - started < 2  # it did not wait for 400 MB


@pytest.mark.parametrize("length", ["-5", "abc", "1e3", "99999999999999999999999"])
def test_a_bad_content_length_is_a_400(address: tuple[str, int, str], length: str) -> None:
    answer = _raw(
        address, f"POST /api/v1/runs HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\nContent-Length: {length}\n"
    )
    assert _status(answer) == 400  # said by the HTTP parser or by aml, before any body is read


def test_a_body_over_the_routes_limit_is_a_413_unread(address: tuple[str, int, str]) -> None:
    run = address[2]
    answer = _raw(
        address,
        f"POST /api/v1/runs/{run}/metrics HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\n"
        f"Content-Length: {17 * 1024 * 1024}\n",
    )
    assert _status(answer) == 413


def test_a_short_body_ends_its_connection_after_the_read_deadline(address: tuple[str, int, str]) -> None:
    started = time.monotonic()
    answer = _raw(
        address,
        f"POST /api/v1/runs HTTP/1.1\nHost: x\nAuthorization: Bearer {TOKEN}\nContent-Length: 100\n",
        b'{"experiment"',
    )
    assert _status(answer) == 408 and b"Connection: close" in answer.replace(b"connection: close", b"Connection: close")
    assert time.monotonic() - started < 4


def test_two_hundred_clients_at_once_are_all_answered(address: tuple[str, int, str]) -> None:
    import urllib.request

    url = f"http://{address[0]}:{address[1]}/api/v1/runs/{address[2]}/metrics"

    def post(i: int) -> int:
        body = json.dumps({"metrics": [{"key": "m", "value": float(i), "step": i}]}).encode()
        req = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status

    with ThreadPoolExecutor(200) as pool:
        statuses = list(pool.map(post, range(200)))
    assert statuses == [200] * 200


def test_token_on_the_command_line_is_refused_and_read_from_a_file_or_stdin(tmp_path: Path) -> None:
    # `ps` shows every process's arguments to every local user: an owner token never goes there.
    import os
    import subprocess
    import sys

    from tests.conftest import free_port, wait_healthy

    aml.Workspace.init(tmp_path / "p")
    aml_cmd = str(Path(sys.executable).with_name("aml"))
    base = [aml_cmd, "-w", str(tmp_path / "p"), "server"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("AML_")} | {"PYTHONUNBUFFERED": "1"}
    refused = subprocess.run([*base, "--token", "s3cret-on-argv"], capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode != 0 and "--token-file" in refused.stderr and "s3cret" not in refused.stderr
    (tmp_path / "token").write_text("s3cret-in-a-file\n")
    empty = subprocess.run([*base, "--token-stdin"], input="\n", capture_output=True, text=True, env=env, timeout=60)
    assert empty.returncode != 0 and "may not be empty" in empty.stderr
    port = free_port()
    proc = subprocess.Popen(
        [*base, "--port", str(port), "--token-file", str(tmp_path / "token")],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)  # type: ignore[arg-type]
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/experiments")
        req.add_header("Authorization", "Bearer s3cret-in-a-file")
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert "AML_TRACKING_URI=" in lines[1] and "s3cret" not in "".join(lines)


@pytest.mark.parametrize(
    "body",
    [
        b'{"metrics": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
        b'{"metrics": [{"key": "m", "value": 1.0, "step": 0, "timestamp": 1' + b"0" * 400 + b"}]}",
        b'{"metrics": [{"key": "m", "value": 1' + b"0" * 400 + b', "step": 0}]}',
    ],
)
def test_bodies_that_break_parsers_are_400_json(address: tuple[str, int, str], body: bytes) -> None:
    import urllib.error
    import urllib.request

    url = f"http://{address[0]}:{address[1]}/api/v1/runs/{address[2]}/metrics"
    req = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(req, timeout=30)
    assert answer.value.code == 400
    assert json.loads(answer.value.read())["error"]


def test_a_superseded_attempt_is_refused_over_http(address: tuple[str, int, str]) -> None:
    import urllib.error
    import urllib.request

    def post(attempt: str) -> tuple[int, dict]:  # type: ignore[type-arg]
        url = f"http://{address[0]}:{address[1]}/api/v1/runs/{address[2]}/metrics?attempt={attempt}"
        body = json.dumps({"metrics": [{"key": "late", "value": 1.0, "step": 0}]}).encode()
        req = urllib.request.Request(url, data=body, method="POST", headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    status, body = post("1")  # the attempt a retry took over from
    assert status == 409 and body["type"] == "AttemptSuperseded" and "attempt 2 has taken over" in body["error"]
    assert post("2")[0] == 200
