"""Native predictors: exactly the estimator's answers with numpy alone, refused when they would not
be, never read as pickles, and served without importing scikit-learn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import aml_jupyter as aml
from aml_jupyter.models import native
from aml_jupyter.services.models import load_for_serving
from aml_jupyter.workspace import Workspace
from tests.conftest import free_port, wait_healthy

pytestmark = (
    pytest.mark.sqlite_only
)  # model files and serving; the registry's rows are proven on both stores by test_registry

AML = str(Path(sys.executable).with_name("aml"))


def _data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    x = rng.normal([5.8, 3.0, 3.7, 1.2], [0.8, 0.4, 1.7, 0.7], size=(150, 4))
    labels = np.digitize(x[:, 2], [2.5, 4.9])
    target = x @ [1.5, -2.0, 0.3, 4.0] + rng.normal(0, 0.1, 150)
    return x, labels, target


def _estimators() -> list[tuple[str, Any, str]]:
    from sklearn import ensemble, linear_model, pipeline, preprocessing, svm, tree

    return [
        ("logistic", linear_model.LogisticRegression(max_iter=1000), "labels"),
        ("logistic, binary", linear_model.LogisticRegression(), "binary"),
        ("logistic, string classes", linear_model.LogisticRegression(max_iter=1000), "names"),
        ("ridge classifier", linear_model.RidgeClassifier(), "labels"),
        ("linear svc", svm.LinearSVC(), "labels"),
        ("linear regression", linear_model.LinearRegression(), "target"),
        ("lasso", linear_model.Lasso(alpha=0.01), "target"),
        ("decision tree", tree.DecisionTreeClassifier(random_state=0), "labels"),
        ("regression tree", tree.DecisionTreeRegressor(random_state=0), "target"),
        ("random forest", ensemble.RandomForestClassifier(n_estimators=20, random_state=0), "names"),
        ("forest regressor", ensemble.RandomForestRegressor(n_estimators=15, random_state=0), "target"),
        ("extra trees", ensemble.ExtraTreesClassifier(n_estimators=10, random_state=0), "labels"),
        (
            "scaler pipeline",
            pipeline.make_pipeline(preprocessing.StandardScaler(), linear_model.LogisticRegression()),
            "labels",
        ),
        (
            "two scalers and ridge",
            pipeline.make_pipeline(
                preprocessing.MinMaxScaler(clip=True), preprocessing.MaxAbsScaler(), linear_model.Ridge()
            ),
            "target",
        ),
    ]


@pytest.mark.parametrize("case", range(14))
def test_the_same_answers_as_the_estimator(case: int, tmp_path: Path) -> None:
    name, est, kind = _estimators()[case]
    x, labels, target = _data()
    y = {
        "labels": labels,
        "binary": labels > 0,
        "names": np.array(["setosa", "versicolor", "virginica"])[labels],
        "target": target,
    }[kind]
    est.fit(x, y)
    compiled = native.compile_model(est, x[:5])
    assert compiled is not None, name
    compiled.save(tmp_path / native.FILE)
    loaded = native.load(tmp_path / native.FILE)
    # Fresh rows, far outside the training range too: the answers must match to the last bit.
    probe = np.random.default_rng(1).normal(0, 20, size=(3000, 4))
    for rows in (x, probe, x[:1]):
        expected, got = est.predict(rows), loaded.predict(rows)
        assert got.tolist() == expected.tolist() and got.dtype.kind == expected.dtype.kind, name


def test_feature_names_order_and_bad_inputs() -> None:
    from sklearn.linear_model import LogisticRegression

    x, labels, _ = _data()
    frame = pd.DataFrame(x, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    clf = LogisticRegression(max_iter=1000).fit(frame, labels)
    compiled = native.compile_model(clf, frame.head())
    assert compiled is not None and compiled.features == list(frame.columns)
    shuffled = frame[["petal_w", "sepal_l", "petal_l", "sepal_w"]]  # columns by name, not by place
    assert compiled.predict(shuffled).tolist() == clf.predict(frame).tolist()
    with pytest.raises(ValueError, match="rows of 4 values"):
        compiled.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN or infinity"):
        compiled.predict([[1.0, float("nan"), 0.0, 0.0]])
    with pytest.raises(KeyError):
        compiled.predict(frame.drop(columns="petal_w"))


def test_what_has_no_native_form_or_differs_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import PolynomialFeatures

    x, labels, _ = _data()
    assert native.compile_model(GradientBoostingClassifier(n_estimators=3).fit(x, labels)) is None
    from sklearn.pipeline import make_pipeline

    poly = make_pipeline(PolynomialFeatures(), LogisticRegression(max_iter=2000)).fit(x, labels)
    assert native.compile_model(poly) is None
    assert native.compile_model(LogisticRegression()) is None  # not fitted
    clf = LogisticRegression(max_iter=1000).fit(x, labels)

    class Shifted(LogisticRegression):  # overrides predict: its answers are its own
        def predict(self, X: Any) -> Any:
            return super().predict(X)[::-1]

    shifted = Shifted(max_iter=1000).fit(x, labels)
    assert native.compile_model(shifted) is None
    # A native form that would answer differently is dropped by the check, not kept.
    real = native.NativeModel.predict
    monkeypatch.setattr(native.NativeModel, "predict", lambda self, v: real(self, v)[::-1])
    assert native.compile_model(clf, x[:5]) is None


def test_the_file_holds_no_pickle(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, labels, _ = _data()
    compiled = native.compile_model(LogisticRegression(max_iter=1000).fit(x, labels))
    assert compiled is not None
    path = tmp_path / native.FILE
    compiled.save(path)
    with zipfile.ZipFile(path) as z:  # every member a plain .npy array
        assert all(n.endswith(".npy") for n in z.namelist())
    # A file holding an object array (what a pickle would need) is refused on load.
    np.savez(tmp_path / "evil.npz", __spec__=np.frombuffer(b"{}", dtype=np.uint8), coef=np.array([object()]))
    with pytest.raises(ValueError, match="pickle"):
        native.load(tmp_path / "evil.npz")
    np.savez(tmp_path / "future.npz", __spec__=np.frombuffer(b'{"format": 99}', dtype=np.uint8))
    with pytest.raises(ValueError, match="format 99"):
        native.load(tmp_path / "future.npz")


def test_registration_keeps_only_the_native_form_it_made(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    x, labels, _ = _data()
    clf = LogisticRegression(max_iter=1000).fit(x, labels)
    folder = tmp_path / "mine"
    folder.mkdir()
    import skops.io as sio

    sio.dump(clf, folder / "model.skops")
    np.savez(folder / native.FILE, __spec__=np.frombuffer(b"{}", dtype=np.uint8))  # someone else's file
    mv = aml.register_model("own", path=folder, workspace=ws)
    assert "native" not in mv.source  # served by scikit-learn: the file was not made by the registry
    version, model, flavor = load_for_serving(mv.ref, workspace=ws)
    assert flavor == "sklearn" and model.predict(x[:3]).tolist() == clf.predict(x[:3]).tolist()
    made = aml.register_model("made", model=clf, sample_input=x[:5], workspace=ws)
    version, model, flavor = load_for_serving(made.ref, workspace=ws)
    assert flavor == "native" and model.predict(x).tolist() == clf.predict(x).tolist()
    assert load_for_serving(made.ref, native=False, workspace=ws)[2] == "sklearn"


def _post(port: int, body: dict[str, Any], key: str = "k") -> tuple[int, Any]:
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}/score", data=json.dumps(body).encode(), headers={"Authorization": f"Bearer {key}"}
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_served_without_importing_scikit_learn(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier

    x, labels, _ = _data()
    clf = RandomForestClassifier(n_estimators=10, random_state=0).fit(x, labels)
    mv = aml.register_model("forest", model=clf, sample_input=x[:5], workspace=ws)
    port = free_port()
    # `aml serve` with scikit-learn made unimportable: the native predictor must not need it.
    code = (
        "import sys\nfor m in ('sklearn', 'scipy', 'skops'):\n    sys.modules[m] = None\n"
        "from aml_jupyter.cli import main\nsys.exit(main())\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "-w", str(ws.root), "serve", mv.ref, "--port", str(port), "--key", "k"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        assert _post(port, {"data": x[:20].tolist()}) == (200, {"predictions": clf.predict(x[:20]).tolist()})
        big = np.random.default_rng(3).normal(5, 3, size=(2000, 4))  # past the inline bound: a worker thread
        assert _post(port, {"data": big.tolist()}) == (200, {"predictions": clf.predict(big).tolist()})
        status, body = _post(port, {"data": [[1.0, 2.0, 3.0]]})
        assert status == 400 and body["field"] == "data"
        assert _post(port, {"data": [[1.0, 2.0, 3.0, 4.0]]}, key="wrong")[0] == 401
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)
