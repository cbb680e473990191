"""This process's own warm server, for the cells it runs as jobs on the local target.

It is this process's child (it exits when this process is gone, or after an idle hour) and
imports ahead what this process has imported from installed packages: a notebook that imported
pandas and scikit-learn gets cell runs that find them imported already. The first cell run
starts it and runs as before; the runs after it fork from it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from .client import server_command, usable

IDLE_S = 3600.0
BASE = [
    "cloudpickle",
    "aml_jupyter.jobs.cell_process",
    "aml_jupyter.jobs.cell_code",
    "aml_jupyter.tracking.fluent",
    "aml_jupyter.store.sql.runs",
    "aml_jupyter.store.sql.database",
    "aml_jupyter.workspace",
]

_lock = threading.Lock()
_state: dict[str, Any] = {}
_verdicts: dict[str, bool] = {}  # module name -> whether it is an installed, public one


def installed_modules() -> list[str]:
    """The public modules this process has imported from the standard library or site-packages
    (each module is looked at once: a cell run asks for the list every time).

    Example:
        >>> import json; "json" in installed_modules()
        True
    """
    roots = _state.get("roots")
    if roots is None:
        paths = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
        roots = _state["roots"] = tuple({os.path.realpath(r) + os.sep for r in paths if r})
    out = []
    for name, module in list(sys.modules.items()):
        verdict = _verdicts.get(name)
        if verdict is None:
            path = getattr(module, "__file__", None)
            verdict = _verdicts[name] = (
                not any(part.startswith("_") for part in name.split("."))
                and isinstance(path, str)
                and os.path.realpath(path).startswith(roots)
            )
        if verdict:
            out.append(name)
    return sorted(out)


def warm_socket() -> Path | None:
    """The socket of this process's warm server, once it answers; starts it on the first call.

    ``AML_WARM=0`` turns it off (every cell run then starts an interpreter of its own).

    Example:
        >>> warm_socket()  # doctest: +SKIP
        PosixPath('/tmp/aml-warm-x1y2/warm.sock')
    """
    if os.environ.get("AML_WARM", "1") == "0":
        return None
    with _lock:
        proc = _state.get("proc")
        path: Path | None = _state.get("path")
        if proc is not None and proc.poll() is None and path is not None:
            return path if path.exists() else None  # it binds once it has imported everything
        if proc is not None:  # it ended: idle for an hour, or it could not start
            if time.monotonic() - _state["started"] < 60:
                _state["failures"] = _state.get("failures", 0) + 1
            if path is not None:
                shutil.rmtree(path.parent, ignore_errors=True)
        if _state.get("failures", 0) >= 3:
            return None  # it keeps dying here: cells start an interpreter each, as without it
        folder = Path(tempfile.mkdtemp(prefix="aml-warm-"))  # private: 0700
        path = folder / "warm.sock"
        if not usable(path):  # a temporary folder too deep for a socket
            folder.rmdir()
            return None
        try:
            _state["proc"] = subprocess.Popen(
                server_command(path, IDLE_S, [*BASE, *installed_modules()], parent=os.getpid()),
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,  # a Ctrl-C in this kernel's terminal is not for it
            )
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
            return None
        _state["path"] = path
        _state["started"] = time.monotonic()
        return None


def stop() -> None:
    """Stop this process's warm server (a new one starts on the next cell run).

    Example:
        >>> stop()
    """
    with _lock:
        proc = _state.pop("proc", None)
        path = _state.pop("path", None)
        _state.pop("failures", None)
        _state.pop("started", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        proc.wait(10)
    if path is not None:
        shutil.rmtree(path.parent, ignore_errors=True)
