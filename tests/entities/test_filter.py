"""The filter grammar: what parses, into what, and what is refused with a clear message."""

from __future__ import annotations

import pytest

from aml_jupyter.entities.filter import Clause, OrderKey, parse_filter, parse_order_by
from aml_jupyter.errors import FilterSyntaxError


def test_readme_filter() -> None:
    assert parse_filter("metrics.acc > 0.9 and params.C = '0.5'") == [
        Clause("metric", "acc", ">", 0.9),
        Clause("param", "C", "=", "0.5"),
    ]


@pytest.mark.parametrize(
    "text,clause",
    [
        ("metrics.acc >= -1e-3", Clause("metric", "acc", ">=", -0.001)),
        ("metric.loss != 2", Clause("metric", "loss", "!=", 2.0)),
        ("metrics.`val acc` < 1", Clause("metric", "val acc", "<", 1.0)),
        ('metrics."val/acc" <= .5', Clause("metric", "val/acc", "<=", 0.5)),
        ('params.lr = "0.01"', Clause("param", "lr", "=", "0.01")),
        ("params.name = 'it''s'", Clause("param", "name", "=", "it's")),
        ("tags.team IN ('a', 'b')", Clause("tag", "team", "IN", ("a", "b"))),
        ("tags.team NOT IN ('a')", Clause("tag", "team", "NOT IN", ("a",))),
        ("params.opt LIKE 'ad%'", Clause("param", "opt", "LIKE", "ad%")),
        ("params.opt ilike 'AD%'", Clause("param", "opt", "ILIKE", "AD%")),
        ("attributes.status = 'completed'", Clause("attribute", "status", "=", "completed")),
        ("attr.run_name = 'x'", Clause("attribute", "name", "=", "x")),
        ("attributes.start_time > 1700000000000", Clause("attribute", "start_time", ">", 1.7e12)),
        ("metrics.acc == 1", Clause("metric", "acc", "=", 1.0)),
    ],
)
def test_clauses(text: str, clause: Clause) -> None:
    assert parse_filter(text) == [clause]


def test_empty_filter() -> None:
    assert parse_filter(None) == [] and parse_filter("  ") == []


@pytest.mark.parametrize(
    "text",
    [
        "acc > 1",  # no prefix
        "metrics.acc > 'x'",  # metric against a string
        "params.lr > '0.1'",  # params take no ordering operator
        "params.lr = 0.1",  # params compare with strings
        "metrics.acc LIKE '1%'",
        "metrics.acc > 1 or params.a = 'b'",  # only AND
        "metrics.acc >",
        "metrics.acc > 1 and",
        "tags.t IN 'a'",
        "tags.t IN ('a'",
        "attributes.color = 'red'",
        "metrics.acc > 1; DROP TABLE runs",
        "x" * 10_001,
    ],
)
def test_bad_filters(text: str) -> None:
    with pytest.raises(FilterSyntaxError):
        parse_filter(text)


def test_order_by() -> None:
    assert parse_order_by(["metrics.acc DESC", "attributes.start_time", "params.lr asc"]) == [
        OrderKey("metric", "acc", True),
        OrderKey("attribute", "start_time", False),
        OrderKey("param", "lr", False),
    ]
    with pytest.raises(FilterSyntaxError):
        parse_order_by(["acc DESC"])


@pytest.mark.parametrize("term", ["metrics.acc DOWN", "metrics.acc DESC, params.C", "metrics.acc,params.C", "metrics."])
def test_an_order_by_it_cannot_follow_is_refused_not_ignored(term: str) -> None:
    with pytest.raises(FilterSyntaxError, match="then ASC or DESC"):
        parse_order_by([term])


def test_an_order_by_key_with_spaces_is_quoted() -> None:
    assert parse_order_by("metrics.`val acc` desc") == [OrderKey("metric", "val acc", True)]
