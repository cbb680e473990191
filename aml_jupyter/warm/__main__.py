"""``python -m aml_jupyter.warm --socket PATH [--idle S] [--parent PID] [MODULE ...]``: a warm server."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Serve on ``--socket`` with ``MODULE``s imported ahead, until idle or the parent is gone.

    Example:
        >>> main(["--socket", "/run/user/1000/aml_jupyter/cli.sock", "aml_jupyter.cli"])  # doctest: +SKIP
        0
    """
    parser = argparse.ArgumentParser(prog="python -m aml_jupyter.warm")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--idle", type=float, default=300.0)
    parser.add_argument("--parent", type=int, default=None)
    parser.add_argument("--replaces", default="", help="stop the servers beside it whose sockets start so")
    parser.add_argument("modules", nargs="*")
    args = parser.parse_args(argv)
    from .server import serve

    serve(args.socket, args.idle, args.parent, args.modules, args.replaces)
    return 0


if __name__ == "__main__":
    # `python -m` put the starter's folder first on the path: a project's own modules there must
    # not be imported ahead under the names of installed ones.
    if sys.path and sys.path[0] in ("", "/"):
        sys.path.pop(0)
    sys.exit(main())
