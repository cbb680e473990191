"""``aml package``: a reproducible container build context for one model version.

The context holds the model's files with a manifest of their hashes (``model/``), the service
code (``app/aml_jupyter``, only what serving needs runs), ``requirements.txt`` pinned to the
versions the model was trained with (its run's environment, else this one's) and limited to what
its flavor and the service import (numpy alone for a scikit-learn version with a native
predictor: no scikit-learn, no scipy in the image; see models/native.py), and a ``Dockerfile``:
a slim Python base, a non-root user, a health check on ``/health``, the key from
``AML_SERVE_KEY`` at run time. ``build=True`` runs ``docker build`` when a Docker engine
answers, and says so clearly when none does.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import shutil
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import InvalidPath, InvalidValue, JobError

if TYPE_CHECKING:
    from ..workspace import Workspace

BASE_IMAGE = "python:3.11-slim"
SERVICE_NEEDS = ("starlette", "uvicorn", "anyio", "numpy", "pandas")
FLAVOR_NEEDS = {
    "sklearn": ("scikit-learn", "skops", "scipy", "joblib", "threadpoolctl"),
    "onnx": ("onnxruntime",),
    "pickle": ("joblib",),
    "python": (),
}
DOCKERFILE = """\
# Built by `aml package {ref}`: the scoring service for one model version.
FROM {base}
RUN useradd --create-home --uid 10001 aml
WORKDIR /app
COPY requirements.txt /app/requirements.txt
RUN pip install --no-cache-dir --no-deps -r /app/requirements.txt
COPY app/ /app/
COPY model/ /app/model/
USER aml
ENV AML_MODEL_DIR=/app/model PORT=8000 PYTHONUNBUFFERED=1
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s \\
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=3)"
CMD ["python", "-m", "aml_jupyter.serving.container"]
"""


def _pins(ws: Workspace, run_id: str | None, names: list[str]) -> list[str]:
    # The versions the model was made with when its run recorded them; else this environment's.
    recorded: dict[str, str] = {}
    if run_id:
        record = ws.store.get_run(run_id)
        env = ws.store.environment(record.environment_hash) if record.environment_hash else None
        recorded = {k.lower(): v for k, v in ((env or {}).get("distributions") or {}).items()}
    pins = []
    for name in names:
        version = recorded.get(name.lower())
        if version is None:
            try:
                version = md.version(name)
            except md.PackageNotFoundError:
                raise InvalidValue(f"{name} is needed to serve this model but is not installed here") from None
        pins.append(f"{name}=={version}")
    return pins


def _dependencies(names: list[str]) -> list[str]:
    # The packages these need at run time too (their own requirements, transitively, where their
    # markers hold here), as installed here.
    from packaging.requirements import InvalidRequirement, Requirement

    seen: dict[str, str] = {}
    todo = list(names)
    while todo:
        name = todo.pop(0)
        key = name.lower().replace("_", "-")
        if key in seen:
            continue
        try:
            dist = md.distribution(name)
        except md.PackageNotFoundError:
            if name in names:
                raise InvalidValue(f"{name} is needed to serve this model but is not installed here") from None
            continue
        seen[key] = dist.metadata["Name"]
        for text in dist.requires or []:
            try:
                req = Requirement(text)
            except InvalidRequirement:
                continue
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def package(
    ref: str,
    out: str | Path,
    score: str | Path | None = None,
    base_image: str = BASE_IMAGE,
    build: bool = False,
    tag: str | None = None,
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Write the build context of model version ``ref`` into the new folder ``out``.

    ``score`` is a ``score.py`` (``init()``, ``run(data)``) to serve the files with instead of
    the flavor's own loader. Returns ``{"context", "image", "built"}``.

    Example:
        >>> package("iris-clf@production", "build/iris")["context"]  # doctest: +SKIP
        'build/iris'
    """
    from ..workspace import Workspace
    from .models import download_model, get_model_version

    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    dest = Path(out)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidPath(f"{dest} exists and is not empty; package into a new folder", path=str(dest))
    score_path = Path(score) if score else None
    if score_path is not None and (not score_path.is_file() or score_path.name != "score.py"):
        raise InvalidPath(f"{score}: the scoring script must be an existing file named score.py", path=str(score))
    flavor = "python" if score_path else mv.flavor
    native = None if score_path else mv.source.get("native")
    needs = [*SERVICE_NEEDS, *(() if native else FLAVOR_NEEDS.get(mv.flavor, ()))]
    requirements = _pins(ws, mv.run_id, _dependencies(needs))
    model_dir = download_model(mv.ref, dest / "model", workspace=ws)
    files = list(mv.files)
    if score_path is not None:
        import hashlib

        data = score_path.read_bytes()
        (model_dir / "score.py").write_bytes(data)
        files = [f for f in files if f["path"] != "score.py"]
        files.append({"path": "score.py", "digest": hashlib.sha256(data).hexdigest(), "size": len(data)})
    manifest = {"ref": mv.ref, "flavor": flavor, "signature": mv.signature, "files": files, "native": native}
    (model_dir / "aml-model.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    app = dest / "app" / "aml_jupyter"
    shutil.copytree(Path(__file__).resolve().parents[1], app, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (dest / "requirements.txt").write_text("\n".join(sorted(requirements, key=str.lower)) + "\n")
    (dest / "Dockerfile").write_text(DOCKERFILE.format(ref=mv.ref, base=base_image))
    (dest / ".dockerignore").write_text("**/__pycache__\n**/*.pyc\n")
    image = tag or f"aml-{mv.name.lower().replace('_', '-')}:{mv.version}"
    built = False
    if build:
        if (
            shutil.which("docker") is None
            or subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode
        ):
            raise JobError(f"no Docker engine answers here, so the image was not built; the build context is in {dest}")
        proc = subprocess.run(["docker", "build", "-t", image, str(dest)], capture_output=True, text=True, timeout=3600)
        if proc.returncode:
            raise JobError(f"docker build failed:\n{proc.stderr[-2000:]}")
        built = True
    return {"context": str(dest), "image": image, "built": built, "requirements": requirements}
