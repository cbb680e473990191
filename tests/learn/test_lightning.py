"""The PyTorch Lightning logger against the real Lightning API (on CPU here, on a GPU in the GPU lane).

Lightning and torch are not among the project's dependencies (several GB): where they cannot be
imported this module is skipped with the reason. ``benchmarks/gpu_lane.sh`` runs it on the GPU
machine's own torch; on a CPU machine, a throw-away environment with ``pip install lightning`` and
the project runs it the same way (docs/learn.md, "PyTorch Lightning").
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import aml_jupyter as aml

# Lightning's own code warns of torch's deprecations; those are not this project's to fix.
pytestmark = pytest.mark.filterwarnings("ignore::FutureWarning", "ignore::DeprecationWarning", "ignore::UserWarning")

pl = pytest.importorskip("lightning.pytorch", reason="Lightning is not installed here (it needs torch)")
torch = pytest.importorskip("torch")


class Tiny(pl.LightningModule):  # type: ignore[misc,name-defined]
    """A linear regression, fitted for a few steps: what matters is what gets logged."""

    def __init__(self, lr: float = 0.05, hidden: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.layer = torch.nn.Linear(4, 1)

    def training_step(self, batch: Any, batch_idx: int) -> Any:
        x, y = batch
        loss = torch.nn.functional.mse_loss(self.layer(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        x, y = batch
        self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

    def configure_optimizers(self) -> Any:
        return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)


def _data() -> Any:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(64, 4, generator=g)
    y = x.sum(dim=1, keepdim=True)
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)


def _trainer(tmp_path: Path, **kwargs: Any) -> Any:
    return pl.Trainer(
        max_epochs=2,
        accelerator="auto",
        devices=1,
        default_root_dir=str(tmp_path),
        enable_progress_bar=False,
        enable_model_summary=False,
        log_every_n_steps=1,
        **kwargs,
    )


@pytest.fixture
def ws(tmp_path: Path) -> aml.Workspace:
    return aml.Workspace.init(tmp_path / "p")


def test_the_logger_logs_hyperparameters_steps_and_checkpoints(ws: aml.Workspace, tmp_path: Path) -> None:
    with aml.start_run("lightning", workspace=ws) as run:
        trainer = _trainer(tmp_path, logger=aml.lightning_logger())
        trainer.fit(Tiny(hidden={"units": 8}), _data(), _data())
    assert run.params["lr"] == "0.05" and run.params["hidden.units"] == "8"
    steps = run.metric_history("train_loss")["step"].tolist()
    assert len(steps) == 8 and steps == sorted(steps)  # 4 batches x 2 epochs, at the global step
    assert len(run.metric_history("val_loss")) == 2 and run.metrics["epoch"] == 1
    checkpoints = [a.name for a in run.artifacts if a.name.startswith("checkpoints/")]
    assert checkpoints and run.tags["best_checkpoint"] in checkpoints
    assert trainer.logger.version == run.id


def test_autolog_adds_the_logger_and_a_second_fit_is_a_child_run(ws: aml.Workspace, tmp_path: Path) -> None:
    assert "lightning" in aml.autolog()
    try:
        with aml.start_run("lightning", workspace=ws) as run:
            _trainer(tmp_path / "a").fit(Tiny(), _data())
            _trainer(tmp_path / "b").fit(Tiny(lr=0.01), _data())
        _trainer(tmp_path / "c").fit(Tiny(), _data())  # outside a run: nothing logged, nothing fails
    finally:
        aml.autolog(disable=True)
    assert run.params["lr"] == "0.05" and len(run.metric_history("train_loss")) == 8
    frame = aml.search_runs(workspace=ws)
    assert len(frame) == 2  # the run and its child; the fit outside a run made none
    child = aml.get_run(frame[frame["parent_id"] == run.id]["run_id"].iloc[0], workspace=ws)
    assert child.params["lr"] == "0.01" and child.status == "completed"


def test_on_a_gpu_the_fit_runs_there_and_the_run_says_which(ws: aml.Workspace, tmp_path: Path) -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device here")
    with aml.start_run("lightning-gpu", system_metrics=0.5, workspace=ws) as run:
        trainer = _trainer(tmp_path, logger=aml.lightning_logger(), accelerator="gpu")
        trainer.fit(Tiny(), _data())
    assert trainer.strategy.root_device.type == "cuda" and len(run.metric_history("train_loss")) == 8
    assert "aml.gpus" in run.tags and "system/gpu_0_memory_usage_megabytes" in run.system_metrics
