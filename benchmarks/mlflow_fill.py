"""Run in MLflow's throw-away venv: MLflow's own client makes a SQLite store and an experiment, then
``n`` finished runs shaped as ``workloads.bulk_fill`` makes aml's (10 params, 5 metrics) go into its
tables by SQL, 20,000 at a time. Prints the experiment's id.

    python benchmarks/mlflow_fill.py STORE.db N
"""

import sqlite3
import sys
import time
import uuid

import mlflow

RUNS = (
    "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, start_time,"
    " end_time, source_version, lifecycle_stage, artifact_uri, experiment_id)"
    " VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?)"
)
PARAMS = "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)"
METRIC = "(key, value, timestamp, step, is_nan, run_uuid) VALUES (?, ?, ?, ?, ?, ?)"
TAGS = "INSERT INTO tags (key, value, run_uuid) VALUES ('mlflow.runName', ?, ?)"


def main() -> None:
    db, n = sys.argv[1], int(sys.argv[2])
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    exp = mlflow.create_experiment("search")
    with mlflow.start_run(experiment_id=exp):  # the schema as this MLflow version writes it
        mlflow.log_param("lr", "0.01")
    conn = sqlite3.connect(db)
    now = int(time.time() * 1000)
    for lo in range(0, n, 20_000):
        ids = [uuid.uuid4().hex for _ in range(min(20_000, n - lo))]
        conn.executemany(
            RUNS, [(r, f"run-{lo + i}", now - lo - i, now, f"/tmp/mlruns/{r}", exp) for i, r in enumerate(ids)]
        )
        params = [("lr", ["0.01", "0.1", "0.001"][i % 3], r) for i, r in enumerate(ids)]
        params += [(f"p{j}", str(j), r) for r in ids for j in range(9)]
        conn.executemany(PARAMS, params)
        metrics = [("acc", ((lo + i) * 7919 % 1000) / 1000, now, 0, 0, r) for i, r in enumerate(ids)]
        metrics += [(f"m{j}", float(j), now, 0, 0, r) for r in ids for j in range(4)]
        conn.executemany("INSERT INTO latest_metrics " + METRIC, metrics)
        conn.executemany("INSERT INTO metrics " + METRIC, metrics)
        conn.executemany(TAGS, [(f"run-{lo + i}", r) for i, r in enumerate(ids)])
        conn.commit()
    print(exp)


if __name__ == "__main__":
    main()
