"""The release: `python -m build` makes a wheel and an sdist that `twine check` accepts, and the wheel
installs into a clean virtual environment where `aml init` and `%load_ext aml_jupyter` work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent


def _run(*argv: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{argv}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def test_the_wheel_installs_and_works_in_a_clean_venv(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "build", "--installer", "uv", "--outdir", dist, REPO, cwd=tmp_path)
    wheel = next(dist.glob("aml_jupyter-*.whl"))
    sdist = next(dist.glob("aml_jupyter-*.tar.gz"))
    check = _run(sys.executable, "-m", "twine", "check", "--strict", wheel, sdist, cwd=tmp_path)
    assert check.stdout.count("PASSED") == 2
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    tops = {name.split("/")[0] for name in names}
    assert {t for t in tops if not t.startswith("aml_jupyter")} == set(), tops  # no top-level `magics` or other
    # The JupyterLab extension comes prebuilt, in the wheel and in the sdist.
    lab = "aml_jupyter-0.1.0.data/data/share/jupyter/labextensions/aml_jupyter/"
    assert {lab + "package.json", lab + "install.json"} <= set(names), [n for n in names if "labext" in n]
    assert any(n.startswith(lab + "static/remoteEntry.") for n in names)
    import tarfile

    with tarfile.open(sdist) as tar:
        assert any(n.endswith("aml_jupyter/labextension/package.json") for n in tar.getnames())

    clean = tmp_path / "clean"
    _run(BIN / "uv", "venv", "-q", "--python", sys.executable, clean, cwd=tmp_path)
    python = clean / "bin" / "python"
    _run(BIN / "uv", "pip", "install", "-q", "--python", python, f"{wheel}[jupyter]", cwd=tmp_path)
    env_bin = clean / "bin"
    project = tmp_path / "project"
    out = _run(env_bin / "aml", "init", project, cwd=tmp_path).stdout
    assert "Created workspace 'project'" in out
    code = (
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "ip = InteractiveShell.instance()\n"
        "ip.run_line_magic('load_ext', 'aml_jupyter')\n"
        "ip.run_line_magic('aml', 'experiments')\n"
        "import aml_jupyter, sys; print('from', aml_jupyter.__file__)\n"
    )
    shown = _run(python, "-c", code, cwd=project).stdout
    assert f"from {clean}" in shown  # the installed wheel, not this checkout
    # The server extension is enabled by the wheel's own config file.
    listed = subprocess.run(
        [str(env_bin / "jupyter"), "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")},
    )
    assert "aml_jupyter" in listed.stdout + listed.stderr and "enabled" in listed.stdout + listed.stderr
    # JupyterLab shows the extension prebuilt and enabled with no Node anywhere on PATH.
    no_node = {**os.environ, "PATH": str(env_bin), "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config")}
    shown_lab = subprocess.run(
        [str(env_bin / "jupyter"), "labextension", "list"], capture_output=True, text=True, timeout=120, env=no_node
    )
    text = shown_lab.stdout + shown_lab.stderr
    line = next((ln for ln in text.splitlines() if "aml_jupyter v" in ln), "")
    assert "enabled" in line and "OK" in line and "(python, aml_jupyter)" in line, text
