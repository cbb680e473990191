"""aml package: the build context, its Dockerfile checked line by line, and the image's entry point run
here; Kubernetes manifests checked against the Kubernetes schemas."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import yaml

import aml_jupyter as aml
from aml_jupyter.errors import InvalidPath, InvalidValue, JobError
from aml_jupyter.models.kubernetes import manifests
from aml_jupyter.services.packaging import package
from aml_jupyter.workspace import Workspace
from tests.conftest import wait_healthy

pytestmark = (
    pytest.mark.sqlite_only
)  # model files and images; the registry's rows are proven on both stores by test_registry

AML = str(Path(sys.executable).with_name("aml"))


@pytest.fixture
def registered(ws: Workspace) -> str:
    from sklearn.linear_model import LogisticRegression

    x = np.random.default_rng(2).normal(size=(50, 4))
    with aml.start_run("iris", workspace=ws) as run:  # the run's environment gives the pins
        clf = LogisticRegression().fit(x, (x[:, 1] > 0).astype(int))
    import skops.io as sio

    path = ws.root / "model.skops"
    sio.dump(clf, path)
    with aml.start_run("iris", workspace=ws) as run:
        run.log_artifact(path)
    return aml.register_model("iris-clf", run=run, artifact="model.skops", sample_input=x[:3], workspace=ws).ref


def _instructions(dockerfile: str) -> list[tuple[str, str]]:
    text = dockerfile.replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def test_build_context(ws: Workspace, registered: str, tmp_path: Path) -> None:
    ctx = tmp_path / "build"
    result = package(registered, ctx, workspace=ws)
    assert result["context"] == str(ctx) and result["image"] == "aml-iris-clf:1" and not result["built"]
    steps = _instructions((ctx / "Dockerfile").read_text())
    ops = [op for op, _ in steps]
    assert ops[0] == "FROM" and steps[0][1].startswith("python:3.11-slim")
    for op, rest in steps:
        assert op in {"FROM", "RUN", "WORKDIR", "COPY", "USER", "ENV", "EXPOSE", "HEALTHCHECK", "CMD"}, op
        if op == "COPY":
            source = shlex.split(rest)[0]
            assert (ctx / source).exists(), f"COPY names {source}, which the context lacks"
    assert ("USER", "aml") in steps and ops.index("USER") > ops.index("RUN")  # installs as root, runs as aml
    assert any(op == "HEALTHCHECK" and "/health" in rest for op, rest in steps)
    assert json.loads(dict(steps)["CMD"]) == ["python", "-m", "aml_jupyter.serving.container"]
    requirements = (ctx / "requirements.txt").read_text().split()
    assert requirements and all("==" in r for r in requirements)
    names = {r.split("==")[0].lower() for r in requirements}
    assert {"starlette", "uvicorn", "numpy", "pandas"} <= names
    # Only what it needs: the version has a native predictor, so not even scikit-learn.
    assert not names & {"dask", "papermill", "optuna", "sqlalchemy", "matplotlib", "ipykernel", "scikit-learn", "scipy"}
    manifest = json.loads((ctx / "model" / "aml-model.json").read_text())
    assert manifest["ref"] == "iris-clf:1" and manifest["flavor"] == "sklearn"
    assert manifest["native"] == "model.native.npz" and (ctx / "model" / "model.native.npz").is_file()
    assert (ctx / "model" / "model.skops").is_file() and (
        ctx / "app" / "aml_jupyter" / "serving" / "container.py"
    ).is_file()
    with pytest.raises(InvalidPath, match="not empty"):
        package(registered, ctx, workspace=ws)


def test_a_model_without_a_native_form_takes_scikit_learn_along(ws: Workspace, tmp_path: Path) -> None:
    from sklearn.ensemble import GradientBoostingClassifier

    x = np.random.default_rng(3).normal(size=(40, 3))
    clf = GradientBoostingClassifier(n_estimators=5).fit(x, (x[:, 0] > 0).astype(int))
    mv = aml.register_model("gb", model=clf, sample_input=x[:2], workspace=ws)
    assert "native" not in mv.source and all(f["path"] != "model.native.npz" for f in mv.files)
    package(mv.ref, tmp_path / "build", workspace=ws)
    names = {r.split("==")[0].lower() for r in (tmp_path / "build" / "requirements.txt").read_text().split()}
    assert {"scikit-learn", "skops", "scipy"} <= names


def test_the_image_entry_point_serves_the_model(ws: Workspace, registered: str, tmp_path: Path) -> None:
    ctx = tmp_path / "build"
    package(registered, ctx, workspace=ws)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # What CMD runs, from the context's own copy of the code; the store's libraries must not be needed.
    code = (
        "import sys, runpy\n"
        "for name in ('sqlalchemy', 'traitlets', 'dask', 'papermill', 'sklearn', 'scipy', 'skops'):\n"
        "    sys.modules[name] = None\n"
        "runpy.run_module('aml_jupyter.serving.container', run_name='__main__')\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ctx / "app"),
        "AML_MODEL_DIR": str(ctx / "model"),
        "PORT": str(port),
        "HOST": "127.0.0.1",
        "AML_SERVE_KEY": "container-key",
    }
    no_key = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "AML_SERVE_KEY": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert no_key.returncode == 2 and "without a key" in no_key.stderr
    proc = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        wait_healthy(f"http://127.0.0.1:{port}/health", proc)
        req = urllib.request.Request(
            f"http://127.0.0.1:{port}/score",
            data=b'{"data": [[0, 1, 0, 0], [0, -1, 0, 0]]}',
            headers={"Authorization": "Bearer container-key"},
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert json.loads(resp.read()) == {"predictions": [1, 0]}
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.communicate(timeout=30)


def test_build_without_a_docker_engine_says_so(ws: Workspace, registered: str, tmp_path: Path) -> None:
    engine = shutil_which_docker_answers()
    if engine:
        pytest.skip("a Docker engine answers here: building is tested by its own run")
    with pytest.raises(JobError, match="no Docker engine answers here"):
        package(registered, tmp_path / "ctx", build=True, workspace=ws)
    assert (tmp_path / "ctx" / "Dockerfile").is_file()  # the context is there to build elsewhere


def shutil_which_docker_answers() -> bool:
    import shutil

    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def test_kubernetes_manifests_validate(ws: Workspace, registered: str, tmp_path: Path) -> None:
    import kubernetes_validate

    proc = subprocess.run(
        [
            AML,
            "-w",
            str(ws.root),
            "deploy",
            registered,
            "--target",
            "kubernetes",
            "--name",
            "iris",
            "-o",
            str(tmp_path / "k8s"),
            "--replicas",
            "2",
            "--autoscale-max",
            "10",
            "--target-cpu",
            "70",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    written = json.loads(proc.stdout)
    docs = [yaml.safe_load(Path(p).read_text()) for p in written["manifests"]]
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30", strict=True)
    deployment, service, hpa = docs
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "aml-iris-clf:1" and deployment["spec"]["replicas"] == 2
    assert container["readinessProbe"]["httpGet"]["path"] == "/health"
    assert container["env"][0]["valueFrom"]["secretKeyRef"]["name"] == "iris-key"  # a reference, never the key
    assert (
        hpa["spec"]["maxReplicas"] == 10 and hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    )
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    for bad in ({"name": "Iris"}, {"replicas": 0}, {"autoscale_max": 1, "replicas": 2}, {"target_cpu": 150}):
        with pytest.raises(InvalidValue):
            manifests(**{"name": "iris", "image": "x:1", **bad})  # type: ignore[arg-type]
