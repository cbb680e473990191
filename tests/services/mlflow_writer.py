"""Run by the real MLflow client (tests/services/test_import_mlflow.py): writes a store as MLflow
users' code does, and prints what MLflow reads back from it, to compare with the import.

    python mlflow_writer.py FOLDER TRACKING_URI POINTS_OF_THE_BIG_RUN [TRACKING_URI POINTS ...]

Each store is written in turn by this one process (MLflow is imported once); it prints
``{uri: {run_id: what MLflow reads back}}``.
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric


def write(uri: str, big: int, folder: Path, n: int) -> dict[str, Any]:
    here = folder / f"store-{n}"  # a SQL store's default artifact root is ./mlruns: one folder each
    here.mkdir()
    os.chdir(here)
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(experiment_id="0")  # each store from its own Default experiment
    with mlflow.start_run(run_name="in-default"):  # MLflow's experiment "0", "Default"
        mlflow.log_metric("x", 1.0)
    mlflow.set_experiment("exp-a")
    with mlflow.start_run(run_name="parent"):
        mlflow.log_params({"lr": 0.1, "layers": 3})
        for i in range(10):
            mlflow.log_metric("loss", 1 / (i + 1), step=i)
        mlflow.log_metric("edge", float("nan"))
        mlflow.set_tag("team", "a")
        mlflow.log_artifact(str(folder / "notes.txt"))
        mlflow.log_artifact(str(folder / "notes.txt"), "sub/dir")
        with mlflow.start_run(run_name="child", nested=True):
            mlflow.log_metric("c", 2.0, step=5)
    mlflow.set_experiment("exp-b")
    run = mlflow.start_run(run_name="big")
    client = MlflowClient()
    for at in range(0, big, 1000):
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("m", float(i), 1_700_000_000_000 + i, i) for i in range(at, min(big, at + 1000))],
        )
    mlflow.end_run("FAILED")
    with mlflow.start_run(run_name="killed"):
        pass
    client.set_terminated(mlflow.last_active_run().info.run_id, "KILLED")

    seen = {}
    for exp in client.search_experiments():
        for r in client.search_runs([exp.experiment_id]):
            histories = {}
            for key in r.data.metrics:
                points = client.get_metric_history(r.info.run_id, key)
                values = [None if math.isnan(m.value) else m.value for m in points]
                histories[key] = {
                    "n": len(points),
                    "steps": [m.step for m in points][:20],
                    "values": values[:20],
                    "sum": sum(v or 0 for v in values),
                }
            seen[r.info.run_id] = {
                "experiment": exp.name,
                "name": r.info.run_name,
                "status": r.info.status,
                "start_time": r.info.start_time,
                "end_time": r.info.end_time,
                "params": r.data.params,
                "tags": {k: v for k, v in r.data.tags.items()},
                "metrics": histories,
                "artifacts": sorted(a.path for a in client.list_artifacts(r.info.run_id)),
            }
    return seen


folder = Path(sys.argv[1])
(folder / "notes.txt").write_text("notes")
pairs = sys.argv[2:]
print(json.dumps({pairs[i]: write(pairs[i], int(pairs[i + 1]), folder, i) for i in range(0, len(pairs), 2)}))
