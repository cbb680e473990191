"""Local deployments: a supervised service that answers with its key, restarts, swaps models, stops."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidValue, NotFound
from aml_jupyter.services import deployments as d
from aml_jupyter.workspace import Workspace
from tests.conftest import eventually, store_dump

pytestmark = pytest.mark.sqlite_only  # the supervisor and the service; tests/server/test_rest.py deploys on both stores

AML = str(Path(sys.executable).with_name("aml"))
SCORE = "def init():\n    pass\n\ndef run(data):\n    return [sum(row) * {k} for row in data.tolist()]\n"


def _register(ws: Workspace, tmp_path: Path, k: int) -> str:
    folder = tmp_path / f"score-{k}"
    folder.mkdir()
    (folder / "score.py").write_text(SCORE.format(k=k))
    return aml.register_model("adder", path=folder, sample_input=[[1.0, 2.0]], workspace=ws).ref


def _score(url: str, key: str, rows: list[list[float]]) -> tuple[int, dict[str, object]]:
    req = urllib.request.Request(
        url + "/score",
        data=json.dumps({"data": rows}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def _service_pid(supervisor: int) -> int:
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    return int(children[0])


def test_deploy_score_restart_update_delete(ws: Workspace, tmp_path: Path) -> None:
    first = _register(ws, tmp_path, 1)
    proc = subprocess.run(
        [AML, "-w", str(ws.root), "deploy", first, "--target", "local", "--name", "adder", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    answer = json.loads(proc.stdout)
    assert set(answer) == {"url", "key"}
    url, key = answer["url"], answer["key"]
    try:
        assert _score(url, key, [[1, 2], [3, 4]]) == (200, {"predictions": [3.0, 7.0]})
        assert _score(url, "wrong", [[1, 2]])[0] == 401
        key_file = d.folder_of(ws, "adder") / "key"
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
        assert key.encode() not in store_dump(ws)  # the key is not in the store
        row = d.list_deployments(ws)[0]
        assert row["status"] == "running" and row["model"] == "adder" and row["version"] == 1
        service = _service_pid(row["pid"])
        os.kill(service, signal.SIGKILL)  # the service crashes: the supervisor starts it again
        eventually(
            lambda: _score(url, key, [[1, 1]])[0] == 200,
            60,
            "the service restarting",
            ignore=(urllib.error.URLError, ConnectionError),
        )
        assert "restarting" in d.logs("adder", ws)
        second = _register(ws, tmp_path, 10)
        updated = d.update("adder", second, ws)
        assert updated["url"] == url and _score(url, key, [[1, 2]]) == (200, {"predictions": [30.0]})
        lineage = aml.model_lineage("adder:2", workspace=ws)
        assert [dep["name"] for dep in lineage["deployments"]] == ["adder"]

        def counted() -> bool:  # the service writes its counters every 2 s
            telemetry = d.list_deployments(ws)[0]["telemetry"]
            return bool(telemetry and telemetry["model"] == "adder:2" and telemetry["requests"].get("200"))

        eventually(counted, 30, "counters from the new service")
    finally:
        supervisor = d.list_deployments(ws)[0]["pid"]
        assert (
            subprocess.run(
                [AML, "-w", str(ws.root), "deployments", "delete", "adder"], capture_output=True, timeout=60
            ).returncode
            == 0
        )
    assert d.list_deployments(ws) == [] and not Path(f"/proc/{supervisor}").exists()


def test_bad_deployments(ws: Workspace, tmp_path: Path) -> None:
    ref = _register(ws, tmp_path, 1)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(InvalidValue, match=f"port {port} is already in use"):
            d.deploy(ref, "second", port=port, workspace=ws)
    for name in ("Upper", "a b", "../x", ""):
        with pytest.raises(InvalidValue, match="deployment name"):
            d.deploy(ref, name, workspace=ws)
    with pytest.raises(NotFound, match="no model 'nope'"):
        d.deploy("nope:1", "x", workspace=ws)
    with pytest.raises(NotFound, match="no deployment 'ghost'"):
        d.delete("ghost", workspace=ws)
    assert d.list_deployments(ws) == []
    proc = subprocess.run([AML, "-w", str(ws.root), "deployments", "logs", "ghost"], capture_output=True, text=True)
    assert proc.returncode == 1 and "no deployment 'ghost'" in proc.stderr


def test_a_deployment_sees_no_secret_of_its_deployer(
    ws: Workspace, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The contributor-to-owner path of the red-team pass: a deployed pickle read the server's owner
    # token (and the bucket's keys) from its environment and changed roles with it.
    for name, value in {"AML_SERVER_TOKEN": "owner-secret", "AWS_SECRET_ACCESS_KEY": "s3", "PGPASSWORD": "db"}.items():
        monkeypatch.setenv(name, value)
    ref = _register(ws, tmp_path, 1)
    answer = d.deploy(ref, "sealed", workspace=ws)
    try:
        row = d.list_deployments(ws)[0]
        environ = Path(f"/proc/{_service_pid(row['pid'])}/environ").read_bytes().split(b"\0")
        names = {e.split(b"=", 1)[0].decode() for e in environ if e}
        assert not {"AML_SERVER_TOKEN", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"} & names
        assert "AML_SERVE_KEY" in names and "PATH" in names
        assert _score(answer["url"], answer["key"], [[1, 2]]) == (200, {"predictions": [3.0]})
    finally:
        d.delete("sealed", workspace=ws)
