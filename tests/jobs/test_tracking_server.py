"""`aml server` and a job that logs through it over HTTP, without the workspace file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter.entities.lifecycle import RunEvent, RunStatus
from aml_jupyter.workspace import Workspace
from tests.conftest import free_port

from .helpers import AML

TOKEN = "test-token-5f2c"


@pytest.fixture
def server(ws: Workspace) -> Iterator[str]:
    """A real `aml server` process on a free port, stopped by its pid."""
    port = free_port()
    proc = subprocess.Popen(
        [AML, "-w", str(ws.root), "server", "--port", str(port)],
        env={**os.environ, "AML_SERVER_TOKEN": TOKEN},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _call(url, "GET", "/api/v1/health")
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and proc.poll() is None, "the server did not start"
                time.sleep(0.1)
        yield url
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


def _call(url: str, method: str, path: str, body: object = None, token: str = TOKEN) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url + path, data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def _running_run(ws: Workspace) -> str:
    store = ws.store
    record = store.create_run(
        store.experiment_id("remote", create=True), source_kind="script", user="t", status=RunStatus.RUNNING
    )
    return record.id


def test_a_job_without_the_workspace_logs_over_http(ws: Workspace, server: str, tmp_path: Path) -> None:
    run_id = _running_run(ws)
    elsewhere = tmp_path / "worker"
    elsewhere.mkdir()
    (elsewhere / "model.bin").write_bytes(b"\x00weights")
    code = textwrap.dedent(
        """
        import aml_jupyter as aml
        for step in range(500):
            aml.log("loss", 1 / (step + 1))
        aml.log("odd", float("nan"))
        aml.log_params({"lr": 0.1})
        aml.set_tags({"where": "remote worker"})
        aml.log_artifact("model.bin", "model/model.bin")
        with aml.start_run() as run:  # inside a job: the job's own run
            run.log("acc", 0.9)
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("AML_WORKSPACE",)}
    env.update(AML_RUN_ID=run_id, AML_TRACKING_URI=server, AML_TRACKING_TOKEN=TOKEN)
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    run = aml.get_run(run_id, workspace=ws)
    assert len(run.metric_history("loss")) == 500  # everything delivered by exit
    assert run.metrics["loss"] == pytest.approx(1 / 500) and run.metrics["acc"] == 0.9
    assert run.metrics["odd"] != run.metrics["odd"]  # NaN travels as NaN
    assert run.params == {"lr": "0.1"} and run.tags["where"] == "remote worker"
    assert run.artifact_path("model/model.bin").read_bytes() == b"\x00weights"
    assert run.status == "running"  # the launcher, not the job, ends it


def test_bad_requests_change_nothing(ws: Workspace, server: str) -> None:
    run_id = _running_run(ws)
    base = f"/api/v1/runs/{run_id}"
    assert _call(server, "GET", "/api/v1/health", token="wrong")[0] == 401
    assert _call(server, "POST", base + "/metrics", {"metrics": [{"key": "a", "value": 1}]}, token="")[0] == 401
    status, body = _call(
        server, "POST", base + "/metrics", {"metrics": [{"key": "a", "value": 1.0}, {"key": "b", "value": "high"}]}
    )
    assert status == 400 and "must be a real number" in body["error"]  # type: ignore[index]
    assert _call(server, "POST", base + "/metrics", {"metrics": "nope"})[0] == 400
    assert _call(server, "POST", base + "/params", {"params": ["x"]})[0] == 400
    assert _call(server, "GET", "/api/v1/runs/" + "0" * 32)[0] == 404
    assert _call(server, "GET", "/api/v1/nothing")[0] == 404
    status, record = _call(server, "GET", base)
    assert status == 200 and record["metrics"] == {}  # type: ignore[index]
    ws.store.transition(ws.store.get_run(run_id).pk, RunEvent.COMPLETE)
    status, body = _call(server, "POST", base + "/metrics", {"metrics": [{"key": "a", "value": 1.0}]})
    assert status == 409 and "only a live run" in body["error"]  # type: ignore[index]
    assert aml.get_run(run_id, workspace=ws).metrics == {}


