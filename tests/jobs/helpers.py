"""Small builders shared by the job tests: notebooks, the aml command, waiting for a status."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

import aml_jupyter as aml
from aml_jupyter.workspace import Workspace
from tests.conftest import eventually

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
    """Wait until the run's status is one of ``statuses``; returns it."""

    def reached() -> str | None:
        status = aml.get_run(run_id, workspace=ws).status
        return status if status in statuses else None

    return eventually(reached, timeout, f"run {run_id[:8]} reaching one of {sorted(statuses)}")
