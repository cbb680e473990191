"""aml.autolog() and Keras 3 (on the JAX backend, CPU): patched when Keras is imported, each
epoch's metrics, the fit's settings and the model logged; a second fit in a child run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace

pytestmark = [pytest.mark.sqlite_only, pytest.mark.slow]

SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import aml_jupyter as aml

    patched = aml.autolog()
    assert "keras" not in sys.modules  # patched when imported, not by autolog()
    import keras

    x = np.random.default_rng(0).random((256, 4)).astype("float32")
    y = (x[:, 0] + x[:, 1] > 1).astype("float32")

    def model():
        layers = [keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1, activation="sigmoid")]
        m = keras.Sequential([keras.Input((4,)), *layers])
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="binary_crossentropy", metrics=["accuracy"])
        return m

    with aml.start_run("keras", workspace=sys.argv[1], snapshot=False) as run:
        first = model()
        first.fit(x, y, epochs=4, batch_size=32, validation_split=0.25, verbose=0)
        model().fit(x, y, epochs=2, batch_size=64, verbose=0)
    aml.autolog(disable=True)
    with aml.start_run("keras-off", workspace=sys.argv[1], snapshot=False) as off:
        model().fit(x, y, epochs=1, verbose=0)
    print(json.dumps({"patched": patched, "run": run.id, "off": off.id}))
    """
)


def test_keras_fits_log_epochs_settings_and_the_model(ws: Workspace, tmp_path: Path) -> None:
    script = tmp_path / "fit.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run(
        [sys.executable, str(script), str(ws.root)], capture_output=True, text=True, timeout=180, env=env
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "keras" in out["patched"]
    run = aml.get_run(out["run"], workspace=ws)
    assert run.params["epochs"] == "4" and run.params["optimizer_name"] == "Adam"
    assert float(run.params["learning_rate"]) == pytest.approx(0.01) and int(run.params["model_parameters"]) == 49
    assert run.metric_history("loss")["step"].tolist() == [0, 1, 2, 3]  # one point an epoch
    assert len(run.metric_history("val_accuracy")) == 4 and 0 <= run.metrics["accuracy"] <= 1
    assert [a.name for a in run.artifacts] == ["model/model.keras"]
    runs = aml.search_runs(experiments=["keras"], workspace=ws)
    child = aml.get_run(runs[runs["run_id"] != run.id]["run_id"].iloc[0], workspace=ws)
    assert child.info.parent_id == run.id and child.params["epochs"] == "2" and child.status == "completed"
    assert len(child.metric_history("loss")) == 2
    off = aml.get_run(out["off"], workspace=ws)
    assert off.params == {} and off.metrics == {} and off.artifacts == []  # disable put fit back
