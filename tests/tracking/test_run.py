"""The SDK as a user calls it: start_run, logging, artifacts, endings, reading back."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pandas as pd
import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidKey, InvalidPath, InvalidValue, NoActiveRun, RunStateError
from aml_jupyter.workspace import Workspace
from tests.conftest import store_dump


def test_readme_example(ws: Workspace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ws.root)
    Path("model.pkl").write_bytes(b"model bytes")
    with aml.start_run(experiment="iris", params={"C": 0.5}) as run:
        for step in range(100):
            aml.log("loss", 1 / (step + 1), step=step)
        aml.log("acc", 0.95)
        aml.log_artifact("model.pkl")
    frame = aml.search_runs("metrics.acc > 0.9 and params.C = '0.5'", order_by=["metrics.acc DESC"])
    assert frame["run_id"].tolist() == [run.id]
    best = aml.best_run("iris", metric="acc", goal="max")
    assert best.id == run.id and best.params == {"C": "0.5"}
    history = aml.get_run(run.id).metric_history("loss")
    assert history.columns.tolist() == ["step", "value", "timestamp"]
    assert history["step"].tolist() == list(range(100))
    assert history["value"].iloc[-1] == pytest.approx(0.01)
    assert str(history["timestamp"].dtype).startswith("datetime64")
    stored = aml.get_run(run.id)
    assert stored.status == "completed"
    assert stored.info.snapshot_id and stored.info.environment_hash
    assert [a.name for a in stored.artifacts] == ["model.pkl"]
    assert stored.artifact_path("model.pkl").read_bytes() == b"model bytes"


def test_special_floats_round_trip_exactly(ws: Workspace) -> None:
    values = [math.nan, math.inf, -math.inf, -0.0, 0.0, 5e-324, 1.7976931348623157e308]
    with aml.start_run("e", workspace=ws) as run:
        for v in values:
            run.log("x", v)
    got = aml.get_run(run.id, workspace=ws).metric_history("x")["value"].tolist()
    assert math.isnan(got[0])
    for a, b in zip(got[1:], values[1:], strict=True):
        assert a == b and math.copysign(1, a) == math.copysign(1, b)
    latest = aml.get_run(run.id, workspace=ws).metrics["x"]
    assert latest == values[-1]


def test_auto_steps_continue_per_key(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws) as run:
        run.log("a", 1.0)
        run.log("a", 2.0)
        run.log("b", 1.0, step=10)
        run.log("b", 2.0)
        run.log_metrics({"a": 3.0, "c": 1.0})
        assert run.log_batch("d", [1.0, 2.0, 3.0]) == 3
    r = aml.get_run(run.id, workspace=ws)
    assert r.metric_history("a")["step"].tolist() == [0, 1, 2]
    assert r.metric_history("b")["step"].tolist() == [10, 11]
    assert r.metric_history("d")["step"].tolist() == [0, 1, 2]
    assert r.metrics == {"a": 3.0, "b": 2.0, "c": 1.0, "d": 3.0}


def test_latest_metric_is_the_highest_step(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws) as run:
        run.log("x", 5.0, step=5)
        run.log("x", 1.0, step=1)
    assert aml.get_run(run.id, workspace=ws).metrics["x"] == 5.0


def test_exception_fails_the_run_with_traceback(ws: Workspace) -> None:
    with pytest.raises(ZeroDivisionError):
        with aml.start_run("e", workspace=ws) as run:
            run.log("x", 1.0)
            1 / 0  # noqa: B018
    r = aml.get_run(run.id, workspace=ws)
    assert r.status == "failed"
    assert r.info.error == "ZeroDivisionError: division by zero"
    assert "1 / 0" in (r.info.error_traceback or "")
    assert r.metrics == {"x": 1.0}


@pytest.mark.parametrize("code,status", [(0, "completed"), (None, "completed"), (3, "failed")])
def test_sys_exit(ws: Workspace, code: int | None, status: str) -> None:
    with pytest.raises(SystemExit):
        with aml.start_run("e", workspace=ws) as run:
            sys.exit(code)
    assert aml.get_run(run.id, workspace=ws).status == status


def test_keyboard_interrupt_cancels(ws: Workspace) -> None:
    with pytest.raises(KeyboardInterrupt):
        with aml.start_run("e", workspace=ws) as run:
            raise KeyboardInterrupt
    assert aml.get_run(run.id, workspace=ws).status == "cancelled"


def test_no_active_run(ws: Workspace) -> None:
    with pytest.raises(NoActiveRun):
        aml.log("x", 1.0)
    with pytest.raises(NoActiveRun):
        aml.log_params({"a": 1})


def test_ended_runs_are_read_only(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws) as run:
        pass
    with pytest.raises(RunStateError):
        run.log("x", 1.0)
    with pytest.raises(RunStateError):
        aml.get_run(run.id, workspace=ws).log_params({"a": 1})


def test_nested_runs_record_their_parent(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws, name="outer") as outer:
        with aml.start_run("e", workspace=ws, nested=True) as inner:
            aml.log("x", 1.0)  # goes to the innermost run
        aml.log("y", 2.0)
    assert aml.get_run(inner.id, workspace=ws).info.parent_id == outer.id
    assert aml.get_run(inner.id, workspace=ws).metrics == {"x": 1.0}
    assert aml.get_run(outer.id, workspace=ws).metrics == {"y": 2.0}


def test_params_cannot_change(ws: Workspace) -> None:
    with aml.start_run("e", params={"lr": 0.1}, workspace=ws) as run:
        run.log_params({"lr": 0.1})  # same value: fine
        with pytest.raises(InvalidValue, match="cannot change"):
            run.log_params({"lr": 0.2, "new": 1})
    assert aml.get_run(run.id, workspace=ws).params == {"lr": "0.1"}


def test_secret_params_never_reach_the_store(ws: Workspace) -> None:
    with aml.start_run("e", params={"db_password": "hunter2"}, workspace=ws) as run:
        run.set_tags({"api_token": "abc123"})
    raw = store_dump(ws)
    assert b"hunter2" not in raw and b"abc123" not in raw
    assert aml.get_run(run.id, workspace=ws).params["db_password"] == "***redacted***"


def _row_counts(ws: Workspace) -> dict[str, int]:
    ws.writer.flush()
    tables = ("runs", "params", "tags", "metric_chunks", "artifacts", "metric_keys")
    return ws.store.db.read(lambda c: {t: c.exec_driver_sql(f"select count(*) from {t}").scalar() for t in tables})


@pytest.mark.parametrize("key", ["", "k" * 251, "a..b", "/x", "a\x00b", "a\nb"])
def test_bad_keys_write_nothing(ws: Workspace, key: str) -> None:
    with aml.start_run("e", workspace=ws) as run:
        before = _row_counts(ws)
        for call in (
            lambda: run.log(key, 1.0),
            lambda: run.log_params({key: 1}),
            lambda: run.set_tags({key: "v"}),
            lambda: run.log_metrics({"ok": 1.0, key: 2.0}),
        ):
            with pytest.raises(InvalidKey):
                call()
        assert _row_counts(ws) == before


@pytest.mark.parametrize("value", ["1.0", None, True, [1.0]])
def test_bad_metric_values_write_nothing(ws: Workspace, value: object) -> None:
    with aml.start_run("e", workspace=ws) as run:
        before = _row_counts(ws)
        with pytest.raises(InvalidValue):
            run.log("x", value)
        with pytest.raises(InvalidValue):
            run.log_metrics({"ok": 1.0, "x": value})
        with pytest.raises(InvalidValue):
            run.log_batch("x", [1.0, value])
        assert _row_counts(ws) == before


def test_param_value_over_the_limit(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws) as run:
        before = _row_counts(ws)
        with pytest.raises(InvalidValue, match="limit"):
            run.log_params({"ok": 1, "big": "x" * 6001})
        assert _row_counts(ws) == before
    with pytest.raises(InvalidValue):
        aml.start_run("e", params={"big": "x" * 6001}, workspace=ws)
    assert _row_counts(ws)["runs"] == 1


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "a/../../x", "%2e%2e/x", "x\x00y"])
def test_bad_artifact_names_write_nothing(ws: Workspace, tmp_path: Path, name: str) -> None:
    src = tmp_path / "f.txt"
    src.write_text("data")
    with aml.start_run("e", workspace=ws) as run:
        for call in (
            lambda: run.log_artifact(src, name),
            lambda: run.log_text("t", name),
            lambda: run.log_table(pd.DataFrame({"a": [1]}), name),
        ):
            with pytest.raises(InvalidPath):
                call()
    assert ws.artifacts.digests() == {}
    assert _row_counts(ws)["artifacts"] == 0


def test_artifacts_of_every_kind(ws: Workspace, tmp_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import plotly.graph_objects as go

    folder = tmp_path / "out"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.json").write_text("{}")
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with aml.start_run("e", workspace=ws) as run:
        run.log_artifacts(folder, prefix="outputs")
        run.log_text("hello", "notes.md")
        run.log_table(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), "table")
        run.log_figure(fig, "plots/curve")
        run.log_figure(go.Figure(go.Scatter(y=[1, 3, 2])), "plots/interactive")
        run.log_artifact(folder / "a.txt", name="dup.txt")
    plt.close(fig)
    r = aml.get_run(run.id, workspace=ws)
    names = {a.name: a for a in r.artifacts}
    assert set(names) == {
        "outputs/a.txt",
        "outputs/sub/b.json",
        "notes.md",
        "table.parquet",
        "plots/curve.png",
        "plots/interactive.html",
        "dup.txt",
    }
    assert names["dup.txt"].digest == names["outputs/a.txt"].digest  # stored once
    assert len(ws.artifacts.digests()) == 6
    assert pd.read_parquet(r.artifact_path("table.parquet"))["b"].tolist() == ["x", "y"]
    assert r.artifact_path("plots/curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert names["plots/interactive.html"].media_type == "text/html"
    assert b"plotly" in r.artifact_path("plots/interactive.html").read_bytes()[:100_000].lower()


def test_log_input_records_lineage(ws: Workspace) -> None:
    with aml.start_run("e", workspace=ws) as run:
        run.log_input("customers", uri="data/customers.csv", digest="ab" * 32)
    assert aml.get_run(run.id, workspace=ws).info.inputs == [
        {"kind": "dataset", "name": "customers", "uri": "data/customers.csv", "digest": "ab" * 32, "role": "input"}
    ]


def test_compare_runs_puts_differing_params_first(ws: Workspace) -> None:
    ids = []
    for lr in ("0.1", "0.2"):
        with aml.start_run("e", params={"a_same": 1, "lr": lr, "z_same": 2}, workspace=ws) as run:
            run.log("acc", float(lr))
        ids.append(run.id)
    frame = aml.compare_runs(ids, workspace=ws)
    assert frame.index.tolist() == ["params.lr", "params.a_same", "params.z_same", "metrics.acc"]
    assert frame["differs"].tolist() == [True, False, False, True]
    assert frame.loc["params.lr"].tolist()[:2] == ["0.1", "0.2"]


def test_run_without_with_completes_at_end_run(ws: Workspace) -> None:
    run = aml.start_run("e", workspace=ws)
    aml.log("x", 1.0)
    assert aml.active_run() is run
    assert aml.end_run() == "completed"
    assert aml.active_run() is None
    assert aml.get_run(run.id, workspace=ws).metrics == {"x": 1.0}
