"""search_runs, best_run and the filter compiled to SQL, on a small fixed set of runs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import aml_jupyter as aml
from aml_jupyter.errors import ExperimentNotFound, FilterSyntaxError, InvalidValue, RunNotFound
from aml_jupyter.workspace import Workspace

RUNS = [  # name, params, metrics, tags, experiment, fails
    ("a", {"lr": "0.01", "opt": "Adam"}, {"acc": 0.95, "loss": 0.1}, {"team": "x"}, "iris", False),
    ("b", {"lr": "0.01", "opt": "adam"}, {"acc": 0.85, "loss": 0.3}, {"team": "y"}, "iris", False),
    ("c", {"lr": "0.1", "opt": "sgd"}, {"acc": 0.97, "loss": 0.2}, {"team": "x"}, "iris", True),
    ("d", {"lr": "0.1", "opt": "sgd"}, {"acc": math.nan}, {}, "iris", False),
    ("e", {"lr": "0.01"}, {"acc": 0.99}, {"team": "z"}, "other", False),
]


@pytest.fixture
def runs(ws: Workspace) -> dict[str, str]:
    ids = {}
    for name, params, metrics, tags, exp, fails in RUNS:
        try:
            with aml.start_run(exp, params=params, tags=tags, name=name, workspace=ws) as run:
                run.log_metrics(metrics)
                if fails:
                    raise RuntimeError("boom")
        except RuntimeError:
            pass
        ids[name] = run.id
    return ids


def names(frame: object) -> list[str]:
    return frame["name"].tolist()  # type: ignore[index]


@pytest.mark.parametrize(
    "flt,expected",
    [
        ("metrics.acc > 0.9", ["a", "c", "e"]),
        ("metrics.acc > 0.9 and params.lr = '0.01'", ["a", "e"]),
        ("metrics.acc <= 0.95", ["a", "b"]),
        ("metrics.loss != 0.1", ["b", "c"]),
        ("params.opt = 'adam'", ["b"]),
        ("params.opt LIKE 'A%'", ["a"]),
        ("params.opt ILIKE 'a%'", ["a", "b"]),
        ("params.opt LIKE '_dam'", ["a", "b"]),
        ("params.opt != 'sgd'", ["a", "b"]),
        ("tags.team IN ('x', 'z')", ["a", "c", "e"]),
        ("tags.team NOT IN ('x')", ["b", "e"]),
        ("attributes.status = 'failed'", ["c"]),
        ("attributes.status != 'failed' and params.lr = '0.1'", ["d"]),
        ("attributes.name = 'b'", ["b"]),
        ("attributes.experiment = 'other'", ["e"]),
        ("metrics.missing > 0", []),
    ],
)
def test_filters(ws: Workspace, runs: dict[str, str], flt: str, expected: list[str]) -> None:
    frame = aml.search_runs(flt, order_by=["attributes.name"], workspace=ws)
    assert names(frame) == expected


def test_order_by_metric_puts_nan_and_missing_last(ws: Workspace, runs: dict[str, str]) -> None:
    frame = aml.search_runs(order_by=["metrics.acc DESC"], experiments="iris", workspace=ws)
    assert names(frame) == ["c", "a", "b", "d"]
    frame = aml.search_runs(order_by=["metrics.loss ASC"], experiments=["iris"], workspace=ws)
    assert names(frame)[:3] == ["a", "c", "b"]


def test_default_order_is_newest_first(ws: Workspace, runs: dict[str, str]) -> None:
    assert names(aml.search_runs(workspace=ws)) == ["e", "d", "c", "b", "a"]


def test_frame_columns(ws: Workspace, runs: dict[str, str]) -> None:
    frame = aml.search_runs(workspace=ws, order_by=["attributes.name"])
    for col in ("run_id", "experiment", "status", "start_time", "params.lr", "params.opt", "metrics.acc", "tags.team"):
        assert col in frame.columns
    row = frame.set_index("name").loc["d"]
    assert math.isnan(row["metrics.acc"]) and math.isnan(row["metrics.loss"])
    assert row["params.opt"] == "sgd" and pd.isna(row["tags.team"])


def test_max_results(ws: Workspace, runs: dict[str, str]) -> None:
    assert len(aml.search_runs(max_results=2, workspace=ws)) == 2
    for bad in (0, -1, 10**9, True, 2.5):
        with pytest.raises(InvalidValue):
            aml.search_runs(max_results=bad, workspace=ws)  # type: ignore[arg-type]


def test_unknown_experiment_and_bad_filter(ws: Workspace, runs: dict[str, str]) -> None:
    with pytest.raises(ExperimentNotFound):
        aml.search_runs(experiments="nope", workspace=ws)
    with pytest.raises(FilterSyntaxError):
        aml.search_runs("metrics.acc > 'x'", workspace=ws)


def test_filter_values_are_data_not_sql(ws: Workspace, runs: dict[str, str]) -> None:
    assert names(aml.search_runs("params.lr = '0.01'' OR ''1''=''1'", workspace=ws)) == []
    assert len(aml.search_runs(workspace=ws)) == 5


def test_best_run(ws: Workspace, runs: dict[str, str]) -> None:
    # c has the highest acc but failed; d's NaN never wins.
    assert aml.best_run("iris", metric="acc", goal="max", workspace=ws).name == "a"
    assert aml.best_run("iris", metric="acc", goal="min", workspace=ws).name == "b"
    assert aml.best_run("iris", metric="loss", goal="min", workspace=ws).name == "a"
    with pytest.raises(RunNotFound):
        aml.best_run("iris", metric="nothing", workspace=ws)
    with pytest.raises(InvalidValue):
        aml.best_run("iris", metric="acc", goal="maximum", workspace=ws)


def test_get_run_by_prefix(ws: Workspace, runs: dict[str, str]) -> None:
    full = runs["a"]
    assert aml.get_run(full[:8], workspace=ws).id == full
    for bad in ("", "abc", "zzzzzzzz", "../../x", "a" * 33):
        with pytest.raises(RunNotFound):
            aml.get_run(bad, workspace=ws)


def test_list_experiments(ws: Workspace, runs: dict[str, str]) -> None:
    assert {e["name"]: e["runs"] for e in aml.list_experiments(workspace=ws)} == {"iris": 4, "other": 1}


def test_delete_runs(ws: Workspace, runs: dict[str, str]) -> None:
    aml.delete_runs([runs["a"], runs["b"]], workspace=ws)
    assert sorted(names(aml.search_runs(workspace=ws))) == ["c", "d", "e"]
    with pytest.raises(RunNotFound):
        aml.get_run(runs["a"], workspace=ws)


def test_a_live_run_is_never_deleted_whoever_asks(ws: Workspace, runs: dict[str, str]) -> None:
    from aml_jupyter.cli.main import main
    from aml_jupyter.errors import RunStateError

    live = aml.start_run(experiment="iris", name="live", workspace=ws)
    try:
        with pytest.raises(RunStateError, match="is running; cancel it"):
            aml.delete_runs([runs["a"], live.id], workspace=ws)  # the SDK: nothing deleted, the ended one kept
        assert main(["-w", str(ws.root), "runs", "delete", live.id[:8]]) == 1  # the CLI (REST: tests/server)
        assert aml.get_run(live.id, workspace=ws).status == "running"
        assert aml.get_run(runs["a"], workspace=ws).name == "a"
    finally:
        live.end()
    assert aml.delete_runs([live.id], workspace=ws) == [live.id]


def test_list_runs_is_search_runs_without_pandas(ws: Workspace, runs: dict[str, str]) -> None:
    from aml_jupyter.entities.records import run_summary
    from aml_jupyter.errors import InvalidValue

    order = ["metrics.acc DESC"]
    frame = aml.search_runs(order_by=order, system_metrics=True, workspace=ws)
    assert aml.list_runs(order_by=order, workspace=ws) == [run_summary(r) for r in frame.to_dict("records")]
    assert [r["id"] for r in aml.list_runs(order_by=order, offset=2, max_results=2, workspace=ws)] == list(
        frame.run_id[2:4]
    )
    for bad in (-1, True, 1.5):
        for fn in (aml.list_runs, aml.search_runs):
            with pytest.raises(InvalidValue, match="offset must be a whole number"):
                fn(offset=bad, workspace=ws)


def test_free_text_looks_in_names_tag_values_and_ids(ws: Workspace) -> None:
    ids = {}
    for name, tags in (
        ("sweep-lr-1", {}),
        ("Sweep-LR-2", {"team": "vision"}),
        ("baseline", {"note": "the 50% sweep_x"}),
        ("other", {}),
    ):
        with aml.start_run("text", name=name, tags=tags, workspace=ws) as run:
            pass
        ids[name] = run.id

    def found(text: str) -> list[str]:
        return sorted(aml.search_runs(text, workspace=ws)["name"])

    assert found("sweep") == ["Sweep-LR-2", "baseline", "sweep-lr-1"]  # any case, and in a tag's value
    assert found("sweep lr") == ["Sweep-LR-2", "sweep-lr-1"]  # every word
    assert found("vision") == ["Sweep-LR-2"] and found(ids["other"][:8]) == ["other"]
    assert found("50%") == ["baseline"] and found("sweep_") == ["baseline"]  # % and _ are characters here
    assert found("nowhere") == []
    with pytest.raises(FilterSyntaxError, match="comparison operator"):
        aml.search_runs("metrics.acc", workspace=ws)  # a prefixed name is the grammar still