def test_a_wrong_token_in_a_job_fails_at_the_first_log(ws: Workspace, server: str, tmp_path: Path) -> None:
    run_id = _running_run(ws)
    env = {**os.environ, "AML_RUN_ID": run_id, "AML_TRACKING_URI": server, "AML_TRACKING_TOKEN": "nope"}
    proc = subprocess.run(
        [sys.executable, "-c", "import aml_jupyter as aml; aml.log('x', 1)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode != 0 and "missing or wrong token" in proc.stderr


def test_a_target_can_send_its_jobs_logging_over_http(ws: Workspace, server: str) -> None:
    from aml_jupyter.services.submit import submit

    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + f'\n[targets.remote]\ntype = "local"\ntracking_uri = "{server}"\n')
    (ws.root / "job.py").write_text(
        "import os, aml_jupyter as aml\naml.log('m', 1.0)\nprint(os.environ['AML_TRACKING_URI'])\n"
    )
    os.environ["AML_TRACKING_TOKEN"] = TOKEN  # what the worker's machine would have
    try:
        result = submit("job.py", target="remote", wait=True, workspace=Workspace.open(ws.root))
    finally:
        del os.environ["AML_TRACKING_TOKEN"]
    assert result["status"] == "completed", result["error"]
    run = aml.get_run(result["id"], workspace=ws)
    assert run.metrics == {"m": 1.0}
    assert run.artifact_path("logs/stdout.txt").read_text().strip() == server


def test_a_job_sees_no_secret_of_its_launcher_and_its_token_is_scoped_to_its_run(
    ws: Workspace, server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The contributor-to-owner path of the red-team pass: a job printed the server's owner token and
    # the bucket's keys, then changed roles with that token. Now its environment holds none of them,
    # and the token it gets may write its own run alone, and dies with it.
    from aml_jupyter.services.submit import submit

    toml = ws.aml_dir / "aml.toml"
    target = f'[targets.remote]\ntype = "local"\ntracking_uri = "{server}"\npass_env = ["WANDB_API_KEY"]\n'
    toml.write_text(toml.read_text() + "\n" + target)
    other = _running_run(ws)
    (ws.root / "job.py").write_text(
        textwrap.dedent(
            f"""
            import json, os, urllib.request, urllib.error
            import aml_jupyter as aml
            aml.log("m", 1.0)
            def call(method, path, body):
                req = urllib.request.Request({server!r} + path, data=json.dumps(body).encode(), method=method)
                req.add_header("Authorization", "Bearer " + os.environ["AML_TRACKING_TOKEN"])
                req.add_header("Content-Type", "application/json")
                try:
                    return urllib.request.urlopen(req, timeout=10).status
                except urllib.error.HTTPError as exc:
                    return exc.code
            seen = {{
                "names": sorted(os.environ),
                "roles": call("PUT", "/api/v1/roles", {{"roles": {{"mallory": "owner"}}}}),
                "other": call("POST", "/api/v1/runs/{other}/tags", {{"tags": {{"x": "y"}}}}),
                "own": call("POST", "/api/v1/runs/" + os.environ["AML_RUN_ID"] + "/tags", {{"tags": {{"x": "y"}}}}),
            }}
            open(os.path.join(os.environ["AML_OUTPUT_DIR"], "seen.json"), "w").write(json.dumps(seen))
            """
        )
    )
    for name, value in {
        "AML_SERVER_TOKEN": TOKEN,
        "AML_TRACKING_TOKEN": TOKEN,
        "AWS_SECRET_ACCESS_KEY": "s3-secret",
        "PGPASSWORD": "db-secret",
        "WANDB_API_KEY": "named-by-the-target",
    }.items():
        monkeypatch.setenv(name, value)
    result = submit("job.py", target="remote", wait=True, workspace=Workspace.open(ws.root))
    assert result["status"] == "completed", result["error"]
    run = aml.get_run(result["id"], workspace=ws)
    seen = json.loads(run.artifact_path("outputs/seen.json").read_text())
    assert not {"AML_SERVER_TOKEN", "AWS_SECRET_ACCESS_KEY", "PGPASSWORD"} & set(seen["names"])
    assert "WANDB_API_KEY" in seen["names"]  # passed because the target names it
    assert seen["roles"] == 403 and seen["other"] == 403 and seen["own"] == 200
    assert run.metrics == {"m": 1.0} and run.tags["x"] == "y"
    from aml_jupyter.services import access

    assert "mallory" not in access.stored_roles(ws)
    scoped = [t for t in access.list_tokens(ws) if t["name"] == f"run:{run.id}"]
    assert scoped and all(t["revoked_at"] for t in scoped)  # it died with the run


def _queued_job(ws: Workspace, path: str, kind: str = "script") -> str:
    """A run recorded as `aml submit` records it, not yet handed to any target."""
    from aml_jupyter.services import runs

    spec = runs.RunSpec(
        "remote",
        source_kind=kind,
        source_path=path,
        user="t",
        tags={"aml.submitted": "1", "aml.args": "[]"},
        job=True,
        snapshot=True,
        needs=(path,),
    )
    record = runs.create(ws, spec)
    return record.id


WORKER = """
import json, sys
from aml_jupyter.jobs.execute import run_job
result = run_job(sys.argv[1], "/no/such/workspace", None, False, sys.argv[2])
print(json.dumps({k: result[k] for k in ("status", "error")}))
"""


def _run_worker(run_id: str, server: str, where: Path) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run the job on a 'machine' that has only the server and its token; (process, its result)."""
    env = {k: v for k, v in os.environ.items() if k != "AML_WORKSPACE"}
    env.update(AML_TRACKING_TOKEN=TOKEN, AML_CACHE_DIR=str(where / "cache"))
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, run_id, server], cwd=where, env=env, capture_output=True, text=True, timeout=120
    )
    lines = proc.stdout.strip().splitlines()
    return proc, json.loads(lines[-1]) if lines else {}


def test_a_worker_without_the_workspace_runs_the_job_through_the_server(
    ws: Workspace, server: str, tmp_path: Path
) -> None:
    (ws.root / "data.txt").write_text("from the snapshot\n")
    (ws.root / "job.py").write_text(
        "import os, aml_jupyter as aml\n"
        "text = open('data.txt').read().strip()\n"
        "print(text, flush=True)\n"
        "for i in range(3):\n    aml.log('m', i)\n"
        "open(os.path.join(os.environ['AML_OUTPUT_DIR'], 'model.txt'), 'w').write('weights')\n"
    )
    run_id = _queued_job(ws, "job.py")
    elsewhere = tmp_path / "worker-machine"
    elsewhere.mkdir()
    proc, result = _run_worker(run_id, server, elsewhere)
    assert proc.returncode == 0, proc.stderr
    assert result == {"status": "completed", "error": None}
    run = aml.get_run(run_id, workspace=ws)
    assert run.status == "completed" and run.metric_history("m")["value"].tolist() == [0.0, 1.0, 2.0]
    assert run.artifact_path("logs/stdout.txt").read_text() == "from the snapshot\n"
    assert run.artifact_path("outputs/model.txt").read_text() == "weights"
    assert run.tags["aml.attempt"] == "1" and str(elsewhere) in run.tags["aml.job_dir"]
    assert run.system_metrics["system/process_memory_peak_megabytes"] > 0  # sampled there, sent through the server
    (ws.root / "missing_module.py").write_text("import no_such_module_here\n")
    failing = _queued_job(ws, "missing_module.py")
    proc, result = _run_worker(failing, server, elsewhere)
    assert result["status"] == "failed" and "No module named 'no_such_module_here'" in result["error"]
    assert aml.get_run(failing, workspace=ws).status == "failed"


def test_a_worker_with_neither_workspace_nor_server_says_so(ws: Workspace) -> None:
    from aml_jupyter.errors import JobError
    from aml_jupyter.jobs.execute import run_job

    with pytest.raises(JobError, match="cannot open the workspace at /no/such/workspace"):
        run_job("0" * 32, "/no/such/workspace")


def test_snapshots_over_http_need_the_token(ws: Workspace, server: str) -> None:
    run_id = _queued_job(ws, "train.py")
    snapshot = aml.get_run(run_id, workspace=ws).info.snapshot_id
    req = urllib.request.Request(f"{server}/api/v1/snapshots/{snapshot}")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(req, timeout=10)
    assert info.value.code == 401
    info.value.close()


def test_a_remote_notebook_logs_from_its_kernel(ws: Workspace, server: str, tmp_path: Path) -> None:
    from .helpers import write_notebook

    write_notebook(ws.root / "nb.ipynb", "lr = 0.5", "import aml_jupyter as aml\naml.log('acc', lr)")
    run_id = _queued_job(ws, "nb.ipynb", kind="notebook")
    proc, result = _run_worker(run_id, server, tmp_path)
    assert result["status"] == "completed", proc.stderr
    run = aml.get_run(run_id, workspace=ws)
    assert run.metrics == {"acc": 0.5} and "notebook.ipynb" in [a.name for a in run.artifacts]


def test_a_batch_sent_again_after_its_answer_was_lost_is_stored_once(ws: Workspace, server: str) -> None:
    # Before: a server that died between storing a batch and answering got it again from the
    # client's retry and stored it twice (550-1,200 duplicate points in the red-team's runs).
    from aml_jupyter.tracking.remote import RemoteRun

    run_id = _running_run(ws)
    batch = {"batch": "b-0001-resend", "metrics": [{"key": "m", "value": 1.0, "step": 0, "timestamp": 1}]}
    assert _call(server, "POST", f"/api/v1/runs/{run_id}/metrics", batch) == (200, {"written": 1, "duplicate": False})
    assert _call(server, "POST", f"/api/v1/runs/{run_id}/metrics", batch) == (200, {"written": 0, "duplicate": True})
    no_step = {"batch": "b-0002-nostep", "metrics": [{"key": "m", "value": 2.0}]}
    assert _call(server, "POST", f"/api/v1/runs/{run_id}/metrics", no_step)[0] == 400
    # The SDK's own retry: the first answer to each batch is lost after the server stored it.
    client = RemoteRun(server, run_id, TOKEN)
    real, lost = client._request, set()

    def answer_lost_once(method: str, path: str, body: bytes | None = None, *rest: Any) -> Any:
        answer = real(method, path, body, *rest)
        sent = json.loads(body or b"{}").get("batch")
        if path == "/metrics" and sent not in lost:
            lost.add(sent)
            raise OSError("connection reset before the answer")  # stored, but the client never hears so
        return answer

    client._request = answer_lost_once  # type: ignore[method-assign]
    for i in range(1, 2001):
        client.log("m", float(i), step=i)
    client.flush()
    steps, values, _ = ws.store.metric_history(ws.store.get_run(run_id).pk, "m")
    assert list(steps) == list(range(2001)) and len(lost) >= 1  # each point once, none lost


def test_a_job_logging_over_http_takes_the_experiment_and_name_its_script_asks_for(ws: Workspace, server: str) -> None:
    from aml_jupyter.services.submit import submit

    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + f'\n[targets.remote]\ntype = "local"\ntracking_uri = "{server}"\n')
    (ws.root / "named.py").write_text(
        "import aml_jupyter as aml\nwith aml.start_run(experiment='churn', name='find-best'):\n    aml.log('m', 1.0)\n"
    )
    done = submit("named.py", target="remote", wait=True, workspace=Workspace.open(ws.root))
    assert done["status"] == "completed", done["error"]
    record = ws.store.get_run(done["id"])
    assert (record.experiment, record.name, record.metrics) == ("churn", "find-best", {"m": 1.0})


@pytest.mark.parametrize(
    ("tags", "said"),
    [
        ({"aml.python": "/bin/sh"}, "no environment aml built"),
        ({"aml.requirements": "../../../../etc/hostname"}, "is refused"),
        ({"aml.data": '["../../../../etc"]'}, "is refused"),
    ],
)
def test_aml_tags_are_checked_where_they_are_used(ws: Workspace, tags: dict[str, str], said: str) -> None:
    # Written into the store by anyone who can write it (REST refuses them): the job still runs
    # only what lies inside the workspace, its environments and its snapshot.
    from aml_jupyter.jobs.logs import job_folder
    from aml_jupyter.jobs.supervise import launch

    assert job_folder(ws.aml_dir, "/etc") is None and job_folder(ws.aml_dir, str(ws.aml_dir.parent)) is None
    (ws.root / "ok.py").write_text("print('hi')\n")
    run_id = _queued_job(ws, "ok.py")
    ws.store.set_tags(ws.store.get_run(run_id).pk, tags)
    result = launch(ws, run_id, wait=True)
    assert result["status"] == "failed" and said in (result["error"] or ""), result
