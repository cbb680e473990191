"""One way a run comes to exist (services/runs.py): every surface's runs are checked alike, jobs
of every kind are bounded by the same queue, and a refused run leaves nothing behind."""

from __future__ import annotations

import json

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidKey, InvalidPath, JobError
from aml_jupyter.server.api import TrackingAPI
from aml_jupyter.server.calls import Caller
from aml_jupyter.services import runs, search
from aml_jupyter.services.rerun import rerun
from aml_jupyter.services.submit import submit
from aml_jupyter.workspace import Workspace


def _post(ws: Workspace, path: str, body: dict[str, object]) -> tuple[int, dict[str, object]]:
    response = TrackingAPI(ws).dispatch("POST", "/api/v1/" + path, "", json.dumps(body).encode(), Caller("ada"))
    return response.status, json.loads(response.body)


def _count(ws: Workspace) -> int:
    return len(search.runs(ws))


def test_every_way_in_refuses_a_bad_param_alike_and_records_nothing(ws: Workspace) -> None:
    message = "param key 'a..b' must not contain '..'"
    with pytest.raises(InvalidKey, match=message):
        aml.start_run("e", params={"a..b": 1}, workspace=ws)
    with pytest.raises(InvalidKey, match=message):
        submit("train.py", {"a..b": 1}, workspace=ws)
    with pytest.raises(InvalidKey, match=message):
        runs.create(ws, runs.RunSpec("e", params={"a..b": 1}, source_kind="api"))
    status, body = _post(ws, "runs", {"experiment": "e", "params": {"a..b": 1}})
    assert status == 400 and message in str(body["error"])
    with pytest.raises(InvalidKey, match="tag key"):
        aml.start_run("e", tags={"": "x"}, workspace=ws)
    assert _count(ws) == 0


def test_the_queue_bound_holds_for_every_kind_of_job(ws: Workspace) -> None:
    toml = ws.aml_dir / "aml.toml"
    toml.write_text(toml.read_text() + "\n[targets.local]\nmax_queued = 1\n")
    ws = Workspace.open(ws.root)
    spec = runs.RunSpec("e", source_kind="script", source_path="train.py", user="ada", job=True, snapshot=True)
    waiting = runs.create(ws, spec)  # queued, never handed to the target: it fills the queue
    assert waiting.status == "queued" and waiting.snapshot_id
    full = "already has 1 runs queued or running"
    with pytest.raises(JobError, match=full):
        submit("train.py", workspace=ws)
    with pytest.raises(JobError, match=full):
        aml.run_cell("y = 1", outputs=["y"], workspace=ws)  # `%%aml run`
    with pytest.raises(JobError, match=full):
        rerun(ws, waiting.id)
    with pytest.raises(JobError, match=full):
        runs.create(ws, spec)
    status, body = _post(ws, "jobs", {"path": "train.py"})
    assert status >= 400 and full in str(body["error"])
    assert _count(ws) == 1
    assert aml.start_run("e", workspace=ws).end() == "completed"  # an interactive run is not a job: unbounded


def test_a_run_that_cannot_be_prepared_is_recorded_failed(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(root: object, max_bytes: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(ws.snapshot_taker, "take", broken)
    with pytest.raises(OSError, match="disk full"):
        runs.create(ws, runs.RunSpec("e", user="ada", snapshot=True))
    (row,) = search.runs(ws)
    assert row["status"] == "failed" and runs.get(ws, row["id"]).error == "OSError: disk full"


def test_a_job_that_could_not_see_its_script_is_refused_unrecorded(ws: Workspace) -> None:
    (ws.root / ".amlignore").write_text("train.py\n")
    with pytest.raises(InvalidPath, match="train.py is ignored by .gitignore or .amlignore"):
        submit("train.py", workspace=ws)
    assert _count(ws) == 0


def test_a_run_created_over_http_takes_nothing_of_the_servers_folder(ws: Workspace) -> None:
    status, body = _post(ws, "runs", {"experiment": "remote", "params": {"lr": 0.1}})
    assert status == 201 and body["status"] == "running" and body["user"] == "ada"
    shown = runs.show(ws, str(body["id"]))
    assert shown["snapshot_id"] is None and shown["environment"] is None and shown["params"] == {"lr": "0.1"}
