"""The GPU lane: a GPU target on a real GPU, run by ``benchmarks/gpu_lane.sh`` on a machine with one.

Skipped without a CUDA device (CI never has one), with the reason. What it proves there: the
dask-cuda cluster starts with one worker per GPU, each pinned to its own; a cell (what ``%%aml run
--target gpu`` calls) and a script (``aml submit --target gpu``) each train a small torch model on
the GPU and complete; the run records the GPU and its system metrics (utilisation above 0 while
the job ran); a job asking for more GPUs than a worker has fails at once with the reason.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import TargetUnavailable
from aml_jupyter.workspace import Workspace

from ..settings import reconfigure

torch = pytest.importorskip("torch", reason="the GPU lane needs torch")
if not torch.cuda.is_available():
    pytest.skip(
        "no CUDA device here: the GPU lane runs on a GPU machine (benchmarks/gpu_lane.sh)", allow_module_level=True
    )
pytest.importorskip("dask_cuda", reason="the GPU lane needs dask-cuda (benchmarks/gpu_lane.sh carries it)")

SETTINGS = """
[targets.gpu]
type = "dask"
gpu = true
idle_timeout = 600

[targets.two_gpus_each]
type = "dask"
gpu = true
gpus = {too_many}
"""

TRAIN = """
import torch, aml_jupyter as aml
device = torch.device("cuda")
model = torch.nn.Sequential(torch.nn.Linear(512, 2048), torch.nn.ReLU(), torch.nn.Linear(2048, 1)).to(device)
optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
x, y = torch.randn(8192, 512, device=device), torch.randn(8192, 1, device=device)
for step in range(400):
    optimizer.zero_grad()
    loss = torch.nn.functional.mse_loss(model(x), y)
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        aml.log("loss", loss.item(), step=step)
torch.cuda.synchronize()
trained_on = torch.cuda.get_device_name(0)
"""


@pytest.fixture(scope="module")
def gws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    from aml_jupyter.compute import dask_cluster

    project = tmp_path_factory.mktemp("gpu") / "project"
    project.mkdir()
    # Many samples in a short job
    settings = SETTINGS.format(too_many=torch.cuda.device_count() + 1)
    ws = reconfigure(aml.Workspace.init(project, name="gpu-lane"), settings, system_metrics="0.2")
    yield ws
    dask_cluster.stop_embedded(ws)
    ws.close()


def _gpu_used(run: aml.Run) -> None:
    gpus = json.loads(run.tags["aml.gpus"])
    assert gpus and gpus[0]["name"] and gpus[0]["memory_total_megabytes"] > 0 and gpus[0]["driver"]
    util = run.metric_history("system/gpu_0_utilization_percentage")
    assert len(util) >= 2 and util["value"].max() > 0, util
    assert run.system_metrics["system/gpu_memory_peak_megabytes"] > 0


def test_the_cluster_has_one_worker_per_gpu_each_pinned(gws: Workspace) -> None:
    from aml_jupyter.compute.dask_cluster import connect
    from aml_jupyter.compute.targets import get_target

    client = connect(gws, get_target(gws, "gpu"))
    workers = client.scheduler_info(n_workers=-1)["workers"]
    assert len(workers) == torch.cuda.device_count()
    assert all(w["resources"].get("GPU") == 1 for w in workers.values())
    seen = client.run(lambda: __import__("os").environ.get("CUDA_VISIBLE_DEVICES", ""))
    firsts = sorted(v.split(",")[0] for v in seen.values())
    assert firsts == [str(i) for i in range(torch.cuda.device_count())], seen


def test_a_cell_trains_on_the_gpu(gws: Workspace) -> None:
    done = aml.run_cell(TRAIN, outputs=["trained_on"], target="gpu", experiment="gpu", workspace=gws)
    assert done["status"] == "completed", done["error"]
    assert done["outputs"]["trained_on"] == torch.cuda.get_device_name(0)
    run = aml.get_run(done["id"], workspace=gws)
    assert len(run.metric_history("loss")) == 8
    _gpu_used(run)


def test_a_submitted_script_trains_on_the_gpu(gws: Workspace) -> None:
    (gws.root / "train.py").write_text(
        "if __name__ == '__main__':\n" + "\n".join("    " + line for line in TRAIN.splitlines())
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "aml_jupyter.cli",
            "-w",
            str(gws.root),
            "submit",
            "train.py",
            "--target",
            "gpu",
            "--wait",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    run = aml.get_run(json.loads(proc.stdout)["id"], workspace=gws)
    assert run.status == "completed" and len(run.metric_history("loss")) == 8
    _gpu_used(run)


def test_more_gpus_than_a_worker_has_fails_at_once(gws: Workspace) -> None:
    started = time.monotonic()
    with pytest.raises(TargetUnavailable, match="GPU"):
        aml.run_cell("x = 1", target="two_gpus_each", workspace=gws)
    assert time.monotonic() - started < 60  # the cluster's start, not a wait for a worker that never comes


def test_an_interactive_run_records_the_gpu(gws: Workspace) -> None:
    with aml.start_run("gpu-interactive", system_metrics=0.2, workspace=gws) as run:
        x = torch.randn(8192, 8192, device="cuda")
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            x = (x @ x).tanh()
        torch.cuda.synchronize()
    _gpu_used(aml.get_run(run.id, workspace=gws))
