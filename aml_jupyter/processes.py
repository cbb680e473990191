"""Background processes that outlive whoever starts them: job supervisors, the embedded Dask
cluster, deployment supervisors.

:func:`start_detached` runs ``python -m MODULE --detach ARGS``; the module calls
:func:`detach_if_asked` first thing, which forks and lets the parent exit at once, so the starter
waits only for that parent, the child goes on alone in a session of its own, and nothing is left
for the starter to reap.
"""

from __future__ import annotations

import functools
import os
import pwd
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


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


@functools.lru_cache(maxsize=1)
def current_user() -> str:
    """The user name this process records as a run's (or a version's) author.

    Example:
        >>> isinstance(current_user(), str)
        True
    """
    # The operating system's name for this process's user, never LOGNAME or USER: anyone can set
    # those, and a trust decision (whose pickle this is) rests on this name.
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:  # a uid with no passwd entry (a container's arbitrary user)
        return f"uid-{os.getuid()}"


# Which run of this process is active is the SDK's to say: tracking/fluent.py installs its finder here
# when it loads, since nothing under the SDK may import it (docs/design.md, "Floors"). Code below the
# SDK that records something against the active run (a dataset read: dataprep/datasets.py) asks here.
_active_run_finder: list[Callable[[], Any]] = []


def find_active_run_with(find: Callable[[], Any]) -> None:
    """Have :func:`active_run` answer with ``find()`` (the SDK installs its own when it loads).

    Example:
        >>> find_active_run_with(lambda: None); active_run() is None
        True
    """
    _active_run_finder[:] = [find]


def active_run_finder() -> bool:
    """Whether the SDK is loaded in this process, so :func:`active_run` can answer.

    Example:
        >>> isinstance(active_run_finder(), bool)
        True
    """
    return bool(_active_run_finder)


def active_run() -> Any:
    """This process's active run (a RunHandle), or None, or None when the SDK is not loaded.

    Example:
        >>> active_run() is None
        True
    """
    return _active_run_finder[0]() if _active_run_finder else None
