"""A second store, in memory (tests/store/memory.py), through the SDK, the REST API and the CLI:
what a plug-in must offer is the Protocols of store/interfaces.py, and nothing else."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter.store.interfaces import RunStore
from aml_jupyter.workspace import Workspace

from .memory import MemoryStore


@pytest.fixture
def memory_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    # What an installed plug-in's entry point (group aml_jupyter.stores) would give open_store.
    monkeypatch.setattr("aml_jupyter.store._plugins", lambda: {"memory": lambda: MemoryStore})
    return Workspace.init(tmp_path / "project", store="memory://runs")


def test_the_in_memory_store_meets_the_protocols() -> None:
    store: RunStore = MemoryStore()  # mypy's check where mypy reads it; the runtime's below
    assert isinstance(store, RunStore)


def test_a_plug_in_store_serves_the_sdk_rest_and_cli(memory_ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    ws = memory_ws
    assert isinstance(ws.store, MemoryStore)
    # The SDK: runs, params, metrics (through the buffered writer), artifacts, search, best run.
    for c, acc in ((0.5, 0.81), (1.0, 0.93), (2.0, 0.88)):
        with aml.start_run("iris", params={"C": c}, workspace=ws) as run:
            for step, loss in enumerate((0.9, 0.5, 0.2)):
                aml.log("loss", loss * c, step=step)
            aml.log("acc", acc)
            run.log_text("ok", "notes.txt")
    frame = aml.search_runs("metrics.acc > 0.85", order_by=["metrics.acc DESC"], workspace=ws)
    assert frame["params.C"].tolist() == ["1.0", "2.0"] and frame["metrics.acc"].tolist() == [0.93, 0.88]
    best = aml.best_run("iris", "acc", workspace=ws)
    assert best.params["C"] == "1.0" and best.metric_history("loss")["value"].tolist() == [0.9, 0.5, 0.2]
    assert [a.name for a in best.info.artifacts] == ["notes.txt"]

    # REST, in process: a page of runs, one run, a remote client's metric batch.
    from aml_jupyter.server.api import TrackingAPI
    from aml_jupyter.server.calls import Caller

    api = TrackingAPI(ws)

    def call(method: str, path: str, query: str = "", body: Any = None) -> Any:
        answer = api.dispatch(
            method, path, query, json.dumps(body).encode() if body is not None else b"", Caller("ada")
        )
        assert answer.status in (200, 201), answer.body
        return json.loads(answer.body)

    page = call("GET", "/api/v1/runs", "filter=params.C+%3D+%272.0%27&count=true")
    assert page["total"] == 1 and page["runs"][0]["metrics"]["acc"] == 0.88
    made = call("POST", "/api/v1/runs", body={"experiment": "remote", "params": {"lr": "0.1"}})
    points = [{"key": "loss", "value": v, "step": i} for i, v in enumerate([1.0, "NaN", 0.25])]
    assert call("POST", f"/api/v1/runs/{made['id']}/metrics", body={"metrics": points})["written"] == 3
    assert call("POST", f"/api/v1/runs/{made['id']}/transition", body={"event": "complete"})["status"] == "completed"
    record = call("GET", f"/api/v1/runs/{made['id'][:8]}")
    assert record["status"] == "completed" and record["metrics"] == {"loss": 0.25}

    # The CLI, in process: listing and showing through the same store.
    from aml_jupyter.cli import main

    assert main(["-w", str(ws.root), "runs", "list", "--json", "-e", "remote"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [made["id"]]
    assert main(["-w", str(ws.root), "runs", "show", made["id"][:8], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == {"lr": "0.1"}


def test_what_a_plug_in_store_does_not_keep_is_one_clear_error(memory_ws: Workspace) -> None:
    from aml_jupyter.errors import StoreError

    with pytest.raises(StoreError, match="keeps no model registry"):
        aml.list_models(workspace=memory_ws)
