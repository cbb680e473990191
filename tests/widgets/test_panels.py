"""The run panels driven headless: values set, buttons clicked, state observed; store values shown
as text whatever they hold."""

from __future__ import annotations

from pathlib import Path

import ipywidgets as w
import pytest

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace
from tests.conftest import eventually

XSS = "<img src=x onerror=alert(1)>"


def _labels(box: w.GridBox) -> list[str]:
    return [c.value for c in box.children if isinstance(c, w.Label)]


def _runs(ws: Workspace) -> list[str]:
    ids = []
    for i, (lr, acc) in enumerate([("0.1", 0.7), ("0.01", 0.9), ("0.001", 0.8)]):
        with aml.start_run("iris", name=XSS if i == 0 else f"run-{i}", params={"lr": lr}, workspace=ws) as run:
            run.log("acc", acc)
            ids.append(run.id)
    return ids


def test_run_history_filters_ticks_and_charts(ws: Workspace) -> None:
    ids = _runs(ws)
    rh = aml.widgets.RunHistory("iris", refresh=0, workspace=ws)
    assert [r["run_id"] for r in rh.rows] == ids[::-1]  # newest first
    labels = _labels(rh.table)
    assert XSS in labels  # the name as text in a Label (which renders text, never HTML)
    assert not any(isinstance(c, w.HTML | w.HTMLMath) for c in rh.box.children + rh.table.children)
    assert rh.metric.options == ("acc",) and rh.metric.value == "acc"
    ticks = [c for c in rh.table.children if isinstance(c, w.Checkbox)]
    ticks[0].value = True  # a click on the newest run's box
    ticks[2].value = True
    assert rh.chart_values() == {ids[2][:8]: 0.8, ids[0][:8]: 0.7}
    assert list(rh.bars.x) == [ids[2][:8], ids[0][:8]] and list(rh.bars.y) == [0.8, 0.7]
    rh.filter.value = "metrics.acc >= 0.8"
    rh.apply.click()
    assert {r["run_id"] for r in rh.rows} == {ids[1], ids[2]} and rh.message.value == "2 run(s)"
    assert rh.chart_values() == {ids[2][:8]: 0.8}  # the filtered-out run is no longer ticked
    rh.filter.value = "metrics.acc >>> 1"
    rh.apply.click()
    assert "expected a value" in rh.message.value and len(rh.rows) == 2  # said, and the table kept


def test_run_history_updates_itself(ws: Workspace) -> None:
    rh = aml.widgets.RunHistory("live", refresh=0.2, workspace=ws)
    try:
        assert rh.rows == []
        with aml.start_run("live", workspace=ws) as run:
            run.log("loss", 1.0)
        eventually(lambda: rh.rows, 15, "the table picking up the new run")
        assert rh.rows[0]["run_id"] == run.id
    finally:
        rh.stop()


def test_run_details_follows_a_job(ws: Workspace) -> None:
    (ws.root / "train.py").write_text(
        "import aml_jupyter as aml\nif __name__ == '__main__':\n"
        "    for i in range(5000):\n        aml.log('loss', 1.0 / (i + 1), step=i)\n"
        f"    print({XSS!r})\n    print('done training')\n"
    )
    job = aml.submit("train.py", {"lr": XSS}, experiment="jobs", wait=True, workspace=ws)
    rd = aml.widgets.RunDetails(job["id"], refresh=0, workspace=ws)
    assert rd.status.value == "status: completed" and rd.ended
    assert rd.params.value == f"lr = {XSS}"  # params and artifacts shown, as text
    assert "logs/stdout.txt" in rd.artifacts.value and rd.y_axis.label == "loss"
    assert rd.metric.value == "loss" and 2 <= len(rd.line.x) <= 1000  # downsampled for the chart
    assert rd.log.value.splitlines()[-2:] == [XSS, "done training"]  # a Textarea: text, not markup
    # The System group: what the machine did, sampled at least once (at the job's end)
    assert rd.system_metric.value == "system/process_cpu_utilization_percentage" and len(rd.system_line.x) >= 1
    assert "peak memory" in rd.system_peaks.value and "system/" not in " ".join(rd.metric.options)


