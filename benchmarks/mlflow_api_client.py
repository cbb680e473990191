"""Run in MLflow's throw-away venv by benchmarks/mlflow_api.py: MLflow's own client, timed against
a tracking server (aml's MLflow routes, or `mlflow server`). Prints one JSON object.

    python mlflow_api_client.py log_metric URI N       N points, one log_metric call each
    python mlflow_api_client.py log_batch URI N        N points, log_batch calls of 1,000
    python mlflow_api_client.py search URI EXPERIMENT  every run of an experiment, search_runs paged
    python mlflow_api_client.py fill-import DB RUNS POINTS   an MLflow SQLite store to import
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
import uuid

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient


def log_metric(n: int) -> dict[str, float]:
    client = MlflowClient()
    run = client.create_run("0")
    t = time.perf_counter()
    for i in range(n):
        client.log_metric(run.info.run_id, "m", float(i), step=i)
    elapsed = time.perf_counter() - t
    client.set_terminated(run.info.run_id)
    return {"seconds": elapsed, "points_per_s": n / elapsed}


def log_batch(n: int) -> dict[str, float]:
    client = MlflowClient()
    run = client.create_run("0")
    now = int(time.time() * 1000)
    t = time.perf_counter()
    for at in range(0, n, 1000):
        client.log_batch(run.info.run_id, metrics=[Metric("m", float(i), now, i) for i in range(at, min(n, at + 1000))])
    elapsed = time.perf_counter() - t
    client.set_terminated(run.info.run_id)
    return {"seconds": elapsed, "points_per_s": n / elapsed}


def search(experiment: str) -> dict[str, float]:
    client = MlflowClient()
    exp = client.get_experiment_by_name(experiment).experiment_id
    times = []
    for _ in range(3):
        t = time.perf_counter()
        seen, token = 0, None
        while True:
            page = client.search_runs([exp], max_results=1000, page_token=token)
            seen += len(page)
            token = page.token
            if not token:
                break
        times.append(time.perf_counter() - t)
    times.sort()
    return {"seconds": times[1], "runs": seen}


def fill_import(db: str, runs: int, points: int) -> dict[str, float]:
    # A few runs through MLflow's client, the rest copies of their rows (as benchmarks/mlflow_fill.py does).
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    client = MlflowClient()
    exp = client.create_experiment("to-import")
    templates = []
    for i in range(10):
        run = client.create_run(exp, run_name=f"template-{i}")
        now = int(time.time() * 1000)
        for at in range(0, points, 1000):
            batch = [Metric("loss", 1.0 / (k + 1), now + k, k) for k in range(at, min(points, at + 1000))]
            client.log_batch(run.info.run_id, metrics=batch, params=[Param("lr", str(i))] if at == 0 else [])
        client.set_terminated(run.info.run_id)
        templates.append(run.info.run_id)
    conn = sqlite3.connect(db)
    cols = {
        t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
        for t in ("runs", "metrics", "latest_metrics", "params", "tags")
    }
    for k in range(10, runs):
        old, new = templates[k % 10], uuid.uuid4().hex
        select = ", ".join({"run_uuid": "?", "name": "?"}.get(c, c) for c in cols["runs"])
        args = [new if c == "run_uuid" else f"run-{k}" for c in cols["runs"] if c in ("run_uuid", "name")]
        conn.execute(
            f"INSERT INTO runs ({', '.join(cols['runs'])}) SELECT {select} FROM runs WHERE run_uuid = ?", [*args, old]
        )
        for table in ("metrics", "latest_metrics", "params", "tags"):
            sel = ", ".join("?" if c == "run_uuid" else c for c in cols[table])
            conn.execute(
                f"INSERT INTO {table} ({', '.join(cols[table])}) SELECT {sel} FROM {table} WHERE run_uuid = ?",
                [new, old],
            )
    conn.commit()
    return {"runs": runs, "points": runs * points}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "fill-import":
        print(json.dumps(fill_import(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
    else:
        mlflow.set_tracking_uri(sys.argv[2])
        result = {
            "log_metric": lambda: log_metric(int(sys.argv[3])),
            "log_batch": lambda: log_batch(int(sys.argv[3])),
            "search": lambda: search(sys.argv[3]),
        }[mode]()
        print(json.dumps(result))
