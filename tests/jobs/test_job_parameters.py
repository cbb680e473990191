"""What the Lab's submit dialog reads of a file: a notebook's parameters cell, a script's argparse
options; a notebook without parameters, a file outside the project or of another kind."""

from __future__ import annotations

import nbformat
import pytest

from aml_jupyter.errors import InvalidPath, InvalidValue
from aml_jupyter.services.jobs import job_parameters
from aml_jupyter.workspace import Workspace


def _notebook(path, parameters: str | None) -> None:  # type: ignore[no-untyped-def]
    nb = nbformat.v4.new_notebook()
    if parameters is not None:
        nb.cells.append(nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    nb.cells.append(nbformat.v4.new_code_cell("print(lr)"))
    nbformat.write(nb, path)


def test_a_notebooks_parameters_cell(ws: Workspace) -> None:
    _notebook(ws.root / "train.ipynb", "lr = 0.1\nepochs = 3\nname = '<script>alert(1)</script>'\nsizes = (1, 2)\n")
    got = job_parameters(ws, "train.ipynb")
    assert got["kind"] == "notebook" and got["has_parameters_cell"] and got["path"] == "train.ipynb"
    assert [(p["name"], p["default"], p["required"], p["kind"]) for p in got["parameters"]] == [
        ("lr", 0.1, False, "float"),
        ("epochs", 3, False, "int"),
        ("name", "<script>alert(1)</script>", False, "text"),
        ("sizes", [1, 2], False, "other"),
    ]


def test_a_notebook_without_parameters_can_still_be_submitted(ws: Workspace) -> None:
    _notebook(ws.root / "plain.ipynb", None)
    got = job_parameters(ws, "plain.ipynb")
    assert got == {
        "path": "plain.ipynb",
        "kind": "notebook",
        "has_parameters_cell": False,
        "readable": True,
        "parameters": [],
    }


def test_a_scripts_argparse_options(ws: Workspace) -> None:
    (ws.root / "fit.py").write_text(
        "import argparse\np = argparse.ArgumentParser()\n"
        "p.add_argument('--lr', type=float, default=0.01)\np.add_argument('--data', required=True)\n"
        "p.add_argument('-v', '--verbose', action='store_true')\np.add_argument('positional')\n"
        "p.add_argument('--seed', default=int('3'))\n"
    )
    got = job_parameters(ws, "fit.py")
    assert got["kind"] == "script" and not got["has_parameters_cell"]
    assert {p["name"]: (p["default"], p["required"], p["kind"]) for p in got["parameters"]} == {
        "lr": (0.01, False, "float"),
        "data": (None, True, "text"),
        "verbose": (False, False, "flag"),  # store_true: a checkbox, off unless ticked
        "seed": (None, False, "other"),  # not a literal: no default shown
    }
    assert got["readable"] is False  # a positional and an unreadable default: free arguments offered
    (ws.root / "broken.py").write_text("def (:\n")
    assert job_parameters(ws, "broken.py")["parameters"] == []


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("../outside.ipynb", InvalidPath),
        ("/etc/passwd", InvalidPath),
        ("data.csv", InvalidValue),
        ("gone.ipynb", InvalidPath),
    ],
)
def test_bad_paths_are_refused(ws: Workspace, path: str, error: type[Exception]) -> None:
    (ws.root / "data.csv").write_text("a\n1\n")
    with pytest.raises(error):
        job_parameters(ws, path)
