"""The real MLflow client for the tests that check aml against it: the newest release of a major
version, in a throw-away venv made with uv on first use (never a dependency of the project)."""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

VENVS = REPO / "tests" / ".venvs"  # made once, reused; ignored by git
RELEASES = {"3": "mlflow>=3,<4", "2": "mlflow>=2,<3"}


def mlflow_python(major: str) -> Path:
    """A venv holding the newest MLflow ``major``.x (and scikit-learn), made with uv on first use."""
    folder = VENVS / f"mlflow-{major}"
    python = folder / "bin" / "python"
    VENVS.mkdir(parents=True, exist_ok=True)
    with open(VENVS / f".mlflow-{major}.lock", "w") as lock:  # two test workers make it once
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / ".ready").exists():
            return python
        uv = Path(sys.executable).with_name("uv")
        try:
            made = [str(uv), "venv", "-q", "--python", sys.executable, str(folder)]
            subprocess.run(made, check=True, capture_output=True)
            subprocess.run(
                [str(uv), "pip", "install", "-q", "--python", str(python), RELEASES[major], "scikit-learn"],
                check=True,
                capture_output=True,
                timeout=300,
            )
        except (subprocess.SubprocessError, OSError) as exc:
            pytest.skip(f"MLflow {major}.x could not be installed here: {exc}")
        (folder / ".ready").write_text("")
    return python
