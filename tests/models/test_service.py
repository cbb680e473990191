"""The scoring service: scoring, signatures, keys, limits, failures and metrics."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient

import aml_jupyter as aml
from aml_jupyter.serving.app import create_app
from aml_jupyter.workspace import Workspace

pytestmark = (
    pytest.mark.sqlite_only
)  # the scoring service; the registry's rows are proven on both stores by test_registry

KEY = "k-3f9a"
AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def iris() -> tuple[Any, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(1).normal(size=(90, 4))
    return LogisticRegression().fit(x, (x[:, 0] > 0).astype(int)), x


def _client(model: Any, signature: Any, flavor: str = "sklearn", **kw: Any) -> TestClient:
    return TestClient(create_app("m:1", model, flavor, signature, KEY, **kw), raise_server_exceptions=False)


def test_scoring_rows_records_and_split(iris: tuple[Any, np.ndarray]) -> None:
    model, x = iris
    c = _client(model, {"type": "ndarray", "shape": [None, 4], "dtype": "float64"})
    r = c.post("/score", json={"data": x[:5].tolist()}, headers=AUTH)
    assert r.status_code == 200 and r.json() == {"predictions": model.predict(x[:5]).tolist()}
    assert c.get("/health").json() == {"status": "ok", "model": "m:1"}  # no key needed for probes
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    fm = type(model)().fit(frame, (x[:, 0] > 0).astype(int))
    cols = {"type": "dataframe", "columns": [{"name": n, "dtype": "float64"} for n in "abcd"]}
    cf = _client(fm, cols)
    records = frame.head(3).to_dict("records")
    assert (
        cf.post("/score", json={"data": records}, headers=AUTH).json()["predictions"]
        == fm.predict(frame.head(3)).tolist()
    )
    split = {"columns": ["d", "c", "b", "a"], "data": frame[["d", "c", "b", "a"]].head(2).values.tolist()}
    assert cf.post("/score", json=split, headers=AUTH).json()["predictions"] == fm.predict(frame.head(2)).tolist()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"data": []}, "data", "empty"),
        ({"data": [[1, 2, 3]]}, "data", "needs 4 values"),
        ({"data": [[1, 2, 3, "x"]]}, "data", "must be a number"),
        ({"data": [[1, 2, 3, [4]]]}, "data[0][3]", "must be a number, a string"),
        ({"rows": [[1, 2, 3, 4]]}, "data", '"data" must be a list'),
        ({"data": [[1, 2], {"a": 1}]}, "data", "not a mix"),
    ],
)
def test_requests_that_do_not_fit(iris: tuple[Any, np.ndarray], body: Any, field: str, message: str) -> None:
    c = _client(iris[0], {"type": "ndarray", "shape": [None, 4], "dtype": "float64"})
    r = c.post("/score", json=body, headers=AUTH)
    assert r.status_code == 400 and message in r.json()["error"] and r.json()["field"] == field


def test_wrong_columns_nan_depth_and_size(iris: tuple[Any, np.ndarray]) -> None:
    cols = {"type": "dataframe", "columns": [{"name": n, "dtype": "float64"} for n in "abcd"]}
    c = _client(iris[0], cols, max_body=10_000)
    r = c.post("/score", json={"data": [{"a": 1, "b": 2, "c": 3}]}, headers=AUTH)
    assert r.status_code == 400 and r.json()["field"] == "d"
    r = c.post("/score", json={"data": [{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}]}, headers=AUTH)
    assert r.status_code == 400 and "unknown column" in r.json()["error"]
    for raw in (b'{"data": [[1, 2, 3, NaN]]}', b'{"data": [[1, 2, 3, Infinity]]}', b"[" * 10_000 + b"]" * 10_000):
        r = c.post("/score", content=raw if len(raw) < 10_000 else raw[:9_990], headers=AUTH)
        assert r.status_code == 400
    deep = _client(iris[0], None, max_body=1_000_000)
    r = deep.post("/score", content=b'{"data": ' + b"[" * 10_000 + b"]" * 10_000 + b"}", headers=AUTH)
    assert r.status_code == 400 and "nests deeper" in r.json()["error"]
    r = c.post("/score", content=b"x" * 20_000, headers=AUTH)
    assert r.status_code == 413


def test_huge_numbers_and_invalid_utf8_are_400_json(iris: tuple[Any, np.ndarray]) -> None:
    for signature in ({"type": "ndarray", "shape": [None, 4], "dtype": "float64"}, None):
        c = _client(iris[0], signature)
        for raw in (b'{"data": [[1' + b"9" * 400 + b", 2, 3, 4]]}", b'{"data": [["\xff", 2, 3, 4]]}', b"\xff\xfe\x00"):
            r = c.post("/score", content=raw, headers=AUTH)
            assert r.status_code == 400 and r.headers["content-type"] == "application/json", (signature, raw[:20])
            assert r.json()["error"]


def test_keys(iris: tuple[Any, np.ndarray], caplog: pytest.LogCaptureFixture) -> None:
    c = _client(iris[0], None)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY}):
        assert c.post("/score", json={"data": [[1, 2, 3, 4]]}, headers=headers).status_code == 401
        assert c.get("/metrics", headers=headers).status_code == 401
    assert "wrong" not in caplog.text and KEY not in caplog.text


class Broken:
    def predict(self, x: Any) -> Any:
        raise RuntimeError("secret internals")


class Slow:
    def predict(self, x: Any) -> Any:
        time.sleep(2)
        return [0] * len(x)


def test_model_failures_and_timeouts() -> None:
    r = _client(Broken(), None).post("/score", json={"data": [[1]]}, headers=AUTH)
    assert r.status_code == 500 and "secret internals" not in r.text and "Traceback" not in r.text
    r = _client(Slow(), None, timeout=0.2).post("/score", json={"data": [[1]]}, headers=AUTH)
    assert r.status_code == 504


def test_metrics_and_swagger(iris: tuple[Any, np.ndarray]) -> None:
    c = _client(iris[0], {"type": "rows", "width": 4, "dtype": "float"})
    for _ in range(3):
        c.post("/score", json={"data": [[1, 2, 3, 4], [0, 0, 0, 0]]}, headers=AUTH)
    c.post("/score", json={"data": []}, headers=AUTH)
    text = c.get("/metrics", headers=AUTH).text
    assert 'aml_requests_total{status="200"} 3' in text and 'aml_requests_total{status="400"} 1' in text
    assert "aml_rows_scored_total 6" in text and 'aml_model_info{model="m:1"} 1' in text
    assert 'aml_request_seconds_bucket{le="+Inf"} 4' in text
    doc = c.get("/swagger.json", headers=AUTH).json()
    example = doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["example"]
    assert example == {"data": [[0.0, 0.0, 0.0, 0.0]]}
    assert c.post("/score", json=example, headers=AUTH).status_code == 200  # the sample request works


def test_aml_serve_command(ws: Workspace, iris: tuple[Any, np.ndarray]) -> None:
    aml.register_model("iris-clf", model=iris[0], sample_input=iris[1][:5], workspace=ws)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    exe = str(Path(sys.executable).with_name("aml"))
    proc = subprocess.Popen(
        [exe, "-w", str(ws.root), "serve", "iris-clf", "--port", str(port)],
        env={**os.environ, "AML_SERVE_KEY": KEY},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/health", timeout=1).close()
                break
            except (urllib.error.URLError, ConnectionError):
                assert time.monotonic() < deadline and proc.poll() is None, "the service did not come up"
                time.sleep(0.1)
        req = urllib.request.Request(
            url + "/score",
            data=json.dumps({"data": [[5.1, 3.5, 1.4, 0.2]]}).encode(),
            headers={**AUTH, "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read()) == {"predictions": iris[0].predict([[5.1, 3.5, 1.4, 0.2]]).tolist()}
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    assert KEY.encode() not in out + err  # a key it was given is never printed


def test_collected_inputs_and_predictions_become_a_dataset(
    ws: Workspace, tmp_path: Path, iris: tuple[Any, np.ndarray]
) -> None:
    from aml_jupyter import dataprep as dp
    from aml_jupyter.serving.app import Collector

    model, x = iris
    folder = tmp_path / "collected"
    collector = Collector(str(folder), "m:1", every=60)
    app = create_app(
        "m:1", model, "sklearn", {"type": "ndarray", "shape": [None, 4], "dtype": "float64"}, KEY, collector=collector
    )
    with TestClient(app) as c:  # leaving it shuts the app down: the last rows are written then
        for rows in (x[:3], x[3:5]):
            assert c.post("/score", json={"data": rows.tolist()}, headers=AUTH).status_code == 200
        assert c.post("/score", json={"data": []}, headers=AUTH).status_code == 400  # not collected
    files = sorted(folder.glob("date=*/*.parquet"))
    assert files and all(f.parent.name.startswith("date=20") for f in files)
    flow = dp.read(str(folder / "date=*" / "*.parquet"))
    frame = flow.to_pandas()
    assert len(frame) == 5 and frame["prediction"].tolist() == model.predict(x[:5]).tolist()
    assert frame[["x0", "x1", "x2", "x3"]].to_numpy().tolist() == x[:5].tolist() and set(frame["model"]) == {"m:1"}
    assert flow.register("iris-scoring", workspace=ws).version == 1


def test_a_version_without_a_signature_says_what_is_wrong_with_a_request(iris: tuple[Any, np.ndarray]) -> None:
    # Before: wrong width, strings and null were all 500 "the model failed on this input" (the
    # cause only in the deployment's log), and booleans were scored as 1.0 and 0.0.
    from aml_jupyter.serving.app import openapi, signature_of_model

    model, x = iris
    bare = _client(model, None)
    for row, said in [
        ([1.0, 2.0, 3.0], "features"),  # the model's own words, naming the width it needs
        (["a", "b", "c", "d"], "refused this input"),
        ([1.0, None, 3.0, 4.0], "data[0][1] is null"),
        ([True, 0.0, 1.0, 2.0], "data[0][0] is a boolean"),
    ]:
        r = bare.post("/score", json={"data": [row]}, headers=AUTH)
        assert r.status_code == 400 and said in r.json()["error"], (row, r.text)
    assert bare.post("/score", json={"data": [x[0].tolist()]}, headers=AUTH).status_code == 200
    # Served, a version without one takes the width its estimator was fitted on.
    derived = signature_of_model(model)
    assert derived == {"type": "rows", "width": 4, "dtype": "mixed"}
    r = _client(model, derived).post("/score", json={"data": [[1.0, 2.0]]}, headers=AUTH)
    assert r.status_code == 400 and "needs 4 values" in r.json()["error"]
    r = _client(model, derived).post("/score", json={"data": [[False, 2.0, 3.0, 4.0]]}, headers=AUTH)
    assert r.status_code == 400 and "boolean" in r.json()["error"]
    # The document's example is the sample the version was registered with, not [[0.0]].
    from aml_jupyter.services.models import infer_signature

    doc = openapi("m:1", infer_signature(x[:3].tolist()))
    assert (
        doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["example"]["data"]
        == x[:2].tolist()
    )
