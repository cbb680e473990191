"""Per-run environments: a virtual environment built from a requirements file, cached by its hash.

A run that names ``requirements`` (a pip ``requirements.txt``, or a conda-style ``environment.yml``
whose pip-installable entries are used) runs in an isolated virtual environment built from it.
The environment is keyed by the file's content, the Python version and what aml_jupyter itself
needs, built once (uv when available, else ``venv`` + pip) under ``.aml/envs/KEY`` and reused by
every later run with the same key. aml_jupyter's own dependencies are installed at the versions
this process has, and aml_jupyter is made importable, so the job can log. The exact versions
installed (the lock) are stored with each run that uses it.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata as md
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from ..errors import InvalidValue, JobError
from .user_env import BUILD_PREFIXES, user_environment

CORE = ("sqlalchemy", "traitlets", "pandas", "pyarrow")
BUILD_TIMEOUT_S = 1800


@dataclass(frozen=True)
class Environment:
    """A built environment: its key, its interpreter and its lock (``name==version`` lines)."""

    key: str
    python: Path
    lock: str


def requirement_lines(path: Path) -> list[str]:
    """The pip requirement lines of a requirements file or a conda-style environment file.

    Example:
        >>> import tempfile, pathlib
        >>> f = pathlib.Path(tempfile.mkdtemp()) / "environment.yml"
        >>> _ = f.write_text("dependencies:\\n  - python=3.11\\n  - numpy=1.26\\n  - pip\\n"
        ...                  "  - pip:\\n    - six==1.16.0\\n")
        >>> requirement_lines(f)
        ['numpy==1.26', 'six==1.16.0']
    """
    text = path.read_text(encoding="utf-8")
    if path.suffix in (".yml", ".yaml"):
        import yaml

        try:
            spec = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise InvalidValue(f"{path.name} is not valid YAML: {exc}") from None
        deps = spec.get("dependencies", []) if isinstance(spec, dict) else None
        if not isinstance(deps, list):
            raise InvalidValue(f"{path.name}: 'dependencies' must be a list")
        lines: list[str] = []
        for dep in deps:
            if isinstance(dep, dict):
                lines += [str(x) for x in dep.get("pip", [])]
            elif isinstance(dep, str):
                name = re.split(r"[=<>!\s]", dep, maxsplit=1)[0]
                if name in ("python", "pip"):
                    continue  # the interpreter is this one; pip comes with the environment
                # conda's single '=' pins a version prefix; pip spells it '=='
                lines.append(re.sub(r"(?<![=<>!])=(?!=)", "==", dep.replace(" ", "")))
        return lines
    return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith("#")]


def _core_pins() -> list[str]:
    pins = []
    for name in CORE:
        try:
            pins.append(f"{name}=={md.version(name)}")
        except md.PackageNotFoundError:
            pins.append(name)
    return pins


def _uv() -> str | None:
    sibling = Path(sys.executable).with_name("uv")
    return str(sibling) if sibling.exists() else shutil.which("uv")


def env_key(lines: list[str], extra: list[str]) -> str:
    """The cache key of an environment: its requirements, the Python version, what aml needs.

    Example:
        >>> len(env_key(["six"], []))
        64
    """
    h = hashlib.sha256()
    for part in [sys.version, *sorted(lines), *sorted(extra), *_core_pins()]:
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def ensure_environment(aml_dir: Path, requirements: Path, extra: list[str] | None = None) -> Environment:
    """Build (or reuse) the environment for ``requirements``; ``extra`` adds packages (ipykernel).

    A failed build raises JobError with the installer's last lines and leaves no environment.

    Example:
        >>> env = ensure_environment(ws.aml_dir, ws.root / "requirements.txt")  # doctest: +SKIP
        >>> env.python.name  # doctest: +SKIP
        'python'
    """
    lines = requirement_lines(requirements)
    extra = list(extra or [])
    key = env_key(lines, extra)
    root = aml_dir / "envs"
    root.mkdir(parents=True, exist_ok=True)
    folder = root / key[:16]
    python = folder / "bin" / "python"
    with open(root / f"{key[:16]}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two jobs wanting the same environment build it once
        if not (folder / ".ready").exists():
            shutil.rmtree(folder, ignore_errors=True)
            try:
                _build(folder, python, [*lines, *extra, *_core_pins()], requirements.name)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / "lock.txt").write_text(_freeze(python))
            (folder / ".ready").write_text(key)
    return Environment(key, python, (folder / "lock.txt").read_text())


def _run(cmd: list[str], what: str) -> None:
    # A build runs the packages' own setup code: it gets what pip and uv need, and no secret.
    env = user_environment(prefixes=BUILD_PREFIXES)
    proc = subprocess.run(
        cmd, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, stdin=subprocess.DEVNULL, env=env
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
        raise JobError(f"could not build the environment ({what}):\n{tail}")


def _build(folder: Path, python: Path, packages: list[str], source: str) -> None:
    uv = _uv()
    reqs = folder.with_suffix(".requirements.txt")
    reqs.write_text("\n".join(packages) + "\n")
    try:
        if uv:
            _run([uv, "venv", "--quiet", "--python", sys.executable, str(folder)], "uv venv")
            _run([uv, "pip", "install", "--quiet", "--python", str(python), "-r", str(reqs)], f"installing {source}")
        else:
            _run([sys.executable, "-m", "venv", str(folder)], "venv")
            _run([str(python), "-m", "pip", "install", "--quiet", "-r", str(reqs)], f"installing {source}")
    finally:
        reqs.unlink(missing_ok=True)
    # aml_jupyter itself, and nothing else of this environment, becomes importable there.
    exposed = folder / "aml-src"
    exposed.mkdir()
    os.symlink(Path(__file__).resolve().parents[1], exposed / "aml_jupyter")
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.strip()
    Path(site, "aml_jupyter_src.pth").write_text(str(exposed) + "\n")


def _freeze(python: Path) -> str:
    uv = _uv()
    cmd = [uv, "pip", "freeze", "--python", str(python)] if uv else [str(python), "-m", "pip", "freeze"]
    return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout
