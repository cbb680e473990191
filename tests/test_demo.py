"""`make demo`'s program, end to end in a temporary folder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_end_to_end(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    proc = subprocess.run(
        [sys.executable, "-m", "aml_jupyter.demo", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "== run table (best first)" in proc.stdout and "== best run:" in proc.stdout
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("aml")), "runs", "list", "--json"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    )
    runs = json.loads(listed.stdout)
    assert len(runs) == 8 and {r["status"] for r in runs} == {"completed"}
    children = [r for r in runs if r["name"] != "sweep"]
    sweep = next(r for r in runs if r["name"] == "sweep")
    assert sum(r["parent_id"] == sweep["run_id"] for r in children) == 6
    best_line = next(line for line in proc.stdout.splitlines() if line.startswith("== best run:"))
    best = max(children, key=lambda r: (r["metrics.acc"], r["start_time"]))
    assert best["run_id"][:8] in best_line
    # running it again replaces the old demo workspace
    again = subprocess.run(
        [sys.executable, "-m", "aml_jupyter.demo", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert again.returncode == 0, again.stderr
