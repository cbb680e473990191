"""A script's argparse, read without running it, and what a submission does with it: checked values,
flags by name alone, defaults recorded (typed the same whichever way the job is sent)."""

from __future__ import annotations

import json

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import InvalidValue
from aml_jupyter.jobs.arguments import read_parser
from aml_jupyter.services.jobs import job_parameters
from aml_jupyter.workspace import Workspace

from .helpers import write_notebook

TRAIN = """import argparse, aml_jupyter as aml
if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--smoke", action="store_true", help="a small, fast run")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--opt", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--name")
    args = parser.parse_args()
    aml.log("seen", 1.0 if args.smoke else 0.0)
    print(repr(args.smoke), repr(args.lr), repr(args.epochs), args.opt, args.name)
"""


def test_options_are_read_by_kind_and_unreadable_parsers_say_so() -> None:
    parser = read_parser(TRAIN)
    assert parser.readable
    assert [(o.name, o.kind, o.default) for o in parser.options][:4] == [
        ("smoke", "flag", False),
        ("lr", "float", 0.1),
        ("epochs", "int", 3),
        ("opt", "choice", "adam"),
    ]
    assert parser.options[0].help == "a small, fast run" and parser.options[3].choices == ["adam", "sgd"]
    for unreadable in (
        "import argparse\nfrom mylib import make_parser\nargs = make_parser().parse_args()\n",
        "p.add_argument(NAME, type=int)\n",
        "p.add_argument('--size', type=parse_size)\n",
        "p.add_argument('--files', nargs='+')\n",
        "p.add_argument('data')\n",
        "sub = p.add_subparsers()\np.add_argument('--x', default=1)\n",
        "def broken(:\n",
    ):
        assert not read_parser(unreadable).readable, unreadable


def test_the_dialog_is_told_each_kind(ws: Workspace) -> None:
    (ws.root / "train.py").write_text(TRAIN)
    info = job_parameters(ws, "train.py")
    assert info["readable"] is True
    kinds = {p["name"]: (p["kind"], p["default"], p["required"]) for p in info["parameters"]}
    assert kinds == {
        "smoke": ("flag", False, False),
        "lr": ("float", 0.1, False),
        "epochs": ("int", 3, False),
        "opt": ("choice", "adam", False),
        "name": ("text", None, False),  # an option without a default is not required: argparse gives None
    }


def test_a_flag_ticked_and_unticked_both_run_with_every_param_recorded(ws: Workspace) -> None:
    (ws.root / "train.py").write_text(TRAIN)
    on = aml.submit("train.py", {"smoke": True, "epochs": "5"}, wait=True, workspace=ws)
    off = aml.submit("train.py", {"smoke": False}, wait=True, workspace=ws)
    assert (on["status"], off["status"]) == ("completed", "completed"), (on, off)
    ran_on, ran_off = (aml.get_run(r["id"], workspace=ws) for r in (on, off))
    assert ran_on.params == {"smoke": "True", "lr": "0.1", "epochs": "5", "opt": "adam"}
    assert ran_off.params == {"smoke": "False", "lr": "0.1", "epochs": "3", "opt": "adam"}
    assert ran_on.metrics == {"seen": 1.0} and ran_off.metrics == {"seen": 0.0}
    printed = ran_on.artifact_path("logs/stdout.txt").read_text()
    assert printed.strip() == "True 0.1 5 adam None"  # defaults left to the script, the flag by its name alone
    again = aml.submit("train.py", {"lr": 3}, wait=True, workspace=ws)  # an int for a float option: 3.0
    assert aml.get_run(again["id"], workspace=ws).params["lr"] == "3.0"


@pytest.mark.parametrize(
    ("params", "said"),
    [
        ({"epochs": "many"}, "--epochs takes a whole number"),
        ({"lr": "fast"}, "--lr takes a number"),
        ({"opt": "rmsprop"}, "--opt takes one of adam, sgd"),
        ({"smoke": "maybe"}, "--smoke is a flag"),
    ],
)
def test_a_value_the_script_would_refuse_is_refused_before_anything_runs(
    ws: Workspace, params: dict[str, str], said: str
) -> None:
    (ws.root / "train.py").write_text(TRAIN)
    with pytest.raises(InvalidValue, match=said):
        aml.submit("train.py", params, workspace=ws)
    assert aml.search_runs(workspace=ws).empty


def test_a_rerun_keeps_the_flags_and_passes_an_edited_default(ws: Workspace) -> None:
    from aml_jupyter.services.rerun import rerun

    (ws.root / "train.py").write_text(TRAIN)
    first = aml.submit("train.py", {"smoke": True}, wait=True, workspace=ws)
    again = rerun(ws, first["id"], {"epochs": "7"}, wait=True)
    run = aml.get_run(again["id"], workspace=ws)
    assert run.status == "completed" and run.params["epochs"] == "7" and run.params["smoke"] == "True"
    assert run.artifact_path("logs/stdout.txt").read_text().strip() == "True 0.1 7 adam None"
    assert json.loads(run.tags["aml.defaults"]) == ["lr", "opt"]


def test_a_notebook_records_its_defaults_and_types_a_number_like_its_default(ws: Workspace) -> None:
    write_notebook(
        ws.root / "nb.ipynb", "C = 20.0\nsolver = 'lbfgs'\nepochs = 2", "import aml_jupyter as aml\naml.log('C', C)"
    )
    done = aml.submit("nb.ipynb", {"C": 3}, wait=True, workspace=ws)
    run = aml.get_run(done["id"], workspace=ws)
    assert run.status == "completed", done
    assert run.params == {"C": "3.0", "solver": "lbfgs", "epochs": "2"}  # as a sweep would record it
    assert run.metrics == {"C": 3.0}


def test_a_notebook_rerun_edits_a_default_typed_as_text_the_way_the_lab_sends_it(ws: Workspace) -> None:
    from aml_jupyter.services.rerun import rerun

    write_notebook(
        ws.root / "nb.ipynb", "C = 20.0\nepochs = 2", "import aml_jupyter as aml\naml.log('seen', C * epochs)"
    )
    first = aml.submit("nb.ipynb", {"C": 3}, wait=True, workspace=ws)
    again = rerun(ws, first["id"], {"epochs": "5"}, wait=True)  # a default, edited as text in a form
    run = aml.get_run(again["id"], workspace=ws)
    assert run.status == "completed" and run.params == {"C": "3.0", "epochs": "5"} and run.metrics == {"seen": 15.0}
    with pytest.raises(InvalidValue, match="'epochs'"):
        rerun(ws, first["id"], {"epochs": "many"})
