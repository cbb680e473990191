"""train, evaluate, find the best, tune and register on pandas, logged to runs; the bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import aml_jupyter as aml
from aml_jupyter import learn
from aml_jupyter.errors import InvalidValue, UntrustedModel
from aml_jupyter.workspace import Workspace

from .data import churn

pytestmark = pytest.mark.sqlite_only  # the runs and the registry are proven on both stores elsewhere

FAST = {"max_iter": 30}


@pytest.fixture(scope="module")
def frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    df = churn(1500)
    return df.iloc[:1000], df.iloc[1000:1250].reset_index(drop=True), df.iloc[1250:].reset_index(drop=True)


def _names(ws: Workspace, run_id: str) -> set[str]:
    return {a.name for a in aml.get_run(run_id, workspace=ws).artifacts}


def test_the_snippet_trains_evaluates_picks_and_registers(ws: Workspace, frames: tuple[pd.DataFrame, ...]) -> None:
    train, test, val = frames
    with aml.start_run(experiment="churn", workspace=ws, snapshot=False) as run:
        model = learn.train_classifier(train, label="churned", params=FAST)
        report = learn.evaluate(model, test, label="churned")
    assert model.family == "hgb" and report.metrics["example_count"] == len(test)
    assert report.metrics["accuracy_score"] > 0.8 and 0.5 < report.metrics["roc_auc"] <= 1.0
    logged = aml.get_run(run.id, workspace=ws)
    assert logged.params["learn.family"] == "hgb" and logged.params["learn.label"] == "churned"
    assert logged.metrics["accuracy_score"] == pytest.approx(report.metrics["accuracy_score"])
    assert {"learn/featurization.parquet", "evaluation/per_instance.parquet", "evaluation/roc.png",
            "evaluation/roc.parquet", "evaluation/confusion_matrix.png", "evaluation/calibration.png",
            "evaluation/precision_recall.png"} <= _names(ws, run.id)  # fmt: skip

    candidates = [learn.train_classifier(train, label="churned", model=m) for m in ("hgb", "logreg", "rf")]
    best = learn.find_best_model(candidates, val, metric="roc_auc", workspace=ws)
    board = best.leaderboard
    assert list(board["rank"]) == [1, 2, 3] and board["roc_auc"].is_monotonic_decreasing
    assert best.score == board["roc_auc"].iloc[0] and best.model is candidates[int(board["candidate"][0][0]) - 1]
    children = aml.search_runs(experiments=["default"], workspace=ws)
    assert len(children) == 4  # the find_best_model run and one child per candidate
    assert "find_best_model/leaderboard.png" in _names(ws, best.parent_run_id or "")
    assert "evaluation/roc.png" in _names(ws, best.run_id or "")

    mv = learn.register(best, "churn-clf", workspace=ws)
    assert mv.flavor == "sklearn" and mv.tags["learn.label"] == "churned"
    assert aml.model_lineage("churn-clf:1", workspace=ws)["run"]["id"] == best.run_id
    loaded = aml.load_model("churn-clf:1", workspace=ws)  # skops, without trusted=True
    assert list(loaded.predict(val.head(5))) == list(best.model.predict(val.head(5)))

    from aml_jupyter.serving.app import create_app

    app = create_app(mv.ref, loaded, mv.flavor, mv.signature, "k")
    records = val.drop(columns=["churned"]).head(3).to_dict("records")
    r = TestClient(app).post("/score", json={"data": records}, headers={"Authorization": "Bearer k"})
    assert r.status_code == 200, r.text
    assert r.json()["predictions"] == list(best.model.predict(val.head(3)))


def test_metrics_match_scikit_learn(frames: tuple[pd.DataFrame, ...]) -> None:
    from sklearn import metrics as m

    train, test, _ = frames
    model = learn.train_classifier(train, label="churned", model="logreg")
    r = learn.evaluate(model, test, pos_label="yes")
    y, proba = test["churned"], model.predict_proba(test.drop(columns=["churned"]))
    pred = model.predict(test.drop(columns=["churned"]))
    assert r.metrics["f1_score"] == pytest.approx(m.f1_score(y, pred, pos_label="yes"))
    assert r.metrics["f1_score_macro"] == pytest.approx(m.f1_score(y, pred, average="macro"))
    assert r.metrics["log_loss"] == pytest.approx(m.log_loss(y, proba, labels=model.classes_))
    assert r.metrics["roc_auc"] == pytest.approx(m.roc_auc_score(y == "yes", proba[:, 1]))
    assert list(r.per_instance.columns) == ["true", "predicted", "proba_true", "correct", "log_loss"]
    other = learn.evaluate(model, test, pos_label="no")  # a non-default positive class
    assert other.metrics["f1_score"] == pytest.approx(m.f1_score(y, pred, pos_label="no"))
    assert other.metrics["roc_auc"] == pytest.approx(m.roc_auc_score(y == "no", proba[:, 0]))
    with pytest.raises(InvalidValue, match="pos_label 'maybe' is not one of the model's classes"):
        learn.evaluate(model, test, pos_label="maybe")


def test_a_test_set_missing_a_class_and_one_with_an_unseen_class() -> None:
    df = churn(900)
    df["tier"] = np.where(df["age"] < 35, "young", np.where(df["age"] < 60, "mid", "old"))
    model = learn.train_classifier(df.drop(columns=["churned"]), label="tier", params=FAST)
    only_two = df[df["tier"] != "old"].drop(columns=["churned"])
    r = learn.evaluate(model, only_two)
    assert r.metrics["example_count"] == len(only_two) and "roc_auc" in r.metrics
    assert list(r.data["confusion_matrix"]["true"]) == ["mid", "old", "young"]
    strange = only_two.head(10).assign(tier="retired")
    r2 = learn.evaluate(model, strange)
    assert r2.metrics["accuracy_score"] == 0.0 and "retired" in list(r2.data["confusion_matrix"]["true"])
    assert (r2.per_instance["proba_true"] == 0).all()


def test_regression_metrics_and_figures() -> None:
    from sklearn import metrics as m

    df = churn(800)
    df["value"] = df["spend"] * 2 + df["age"]
    model = learn.train_regressor(df.drop(columns=["churned"]), label="value", model="ridge")
    r = learn.evaluate(model, df.drop(columns=["churned"]))
    pred = model.predict(df.drop(columns=["churned", "value"]))
    assert r.metrics["root_mean_squared_error"] == pytest.approx(m.root_mean_squared_error(df["value"], pred))
    assert r.metrics["r2_score"] == pytest.approx(m.r2_score(df["value"], pred))
    assert sorted(r.figures) == ["predicted_vs_actual", "residuals"]
    assert list(r.per_instance.columns) == ["true", "predicted", "residual", "l1", "l2"]
    assert "<img" in r._repr_html_()


def test_bad_labels() -> None:
    df = churn(200)
    with pytest.raises(InvalidValue, match=r"label 'churned' has one class \('no'\)"):
        learn.train_classifier(df.assign(churned="no"), label="churned")
    with pytest.raises(InvalidValue, match="no label column 'gone'"):
        learn.train_classifier(df, label="gone")
    with pytest.raises(InvalidValue, match="must be numbers for a regressor; it holds '(yes|no)', '(yes|no)'$"):
        learn.train_regressor(df, label="churned")
    with pytest.raises(InvalidValue, match="unknown classification family 'svm'"):
        learn.train_classifier(df, label="churned", model="svm")
    holes = df.copy()
    holes.loc[:9, "churned"] = None
    model = learn.train_classifier(holes, label="churned", model="logreg")
    assert model.training["dropped"] == 10 and model.training["rows"] == 190
    assert learn.evaluate(model, holes).dropped == 10


def test_tune_searches_through_the_sweep_space(ws: Workspace, frames: tuple[pd.DataFrame, ...]) -> None:
    train, _, val = frames
    best = learn.tune(train, "churned", val, ["C=loguniform(0.001,10)"], model="logreg", max_runs=3, workspace=ws)
    assert len(best.leaderboard) == 3 and best.leaderboard["C"].nunique() == 3
    assert best.leaderboard["roc_auc"].iloc[0] == best.score
    with pytest.raises(InvalidValue, match="use choice"):
        learn.tune(train, "churned", val, ["C=wobbly(1)"], model="logreg", workspace=ws)


def test_a_skops_file_with_a_type_off_the_allow_list_is_refused(tmp_path: object) -> None:
    from pathlib import Path

    import skops.io as sio
    from sklearn.pipeline import make_pipeline

    from aml_jupyter.models import flavors

    folder = Path(str(tmp_path))
    sio.dump(make_pipeline(Unlisted()), folder / "model.skops")
    with pytest.raises(UntrustedModel, match=r"tests\.learn\.test_learn\.Unlisted"):
        flavors.get("sklearn").load(folder, trusted=False)
    learned = learn.train_classifier(churn(200), label="churned", model="rf", params={"n_estimators": 5})
    (folder / "model.skops").unlink()
    sio.dump(learned, folder / "model.skops")
    assert flavors.get("sklearn").load(folder, trusted=False).label == "churned"  # ours are on the list


class Unlisted:
    def fit(self, X: object, y: object = None) -> Unlisted:
        return self
