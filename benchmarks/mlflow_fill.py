"""Run in MLflow's throw-away venv: ``n`` finished runs in a SQLite store of MLflow's, shaped as
``workloads.bulk_fill`` makes aml's (10 params, 5 metrics). Prints the experiment's id.

    python benchmarks/mlflow_fill.py STORE.db N

The first 2,000 runs go in through MLflow's own client (``create_run``, ``log_batch``,
``set_terminated``), as the tracking bench's do; the rest are copies of those rows, made by SQL
with new ids, names and start times, because the client takes 17 ms a run here (100,000 runs
would take half an hour). Every row is one MLflow's client wrote, in the tables it made.
"""

import sqlite3
import sys
import time
import uuid

import mlflow
from mlflow.entities import Metric, Param
from mlflow.tracking import MlflowClient

BY_CLIENT = 2_000
BLOCK = 20_000
RUN_TABLES = ("params", "metrics", "latest_metrics", "tags")


def by_client(exp: str, n: int) -> list[str]:
    client = MlflowClient()
    ids = []
    for i in range(n):
        run = client.create_run(exp, run_name=f"run-{i}")
        now = int(time.time() * 1000)
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("acc", (i * 7919 % 1000) / 1000, now, 0)] + [Metric(f"m{j}", j, now, 0) for j in range(4)],
            params=[Param("lr", ["0.01", "0.1", "0.001"][i % 3])] + [Param(f"p{j}", str(j)) for j in range(9)],
        )
        client.set_terminated(run.info.run_id)
        ids.append(run.info.run_id)
    return ids


def columns(conn: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in conn.execute(f"PRAGMA table_info({table})")]


def copy_runs(conn: sqlite3.Connection, templates: list[str], first: int, n: int) -> None:
    """Runs ``first``..``n - 1`` as copies of the template runs' rows, a block at a time."""
    start = int(time.time() * 1000)
    conn.execute("CREATE TEMP TABLE copies (old TEXT, new TEXT, idx INTEGER)")
    run_cols = columns(conn, "runs")
    special = {
        "run_uuid": "c.new",
        "name": "'run-' || c.idx",
        "start_time": f"{start} - c.idx",
        "artifact_uri": "replace(r.artifact_uri, r.run_uuid, c.new)",
    }
    runs_select = ", ".join(special.get(col, f"r.{col}") for col in run_cols)
    for lo in range(first, n, BLOCK):
        rows = [(templates[k % len(templates)], uuid.uuid4().hex, k) for k in range(lo, min(n, lo + BLOCK))]
        conn.executemany("INSERT INTO copies VALUES (?, ?, ?)", rows)
        conn.execute(
            f"INSERT INTO runs ({', '.join(run_cols)}) SELECT {runs_select}"
            " FROM runs r JOIN copies c ON r.run_uuid = c.old"
        )
        for table in RUN_TABLES:
            cols = columns(conn, table)
            pick = {"run_uuid": "c.new"}
            if table == "tags":  # the run's name lives in a tag too
                pick["value"] = "CASE WHEN t.key = 'mlflow.runName' THEN 'run-' || c.idx ELSE t.value END"
            select = ", ".join(pick.get(col, f"t.{col}") for col in cols)
            conn.execute(
                f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select}"
                f" FROM {table} t JOIN copies c ON t.run_uuid = c.old"
            )
        conn.execute("DELETE FROM copies")
        conn.commit()


def main() -> None:
    db, n = sys.argv[1], int(sys.argv[2])
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    exp = mlflow.create_experiment("search")
    templates = by_client(exp, min(n, BY_CLIENT))
    conn = sqlite3.connect(db)
    copy_runs(conn, templates, len(templates), n)
    conn.close()
    print(exp)


if __name__ == "__main__":
    main()
