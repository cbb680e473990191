"""A laptop with no workspace, logged in to the team server with its own token: the SDK and the
CLI work through the server, under the token's role, and a server lost mid-run loses no point."""

from __future__ import annotations

import json
import math
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import aml_jupyter as aml
from aml_jupyter.errors import AccessDenied, RunNotFound, StoreUnreachable
from aml_jupyter.server.team import TeamServer, start_in_thread
from aml_jupyter.services import access
from aml_jupyter.tracking import uri
from aml_jupyter.workspace import Workspace

AML = str(Path(sys.executable).with_name("aml"))


class Team:
    def __init__(self, ws: Workspace, url: str, tokens: dict[str, str]) -> None:
        self.ws, self.url, self.tokens = ws, url, tokens


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    ws = aml.Workspace.init(tmp_path_factory.mktemp("team") / "project")
    tokens = {}
    for user, role in [("alice", "contributor"), ("rita", "reader"), ("olga", "owner")]:
        access.set_roles(ws, {user: role})
        tokens[user] = access.create_token(ws, user, "laptop")[0]
    handle = start_in_thread(TeamServer(ws, "server-token-c1", default_role="", role_ttl=0.0).app)
    try:
        yield Team(ws, handle.url, tokens)
    finally:
        handle.stop()
        ws.close()


@pytest.fixture
def laptop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # A folder with no workspace in it or above it, and a settings folder of its own.
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AML_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


def test_the_sdk_logs_and_reads_through_the_server_under_the_tokens_user(team: Team, laptop: Path) -> None:
    aml.set_tracking_uri(team.url, token=team.tokens["alice"])
    assert aml.get_tracking_uri() == team.url
    (laptop / "report.txt").write_text("ok")
    with aml.start_run("laptop", params={"lr": 0.1, "layers": 3}, name="first", system_metrics=False) as run:
        for step in range(250):
            aml.log("loss", 1.0 / (step + 1))
        aml.log("edge", float("nan"))
        aml.log_metrics({"acc": 0.75}, step=1)
        aml.set_tags({"stage": "try"})
        aml.log_artifact(laptop / "report.txt")
        aml.log_text("hello", "notes/hello.txt")
        assert aml.active_run() is run and run.status == "running"
    assert run.status == "completed"
    stored = team.ws.store.get_run(run.id)  # what the server's workspace holds
    assert stored.user == "alice" and stored.experiment == "laptop" and stored.name == "first"
    assert stored.params == {"lr": "0.1", "layers": "3"} and stored.tags["stage"] == "try"
    assert stored.metrics["acc"] == 0.75 and math.isnan(stored.metrics["edge"])
    assert {a.name for a in stored.artifacts} == {"report.txt", "notes/hello.txt"}

    view = aml.get_run(run.id[:8])
    assert view.status == "completed" and view.params == stored.params and math.isnan(view.metrics["edge"])
    history = view.metric_history("loss")
    assert len(history) == 250 and history["step"].tolist() == list(range(250))  # every point, none dropped
    assert history["value"].iloc[-1] == pytest.approx(1 / 250)
    assert view.artifact_bytes("notes/hello.txt") == b"hello"

    entries = access.audit_entries(team.ws, 50)
    assert any(e["user"] == "alice" and e["path"] == "/api/v1/runs" and e["status"] == 201 for e in entries)


