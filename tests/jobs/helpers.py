"""Small builders shared by the job tests: notebooks, the aml command, waiting for a status."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import nbformat

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace

AML = str(Path(sys.executable).with_name("aml"))


def write_notebook(path: Path, params: str, *cells: str, nbformat_minor: int = 5) -> Path:
    """A notebook whose first cell (tagged ``parameters``) is ``params``, then ``cells``."""
    nb = nbformat.v4.new_notebook()
    nb.nbformat_minor = nbformat_minor
    first = nbformat.v4.new_code_cell(params)
    first.metadata["tags"] = ["parameters"]
    nb.cells = [first, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def cli(ws: Workspace, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``aml -w ROOT ARGS`` in a child process."""
    return subprocess.run([AML, "-w", str(ws.root), *args], capture_output=True, text=True, timeout=timeout)


def wait_for(ws: Workspace, run_id: str, statuses: set[str], timeout: float = 60) -> str:
    """Poll the run until its status is one of ``statuses``; returns it."""
    deadline = time.monotonic() + timeout
    while True:
        status = aml.get_run(run_id, workspace=ws).status
        if status in statuses:
            return status
        assert time.monotonic() < deadline, f"run {run_id[:8]} stayed {status}, not one of {statuses}"
        time.sleep(0.1)
