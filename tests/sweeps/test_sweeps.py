"""Sweeps: a parent run, children from Optuna's samplers, early stopping on live metrics."""

from __future__ import annotations

import json

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidValue
from aml_jupyter.sweeps.policies import EarlyStop
from aml_jupyter.sweeps.runner import Progress, sweep
from aml_jupyter.workspace import Workspace
from tests.jobs.helpers import cli

TRAIN = """
import argparse, time
import aml_jupyter as aml
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float); p.add_argument("--depth", type=int, default=1)
p.add_argument("--steps", type=int, default=1); p.add_argument("--pause", type=float, default=0)
a = p.parse_args()
for step in range(a.steps):
    aml.log("acc", a.lr * a.depth * (step + 1), step=step)
    aml.flush()
    time.sleep(a.pause)
"""


@pytest.fixture
def train(ws: Workspace) -> str:
    (ws.root / "sweep_train.py").write_text(TRAIN)
    return "sweep_train.py"


def test_grid_sweep_records_the_best_child(ws: Workspace, train: str) -> None:
    seen: list[int] = []
    result = sweep(
        train,
        ["lr=choice(0.1, 0.2)", "depth=choice(1, 3)"],
        metric="acc",
        method="grid",
        max_runs=10,
        max_concurrent=2,
        on_progress=lambda p: seen.append(p.ended),
        workspace=ws,
    )
    assert result["status"] == "completed" and result["completed"] == 4  # the grid's size, not max_runs
    assert result["best"]["params"] == {"lr": 0.2, "depth": 3}
    parent = aml.get_run(result["id"], workspace=ws)
    assert parent.info.source_kind == "sweep" and parent.tags["aml.best_child"] == result["best"]["id"]
    assert parent.metrics["best_acc"] == pytest.approx(0.6)
    children = aml.search_runs(workspace=ws)
    children = children[children["run_id"] != parent.id]
    assert len(children) == 4 and set(children["parent_id"]) == {parent.id}
    assert sorted(children[["params.lr", "params.depth"]].itertuples(index=False)) == [
        ("0.1", "1"),
        ("0.1", "3"),
        ("0.2", "1"),
        ("0.2", "3"),
    ]
    assert seen and seen[-1] == 4


def test_random_and_bayes_sample_inside_the_space(ws: Workspace, train: str) -> None:
    for method in ("random", "bayes"):
        result = sweep(
            train,
            ["lr=loguniform(0.001, 0.1)", "depth=randint(1, 4)"],
            metric="acc",
            goal="min",
            method=method,
            max_runs=3,
            max_concurrent=3,
            seed=7,
            experiment=method,
            workspace=ws,
        )
        assert result["completed"] == 3
        frame = aml.search_runs(experiments=[method], workspace=ws)
        children = frame[frame["run_id"] != result["id"]]
        assert all(0.001 <= float(v) <= 0.1 for v in children["params.lr"])
        assert all(int(v) in (1, 2, 3) for v in children["params.depth"])
        assert result["best"]["value"] == pytest.approx(min(children["metrics.acc"]))


def test_median_stopping_cancels_poor_children(ws: Workspace, train: str) -> None:
    result = sweep(
        train,
        ["lr=choice(1.0, 0.5, 0.2, 0.1, 0.05)"],
        metric="acc",
        method="grid",
        max_concurrent=1,
        early_stop=EarlyStop("median", delay_evaluation=1),
        params={"steps": 8, "pause": 0.15},
        seed=3,
        workspace=ws,
    )
    assert result["stopped_early"] >= 1 and result["completed"] + result["stopped_early"] == 5
    frame = aml.search_runs(experiments=["default"], workspace=ws)
    stopped = frame[frame["tags.aml.early_stopped"].notna()] if "tags.aml.early_stopped" in frame else frame[:0]
    assert len(stopped) == result["stopped_early"]
    assert set(stopped["status"]) == {"cancelled"}
    assert result["best"]["params"] == {"lr": 1.0}


def test_max_duration_ends_the_sweep(ws: Workspace, train: str) -> None:
    result = sweep(
        train,
        ["lr=uniform(0.1, 1)"],
        metric="acc",
        max_runs=4,
        max_concurrent=2,
        max_duration=1.5,
        params={"steps": 60, "pause": 0.5},
        workspace=ws,
    )
    assert result["completed"] == 0 and result["status"] == "failed"
    assert "no child run completed" in aml.get_run(result["id"], workspace=ws).info.error


def test_bad_sweeps_record_nothing(ws: Workspace, train: str) -> None:
    for space, kwargs, match in [
        (["lr=uniform(1, 0.1)"], {}, "needs low < high"),
        (["lr=loguniform(0, 1)"], {}, "needs low > 0"),
        (["lr=exec('x')"], {}, "use choice"),
        (["lr=choice()"], {}, "at least one value"),
        (["lr=uniform(0.1, 1)"], {"method": "grid"}, "grid needs choice"),
        (["lr=choice(1)"], {"method": "anneal"}, "--method must be one of"),
        (["lr=choice(1)"], {"goal": "best"}, "--goal must be max or min"),
        (["lr=choice(1)", "lr=choice(2)"], {}, "given once"),
        ([], {}, "at least one"),
    ]:
        with pytest.raises(InvalidValue, match=match):
            sweep(train, space, metric="acc", workspace=ws, **kwargs)
    with pytest.raises(InvalidValue, match="--early-stop must be one of"):
        EarlyStop("sometimes")
    assert aml.search_runs(workspace=ws).empty


def test_sweep_command(ws: Workspace, train: str) -> None:
    proc = cli(
        ws,
        "sweep",
        train,
        "--param",
        "lr=choice(0.1,0.4)",
        "--metric",
        "acc",
        "--method",
        "grid",
        "--max-concurrent",
        "2",
        "--early-stop",
        "bandit",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["best"]["params"] == {"lr": 0.4}
    plain = cli(ws, "sweep", train, "--param", "lr=choice(0.3)", "--metric", "acc")
    assert plain.returncode == 0 and "best child" in plain.stdout and '{"lr": 0.3}' in plain.stdout


def test_progress_is_plain_data() -> None:
    p = Progress(total=4, completed=1, stopped_early=1, failed=1)
    assert p.ended == 3
