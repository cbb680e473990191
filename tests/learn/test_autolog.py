"""aml.autolog(): scikit-learn's fit and LightGBM's iterations log themselves inside a run."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def autologged() -> Iterator[list[str]]:
    yield aml.autolog()
    aml.autolog(disable=True)


def _data() -> tuple[np.ndarray, np.ndarray]:
    X = np.random.default_rng(0).random((600, 4))
    return X, (X[:, 0] + X[:, 1] > 1).astype(int)


def test_fits_log_params_metrics_and_a_registrable_model(ws: Workspace, autologged: list[str]) -> None:
    import lightgbm as lgb
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    assert {"sklearn", "lightgbm"} <= set(autologged)
    X, y = _data()
    with aml.start_run("auto", workspace=ws, snapshot=False) as run:
        pipe = make_pipeline(StandardScaler(), LogisticRegression(C=0.5)).fit(X, y)
        HistGradientBoostingClassifier(max_iter=5).fit(X, y)
        lgb.LGBMClassifier(n_estimators=4, verbose=-1).fit(X, y, eval_X=(X,), eval_y=(y,))
        Ridge().fit(X, y.astype(float))
    first = aml.get_run(run.id, workspace=ws)
    assert first.params["logisticregression__C"] == "0.5" and first.tags["estimator_name"] == "Pipeline"
    assert first.metrics["training_accuracy_score"] > 0.9 and "training_roc_auc" in first.metrics
    assert [a.name for a in first.artifacts] == ["model/model.skops"]  # the pipeline's steps logged nothing
    runs = aml.search_runs(experiments=["auto"], workspace=ws)
    children = runs[runs["run_id"] != run.id].set_index("tags.estimator_name")
    assert sorted(children.index) == ["HistGradientBoostingClassifier", "LGBMClassifier", "Ridge"]
    assert children.loc["Ridge", "metrics.training_r2_score"] > 0.5
    booster = aml.get_run(children.loc["LGBMClassifier", "run_id"], workspace=ws)
    assert len(booster.metric_history("valid_0_binary_logloss")) == 4  # one point per iteration
    mv = aml.register_model("auto-clf", run=first, artifact="model", workspace=ws)
    assert aml.load_model(mv.ref, workspace=ws).predict(X[:9]).tolist() == pipe.predict(X[:9]).tolist()


def test_nothing_outside_a_run_and_disable_restores(ws: Workspace) -> None:
    from sklearn.linear_model import LogisticRegression

    original = LogisticRegression.__dict__["fit"]
    aml.autolog()
    assert LogisticRegression.__dict__["fit"] is not original
    X, y = _data()
    LogisticRegression().fit(X, y)  # no run: nothing is logged, nothing fails
    aml.autolog(disable=True)
    assert LogisticRegression.__dict__["fit"] is original
    with aml.start_run("off", workspace=ws, snapshot=False) as run:
        LogisticRegression().fit(X, y)
    assert aml.get_run(run.id, workspace=ws).params == {}


def test_learn_logs_its_own_way_not_through_autolog(ws: Workspace, autologged: list[str]) -> None:
    from aml_jupyter import learn

    from .data import churn

    with aml.start_run("learn", workspace=ws, snapshot=False) as run:
        learn.train_classifier(churn(300), label="churned", model="logreg")
    logged = aml.get_run(run.id, workspace=ws)
    assert logged.params["learn.family"] == "logreg" and "estimator_name" not in logged.tags


def test_xgboost_iterations_are_logged(ws: Workspace, autologged: list[str]) -> None:
    xgb = pytest.importorskip("xgboost")
    assert "xgboost" in autologged
    X, y = _data()
    with aml.start_run("xgb", workspace=ws, snapshot=False) as run:
        xgb.XGBClassifier(n_estimators=3, max_depth=2).fit(X, y, eval_set=[(X, y)], verbose=False)
    logged = aml.get_run(run.id, workspace=ws)
    assert len(logged.metric_history("validation_0-logloss")) == 3
    assert logged.tags["estimator_name"] == "XGBClassifier" and logged.params["max_depth"] == "2"
