"""A real Jupyter server with the aml extension and roles, started on a free loopback port for a
module's tests and stopped by its process id."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace
from tests.conftest import free_port
from tests.server.conformance import check_answer

JUPYTER = str(Path(sys.executable).with_name("jupyter"))
TOKENS = {"owner": "tok-olga", "contributor": "tok-carl", "reader": "tok-rita", "stranger": "tok-sam"}
USERS = {"owner": "olga", "contributor": "carl", "reader": "rita", "stranger": "sam"}


@dataclass
class Server:
    url: str  # with the base URL, ending in /
    ws: Workspace
    pid: int
    root: Path

    def call(
        self,
        method: str,
        path: str,
        who: str | None = "owner",
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        h = {"Content-Type": "application/json", **(headers or {})}
        if who is not None:
            h["Authorization"] = f"token {TOKENS.get(who, who)}"
        req = urllib.request.Request(self.url + path.lstrip("/"), data=data, method=method, headers=h)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                payload, status, got = resp.read(), resp.status, dict(resp.headers.items())
        except urllib.error.HTTPError as exc:
            with exc:
                payload, status, got = exc.read(), exc.code, dict(exc.headers.items())
        try:
            value: Any = json.loads(payload) if payload else None
        except ValueError:
            value = payload
        check_answer(method, path, status, value)  # every answer read here is the document's shape
        return status, value, got


def start_server(root: Path, ws: Workspace, extra: list[str] | None = None, base_url: str = "/") -> Server:
    config = root / "jupyter_test_config.py"
    config.write_text(
        "c.ServerApp.authorizer_class = 'aml_jupyter.server.AmlAuthorizer'\n"
        "c.ServerApp.identity_provider_class = 'aml_jupyter.server.AmlIdentityProvider'\n"
        f"c.AmlIdentityProvider.tokens = {json.dumps({TOKENS[r]: USERS[r] for r in TOKENS})}\n"
        "c.AmlAuthorizer.roles = {'olga': 'owner', 'team-a': 'contributor'}\n"
        "c.AmlAuthorizer.groups = {'team-a': ['carl']}\n"
        "c.AmlAuthorizer.default_role = ''\n"
        "c.AmlAuthorizer.stored_roles_ttl = 0.0\n"
    )
    # rita is a reader through the workspace's own roles (given by an owner through the API).
    from aml_jupyter.services.access import set_roles

    set_roles(ws, {"rita": "reader"})
    port = free_port()
    log = open(root / "jupyter.log", "wb")  # noqa: SIM115 (closed by the fixture)
    proc = subprocess.Popen(
        [
            JUPYTER,
            "server",
            "--allow-root",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=main-token",
            f"--ServerApp.base_url={base_url}",
            f"--ServerApp.root_dir={ws.root}",
            f"--config={config}",
            *(extra or []),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "JUPYTER_PLATFORM_DIRS": "1", "JUPYTER_RUNTIME_DIR": str(root / "runtime")},
    )
    log.close()
    url = f"http://127.0.0.1:{port}{base_url}"
    server = Server(url, ws, proc.pid, root)
    deadline = time.monotonic() + 60
    while True:
        try:
            if server.call("GET", "api/status", who="owner")[0] == 200:
                break
        except (urllib.error.URLError, ConnectionError):
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(server, proc)
            raise RuntimeError((root / "jupyter.log").read_text()[-3000:])
        time.sleep(0.2)
    server.proc = proc  # type: ignore[attr-defined]
    return server


def stop_server(server: Server, proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, store_kind: str, request: pytest.FixtureRequest
) -> Iterator[Server]:
    """A Jupyter server on a workspace of its own; on PostgreSQL too for the modules of BOTH_STORES."""
    db = request.getfixturevalue("postgres") if store_kind != "sqlite" else None
    store = db.database() if db else None
    bucket = request.getfixturevalue("s3").bucket() if db else None
    root = tmp_path_factory.mktemp("jupyter")
    project = root / "project"
    project.mkdir()
    (project / "train.py").write_text(
        "import argparse, aml_jupyter as aml\n"
        "p = argparse.ArgumentParser(); p.add_argument('--lr', type=float, default=0.1)\n"
        "if __name__ == '__main__':\n    aml.log('lr_seen', p.parse_args().lr)\n"
    )
    ws = aml.Workspace.init(project, name="shared", store=store, artifacts=bucket)
    if bucket:  # code run for users (jobs, deployments) sees the bucket's keys only when named
        names = ", ".join(f'"{n}"' for n in request.getfixturevalue("s3").env() if n.startswith("AWS_"))
        toml = ws.aml_dir / "aml.toml"
        toml.write_text(toml.read_text() + f"\n[targets.local]\npass_env = [{names}]\n")
    s = start_server(root, ws, base_url="/lab-base/")
    try:
        yield s
    finally:
        stop_server(s, s.proc)  # type: ignore[attr-defined]
        ws.close()
        if db and store:
            db.drop(store)
