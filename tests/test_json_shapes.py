"""One JSON shape per run, whoever asks: the CLI's --json, the REST API and Run.to_dict()."""

from __future__ import annotations

import json

import pytest

import aml_jupyter as aml
from aml_jupyter.cli.main import main
from aml_jupyter.entities.records import SUMMARY_KEYS
from aml_jupyter.server.api import TrackingAPI
from aml_jupyter.server.calls import Caller
from aml_jupyter.workspace import Workspace


def _cli(capsys: pytest.CaptureFixture[str], ws: Workspace, *args: str) -> object:
    assert main(["-w", str(ws.root), *args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _rest(ws: Workspace, path: str) -> object:
    path, _, query = path.partition("?")
    response = TrackingAPI(ws).dispatch("GET", "/api/v1/" + path, query, b"", Caller("test"))
    assert response.status == 200, response.body
    return json.loads(response.body)


def test_a_run_has_one_shape_everywhere(ws: Workspace, capsys: pytest.CaptureFixture[str]) -> None:
    with aml.start_run("iris", params={"C": 0.5}, workspace=ws) as run:
        aml.log("acc", 0.9)
        aml.log("odd", float("nan"))
        aml.set_tags({"team": "a"})
        aml.log_text("notes", "notes.md")
    listed_cli = _cli(capsys, ws, "runs", "list")
    listed_rest = _rest(ws, "runs")["runs"]  # type: ignore[index]
    assert listed_cli == listed_rest
    (entry,) = listed_cli  # type: ignore[misc]
    assert list(entry) == [*SUMMARY_KEYS, "params", "metrics", "system_metrics", "tags"]
    assert entry["id"] == run.id and entry["params"] == {"C": "0.5"} and entry["tags"]["team"] == "a"
    assert entry["metrics"] == {"acc": 0.9}  # a listing cannot tell a logged NaN from none
    assert isinstance(entry["start_time"], int) and isinstance(entry["end_time"], int)  # epoch ms

    shown_cli = _cli(capsys, ws, "runs", "show", run.id[:8])
    shown_rest = _rest(ws, f"runs/{run.id}")
    assert shown_cli == shown_rest == json.loads(json.dumps(run.to_dict()))
    assert {k: shown_cli[k] for k in SUMMARY_KEYS} == {k: entry[k] for k in SUMMARY_KEYS}  # type: ignore[index]
    assert shown_cli["metrics"] == {"acc": 0.9, "odd": "NaN"}  # type: ignore[index]
    assert [a["name"] for a in shown_cli["artifacts"]] == ["notes.md"]  # type: ignore[index]
    assert shown_cli["environment"]["python"]["version"]  # type: ignore[index]
