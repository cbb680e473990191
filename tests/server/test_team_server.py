"""The team server (`aml server` on uvicorn): per-user tokens and roles, revocation, streamed
uploads in constant memory, gzip, /health and /metrics, and TLS with several workers on
PostgreSQL + S3."""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter.server.team import TeamServer, start_in_thread
from aml_jupyter.services import access
from aml_jupyter.workspace import Workspace
from tests.conftest import free_port

SERVER_TOKEN = "team-server-token-9d1"
AML = str(Path(sys.executable).with_name("aml"))


class Team:
    def __init__(self, ws: Workspace, url: str, tokens: dict[str, str]) -> None:
        self.ws, self.url, self.tokens = ws, url, tokens

    def call(
        self, method: str, path: str, who: str | None, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any, dict[str, str]]:
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers or {})
        if who is not None:
            req.add_header("Authorization", f"Bearer {self.tokens.get(who, who)}")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                raw, status, got = resp.read(), resp.status, dict(resp.headers)
        except urllib.error.HTTPError as exc:
            raw, status, got = exc.read(), exc.code, dict(exc.headers)
        got = {k.lower(): v for k, v in got.items()}
        if got.get("content-encoding") == "gzip":
            raw = gzip.decompress(raw)
        try:
            return status, json.loads(raw), got
        except ValueError:
            return status, raw, got


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    ws = aml.Workspace.init(tmp_path_factory.mktemp("team") / "project")
    tokens = {}
    for user, role in [("alice", "contributor"), ("rita", "reader"), ("olga", "owner")]:
        access.set_roles(ws, {user: role})
        tokens[user] = access.create_token(ws, user, "test")[0]
    handle = start_in_thread(TeamServer(ws, SERVER_TOKEN, default_role="", role_ttl=0.0).app)
    try:
        yield Team(ws, handle.url, tokens)
    finally:
        handle.stop()
        ws.close()


def test_each_user_acts_under_their_own_role_and_the_audit_says_who(team: Team) -> None:
    status, run, _ = team.call("POST", "/api/v1/runs", "alice", {"experiment": "team", "params": {"lr": "0.1"}})
    assert status == 201 and run["user"] == "alice"
    points = {"metrics": [{"key": "loss", "value": 0.5, "step": 0}]}
    assert team.call("POST", f"/api/v1/runs/{run['id']}/metrics", "alice", points)[0] == 200
    assert team.call("GET", f"/api/v1/runs/{run['id']}", "rita")[0] == 200
    status, body, _ = team.call("POST", "/api/v1/runs", "rita", {"experiment": "team"})
    assert status == 403 and "needs a role" in body["error"]
    assert team.call("GET", "/api/v1/audit", "alice")[0] == 403  # admin only
    assert team.call("GET", "/api/v1/me", "rita")[1] == {"user": "rita", "actions": ["read"]}
    assert team.call("GET", "/api/v1/me", "alice")[1]["actions"] == ["execute", "read", "write"]
    assert team.call("GET", "/api/v1/runs", "aml_00000000_forged")[0] == 401
    assert team.call("GET", "/api/v1/runs", None)[0] == 401
    status, body, _ = team.call("GET", "/api/v1/audit", "olga")
    seen = {(e["user"], e["method"], e["path"], e["status"]) for e in body["entries"]}
    assert ("alice", "POST", "/api/v1/runs", 201) in seen and ("rita", "POST", "/api/v1/runs", 403) in seen
    kept = json.dumps(access.list_tokens(team.ws)) + json.dumps(body)
    assert not any(secret in kept for secret in team.tokens.values())  # only digests are stored


