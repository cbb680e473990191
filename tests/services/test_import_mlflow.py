"""``aml import-mlflow`` on stores the real MLflow client wrote in the test (a file store with a
100,000-point run, and SQLite): everything in, checked point by point; a second import adds
nothing; an import cut short and run again neither loses nor doubles anything."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidInput
from aml_jupyter.services.imports import import_mlflow
from aml_jupyter.workspace import Workspace
from tests.mlflow_venv import mlflow_python

WRITER = Path(__file__).with_name("mlflow_writer.py")
AML = str(Path(sys.executable).with_name("aml"))


@pytest.fixture(scope="module")
def stores(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    base = tmp_path_factory.mktemp("mlflow-stores")
    files, sql = (base / "mlruns").as_uri(), f"sqlite:///{base / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"}
    args = [str(mlflow_python("3")), str(WRITER), str(base), files, "100000", sql, "500"]
    done = subprocess.run(args, cwd=base, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    yield {"mlruns": (str(base / "mlruns"), seen[files]), "sqlite": (sql, seen[sql])}


def check_point_by_point(ws: Workspace, seen: dict[str, Any]) -> None:
    imported = {
        r["tags"]["aml.mlflow_run"]: r["id"] for r in aml.list_runs(workspace=ws) if "aml.mlflow_run" in r["tags"]
    }
    assert set(imported) == set(seen)
    status = {"FINISHED": "completed", "FAILED": "failed", "KILLED": "cancelled"}
    for mlflow_id, want in seen.items():
        run = aml.get_run(imported[mlflow_id], workspace=ws)
        rec = run.info
        experiment = "default" if want["experiment"] == "Default" else want["experiment"]
        assert (rec.experiment, rec.name, rec.status) == (experiment, want["name"], status[want["status"]])
        assert (rec.start_time, rec.end_time) == (want["start_time"], want["end_time"])
        assert rec.params == want["params"] and rec.source_kind == "mlflow"
        assert {k: v for k, v in rec.tags.items() if not k.startswith("aml.")} == want["tags"]
        assert sorted({a.name.split("/")[0] for a in rec.artifacts}) == want["artifacts"]
        for key, h in want["metrics"].items():
            frame = run.metric_history(key)
            values = [None if math.isnan(v) else v for v in frame["value"]]
            assert len(frame) == h["n"] and frame["step"].tolist()[:20] == h["steps"], key
            assert values[:20] == h["values"] and sum(v or 0 for v in values) == pytest.approx(h["sum"]), key
        parent = want["tags"].get("mlflow.parentRunId")
        assert rec.parent_id == (imported[parent] if parent else None)


@pytest.mark.parametrize("kind", ["mlruns", "sqlite"])
def test_an_mlflow_store_imports_completely_and_a_second_import_adds_nothing(
    stores: dict[str, Any], kind: str, tmp_path: Path
) -> None:
    source, seen = stores[kind]
    ws = aml.Workspace.init(tmp_path / "project")
    report = import_mlflow(ws, source)
    assert report["verified"] and report["runs"] == {"source": 5, "imported": 5, "already": 0, "failed": 0}
    assert report["source_counts"]["metric_points"] == (100_000 if kind == "mlruns" else 500) + 13
    check_point_by_point(ws, seen)
    again = import_mlflow(ws, source)
    assert again["runs"]["imported"] == 0 and again["runs"]["already"] == 5 and again["verified"]
    assert len(aml.list_runs(workspace=ws)) == 5


def test_an_import_cut_short_and_run_again_loses_and_doubles_nothing(stores: dict[str, Any], tmp_path: Path) -> None:
    source, seen = stores["mlruns"]
    ws = aml.Workspace.init(tmp_path / "project")

    def stop_at_the_fourth(done: int, total: int, what: str) -> None:
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        import_mlflow(ws, source, progress=stop_at_the_fourth)
    assert 0 < len(aml.list_runs(workspace=ws)) < 5
    done = subprocess.run([AML, "-w", str(ws.root), "import-mlflow", source, "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] and report["runs"]["imported"] + report["runs"]["already"] == 5
    check_point_by_point(ws, seen)


def test_a_malformed_meta_yaml_is_named_and_the_rest_imported(stores: dict[str, Any], tmp_path: Path) -> None:
    source, seen = stores["mlruns"]
    copy = tmp_path / "mlruns"
    subprocess.run(["cp", "-r", source, str(copy)], check=True)
    child = next(i for i, r in seen.items() if r["name"] == "child")
    broken = next(copy.glob(f"*/{child}/meta.yaml"))
    broken.write_text("run_id: [unclosed\n")
    ws = aml.Workspace.init(tmp_path / "project")
    report = import_mlflow(ws, str(copy))
    assert report["runs"]["imported"] == 4 and report["verified"]
    assert any(str(broken) in p and "unreadable" in p for p in report["problems"])
    with pytest.raises(InvalidInput, match="no such MLflow store"):
        import_mlflow(ws, str(tmp_path / "nowhere"))
