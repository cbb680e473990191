"""Script jobs (and cells on the local target): a child process in its own process group.

Its stdout and stderr are pumped into the job's rotating logs; :meth:`ChildProcess.stop` ends the
whole group (SIGTERM, then SIGKILL after a grace period), so whatever the job started goes too.
On Linux the child also dies with the process that started it (``PR_SET_PDEATHSIG``): a supervisor
or Dask worker killed outright leaves no job running on behind its back.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .logs import RotatingLog, pump

STOP_GRACE_S = 5.0
PR_SET_PDEATHSIG = 1


def _pdeathsig() -> Callable[[], None] | None:
    # Looked up before any fork: the child only makes the one call.
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None

    def die_with_parent() -> None:
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)

    return die_with_parent


_DIE_WITH_PARENT = _pdeathsig()


class ChildProcess:
    """A job's process: started, pumped, waited for, stoppable from another thread.

    Example:
        >>> child = ChildProcess(["python", "train.py"], cwd, env, out_log, err_log)  # doctest: +SKIP
        >>> child.wait()  # doctest: +SKIP
        0
    """

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str], stdout: RotatingLog, stderr: RotatingLog):
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group, so stop() reaches its children
            preexec_fn=_DIE_WITH_PARENT,  # one async-signal-safe call, looked up before the fork
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._pumps = [
            threading.Thread(target=pump, args=(self.proc.stdout, stdout), daemon=True),
            threading.Thread(target=pump, args=(self.proc.stderr, stderr), daemon=True),
        ]
        for t in self._pumps:
            t.start()

    def wait(self) -> int:
        code = self.proc.wait()
        for t in self._pumps:
            t.join()
        return code

    def stop(self) -> None:
        """End the process group: SIGTERM, then SIGKILL if it is still there after the grace period."""
        if self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def kill_later() -> None:
            try:
                self.proc.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        threading.Thread(target=kill_later, daemon=True).start()


def exit_reason(code: int, what: str = "the script") -> str:
    """Why a job's process failed, in words.

    Example:
        >>> exit_reason(2), exit_reason(-9)
        ('the script exited with code 2', 'the script was killed by signal 9 (SIGKILL)')
    """
    if code >= 0:
        return f"{what} exited with code {code}"
    try:
        name = signal.Signals(-code).name
    except ValueError:
        name = "?"
    return f"{what} was killed by signal {-code} ({name})"


class WarmChildProcess:
    """A cell's process forked from this process's warm server: what :class:`ChildProcess` is,
    without an interpreter start (and imports) per run. It has its own process group, and it
    dies with the connection this object holds, so a kernel killed outright takes it along.

    Example:
        >>> call = "aml_jupyter.jobs.cell_process:main"
        >>> child = WarmChildProcess.start(sock, call, [job_dir], cwd, env, out, err)  # doctest: +SKIP
        >>> child.wait()  # doctest: +SKIP
        0
    """

    def __init__(self, child: Any, pumps: list[threading.Thread]) -> None:
        self.child = child
        self.pid: int = child.pid
        self._pumps = pumps

    @classmethod
    def start(
        cls,
        sock: Path,
        call: str,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        stdout: RotatingLog,
        stderr: RotatingLog,
    ) -> WarmChildProcess | None:
        """Fork it from the server at ``sock``; None when the server does not answer."""
        from ..warm.client import spawn
        from ..warm.owned import installed_modules

        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        devnull = os.open(os.devnull, os.O_RDONLY)
        try:
            child = spawn(
                sock,
                call,
                list(args),
                fds=[devnull, out_w, err_w],
                argv=list(args),
                cwd=str(cwd),
                env=env,
                session=True,
                path0=str(cwd),  # as `python -m` puts its folder first
                preload=installed_modules(),
            )
        finally:
            for fd in (devnull, out_w, err_w):
                os.close(fd)
        if child is None:
            os.close(out_r)
            os.close(err_r)
            return None
        pumps = [
            threading.Thread(target=pump, args=(os.fdopen(out_r, "rb"), stdout), daemon=True),
            threading.Thread(target=pump, args=(os.fdopen(err_r, "rb"), stderr), daemon=True),
        ]
        for t in pumps:
            t.start()
        return cls(child, pumps)

    def wait(self) -> int:
        code = int(self.child.wait())
        for t in self._pumps:
            t.join()
        return code

    def stop(self) -> None:
        """End its process group: SIGTERM, then SIGKILL after the grace period."""
        if self.child.returncode is not None:
            return
        try:
            os.killpg(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            return

        def kill_later() -> None:
            for t in self._pumps:  # its pipes close when the whole group is gone
                t.join(STOP_GRACE_S)
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

        threading.Thread(target=kill_later, daemon=True).start()
