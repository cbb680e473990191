"""Background processes that outlive whoever starts them: job supervisors, the embedded Dask
cluster, deployment supervisors.

:func:`start_detached` runs ``python -m MODULE --detach ARGS``; the module calls
:func:`detach_if_asked` first thing, which forks and lets the parent exit at once, so the starter
waits only for that parent, the child goes on alone in a session of its own, and nothing is left
for the starter to reap.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import IO


def start_detached(
    module: str, args: list[str], cwd: Path, env: dict[str, str] | None = None, log: IO[bytes] | None = None
) -> None:
    """Start ``python -m module --detach *args`` so that it outlives this process.

    Example:
        >>> start_detached("aml_jupyter.jobs.supervise", [run_id], ws.root)  # doctest: +SKIP
    """
    out = log if log is not None else subprocess.DEVNULL
    subprocess.run(
        [sys.executable, "-m", module, "--detach", *args],
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=out,
        start_new_session=True,
        check=True,
        timeout=60,
    )


def detach_if_asked(argv: list[str]) -> list[str]:
    """If ``argv`` starts with ``--detach``, fork (the parent exits); returns the other arguments.

    Example:
        >>> detach_if_asked(["run-id"])
        ['run-id']
    """
    if argv and argv[0] == "--detach":
        if os.fork() > 0:
            os._exit(0)  # the starter waits for this parent only; the child goes on alone
        return argv[1:]
    return argv


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists (one of another user's counts as alive).

    Example:
        >>> pid_alive(os.getpid()), pid_alive(None)
        (True, False)
    """
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
