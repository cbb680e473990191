"""The magics in a real kernel, driven by nbclient: %%aml run, %aml submit, %aml history, %aml sweep."""

from __future__ import annotations

import os
import signal

import nbformat
from nbclient import NotebookClient

import aml_jupyter as aml
from aml_jupyter.compute import dask_cluster
from aml_jupyter.workspace import Workspace

from .helpers import write_notebook

CELLS = [
    "import time\nstarted = time.perf_counter()\n%load_ext aml_jupyter\n"
    "load_ms = (time.perf_counter() - started) * 1000",
    "import aml_jupyter as aml\nx = 20\nsecret = 'not shipped'",
    "%%aml run --target local --inputs x --outputs y --param C=0.5\nprint('inside', x)\ny = x + C\naml.log('acc', y)",
    "%%aml run --target dask --inputs x --outputs z\nprint('on a worker', x)\nz = x * 2",
    "%%aml run --target dask --inputs x --outputs w\nw = secret",
    "result = %aml submit nb.ipynb -p lr 0.2 --wait",
    "%aml history on",
    "aml.log('h', 1.0)\n'summary'",
    "%aml history off",
    "swept = %aml sweep nb.ipynb --param lr=choice(0.1,0.3) --metric acc --method grid --max-concurrent 2 "
    "--target dask",
    "print(load_ms, y, z, 'w' in dir(), result['status'], swept['best']['params'])\nprint(result)",
]


def test_magics_in_a_real_kernel(ws: Workspace) -> None:
    write_notebook(ws.root / "nb.ipynb", "lr = 0.1", "import aml_jupyter as aml\naml.log('acc', lr)")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    client = NotebookClient(nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(ws.root)}})
    try:
        client.execute(env={**os.environ, "AML_WORKSPACE": str(ws.root)})
    finally:
        state = dask_cluster.embedded_state(ws)
        if state is not None:
            os.kill(int(state["pid"]), signal.SIGTERM)

    def text(i: int) -> str:
        return "".join(o.get("text", "") for o in nb.cells[i].outputs if o.output_type == "stream")

    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert "inside 20" in text(2) and "completed on local" in text(2)
    assert "on a worker 20" in text(3)
    assert "name 'secret' is not defined in this run" in text(4)
    load_ms, y, z, has_w, status, best = text(10).splitlines()[0].split(maxsplit=5)
    assert float(load_ms) < 200, f"%load_ext took {load_ms} ms"
    assert (y, z, has_w, status) == ("20.5", "40", "False", "completed"), text(10)
    assert best.strip() == "{'lr': 0.3}"
    widgets = [o for o in nb.cells[9].outputs if "application/vnd.jupyter.widget-view+json" in o.get("data", {})]
    assert widgets, "the sweep showed no progress widget"
    interactive = aml.search_runs(experiments=["interactive"], workspace=ws)
    assert len(interactive) == 1
    run = aml.get_run(interactive.iloc[0]["run_id"], workspace=ws)
    assert run.status == "completed" and run.metrics == {"h": 1.0}
    logged = next(c for c in nb.cells if c.source.startswith("aml.log('h'"))
    assert run.name == f"cell {logged.execution_count}"  # as the notebook shows it: In [N]
    assert run.tags["aml.output"] == "'summary'" and run.artifact_path("cell.py").read_text().startswith("aml.log")
    cells = aml.search_runs("attributes.source_kind = 'cell'", workspace=ws)
    assert sorted(cells["status"]) == ["completed", "completed", "failed"]
