"""learn on Dask DataFrames: statistics from Dask, LightGBM's distributed learner on a real
cluster, prediction by partition, exact metrics from partition sums, binned curves labelled."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import aml_jupyter as aml
from aml_jupyter import learn
from aml_jupyter.workspace import Workspace

from .data import churn

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]
dd = pytest.importorskip("dask.dataframe")


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_train_and_evaluate_on_a_cluster(client: Any, ws: Workspace) -> None:
    df = churn(4000)
    ddf = dd.from_pandas(df, npartitions=4)
    with aml.start_run(experiment="dask", workspace=ws, snapshot=False) as run:
        model = learn.train_classifier(ddf, label="churned", params={"n_estimators": 20}, client=client)
        report = learn.evaluate(model, ddf)
    assert model.family == "lightgbm" and model.training["where"] == "cluster" and model.training["rows"] == 4000
    here = learn.evaluate(model, df, log=False)  # the same model on pandas: the exact reference
    for key in ("accuracy_score", "f1_score", "f1_score_macro", "precision_score", "recall_score", "log_loss"):
        assert report.metrics[key] == pytest.approx(here.metrics[key]), key
    assert report.metrics["roc_auc"] == pytest.approx(here.metrics["roc_auc"], abs=0.01)
    assert "roc_auc" in report.approximate and "approximate" in report.figures["roc"].axes[0].get_title()
    assert report.data["confusion_matrix"].equals(here.data["confusion_matrix"])
    logged = aml.get_run(run.id, workspace=ws)
    assert logged.tags["learn.approximate"].startswith("precision_recall_auc, roc_auc")
    rows = pd.read_parquet(logged.artifact_path("evaluation/per_instance.parquet"))
    assert len(rows) == 4000 and rows["correct"].mean() == pytest.approx(here.metrics["accuracy_score"])
    predicted = model.predict(ddf.drop(columns=["churned"])).compute()
    assert list(predicted) == list(model.predict(df.drop(columns=["churned"])))


def test_regression_on_dask_is_exact(client: Any) -> None:
    df = churn(3000).drop(columns=["churned"])
    df["value"] = df["spend"] * 2 + df["age"]
    ddf = dd.from_pandas(df, npartitions=3)
    model = learn.train_regressor(ddf, label="value", model="ridge")  # no distributed ridge: gathered
    assert model.training["where"] == "gathered"
    on_dask, here = learn.evaluate(model, ddf), learn.evaluate(model, df)
    for key, value in here.metrics.items():
        assert on_dask.metrics[key] == pytest.approx(value), key
