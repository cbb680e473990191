"""What an MLflow user's code does, run by the real MLflow client (in a throw-away venv made by
tests/server/test_mlflow_client.py) against aml: prints one JSON object of what it saw.

    python mlflow_client.py TRACKING_URI FOLDER

MLFLOW_TRACKING_TOKEN is the contributor's token; READER_TOKEN a reader's; SECTIONS, when set,
names the sections to run (a comma-separated list).
"""

from __future__ import annotations

import json
import math
import os
import sys
import traceback
from pathlib import Path
from typing import Any

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param, RunTag

uri, folder = sys.argv[1], Path(sys.argv[2])
mlflow.set_tracking_uri(uri)
out: dict[str, Any] = {"version": mlflow.__version__}


ONLY = set(filter(None, os.environ.get("SECTIONS", "").split(",")))  # empty: all of them


def section(name: str):  # type: ignore[no-untyped-def]
    def wrap(fn):  # type: ignore[no-untyped-def]
        import time

        if ONLY and name not in ONLY:
            return fn
        started = time.perf_counter()
        try:
            fn()
            out.setdefault("seconds", {})[name] = round(time.perf_counter() - started, 2)
        except Exception as exc:  # noqa: BLE001 - reported, and the other sections go on
            out[name + "_failed"] = f"{type(exc).__name__}: {exc}\n{traceback.format_exc()[-1500:]}"
        return fn

    return wrap


def number(v: float) -> Any:
    return "NaN" if math.isnan(v) else ("Infinity" if v == math.inf else ("-Infinity" if v == -math.inf else v))


@section("snippet")
def _snippet() -> None:
    from sklearn.linear_model import LogisticRegression

    mlflow.set_experiment("mlflow-snippet")
    (folder / "confusion.txt").write_text("tp fp\nfn tn\n")
    mlflow.sklearn.autolog(log_models=False)
    with mlflow.start_run(run_name="rf") as run:
        LogisticRegression(C=0.5).fit([[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]], [0, 1, 0, 1])
        mlflow.log_metric("val_acc", 0.93, step=3)
        mlflow.log_metrics({"edge_nan": float("nan"), "edge_inf": float("inf")})
        mlflow.log_param("layers", 3)
        mlflow.set_tag("team", "vision")
        mlflow.log_artifact(str(folder / "confusion.txt"))
        mlflow.log_artifact(str(folder / "confusion.txt"), artifact_path="plots")
        with mlflow.start_run(run_name="child", nested=True) as child:
            mlflow.log_metric("c", 1.0)
    mlflow.sklearn.autolog(disable=True)
    client = MlflowClient()
    got = client.get_run(run.info.run_id)
    out["snippet"] = {
        "run_id": run.info.run_id,
        "child_id": child.info.run_id,
        "status": got.info.status,
        "params": got.data.params,
        "metrics": {k: number(v) for k, v in got.data.metrics.items()},
        "tags": {k: v for k, v in got.data.tags.items() if k in ("team", "mlflow.runName", "mlflow.user")},
        "child_parent": client.get_run(child.info.run_id).data.tags.get("mlflow.parentRunId"),
        "artifacts": sorted(a.path for a in client.list_artifacts(run.info.run_id)),
        "plots": sorted(a.path for a in client.list_artifacts(run.info.run_id, "plots")),
        "downloaded": Path(client.download_artifacts(run.info.run_id, "plots/confusion.txt", str(folder))).read_text(),
    }
    found = mlflow.search_runs(filter_string="metrics.val_acc > 0.9", order_by=["metrics.val_acc DESC"])
    out["snippet"]["search"] = found["run_id"].tolist()


@section("history")
def _history() -> None:
    client = MlflowClient()
    exp = client.get_experiment_by_name("mlflow-snippet").experiment_id
    run = client.create_run(exp, run_name="history")
    for step in range(120):
        client.log_metric(run.info.run_id, "loss", 1.0 / (step + 1), step=step, timestamp=1_700_000_000_000 + step)
    client.set_terminated(run.info.run_id)
    points = client.get_metric_history(run.info.run_id, "loss")
    out["history"] = {"run_id": run.info.run_id, "steps": [m.step for m in points], "last": points[-1].value}


