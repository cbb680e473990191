"""One benchmark case, for one implementation, in this process; prints one JSON object.

Run by ``benchmarks/run.py`` in a fresh process per case: the project's venv for aml_jupyter, a
throw-away venv for MLflow. Both sides do the same work through their public APIs, into SQLite.

    python benchmarks/workloads.py IMPL CASE N DIR      IMPL: aml | mlflow
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import sys
import time
from typing import Any

FILTER = "metrics.acc > 0.9 and params.lr = '0.01'"
ORDER = ["metrics.acc DESC"]


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# ---------------------------------------------------------------------------------------------
# aml_jupyter


def aml_ws(folder: str):  # type: ignore[no-untyped-def]
    import aml_jupyter as aml

    if not os.path.isdir(os.path.join(folder, ".aml")):
        # AML_BENCH_STORE: the run store on a server (benchmarks/stores.py); else SQLite in the folder.
        aml.Workspace.init(folder, name="bench", store=os.environ.get("AML_BENCH_STORE") or None)
    return aml.Workspace.open(folder)


def aml_case(case: str, n: int, folder: str) -> dict[str, float]:
    import aml_jupyter as aml

    ws = aml_ws(folder)
    ws.store  # noqa: B018 - open the store before the clock starts, as the MLflow side does
    if case == "log":
        with aml.start_run("bench", workspace=ws) as run:
            t0 = time.perf_counter()
            for i in range(n):
                aml.log("x", i * 0.5, step=i)
            run.flush()
            dt = time.perf_counter() - t0
        return {"seconds": dt, "per_call_us": dt / n * 1e6, "points_per_s": n / dt}
    if case == "batch":
        import numpy as np

        values = np.random.default_rng(0).random(n)
        with aml.start_run("bench", workspace=ws) as run:
            t0 = time.perf_counter()
            run.log_batch("x", values)
            run.flush()
            dt = time.perf_counter() - t0
        return {"seconds": dt, "points_per_s": n / dt}
    if case == "runs":
        t0 = time.perf_counter()
        for i in range(n):
            with aml.start_run("bench-runs", params={f"p{j}": i * j for j in range(10)}, workspace=ws):
                aml.log_metrics({f"m{j}": i * 0.1 + j for j in range(5)})
        dt = time.perf_counter() - t0
        return {"seconds": dt, "runs_per_s": n / dt}
    if case == "bulk":
        return bulk_fill(ws, n)
    if case == "populate":
        t0 = time.perf_counter()
        for i in range(n):
            lr = ["0.01", "0.1", "0.001"][i % 3]
            with aml.start_run("search", params={"lr": lr, **{f"p{j}": j for j in range(9)}}, workspace=ws):
                aml.log_metrics({"acc": (i * 7919 % 1000) / 1000, **{f"m{j}": j for j in range(4)}})
        return {"seconds": time.perf_counter() - t0}
    if case in ("query", "query_top"):
        aml.search_runs(FILTER, experiments="search", order_by=ORDER, max_results=100, workspace=ws)  # warm
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            top = aml.search_runs(FILTER, experiments="search", order_by=ORDER, max_results=100, workspace=ws)
            times.append(time.perf_counter() - t0)
        if case == "query_top":  # a million runs into a DataFrame is not what this figure is about
            return {"filter_ms": statistics.median(times) * 1e3, "top_rows": len(top)}
        all_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            every = aml.search_runs(experiments="search", max_results=1_000_000, workspace=ws)
            all_times.append(time.perf_counter() - t0)
        return {
            "filter_ms": statistics.median(times) * 1e3,
            "all_runs_s": statistics.median(all_times),
            "rows": len(every),
            "top_rows": len(top),
        }
    if case == "memory":
        base = rss_mb()
        with aml.start_run("bench", workspace=ws, snapshot=False) as run:
            for i in range(n):
                aml.log("x", float(i))
            run.flush()
        return {"peak_rss_mb": rss_mb(), "rss_before_mb": base}
    raise SystemExit(f"unknown case {case}")


# ---------------------------------------------------------------------------------------------
# MLflow


def mlflow_setup(folder: str) -> None:
    import mlflow

    mlflow.set_tracking_uri(f"sqlite:///{os.path.join(folder, 'mlflow.db')}")
    mlflow.set_experiment("bench")


def mlflow_case(case: str, n: int, folder: str) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric
    from mlflow.tracking import MlflowClient

    mlflow_setup(folder)
    if case == "log":
        with mlflow.start_run():
            t0 = time.perf_counter()
            for i in range(n):
                mlflow.log_metric("x", i * 0.5, step=i)
            dt = time.perf_counter() - t0
        return {"seconds": dt, "per_call_us": dt / n * 1e6, "points_per_s": n / dt}
    if case == "batch":
        client = MlflowClient()
        with mlflow.start_run() as run:
            now = int(time.time() * 1000)
            t0 = time.perf_counter()
            for start in range(0, n, 1000):  # MLflow takes at most 1000 metrics per batch
                client.log_batch(
                    run.info.run_id, metrics=[Metric("x", float(i), now, i) for i in range(start, min(n, start + 1000))]
                )
            dt = time.perf_counter() - t0
        return {"seconds": dt, "points_per_s": n / dt}
    if case == "runs":
        mlflow.set_experiment("bench-runs")
        t0 = time.perf_counter()
        for i in range(n):
            with mlflow.start_run():
                mlflow.log_params({f"p{j}": i * j for j in range(10)})
                mlflow.log_metrics({f"m{j}": i * 0.1 + j for j in range(5)})
        dt = time.perf_counter() - t0
        return {"seconds": dt, "runs_per_s": n / dt}
    if case == "populate":
        mlflow.set_experiment("search")
        client = MlflowClient()
        from mlflow.entities import Param

        exp = mlflow.get_experiment_by_name("search").experiment_id
        t0 = time.perf_counter()
        for i in range(n):
            run = client.create_run(exp)
            lr = ["0.01", "0.1", "0.001"][i % 3]
            now = int(time.time() * 1000)
            client.log_batch(
                run.info.run_id,
                metrics=[Metric("acc", (i * 7919 % 1000) / 1000, now, 0)]
                + [Metric(f"m{j}", j, now, 0) for j in range(4)],
                params=[Param("lr", lr)] + [Param(f"p{j}", str(j)) for j in range(9)],
            )
            client.set_terminated(run.info.run_id)
        return {"seconds": time.perf_counter() - t0}
    if case == "query":
        exp = mlflow.get_experiment_by_name("search").experiment_id
        mlflow.search_runs([exp], FILTER, order_by=ORDER, max_results=100)
        times = []
        for _ in range(7):
            t0 = time.perf_counter()
            top = mlflow.search_runs([exp], FILTER, order_by=ORDER, max_results=100)
            times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        every = mlflow.search_runs([exp], max_results=100_000)
        return {
            "filter_ms": statistics.median(times) * 1e3,
            "all_runs_s": time.perf_counter() - t0,
            "rows": len(every),
            "top_rows": len(top),
        }
    if case == "memory":
        base = rss_mb()
        with mlflow.start_run():
            for i in range(n):
                mlflow.log_metric("x", float(i), step=i)
        return {"peak_rss_mb": rss_mb(), "rss_before_mb": base}
    raise SystemExit(f"unknown case {case}")


def bulk_fill(ws: Any, n: int, lean: bool = False) -> dict[str, float]:
    """Add ``n`` completed runs shaped as ``populate`` makes them (10 params, 5 metrics) straight
    into the store's tables, 20,000 at a time: a million runs through start_run would take hours,
    and the query figures only need the rows. ``lean`` runs hold one param (lr) and one metric
    (acc): what a test of many rows needs, a fifth of the writing."""
    import uuid

    from aml_jupyter.store.sql import schema as t

    t0 = time.perf_counter()
    db = ws.store.db
    exp = ws.store.experiment_id("search", create=True)
    keys = dict(db.write(lambda c: ws.store._intern_keys(c, {"acc", "m0", "m1", "m2", "m3"})))
    first = db.read(lambda c: c.exec_driver_sql("SELECT COALESCE(MAX(pk), 0) FROM runs").scalar()) + 1
    step = 20_000
    for lo in range(0, n, step):
        pks = range(first + lo, first + min(lo + step, n))
        now = int(time.time() * 1000)
        runs = [
            {
                "pk": pk,
                "id": uuid.uuid4().hex,
                "experiment_id": exp,
                "name": f"run-{pk}",
                "status": "completed",
                "start_time": now,
                "end_time": now,
                "source_kind": "script",
                "user": "bench",
                "compute_target": "local",
            }
            for pk in pks
        ]
        params = [
            {"run_pk": pk, "key": key, "value": value}
            for pk in pks
            for key, value in (
                ("lr", ["0.01", "0.1", "0.001"][pk % 3]),
                *((f"p{j}", str(j)) for j in range(0 if lean else 9)),
            )
        ]
        metrics = [
            {"run_pk": pk, "key_id": keys[key], "step": 0, "value": value, "special": 0, "timestamp": now}
            for pk in pks
            for key, value in (
                ("acc", (pk * 7919 % 1000) / 1000),
                *((f"m{j}", float(j)) for j in range(0 if lean else 4)),
            )
        ]

        def write(conn: Any, runs: Any = runs, params: Any = params, metrics: Any = metrics) -> None:
            if db.is_sqlite:
                conn.execute(t.runs.insert(), runs)
                conn.execute(t.params.insert(), params)
                conn.execute(t.latest_metrics.insert(), metrics)
                return
            cursor = conn.connection.dbapi_connection.cursor()  # PostgreSQL's COPY: the fast way in
            for table, rows in (("runs", runs), ("params", params), ("latest_metrics", metrics)):
                cols = list(rows[0])
                quoted = ", ".join(f'"{c}"' for c in cols)
                with cursor.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in cols])

        db.write(write)
    if not db.is_sqlite:  # the planner's statistics, as autovacuum would have them on a live server
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("SELECT setval('runs_pk_seq', (SELECT MAX(pk) FROM runs))")
            conn.exec_driver_sql("ANALYZE")
    return {"seconds": time.perf_counter() - t0}


def main() -> None:
    impl, case, n, folder = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    os.makedirs(folder, exist_ok=True)
    result = (aml_case if impl == "aml" else mlflow_case)(case, n, folder)
    print(json.dumps({"impl": impl, "case": case, "n": n, **result}))


if __name__ == "__main__":
    main()
