"""The submit command's arguments, declared once for ``aml submit`` and ``%aml submit`` (as
sweeps/arguments.py does for the sweep's)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..workspace import Workspace


def add_submit_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the submit command's arguments to ``parser``.

    Example:
        >>> p = argparse.ArgumentParser(); add_submit_arguments(p)
        >>> p.parse_args(["train.py", "-p", "lr", "0.1", "--name", "first"]).param
        [['lr', '0.1']]
    """
    parser.add_argument("path", help="a .py or .ipynb file in the project folder")
    parser.add_argument(
        "-p",
        "--param",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        help="a param, recorded and passed to the script as --NAME VALUE (repeatable)",
    )
    parser.add_argument("--target", default="local")
    parser.add_argument("-e", "--experiment", default="default")
    parser.add_argument("--name", default=None)
    parser.add_argument("--wait", action="store_true", help="stream the output and return when the run ends")
    parser.add_argument("--kernel", default=None, help="a notebook's kernel (default: the one it names)")
    parser.add_argument(
        "--requirements",
        default=None,
        help="a requirements.txt or environment.yml: run in an environment built from it",
    )
    parser.add_argument(
        "--data",
        action="append",
        default=None,
        metavar="PATH",
        help="a git-ignored file or folder of the project the job reads (repeatable)",
    )
    parser.add_argument(
        "--allow-new-params", action="store_true", help="inject params the notebook's parameters cell does not declare"
    )
    parser.set_defaults(args=[])  # what follows a `--` on the command line goes to the script


def submit_from_args(args: argparse.Namespace, workspace: Workspace, echo: bool) -> dict[str, Any]:
    """Submit what the parsed arguments describe.

    Example:
        >>> submit_from_args(parser.parse_args(["train.py"]), ws, echo=False)["status"]  # doctest: +SKIP
        'queued'
    """
    from ..services.submit import submit

    return submit(
        args.path,
        dict(args.param or []),
        list(args.args or []),
        target=args.target,
        experiment=args.experiment,
        name=args.name,
        wait=args.wait,
        echo=echo,
        kernel=args.kernel,
        allow_new_params=args.allow_new_params,
        requirements=args.requirements,
        data=args.data,
        workspace=workspace,
    )
