"""What every ``aml`` command shares: the workspace it names (``-w``) and its two output forms."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .tables import dumps

if TYPE_CHECKING:
    from ..workspace import Workspace


def workspace(args: argparse.Namespace) -> Workspace:
    """The workspace a command works in: ``-w PATH``, else the one the current folder is in.

    Example:
        >>> workspace(argparse.Namespace(workspace="/home/me/project"))  # doctest: +SKIP
        <Workspace 'project' at /home/me/project>
    """
    from ..workspace import Workspace

    return Workspace.open(args.workspace)


def where(args: argparse.Namespace) -> str | None:
    """What a command that works on a server too passes as ``workspace=``: ``-w PATH``, else None,
    which the SDK resolves (a server after ``aml login`` or with ``AML_TRACKING_URI``, else the
    workspace the current folder is in).

    Example:
        >>> where(argparse.Namespace(workspace=None)) is None
        True
    """
    return str(args.workspace) if args.workspace else None


def emit(args: argparse.Namespace, data: Any, table: str) -> None:
    """Print ``data`` as JSON with ``--json``, else ``table``, the form for people.

    Example:
        >>> emit(argparse.Namespace(json=True), {"n": 1}, "n = 1")
        {
          "n": 1
        }
    """
    print(dumps(data) if getattr(args, "json", False) else table)