def test_searches_answer_as_they_do_on_the_workspace(team: Team, laptop: Path) -> None:
    aml.set_tracking_uri(team.url, token=team.tokens["alice"])
    for c in (0.5, 2.0, 8.0):
        with aml.start_run("search", params={"C": c}, system_metrics=False):
            aml.log("acc", 1 - 1 / (c + 1))
    # (A metric that is NaN in every run listed has no column on a server: its listing leaves NaN out.)
    for args in [("metrics.acc > 0.5", "search", ["metrics.acc DESC"]), (None, ["search"], ["params.C"])]:
        remote = aml.search_runs(*args)
        local = aml.search_runs(*args, workspace=team.ws)
        pd.testing.assert_frame_equal(remote, local)
    assert [r["id"] for r in aml.list_runs(None, "search")] == [
        r["id"] for r in aml.list_runs(None, "search", workspace=team.ws)
    ]
    assert aml.best_run("search", "acc").params == {"C": "8.0"}
    assert aml.best_run("search", "acc", goal="min").params == {"C": "0.5"}
    with pytest.raises(RunNotFound):
        aml.best_run("search", "no_such_metric")
    ids = [r["id"] for r in aml.list_runs(None, "search")][:2]
    pd.testing.assert_frame_equal(aml.compare_runs(ids), aml.compare_runs(ids, workspace=team.ws))
    assert {e["name"] for e in aml.list_experiments()} >= {"search"}


def test_a_reader_reads_but_cannot_write_and_a_wrong_token_is_one_clear_error(team: Team, laptop: Path) -> None:
    before = len(aml.list_runs(workspace=team.ws))
    aml.set_tracking_uri(team.url, token=team.tokens["rita"])
    assert len(aml.list_runs()) == before
    with pytest.raises(AccessDenied, match="needs a role"):
        aml.start_run("laptop")
    assert len(aml.list_runs(workspace=team.ws)) == before  # nothing written
    with pytest.raises(AccessDenied, match=r"refused the token .*aml login"):
        aml.set_tracking_uri(team.url, token="aml_0000_wrong")
    with pytest.raises(StoreUnreachable, match="cannot reach"):
        aml.set_tracking_uri("http://127.0.0.1:9", token="x")
    aml.set_tracking_uri(None)