def test_a_group_role_and_a_role_change_reach_the_server(team: Team) -> None:
    secret, _ = access.create_token(team.ws, "gus")
    team.tokens["gus"] = secret
    assert team.call("GET", "/api/v1/runs", "gus")[0] == 403  # no role, and the default is none
    status, body, _ = team.call("PUT", "/api/v1/roles", "olga", {"roles": {"ml": "reader"}, "groups": {"ml": ["gus"]}})
    assert status == 200 and body["groups"] == {"ml": ["gus"]}
    assert team.call("GET", "/api/v1/runs", "gus")[0] == 200  # at once here (role_ttl=0)
    bad = team.call("PUT", "/api/v1/roles", "olga", {"roles": {"x": "admin"}, "groups": {"ml": []}})
    assert bad[0] == 400 and access.stored_groups(team.ws) == {"ml": ["gus"]}  # nothing written


def test_revoked_and_expired_tokens_are_refused_with_the_reason(team: Team) -> None:
    secret, row = access.create_token(team.ws, "alice", "short", expires_days=1e-7)
    time.sleep(0.05)
    status, body, _ = team.call("GET", "/api/v1/runs", secret)
    assert status == 401 and "expired" in body["error"] and secret not in body["error"]
    secret, row = access.create_token(team.ws, "alice", "laptop")
    assert team.call("GET", "/api/v1/runs", secret)[0] == 200
    access.revoke_token(team.ws, row["id"])
    status, body, _ = team.call("GET", "/api/v1/runs", secret)
    assert status == 401 and f"token {row['id']} (laptop) of alice was revoked" in body["error"]


