"""Notebook jobs through papermill: parameters as data, the executed notebook, bad notebooks."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidValue
from aml_jupyter.services.submit import submit
from aml_jupyter.workspace import Workspace

from .helpers import cli, write_notebook

BODY = (
    "import aml_jupyter as aml\nfor step in range(epochs):\n    aml.log('acc', lr * (step + 1), step=step)\n"
    "print(repr(name))"
)


@pytest.fixture
def nb(ws: Workspace) -> Path:
    return write_notebook(ws.root / "train.ipynb", "lr = 0.1\nepochs = 2\nname = 'plain'", BODY)


def test_notebook_run_with_parameters_as_data(ws: Workspace, nb: Path) -> None:
    tricky = "it's \"quoted\"\nand\n'''on lines'''\nimport os"
    proc = cli(ws, "submit", "train.ipynb", "-p", "lr", "0.5", "-p", "name", tricky, "--wait", "--json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert set(result) == {"id", "status"} and result["status"] == "completed"
    shown = json.loads(cli(ws, "runs", "show", result["id"], "--json").stdout)
    assert shown["status"] == "completed" and shown["error"] is None
    assert shown["params"] == {"lr": "0.5", "epochs": "2", "name": tricky}  # its default recorded too
    assert shown["metrics"] == {"acc": 1.0}  # typed like the default: 0.5 * 2, a float
    assert "notebook.ipynb" in [a["name"] for a in shown["artifacts"]]
    run = aml.get_run(result["id"], workspace=ws)
    executed = json.loads(run.artifact_path("notebook.ipynb").read_text())
    code = [c for c in executed["cells"] if c["cell_type"] == "code"]
    assert all("duration" in c["metadata"]["papermill"] for c in code)  # per-cell timing
    injected = [c for c in code if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1
    printed = "".join("".join(o.get("text", "")) for o in code[-1]["outputs"])
    assert printed.strip() == repr(tricky)  # arrived as data, quotes and newlines intact
    statements = ast.parse("".join(injected[0]["source"])).body
    assert statements and all(isinstance(st, ast.Assign) for st in statements)  # nothing but assignments


def test_failing_cell_is_named(ws: Workspace) -> None:
    write_notebook(ws.root / "bad.ipynb", "x = 1", "y = 2", "raise ValueError('broken data')", "z = 3")
    result = submit("bad.ipynb", wait=True, workspace=ws)
    assert result["status"] == "failed"
    record = aml.get_run(result["id"], workspace=ws).info
    assert record.error == "cell 3 (\"raise ValueError('broken data')\") raised ValueError: broken data"
    assert "notebook.ipynb" in [a.name for a in record.artifacts]  # the partly executed notebook is kept


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a valid notebook: not JSON"),
        (json.dumps({"nbformat": 3, "nbformat_minor": 0, "worksheets": [], "metadata": {}}), "nbformat 4 is needed"),
        (json.dumps({"nbformat": 4, "nbformat_minor": 5, "cells": "nope", "metadata": {}}), "not a valid notebook"),
    ],
)
def test_invalid_notebook_fails_the_run_with_the_validation_message(ws: Workspace, content: str, message: str) -> None:
    (ws.root / "broken.ipynb").write_text(content)
    proc = cli(ws, "submit", "broken.ipynb", "--json")
    assert proc.returncode == 1
    result = json.loads(proc.stdout)
    assert result["status"] == "failed"
    assert message in aml.get_run(result["id"], workspace=ws).info.error


def test_bad_parameters_change_nothing(ws: Workspace, nb: Path) -> None:
    for params, match in [
        ({"x=1\nimport os": 1}, "not a Python identifier"),
        ({"class": 1}, "not a Python identifier"),
        ({"momentum": 0.9}, "not declared in the notebook's parameters cell .*allow-new-params"),
        ({"epochs": "many"}, "not a int like its default 2"),
    ]:
        with pytest.raises(InvalidValue, match=match):
            submit("train.ipynb", params, workspace=ws)
    assert aml.search_runs(workspace=ws).empty
    proc = cli(ws, "submit", "train.ipynb", "-p", "x=1\nimport os", "1")
    assert proc.returncode != 0 and "not a Python identifier" in proc.stderr
    assert aml.search_runs(workspace=ws).empty
    ok = submit("train.ipynb", {"momentum": 0.9}, allow_new_params=True, wait=True, workspace=ws)
    assert ok["status"] == "completed"


def test_unknown_kernel(ws: Workspace, nb: Path) -> None:
    result = submit("train.ipynb", kernel="no-such-kernel", wait=True, workspace=ws)
    assert result["status"] == "failed"
    error = aml.get_run(result["id"], workspace=ws).info.error
    assert "no-such-kernel" in error and "installed kernels: " in error and "python3" in error


@pytest.mark.parametrize("kernel", [None, "python3"])
def test_a_notebook_without_kernelspec_runs_on_this_python(ws: Workspace, kernel: str | None) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()  # no kernelspec, no language_info, as generators write it
    first = nbformat.v4.new_code_cell("lr = 0.1")
    first.metadata["tags"] = ["parameters"]
    nb.cells = [
        first,
        nbformat.v4.new_code_cell("import sys, aml_jupyter as aml\naml.log('lr', lr)\nprint(sys.executable)"),
    ]
    nbformat.write(nb, str(ws.root / "bare.ipynb"))
    result = submit("bare.ipynb", params={"lr": 0.5}, kernel=kernel, wait=True, workspace=ws)
    run = aml.get_run(result["id"], workspace=ws)
    assert result["status"] == "completed", run.info.error
    assert run.metrics["lr"] == 0.5


def test_a_cell_that_exits_the_kernel(ws: Workspace) -> None:
    write_notebook(ws.root / "exit.ipynb", "x = 1", "import os\nos._exit(1)")
    result = submit("exit.ipynb", wait=True, workspace=ws)
    assert result["status"] == "failed"
    assert "kernel died" in aml.get_run(result["id"], workspace=ws).info.error


def test_values_round_trip_as_data(ws: Workspace) -> None:
    write_notebook(
        ws.root / "vals.ipynb",
        "text = ''\nnested = {}\nbig = 0\nx = 0.0",
        "import json, math\nprint(json.dumps([text, nested, str(big), math.isnan(x)]))",
    )
    values = {
        "text": "\"; import os; #'\\\n\u2028end",
        "nested": {"a": [1, {"b": "\u2028"}], "c": None},
        "big": 10**30,
        "x": float("nan"),
    }
    result = submit("vals.ipynb", values, wait=True, workspace=ws)
    assert result["status"] == "completed", result["error"]
    printed = aml.get_run(result["id"], workspace=ws).artifact_path("logs/stdout.txt").read_text()
    assert json.loads(printed) == [values["text"], values["nested"], str(10**30), True]


def test_kernel_names_come_from_kernelspec_names(ws: Workspace, nb: Path) -> None:
    for bad in ("../../x", "/usr/bin/python", "py thon", ""):
        with pytest.raises(InvalidValue, match="kernelspec name"):
            submit("train.ipynb", kernel=bad, workspace=ws)
    assert aml.search_runs(workspace=ws).empty


@pytest.mark.parametrize(
    ("cell", "status", "error"),
    [
        ("import sys\nsys.exit(0)", "completed", None),
        ("import sys\nsys.exit(1)", "failed", "raised SystemExit: 1"),
        ("raise KeyboardInterrupt", "cancelled", "interrupted"),
        ("import os, signal\nos.kill(os.getpid(), signal.SIGKILL)", "failed", "kernel died"),
    ],
)
def test_how_a_notebook_ends(ws: Workspace, cell: str, status: str, error: str | None) -> None:
    write_notebook(ws.root / "end.ipynb", "x = 1", cell, "print('not reached')")
    result = submit("end.ipynb", wait=True, workspace=ws)
    record = aml.get_run(result["id"], workspace=ws).info
    assert record.status == status
    assert (record.error is None) if error is None else (error in record.error)


def test_more_malformed_notebooks(ws: Workspace) -> None:
    good = write_notebook(ws.root / "good.ipynb", "x = 1", "y = x")
    (ws.root / "bom.ipynb").write_bytes(b"\xef\xbb\xbf" + good.read_bytes())
    assert submit("bom.ipynb", wait=True, workspace=ws)["status"] == "completed"
    two = json.loads(good.read_text())
    two["cells"][1]["metadata"]["tags"] = ["parameters"]
    (ws.root / "two.ipynb").write_text(json.dumps(two))
    (ws.root / "latin1.ipynb").write_bytes(good.read_text().replace("y = x", "y = 'caf\u00e9'").encode("latin-1"))
    nocells = json.loads(good.read_text())
    del nocells["cells"]
    (ws.root / "nocells.ipynb").write_text(json.dumps(nocells))
    for name, message in [
        ("two.ipynb", "2 cells are tagged 'parameters'"),
        ("latin1.ipynb", "not a valid notebook"),
        ("nocells.ipynb", "not a valid notebook"),
    ]:
        result = submit(name, workspace=ws)
        assert result["status"] == "failed"
        assert message in aml.get_run(result["id"], workspace=ws).info.error
