"""The real MLflow client, newest 3.x and newest 2.x, each in a throw-away venv (never a project
dependency), logging to aml through its MLflow routes: on ``aml server`` (in this process) and on
Jupyter with the extension. Its runs are aml's runs; aml's runs are visible to it."""

from __future__ import annotations

import json
import math
import os
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter.server.team import TeamServer, start_in_thread
from aml_jupyter.services import access, runs
from aml_jupyter.workspace import Workspace
from tests.mlflow_venv import mlflow_python

CLIENT = Path(__file__).with_name("mlflow_client.py")
FILTERS = [
    "metrics.val_acc > 0.9",
    "metrics.val_acc >= 0.93",
    "metrics.c < 2",
    "params.layers = '3'",
    "params.layers != '4'",
    "tags.team = 'vision'",
    "tags.team LIKE 'vis%'",
    "tags.team ILIKE 'VIS%'",
    "attributes.status = 'FINISHED'",
    "attributes.run_name IN ('rf', 'child')",
    "metrics.loss <= 0.5 and params.C = '0.5'",
]


class Team:
    def __init__(self, ws: Workspace, url: str, tokens: dict[str, str]) -> None:
        self.ws, self.url, self.tokens = ws, url, tokens


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    ws = aml.Workspace.init(tmp_path_factory.mktemp("mlflow") / "project")
    tokens = {}
    for user, role in [("carl", "contributor"), ("rita", "reader")]:
        access.set_roles(ws, {user: role})
        tokens[user] = access.create_token(ws, user, "mlflow")[0]
    for i in range(2500):  # a page of MLflow's search holds 1,000
        runs.create_from_client(ws, {"experiment": "paged", "params": {"i": i}}, "carl")
    with aml.start_run("aml-side", workspace=ws, system_metrics=False, snapshot=False) as run:
        for step in range(3):
            run.log("loss", 1.0 / (step + 1))
    handle = start_in_thread(TeamServer(ws, "mlflow-server-token", default_role="", role_ttl=0.0).app)
    try:
        yield Team(ws, handle.url, tokens)
    finally:
        handle.stop()
        ws.close()


# What only the server does (big files, paging, the filter grammar, aml's own runs read back) is
# the same for every client version: the newest release drives all of it, the older one the rest.
SERVER_SIDE = {"big", "pages", "filters", "aml_side"}
EVERY_SECTION = ["snippet", "history", "batch", "failed", "models", "big", "pages", "filters", "aml_side", "refusals"]


def run_client(python: Path, uri: str, token: str, reader: str, folder: Path, sections: list[str]) -> dict[str, Any]:
    env = {
        "SECTIONS": ",".join(sections),
        **os.environ,
        "MLFLOW_TRACKING_TOKEN": token,
        "READER_TOKEN": reader,
        "FILTERS": json.dumps(FILTERS),
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0",
        "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
        "PYTHONWARNINGS": "ignore",
    }
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [str(python), str(CLIENT), uri, str(folder)], env=env, cwd=folder, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    said: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    failed = {k: v for k, v in said.items() if k.endswith("_failed")}
    assert not failed, "\n".join(f"{k}: {v}" for k, v in failed.items())
    return said


