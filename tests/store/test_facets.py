"""What the Lab panels ask of many runs at once: the keys runs hold, how many a filter matches,
runs grouped by a param or tag with the best metric each, and a page started at an offset."""

from __future__ import annotations

import math

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import FilterSyntaxError, InvalidInput, InvalidValue
from aml_jupyter.services.search import groups, keys, page
from aml_jupyter.workspace import Workspace

RUNS = [  # params, metrics, tags, experiment
    ({"lr": "0.01", "opt": "adam"}, {"acc": 0.95, "loss": 0.1}, {"team": "x"}, "iris"),
    ({"lr": "0.01", "opt": "sgd"}, {"acc": 0.85}, {"team": "y"}, "iris"),
    ({"lr": "0.1"}, {"acc": math.nan}, {"team": "x"}, "iris"),
    ({"lr": "0.1"}, {"acc": 0.7}, {}, "iris"),
    ({"depth": "3"}, {"rmse": 2.0}, {"<b>odd</b>": "1"}, "other"),
]


@pytest.fixture
def runs(ws: Workspace) -> list[str]:
    ids = []
    for params, metrics, tags, exp in RUNS:
        with aml.start_run(exp, params=params, tags=tags, workspace=ws) as run:
            run.log_metrics(metrics)
        ids.append(run.id)
    return ids


def test_keys_of_an_experiment_and_of_all(ws: Workspace, runs: list[str]) -> None:
    iris = keys(ws, ["iris"])
    assert iris["params"] == ["lr", "opt"] and iris["metrics"] == ["acc", "loss"] and "team" in iris["tags"]
    assert "depth" not in iris["params"] and "<b>odd</b>" not in iris["tags"]
    every = keys(ws, None)
    assert every["params"] == ["depth", "lr", "opt"] and "rmse" in every["metrics"] and "<b>odd</b>" in every["tags"]
    with pytest.raises(Exception, match="nope"):
        keys(ws, ["nope"])


def test_groups_count_and_best_value(ws: Workspace, runs: list[str]) -> None:
    found = groups(ws, {"by": ["params.lr"], "metric": ["acc"], "experiment": ["iris"]})
    by_value = {g["value"]: g for g in found["groups"]}
    assert by_value["0.01"] == {"value": "0.01", "count": 2, "best": 0.95}
    assert by_value["0.1"] == {"value": "0.1", "count": 2, "best": 0.7}  # the NaN is never the best
    low = groups(ws, {"by": ["params.lr"], "metric": ["acc"], "goal": ["min"], "experiment": ["iris"]})
    assert {g["value"]: g["best"] for g in low["groups"]} == {"0.01": 0.85, "0.1": 0.7}
    tagged = groups(ws, {"by": ["tags.team"], "filter": ["metrics.acc > 0.8"]})
    assert {g["value"]: g["count"] for g in tagged["groups"]} == {"x": 1, "y": 1}
    # Runs without the key form a group of their own; without a metric, no best.
    plain = groups(ws, {"by": ["params.opt"]})
    assert {g["value"]: g["count"] for g in plain["groups"]} == {None: 3, "adam": 1, "sgd": 1}
    assert all(g["best"] is None for g in plain["groups"])


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({}, '"by" is required'),
        ({"by": ["metrics.acc"]}, "param or a tag"),
        ({"by": ["params.lr DESC"]}, "param or a tag"),
        ({"by": ["params.lr"], "goal": ["best"]}, "goal"),
        ({"by": ["params.lr"], "metric": ["a\x00b"]}, "metric|key"),
        ({"by": ["params.lr"], "filter": ["metrics.acc >"]}, "acc|filter|value"),
    ],
)
def test_bad_group_queries_are_refused(ws: Workspace, runs: list[str], query: dict, error: str) -> None:  # type: ignore[type-arg]
    with pytest.raises((InvalidInput, InvalidValue, FilterSyntaxError), match=error):
        groups(ws, query)


def test_offset_pages_and_total(ws: Workspace, runs: list[str]) -> None:
    whole = page(ws, {}, 1000)["runs"]
    assert [r["id"] for r in whole] == runs[::-1]
    second = page(ws, {"offset": ["2"], "max_results": ["2"], "count": ["true"]}, 1000)
    assert [r["id"] for r in second["runs"]] == [r["id"] for r in whole[2:4]] and second["total"] == 5
    assert second["next_page_token"] is not None
    beyond = page(ws, {"offset": ["50"], "count": ["1"], "filter": ["metrics.acc > 0.8"]}, 1000)
    assert beyond["runs"] == [] and beyond["total"] == 2 and beyond["next_page_token"] is None
    assert "total" not in page(ws, {}, 1000)


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"offset": ["-1"]}, "offset must be"),
        ({"offset": ["1e3"]}, "whole number"),
        ({"offset": [str(10**10)]}, "offset must be"),
        ({"offset": ["1"], "page_token": ["abc"]}, "not both"),
        ({"count": ["maybe"]}, "count must be"),
    ],
)
def test_bad_offsets_are_refused(ws: Workspace, query: dict, error: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(InvalidInput, match=error):
        page(ws, query, 1000)


def test_children_by_parent_id(ws: Workspace) -> None:
    with aml.start_run("nest", workspace=ws) as parent:
        with aml.start_run("nest", workspace=ws, parent=parent.id) as child:
            pass
    found = page(ws, {"filter": [f"attributes.parent_id = '{parent.id}'"]}, 1000)["runs"]
    assert [r["id"] for r in found] == [child.id]
    assert page(ws, {"filter": ["attributes.parent_id = 'nope'"]}, 1000)["runs"] == []
