"""The ``aml`` command's entry point: the quick commands go to this user's warm process.

Reading runs needs pandas and SQLAlchemy, whose import alone is most of a second on a small
machine. So a quick command (listing, showing, comparing, cancelling) is run by a child forked
from a warm process that has them imported already, with this process's descriptors, folder,
environment and exit code: it behaves as if run here, in a tenth of the time. The first such
command runs here and starts that process for the next ones; it exits after
``AML_WARM_IDLE_S`` seconds (300) without a command. ``AML_WARM=0`` runs everything here.

Long-running commands (``server``, ``serve``, ``submit``, ``sweep``, ``logs --follow`` ...)
always run here, so that their process is the one a user or a supervisor stops.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Sequence

QUICK = frozenset({"experiments", "runs", "metrics", "artifacts", "models", "targets", "deployments", "cancel", "logs"})
LONG_FLAGS = frozenset({"-f", "--follow", "--wait", "--watch"})
PRELOAD = [
    "pandas",
    "aml_jupyter.cli",
    "aml_jupyter.tracking.queries",
    "aml_jupyter.store.sql.runs",
    "aml_jupyter.store.sql.database",
    "aml_jupyter.services.models",
    "aml_jupyter.services.jobs",
]
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT)


def command_of(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names, past the global options.

    Example:
        >>> command_of(["-w", "ws", "runs", "list"]), command_of(["--workspace=ws", "cancel", "abcd"])
        ('runs', 'cancel')
    """
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-w", "--workspace"):
            i += 2
            continue
        if arg.startswith("-"):
            i += 1
            continue
        return arg
    return None


def is_quick(argv: Sequence[str]) -> bool:
    """Whether ``argv`` is a command the warm process may run: quick, and not following anything.

    Example:
        >>> is_quick(["runs", "list"]), is_quick(["logs", "RUN", "--follow"]), is_quick(["server"])
        (True, False, False)
    """
    if command_of(argv) not in QUICK or "--" in argv:
        return False
    return not any(a in LONG_FLAGS for a in argv)


def _warm(argv: list[str]) -> int | None:
    from .warm.client import fingerprint, interpreter_key, runtime_dir, spawn, start_background

    folder = runtime_dir()
    if folder is None:
        return None
    family = f"cli-{interpreter_key()}-"  # this interpreter's servers: one per version of the code
    path = folder / f"{family}{fingerprint()}.sock"
    for fd in (0, 1, 2):  # a closed standard descriptor cannot be handed over
        try:
            os.fstat(fd)
        except OSError:
            return None
    child = spawn(path, "aml_jupyter.cli:main", [argv], fds=[0, 1, 2], argv=argv, path0=sys.path[0], argv0=sys.argv[0])
    if child is None:
        try:
            idle = float(os.environ.get("AML_WARM_IDLE_S", "300"))
        except ValueError:
            idle = 300.0
        if idle > 0:
            start_background(path, idle, PRELOAD, replaces=family)  # and stops the stale ones
        return None

    forwarded: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        forwarded.append(signum)
        try:
            os.kill(child.pid, signum)
        except ProcessLookupError:
            pass

    for sig in FORWARDED:
        signal.signal(sig, forward)
    code = child.wait()
    if code == -9:  # it died of a signal
        if forwarded:  # ours: this process ends the way it would have, had it run the command
            signal.signal(forwarded[-1], signal.SIG_DFL)
            os.kill(os.getpid(), forwarded[-1])
        print("aml: the command's process ended without an exit code (it was killed)", file=sys.stderr)
        return 137
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``aml ARGS``: a quick command through the warm process when one can serve it, else here.

    Example:
        >>> main(["--workspace", "/nonexistent", "server", "--help"])  # doctest: +SKIP
    """
    args = list(sys.argv[1:] if argv is None else argv)
    if argv is None and os.environ.get("AML_WARM", "1") != "0" and is_quick(args):
        code = _warm(args)
        if code is not None:
            return code
    from .cli.main import main as cli_main

    return cli_main(args)
