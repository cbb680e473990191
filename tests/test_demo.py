"""`make demo`'s program, end to end in a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_end_to_end(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> None:
    folder, proc = demo
    assert proc.returncode == 0, proc.stderr
    assert "== run table (best first)" in proc.stdout and "== best child:" in proc.stdout
    # The data arrived messy and was prepared by example: steps in words, rows to look at, a dataset.
    assert "read as a number (decimal comma)" in proc.stdout and "split 'observer' at ' '" in proc.stdout
    assert "rows of 'measured_on' to look at" in proc.stdout and "registered dataset iris:1" in proc.stdout
    assert "lineage: trained by run" in proc.stdout and "dataset:iris:1" in proc.stdout
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("aml")), "runs", "list", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    runs = [r for r in json.loads(listed.stdout) if r["experiment"] == "iris"]  # other tests add their own
    assert len(runs) == 8
    sweep = next(r for r in runs if r["name"] == "sweep")
    children = [r for r in runs if r["parent_id"] == sweep["id"]]
    assert len(children) == 6 and sweep["status"] == "completed"
    # Children end completed, or cancelled when the median policy stopped them early.
    assert {r["status"] for r in children} <= {"completed", "cancelled"}
    assert all(r["source_kind"] == "notebook" and r["compute_target"] == "dask" for r in children)
    script = next(r for r in runs if r["name"] != "sweep" and r["parent_id"] is None)
    assert script["status"] == "completed" and script["source_kind"] == "script"
    best_line = next(line for line in proc.stdout.splitlines() if line.startswith("== best child:"))
    done = [r for r in children if r["status"] == "completed"]
    best_acc = max(r["metrics"]["acc"] for r in done)
    assert any(r["id"][:8] in best_line and r["metrics"]["acc"] == best_acc for r in done)
    assert not list((folder / ".aml" / "dask").glob("cluster-*.json"))  # the demo stopped its cluster
    # It ends by serving the best child's model: three rows scored over HTTP, and the metrics.
    assert "== registered iris-softmax:1 (python)" in proc.stdout
    answers = [
        line.split("-> ")[1] for line in proc.stdout.splitlines() if line.strip().startswith("[") and "->" in line
    ]
    assert answers == ["setosa", "versicolor", "virginica"]
    assert 'aml_requests_total{status="200"} 1' in proc.stdout and "aml_rows_scored_total 3" in proc.stdout
    assert not list((folder / ".aml" / "deployments").glob("*"))  # and stopped it


def test_a_second_demo_deletes_nothing_a_user_made(tmp_path: Path) -> None:
    # Before: `make demo` again removed demo-workspace/ with the notebooks and runs made in it.
    import aml_jupyter as aml
    from aml_jupyter.demo.__main__ import added_by_user, prepare, record_inventory

    folder = tmp_path / "demo-workspace"
    ws = prepare(folder)  # what the demo makes before its runs, and its inventory at its end
    with aml.start_run("iris", workspace=ws, snapshot=False):
        aml.log("acc", 0.9)
    record_inventory(folder, ws)
    assert added_by_user(folder) == []
    (folder / "mine.ipynb").write_text("{}")
    with aml.start_run("mine", workspace=ws, snapshot=False):
        aml.log("x", 1.0)
    added = added_by_user(folder)
    assert any("mine.ipynb" in a for a in added) and "1 more runs" in added
    with pytest.raises(SystemExit, match="nothing was deleted"):
        prepare(folder)
    assert (folder / "mine.ipynb").exists() and len(aml.list_runs(workspace=ws)) == 2
    (folder / "mine.ipynb").unlink()  # with the user's work gone elsewhere, the demo starts afresh
    with aml.start_run("iris", workspace=ws, snapshot=False):
        pass
    assert added_by_user(folder) == ["2 more runs"]  # runs count too: still refused