def test_publish_model_from_best_run_to_a_smoke_test(ws: Workspace, tmp_path: Path) -> None:
    model = tmp_path / "model"
    model.mkdir()
    (model / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return [sum(row) for row in data]\n")
    for acc in (0.6, 0.95):
        with aml.start_run("iris", workspace=ws) as run:
            run.log("acc", acc)
            run.log_artifact(model / "score.py", "model/score.py")
    form = aml.widgets.PublishModel(workspace=ws)
    form.register.click()  # out of order: said, nothing done
    assert "find the best run first" in form.message.value or form.register.disabled
    form.experiment.value = "iris"
    assert form.metric.options == ("acc",) and form.metric.value == "acc"  # the experiment's metrics, suggested
    form.metric.value = "acc"
    form.find.click()
    assert form.state["run"] == run.id and form.artifact.value == "model" and not form.register.disabled
    form.model_name.value = "summer"
    form.register.click()
    assert form.state["version"] == "summer:1" and form.message.value == ""
    form.deployment.value = "summer-test"
    form.deploy.click()
    try:
        assert form.message.value == "" and form.state["deployment"]["url"].startswith("http://127.0.0.1:")
        form.sample.value = '{"data": [[1, 2, 3]]}'
        form.smoke.click()
        assert form.state["response"] == {"status": 200, "body": {"predictions": [6]}}
        form.sample.value = "{not json"
        form.smoke.click()
        assert form.message.value.startswith("JSONDecodeError")
    finally:
        from aml_jupyter.services.deployments import delete

        delete("summer-test", workspace=ws)


@pytest.mark.parametrize("goal,expected", [("max", 0.95), ("min", 0.6)])
def test_publish_model_goal(ws: Workspace, goal: str, expected: float) -> None:
    for acc in (0.6, 0.95):
        with aml.start_run("iris", workspace=ws) as run:
            run.log("acc", acc)
    form = aml.widgets.PublishModel("iris", workspace=ws)
    form.metric.value, form.goal.value = "acc", goal
    form.find.click()
    assert form.run_label.value.endswith(f"acc = {expected}")
    assert form.register.disabled  # that run logged no artifact to register


def test_run_history_pages_through_many_runs(ws: Workspace) -> None:
    store = ws.store
    exp = store.experiment_id("many", create=True)
    for i in range(7):
        store.create_run(exp, name=f"r{i}", source_kind="python", user="u")
    rh = aml.widgets.RunHistory("many", page_size=3, refresh=0, workspace=ws)
    assert [r["name"] for r in rh.rows] == ["r6", "r5", "r4"] and rh.message.value == "runs 1-3, and older ones"
    assert rh.previous.disabled and not rh.next.disabled
    rh.next.click()
    assert [r["name"] for r in rh.rows] == ["r3", "r2", "r1"] and rh.message.value == "runs 4-6, and older ones"
    rh.next.click()
    assert [r["name"] for r in rh.rows] == ["r0"] and rh.message.value == "runs 7-7" and rh.next.disabled
    rh.previous.click()
    assert rh.rows[0]["name"] == "r3"
    assert len([c for c in rh.table.children if isinstance(c, w.Checkbox)]) == 3  # one page of widgets


def test_the_dashboards_empty_tabs_say_so(ws: Workspace) -> None:
    # Before: the Deployments tab of a workspace with none was an empty box.
    from aml_jupyter.widgets.dashboard import Dashboard

    board = Dashboard(workspace=ws, refresh=0)
    try:
        assert "No deployments" in board.deployments.children[0].value
        assert "No models registered yet" in board.models.children[0].value
    finally:
        board.stop()