@pytest.mark.parametrize("major", ["3", "2"])
def test_the_mlflow_client_logs_to_aml_server_unchanged(team: Team, major: str, tmp_path: Path) -> None:
    python = mlflow_python(major)
    sections = EVERY_SECTION if major == "3" else [s for s in EVERY_SECTION if s not in SERVER_SIDE]
    said = run_client(python, team.url + "/mlflow", team.tokens["carl"], team.tokens["rita"], tmp_path, sections)
    assert said["version"].startswith(major + ".") and set(said["seconds"]) == set(sections)

    s = said["snippet"]
    stored = team.ws.store.get_run(s["run_id"])  # an aml run like any other
    assert stored.user == "carl" and stored.name == "rf" and stored.status == "completed"
    assert stored.experiment == "mlflow-snippet" and stored.source_kind == "mlflow"
    assert stored.params["C"] == "0.5" and stored.params["layers"] == "3"  # autologged, and logged
    assert stored.metrics["val_acc"] == 0.93 and math.isnan(stored.metrics["edge_nan"])
    assert stored.metrics["edge_inf"] == math.inf and "training_accuracy_score" in stored.metrics
    assert s["metrics"]["edge_nan"] == "NaN" and s["metrics"]["edge_inf"] == "Infinity"  # round-trip exactly
    assert s["status"] == "FINISHED" and s["tags"]["team"] == "vision" and s["tags"]["mlflow.user"] == "carl"
    assert s["child_parent"] == s["run_id"] and team.ws.store.get_run(s["child_id"]).parent_id == s["run_id"]
    assert {"confusion.txt", "plots", "estimator.html"} <= set(s["artifacts"])  # autolog's files too
    assert s["plots"] == ["plots/confusion.txt"]
    assert s["downloaded"] == "tp fp\nfn tn\n" and s["search"][0] == s["run_id"]

    h = said["history"]
    assert h["steps"] == list(range(120)) and h["last"] == 1.0 / 120
    assert aml.get_run(h["run_id"], workspace=team.ws).metric_history("loss")["step"].tolist() == list(range(120))

    b = said["batch"]
    assert b["errors"] == {"param_changed": "INVALID_PARAMETER_VALUE"}
    assert b["status"] == "FAILED" and b["params"] == 100 and b["points"] == 1000 and b["x_points"] == 1001
    assert said["failed"] == "FAILED"
    if major == "3":
        assert said["big"] == {"size": 50 << 20, "same": True}
        assert said["pages"] == {"pages": 3, "runs": 2500, "distinct": 2500}
        for text, ids in said["filters"].items():  # MLflow's answer is aml.search_runs' answer
            ours = aml.search_runs(text, experiments=["mlflow-snippet", "aml-side"], workspace=team.ws)
            assert set(ids) == set(ours["run_id"]), text
        assert said["filters"]["attributes.status = 'FINISHED'"] and said["filters"]["tags.team ILIKE 'VIS%'"]
        a = said["aml_side"]  # a run aml logged, read by the MLflow client
        assert a["status"] == "FINISHED" and a["history"] == [[0, 1.0], [1, 0.5], [2, 1.0 / 3]]
    m = said["models"]  # log_model, register_model, load_model: an aml version with the run's lineage
    assert m["predicted"] == [0, 1, 0, 1] and m["by_alias"] == [0, 1, 0, 1] and m["alias"] == m["version"]
    mv = aml.get_model_version(f"rf-clf:{m['version']}", workspace=team.ws)
    assert mv.flavor == "mlflow" and mv.run_id == m["run_id"] and mv.user == "carl" and "champion" in mv.aliases
    assert any(f["path"] == "MLmodel" for f in mv.files) and int(m["version"]) in m["versions"]
    refused = {"reader_write": "PERMISSION_DENIED", "reader_read": True, "wrong_token": "UNAUTHENTICATED"}
    assert said["refusals"] == refused
    entries = access.audit_entries(team.ws, 2000)
    audited = {(e["user"], e["status"]) for e in entries if e["path"].endswith("runs/create")}
    assert ("carl", 200) in audited and ("rita", 403) in audited


def _call(url: str, token: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def test_what_aml_does_not_offer_is_a_501_in_mlflows_words_and_bad_input_changes_nothing(team: Team) -> None:
    base, token = team.url + "/mlflow/api/2.0/mlflow/", team.tokens["carl"]
    for method, path in [("POST", "runs/restore"), ("DELETE", "registered-models/delete"), ("GET", "traces/x")]:
        status, body = _call(base + path, token, method, {} if method == "POST" else None)
        assert status == 501 and body["error_code"] == "NOT_IMPLEMENTED", path
    status, body = _call(base + "runs/get?run_id=" + "ab" * 16, token)
    assert status == 404 and body["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    status, made = _call(base + "runs/create", token, "POST", {"experiment_id": "0"})
    rid = made["run"]["info"]["run_id"]
    assert status == 200 and made["run"]["info"]["status"] == "RUNNING"
    too_many = {"run_id": rid, "metrics": [{"key": "m", "value": 1, "timestamp": 1, "step": i} for i in range(1001)]}
    status, body = _call(base + "runs/log-batch", token, "POST", too_many)
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE" and "1000" in body["message"]
    assert team.ws.store.get_run(rid).metrics == {}  # nothing written
    status, body = _call(base + "experiments/create", token, "POST", {"name": "paged"})
    assert status == 400 and body["error_code"] == "RESOURCE_ALREADY_EXISTS"
    status, body = _call(base + "experiments/get-by-name?experiment_name=Default", token)
    assert status == 200 and body["experiment"]["experiment_id"] == "0"
