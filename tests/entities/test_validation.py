"""Keys, metric values, steps and params: every bad input is refused by name (SECURITY.md E, F)."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

import aml_jupyter as aml
from aml_jupyter.entities.validation import (
    REDACTED,
    check_key,
    check_metric_value,
    check_name,
    check_step,
    check_timestamp,
    param_to_str,
)
from aml_jupyter.errors import InvalidKey, InvalidName, InvalidValue
from aml_jupyter.workspace import Workspace


@pytest.mark.parametrize(
    "key",
    [
        "",
        " ",
        "k" * 251,
        "a..b",
        "..",
        "/abs",
        "a\x00b",
        "a\nb",
        "a\u202eb",
        "a\u200bb",
        " lead",
        "trail ",
        "\ud800",
        5,
        None,
        b"x",
    ],
)
def test_bad_keys(key: object) -> None:
    with pytest.raises(InvalidKey):
        check_key(key)


@pytest.mark.parametrize("key", ["loss", "val/acc", "a.b", "k" * 250, "métrica", "🚀 speed", "a-b_c d"])
def test_good_keys(key: str) -> None:
    assert check_key(key) == key


def test_keys_are_compared_in_nfc() -> None:
    assert check_key("e\u0301") == check_key("\u00e9")


@pytest.mark.parametrize(
    "value",
    [
        "0.5",
        "NaN",
        None,
        True,
        False,
        np.bool_(True),
        Decimal("1.5"),
        Fraction(1, 3),
        1 + 2j,
        np.array(1.0),
        np.array([1.0]),
        [1.0],
        10**400,
        2**53 + 1,
    ],
)
def test_bad_metric_values(value: object) -> None:
    with pytest.raises(InvalidValue):
        check_metric_value(value, "k")


@pytest.mark.parametrize(
    "value,expected",
    [
        (1, 1.0),
        (-0.0, -0.0),
        (5e-324, 5e-324),
        (1e308 * 10, math.inf),
        (np.float32(0.5), 0.5),
        (np.int64(7), 7.0),
        (np.float64(-1.5), -1.5),
        (2**53, float(2**53)),
        (2**60, float(2**60)),
    ],
)
def test_good_metric_values(value: object, expected: float) -> None:
    got = check_metric_value(value, "k")
    assert type(got) is float and got == expected and math.copysign(1, got) == math.copysign(1, expected)


def test_nan_values_pass_as_nan() -> None:
    assert math.isnan(check_metric_value(float("nan")))
    assert math.isnan(check_metric_value(np.float32("nan")))


@pytest.mark.parametrize("step", [-1, 2**63, 2**63 + 1, 1.5, "3", True, None])
def test_bad_steps(step: object) -> None:
    with pytest.raises(InvalidValue):
        check_step(step)


def test_good_steps() -> None:
    assert check_step(0) == 0
    assert check_step(2**31) == 2**31
    assert check_step(np.int64(2**62)) == 2**62
    assert check_step(2**63 - 1) == 2**63 - 1


@pytest.mark.parametrize("ts", [-1, 1e20, float("nan"), "now", True])
def test_bad_timestamps(ts: object) -> None:
    with pytest.raises(InvalidValue):
        check_timestamp(ts)


def test_params_are_text_and_limited() -> None:
    assert param_to_str("C", 0.5, 100) == "0.5"
    assert param_to_str("layers", [1, 2], 100) == "[1, 2]"
    with pytest.raises(InvalidValue, match="limit"):
        param_to_str("big", "x" * 101, 100)
    with pytest.raises(InvalidValue):
        param_to_str("nul", "a\x00b", 100)


@pytest.mark.parametrize("key", ["password", "DB_PASSWORD", "api_token", "client_secret", "OPENAI_API_KEY"])
def test_secret_params_are_redacted(key: str) -> None:
    assert param_to_str(key, "hunter2", 100) == REDACTED


@pytest.mark.parametrize("name", ["", " x", "x ", "a\nb", "n" * 251, 3])
def test_bad_names(name: object) -> None:
    with pytest.raises(InvalidName):
        check_name(name)


def test_a_million_params_are_refused_at_once_and_change_nothing(ws: Workspace) -> None:
    import time

    many = {f"p{i}": i for i in range(1_000_000)}
    with aml.start_run("e", workspace=ws) as run:
        started = time.monotonic()
        for call in (run.log_params, run.set_tags, run.log_metrics):
            with pytest.raises(InvalidValue, match="1,000,000 .* in one call; at most 10,000"):
                call(many)
        assert time.monotonic() - started < 2  # counted, not checked one by one
    with pytest.raises(InvalidValue, match="1,000,000 params"):
        aml.start_run("e", params=many, workspace=ws)
    assert ws.store.get_run(run.id).params == {} and len(aml.search_runs(workspace=ws)) == 1