@section("batch")
def _batch() -> None:
    client = MlflowClient()
    run = client.create_run("0", run_name="batch")
    rid = run.info.run_id
    metrics = [Metric("m", float(i), 1_700_000_000_000, i) for i in range(1000)]
    client.log_batch(rid, metrics=metrics, params=[Param(f"p{i}", str(i)) for i in range(0)])
    client.log_batch(rid, params=[Param(f"p{i}", str(i)) for i in range(100)], tags=[RunTag("t", "v")])
    # Over the limits, the client splits a batch itself (the server's own check: test_mlflow_client.py).
    client.log_batch(rid, metrics=[Metric("x", 1.0, 1, i) for i in range(1001)])
    errors = {}
    try:
        client.log_param(rid, "p1", "changed")
    except Exception as exc:  # noqa: BLE001
        errors["param_changed"] = getattr(exc, "error_code", type(exc).__name__)
    client.log_param(rid, "p1", "1")  # the same value again is fine
    client.set_terminated(rid, status="FAILED")
    got = client.get_run(rid)
    out["batch"] = {
        "run_id": rid,
        "errors": errors,
        "status": got.info.status,
        "params": len(got.data.params),
        "points": len(client.get_metric_history(rid, "m")),
        "x_points": len(client.get_metric_history(rid, "x")),
    }


@section("failed")
def _failed() -> None:
    mlflow.set_experiment("mlflow-snippet")
    run = mlflow.start_run(run_name="will-fail")
    mlflow.end_run("FAILED")
    out["failed"] = MlflowClient().get_run(run.info.run_id).info.status


@section("models")
def _models() -> None:
    from sklearn.linear_model import LogisticRegression

    x, y = [[0.0, 1.0], [1.0, 0.0], [0.1, 0.9], [0.9, 0.2]], [0, 1, 0, 1]
    mlflow.set_experiment("mlflow-snippet")
    with mlflow.start_run(run_name="with-model") as run:
        # Requirements given: MLflow would otherwise spend seconds inferring them in a subprocess.
        mlflow.sklearn.log_model(LogisticRegression().fit(x, y), "model", pip_requirements=["scikit-learn"])
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", "rf-clf")
    loaded = mlflow.pyfunc.load_model(f"models:/rf-clf/{mv.version}")
    client = MlflowClient()
    client.set_registered_model_alias("rf-clf", "champion", mv.version)
    out["models"] = {
        "run_id": run.info.run_id,
        "version": mv.version,
        "predicted": [int(v) for v in loaded.predict(x)],
        "alias": client.get_model_version_by_alias("rf-clf", "champion").version,
        "by_alias": [int(v) for v in mlflow.pyfunc.load_model("models:/rf-clf@champion").predict(x)],
        "versions": sorted(int(v.version) for v in client.search_model_versions("name='rf-clf'")),
    }


@section("big")
def _big() -> None:
    big = folder / "big.bin"
    with open(big, "wb") as f:
        for i in range(50):
            f.write(bytes([i % 251]) * (1 << 20))
    with mlflow.start_run(run_name="big") as run:
        mlflow.log_artifact(str(big))
    (folder / "down").mkdir()
    back = Path(MlflowClient().download_artifacts(run.info.run_id, "big.bin", str(folder / "down")))
    out["big"] = {"size": back.stat().st_size, "same": back.read_bytes() == big.read_bytes()}


@section("pages")
def _pages() -> None:
    client = MlflowClient()
    exp = client.get_experiment_by_name("paged").experiment_id
    seen, token, pages = [], None, 0
    while True:
        page = client.search_runs([exp], max_results=1000, page_token=token)
        seen += [r.info.run_id for r in page]
        pages += 1
        token = page.token
        if not token:
            break
    out["pages"] = {"pages": pages, "runs": len(seen), "distinct": len(set(seen))}


@section("filters")
def _filters() -> None:
    filters = json.loads(os.environ["FILTERS"])
    out["filters"] = {
        f: mlflow.search_runs(experiment_names=["mlflow-snippet", "aml-side"], filter_string=f)["run_id"].tolist()
        for f in filters
    }


@section("aml_side")
def _aml_side() -> None:
    client = MlflowClient()
    exp = client.get_experiment_by_name("aml-side").experiment_id
    runs = client.search_runs([exp])
    rid = runs[0].info.run_id
    out["aml_side"] = {
        "run_id": rid,
        "status": runs[0].info.status,
        "history": [(m.step, m.value) for m in client.get_metric_history(rid, "loss")],
    }


@section("refusals")
def _refusals() -> None:
    said = {}
    reader = MlflowClient()
    os.environ["MLFLOW_TRACKING_TOKEN"] = os.environ["READER_TOKEN"]
    try:
        reader.create_run("0")
    except Exception as exc:  # noqa: BLE001
        said["reader_write"] = getattr(exc, "error_code", type(exc).__name__)
    said["reader_read"] = len(reader.search_runs(["0"])) >= 0
    os.environ["MLFLOW_TRACKING_TOKEN"] = "aml_00000000_wrong"
    try:
        reader.search_runs(["0"])
    except Exception as exc:  # noqa: BLE001
        said["wrong_token"] = getattr(exc, "error_code", type(exc).__name__)
    out["refusals"] = said


print(json.dumps(out))