def test_a_job_whose_token_is_revoked_mid_run_ends_failed_with_the_reason(team: Team, tmp_path: Path) -> None:
    secret, row = access.create_token(team.ws, "alice", "job")
    team.tokens["alice-job"] = secret
    status, run, _ = team.call("POST", "/api/v1/runs", "alice-job", {"experiment": "team"})
    assert status == 201
    code = textwrap.dedent(
        """
        import sys, time, aml_jupyter as aml
        for i in range(100000):
            aml.log("x", float(i))
            aml.active_run().flush()
            if i == 0:
                print("logging", flush=True)
            time.sleep(0.05)
        """
    )
    env = {**os.environ, "AML_RUN_ID": run["id"], "AML_TRACKING_URI": team.url, "AML_TRACKING_TOKEN": secret}
    job = subprocess.Popen(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert job.stdout is not None and job.stdout.readline().strip() == "logging"
        revoked = subprocess.run(
            [AML, "-w", str(team.ws.root), "tokens", "revoke", row["id"]], capture_output=True, text=True, timeout=60
        )
        assert revoked.returncode == 0, revoked.stderr
        _, err = job.communicate(timeout=60)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode != 0 and "revoked" in err
    record = aml.get_run(run["id"], workspace=team.ws)
    assert record.status == "failed" and "revoked" in (team.ws.store.get_run(run["id"]).error or "")
    assert len(record.metric_history("x")) > 0  # what it logged before stays


def test_a_revoked_token_ends_only_the_run_it_wrote(team: Team) -> None:
    # Before: the refusal ended every live run of the token's user, those of other tokens too.
    secret, row = access.create_token(team.ws, "alice", "one-job")
    team.tokens["alice-one"] = secret
    written = team.call("POST", "/api/v1/runs", "alice-one", {"experiment": "team"})[1]
    other = team.call("POST", "/api/v1/runs", "alice", {"experiment": "team"})[1]
    access.revoke_token(team.ws, row["id"])
    for run in (written, other):
        assert team.call("POST", f"/api/v1/runs/{run['id']}/params", "alice-one", {"params": {"a": 1}})[0] == 401
    assert aml.get_run(written["id"], workspace=team.ws).status == "failed"
    assert aml.get_run(other["id"], workspace=team.ws).status == "running"
    # The refused writes are in the audit log, under the token's user (before: nowhere).
    entries = access.audit_entries(team.ws, 20)
    refused = [e for e in entries if e["status"] == 401 and e["path"].endswith("/params")]
    assert len(refused) == 2 and {e["user"] for e in refused} == {"alice"}
    # So are refused uploads: to an ended run (409), and one over the limit (413), before any byte.
    ended = f"/api/v1/runs/{written['id']}/artifacts/x.bin"
    assert team.call("PUT", ended, "alice", b"", {"Content-Type": "application/octet-stream"})[0] in (400, 409)
    live = f"/api/v1/runs/{other['id']}/artifacts/big.bin"
    req = urllib.request.Request(team.url + live, method="PUT", data=b"x")
    req.add_header("Authorization", f"Bearer {team.tokens['alice']}")
    req.add_header("Content-Length", str(1 << 50))
    try:
        urllib.request.urlopen(req, timeout=30)
    except urllib.error.HTTPError as exc:
        assert exc.code == 413 and json.loads(exc.read())["type"] == "TooLarge"
    else:
        raise AssertionError("a body over the limit was taken")
    statuses = {(e["path"], e["status"]) for e in access.audit_entries(team.ws, 20)}
    assert (live, 413) in statuses and any(p == ended and st >= 400 for p, st in statuses)
    team.call("POST", f"/api/v1/runs/{other['id']}/transition", "alice", {"event": "complete"})


def test_clients_may_not_set_aml_tags_nor_store_non_scalar_values(team: Team) -> None:
    run = team.call("POST", "/api/v1/runs", "alice", {"experiment": "team"})[1]
    for tags in ({"aml.job_dir": "/etc"}, {"aml.args": '["--evil"]'}, {"aml.requirements": "../../x.txt"}):
        status, answer, _ = team.call("POST", f"/api/v1/runs/{run['id']}/tags", "olga", {"tags": tags})
        assert status == 400 and "aml's own" in answer["error"]
    status, answer, _ = team.call("POST", "/api/v1/runs", "alice", {"experiment": "team", "tags": {"aml.data": "[]"}})
    assert status == 400 and "aml's own" in answer["error"]
    for bad in ({"b": [1, 2]}, {"b": {"c": 1}}, {"b": None}):
        for route, key in (("params", "params"), ("tags", "tags")):
            status, answer, _ = team.call("POST", f"/api/v1/runs/{run['id']}/{route}", "alice", {key: bad})
            assert status == 400 and "text, a number or a boolean" in answer["error"], answer
    record = aml.get_run(run["id"], workspace=team.ws)
    assert not record.params and [k for k in record.tags if k.startswith("aml.")] == ["aml.created_with"]
    assert team.call("POST", f"/api/v1/runs/{run['id']}/tags", "alice", {"tags": {"team": "a", "n": 3}})[0] == 200
    status, answer, _ = team.call("POST", f"/api/v1/runs/{run['id']}/transition", "alice", {"event": None})
    assert status == 400 and "must be one of" in answer["error"] and "complete" in answer["error"]
    team.call("POST", f"/api/v1/runs/{run['id']}/transition", "alice", {"event": "complete"})


def test_a_run_scoped_token_touches_its_run_alone_and_dies_with_it(team: Team) -> None:
    run = team.call("POST", "/api/v1/runs", "alice", {"experiment": "team"})[1]
    other = team.call("POST", "/api/v1/runs", "alice", {"experiment": "team"})[1]
    team.tokens["job"] = access.create_run_token(team.ws, run["id"], "rita")  # a reader's job still logs
    base = f"/api/v1/runs/{run['id']}"
    assert team.call("POST", base + "/metrics", "job", {"metrics": [{"key": "m", "value": 1.0, "step": 0}]})[0] == 200
    assert team.call("POST", base + "/tags", "job", {"tags": {"aml.host": "worker-1"}})[0] == 200
    assert team.call("POST", base + "/tags", "job", {"tags": {"aml.args": "[]"}})[0] == 400
    assert team.call("PUT", "/api/v1/roles", "job", {"roles": {"rita": "owner"}})[0] == 403
    assert team.call("POST", f"/api/v1/runs/{other['id']}/tags", "job", {"tags": {"x": "y"}})[0] == 403
    assert team.call("GET", "/api/v1/runs", "job")[0] == 403
    assert access.role_of(team.ws, "rita") == "reader"
    assert team.call("POST", base + "/transition", "job", {"event": "complete"})[0] == 200
    status, answer, _ = team.call("GET", base, "job")
    assert status == 401 and "has ended" in answer["error"]
    team.call("POST", f"/api/v1/runs/{other['id']}/transition", "alice", {"event": "complete"})


def test_gzip_health_and_prometheus_metrics(team: Team) -> None:
    for _ in range(12):
        team.call(
            "POST", "/api/v1/runs", "alice", {"experiment": "gz", "params": {f"p{j}": "v" * 20 for j in range(8)}}
        )
    status, body, headers = team.call("GET", "/api/v1/runs?max_results=50", "rita", headers={"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("content-encoding") == "gzip" and len(body["runs"]) >= 12
    assert team.call("GET", "/health", None)[:2] == (200, {"ok": True})
    assert team.call("GET", "/metrics", None)[0] == 401
    status, text, headers = team.call("GET", "/metrics", "rita")
    assert status == 200 and headers["content-type"].startswith("text/plain")
    text = text.decode()
    assert 'aml_http_requests_total{method="POST",route="/api/v1/runs",status="201"}' in text
    assert "aml_metric_points_total" in text and "aml_http_request_duration_seconds_bucket" in text


# real server processes ----------------------------------------------------------------------


def _start(args: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [AML, *args, "server", "--port", str(port)],
        env={**os.environ, "AML_SERVER_TOKEN": SERVER_TOKEN, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and "aml tracking server" in proc.stdout.readline()
    return proc, port


def _stop(proc: subprocess.Popen[str]) -> None:
    os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()


def _wait_healthy(url: str, context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(url + "/health", timeout=5, context=context) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            pass
        assert time.monotonic() < deadline, "the server never became healthy"
        time.sleep(0.1)


@pytest.mark.slow
def test_tls_with_two_workers_on_postgresql_and_s3(postgres: Any, s3: Any, tmp_path: Path) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("no openssl here to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    made = subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
        + ["-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        capture_output=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    ws = aml.Workspace.init(tmp_path / "p", store=postgres.database(), artifacts=s3.bucket())
    access.set_roles(ws, {"alice": "contributor"})
    secret, _ = access.create_token(ws, "alice")
    proc, port = _start_tls(ws.root, cert, key)
    url = f"https://127.0.0.1:{port}"
    context = ssl.create_default_context(cafile=str(cert))
    try:
        _wait_healthy(url, context)
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout.split()
        assert len(children) >= 2  # the workers (uvicorn's supervisor is the parent)

        def call(method: str, path: str, body: Any) -> tuple[int, Any]:
            req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method=method)
            req.add_header("Authorization", f"Bearer {secret}")
            with urllib.request.urlopen(req, timeout=30, context=context) as resp:
                return resp.status, json.loads(resp.read())

        status, run = call("POST", "/api/v1/runs", {"experiment": "tls"})
        assert status == 201

        def log(i: int) -> int:
            batch = [{"key": f"k{i}", "value": float(s), "step": s} for s in range(50)]
            return call("POST", f"/api/v1/runs/{run['id']}/metrics", {"metrics": batch})[0]

        with ThreadPoolExecutor(16) as pool:
            assert list(pool.map(log, range(64))) == [200] * 64
        record = aml.get_run(run["id"], workspace=Workspace.open(ws.root))
        assert len(record.metrics) == 64 and len(record.metric_history("k7")) == 50
        req = urllib.request.Request(url + "/metrics", headers={"Authorization": f"Bearer {secret}"})
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            text = resp.read().decode()
        line = 'aml_http_requests_total{method="POST",route="/api/v1/runs/{run}/metrics",status="200"} '
        total = sum(float(x.split()[-1]) for x in text.splitlines() if x.startswith(line))
        assert total == 64  # summed over both workers, whichever answered the scrape
    finally:
        _stop(proc)
        ws.close()


def _start_tls(root: Path, cert: Path, key: Path) -> tuple[subprocess.Popen[str], int]:
    port = free_port()
    proc = subprocess.Popen(
        [AML, "-w", str(root), "server", "--port", str(port), "--workers", "2"]
        + ["--certfile", str(cert), "--keyfile", str(key)],
        env={**os.environ, "AML_SERVER_TOKEN": SERVER_TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and "https://127.0.0.1" in proc.stdout.readline()
    return proc, port


def test_the_kubernetes_example_of_the_docs_is_valid() -> None:
    import re

    import kubernetes_validate
    import yaml

    page = (Path(__file__).parents[2] / "docs" / "scale-out.md").read_text()
    block = re.search(r"```yaml\n(.*?)```", page, re.S)
    assert block is not None
    docs = [d for d in yaml.safe_load_all(block.group(1)) if d]
    assert {d["kind"] for d in docs} == {"Deployment", "Service"}
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    args = docs[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    from aml_jupyter.cli.main import build_parser

    parsed = build_parser().parse_args(args[1:])  # the command line is one aml takes
    assert parsed.workers == 4


def test_a_streamed_upload_keeps_every_byte_whatever_the_chunking(team: Team) -> None:
    status, run, _ = team.call("POST", "/api/v1/runs", "alice", {"experiment": "stream"})
    payload = os.urandom(3 * 1024 * 1024 + 17)
    conn = http.client.HTTPConnection(team.url.split("//")[1].split(":")[0], int(team.url.rsplit(":", 1)[1]))
    try:
        conn.putrequest("PUT", f"/api/v1/runs/{run['id']}/artifacts/odd.bin")
        conn.putheader("Authorization", f"Bearer {team.tokens['alice']}")
        conn.putheader("Transfer-Encoding", "chunked")  # no Content-Length: the limit is counted as it comes
        conn.endheaders()
        for lo in range(0, len(payload), 70_001):
            piece = payload[lo : lo + 70_001]
            conn.send(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
        conn.send(b"0\r\n\r\n")
        answer = conn.getresponse()
        stored = json.loads(answer.read())
    finally:
        conn.close()
    assert answer.status == 200 and stored["digest"] == hashlib.sha256(payload).hexdigest()
    status, body, headers = team.call("GET", f"/api/v1/runs/{run['id']}/artifacts/odd.bin", "rita")
    assert status == 200 and body == payload and headers["content-disposition"] == "attachment"
    status, err, _ = team.call("GET", f"/api/v1/runs/{run['id']}/artifacts/odd.bin", None)
    assert status == 401


def test_slow_headers_are_cut_off_and_one_client_holds_few_connections(tmp_path: Path) -> None:
    # Before: 300 connections sending a header line every 8 s were never closed and, under a
    # 256-descriptor limit, locked every client out without a token.
    import socket

    from aml_jupyter.server.connections import protocol

    ws = aml.Workspace.init(tmp_path / "p")
    guarded = protocol(header_timeout=3.0, max_per_client=3)
    handle = start_in_thread(TeamServer(ws, SERVER_TOKEN).app, http=guarded)

    def connect() -> socket.socket:
        s = socket.create_connection(("127.0.0.1", handle.port), timeout=10)
        return s

    try:
        slow = connect()
        slow.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert slow.recv(1024) == b""  # closed by the server within its header deadline
        slow.close()
        held = [connect() for _ in range(3)]
        for s in held:
            s.sendall(b"G")  # started, so counted, but far from done
        extra = connect()
        extra.settimeout(2.0)  # well inside the header deadline: only the cap closes it this soon
        assert extra.recv(1024) == b""  # a fourth from the same address is closed at once
        extra.close()
        assert guarded.open_per_client["127.0.0.1"] == 3
        for s in held:
            s.close()
        with urllib.request.urlopen(handle.url + "/health", timeout=10) as resp:  # the door is open again
            assert resp.status == 200
    finally:
        handle.stop()
        ws.close()