def test_a_model_registers_from_a_run_and_loads_back_checked(team: Team, laptop: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = [[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]], [0, 1, 0, 1]
    clf = LogisticRegression().fit(x, y)
    aml.set_tracking_uri(team.url, token=team.tokens["alice"])
    with aml.start_run("models", system_metrics=False) as run:
        mv = aml.register_model("laptop-clf", run=run, model=clf, sample_input=x[:2])
    assert mv.ref == "laptop-clf:1" and mv.user == "alice" and mv.run_id == run.id
    assert mv.flavor == "sklearn" and mv.signature is not None
    loaded = aml.load_model("laptop-clf")
    assert loaded.predict(x).tolist() == clf.predict(x).tolist()
    assert aml.get_model_version("laptop-clf:1").content_hash == mv.content_hash
    assert [m["name"] for m in aml.list_models()] == [m["name"] for m in aml.list_models(workspace=team.ws)]

    aml.autolog()  # autologging through the server: params, metrics, the model as an artifact
    try:
        with aml.start_run("models", system_metrics=False) as auto:
            LogisticRegression(C=0.5).fit(x, y)
    finally:
        aml.autolog(disable=True)
    assert auto.params["C"] == "0.5" and auto.metrics["training_accuracy_score"] == 1.0
    mv2 = aml.register_model("laptop-clf", run=auto.id, artifact="model")
    assert mv2.version == 2 and aml.load_model("laptop-clf:2").predict(x).tolist() == y


def test_a_server_lost_mid_run_loses_no_point_and_stores_none_twice(tmp_path: Path, laptop: Path) -> None:
    ws = aml.Workspace.init(tmp_path / "server")
    access.set_roles(ws, {"alice": "contributor"})
    token = access.create_token(ws, "alice", "laptop")[0]
    handle = start_in_thread(TeamServer(ws, "server-token-c2", default_role="", role_ttl=0.0).app)
    port = int(handle.url.rsplit(":", 1)[1])
    try:
        aml.set_tracking_uri(handle.url, token=token)
        run = aml.start_run("outage", system_metrics=False)
        for i in range(100):
            aml.log("x", float(i))
        run.flush()
        handle.stop()  # the server goes away mid-run
        for i in range(100, 300):
            aml.log("x", float(i))
        handle = start_in_thread(TeamServer(ws, "server-token-c2", default_role="", role_ttl=0.0).app, port=port)
        assert run.end() == "completed"  # the buffered points go first, then the end
        history = aml.get_run(run.id).metric_history("x")
        assert history["value"].tolist() == [float(i) for i in range(300)]
    finally:
        handle.stop()
        ws.close()


def test_aml_login_saves_the_token_for_the_user_alone_and_the_cli_works_through_it(team: Team, laptop: Path) -> None:
    env = {**os.environ, "AML_CONFIG_DIR": str(laptop / "config")}
    secret = team.tokens["alice"]
    done = subprocess.run(
        [AML, "login", team.url, "--token-stdin"],
        input=secret + "\n",
        env=env,
        cwd=laptop,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "alice" in done.stdout and secret not in done.stdout + done.stderr
    saved = laptop / "config" / "login.json"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600 and json.loads(saved.read_text())["uri"] == team.url

    # The SDK in this process picks the login up too: no workspace here, none needed.
    assert aml.get_tracking_uri() == team.url
    with aml.start_run("cli", params={"k": 1}, system_metrics=False) as run:
        aml.log("m", 2.0)
    listed = subprocess.run(
        [AML, "runs", "list", "-e", "cli", "--json"], env=env, cwd=laptop, capture_output=True, text=True
    )
    assert listed.returncode == 0, listed.stderr
    assert [r["id"] for r in json.loads(listed.stdout)] == [run.id]
    shown = subprocess.run(
        [AML, "runs", "show", run.id[:8], "--json"], env=env, cwd=laptop, capture_output=True, text=True
    )
    assert json.loads(shown.stdout)["metrics"] == {"m": 2.0}

    bad = subprocess.run(
        [AML, "login", team.url, "--token-stdin"],
        input="aml_0000_wrong\n",
        env=env,
        cwd=laptop,
        capture_output=True,
        text=True,
    )
    assert (
        bad.returncode == 1 and "refused the token" in bad.stderr and json.loads(saved.read_text())["token"] == secret
    )
    out = subprocess.run([AML, "logout"], env=env, cwd=laptop, capture_output=True, text=True)
    assert out.returncode == 0 and not saved.exists()
    assert uri.server_for(None) is None


def test_aml_tracking_uri_outside_a_job_sends_the_sdk_to_the_server(
    team: Team, laptop: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AML_TRACKING_URI", team.url)
    monkeypatch.setenv("AML_TRACKING_TOKEN", team.tokens["alice"])
    with aml.start_run("env", system_metrics=False) as run:
        aml.log("a", 1.0)
    assert team.ws.store.get_run(run.id).metrics == {"a": 1.0}
    assert aml.get_run(run.id).to_dict()["user"] == "alice"


def test_the_magics_log_in_without_the_token_in_the_notebook_and_read_through_the_server(
    team: Team, laptop: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    monkeypatch.setattr("getpass.getpass", lambda prompt: team.tokens["alice"])
    shell = InteractiveShell.instance()
    try:
        shell.run_line_magic("load_ext", "aml_jupyter")
        shell.run_line_magic("aml", f"login {team.url}")
        assert "as alice" in capsys.readouterr().out
        with aml.start_run("magics", params={"C": 2}, system_metrics=False) as run:
            aml.log("acc", 0.5)
        frame = shell.run_line_magic("aml", "runs --experiment magics")
        assert frame["run_id"].tolist() == [run.id]
        assert shell.run_line_magic("aml", "best acc --experiment magics").id == run.id
        assert shell.run_line_magic("aml", f"show {run.id[:8]}")["user"] == "alice"
        shell.run_line_magic("aml", "logout")
        assert "logged out" in capsys.readouterr().out and uri.server_for(None) is None
    finally:
        InteractiveShell.clear_instance()
