"""The project gallery: `aml templates` lists runnable project templates and `aml new PROJECT
--template NAME` renders one into a new folder (with copier) and makes it a workspace.

Each template is a folder under ``files/``: ``copier.yml`` (its questions), ``about.json`` (its
title and what it shows), a README, ``requirements.txt`` and a script or notebook that runs
offline on CPU on data it generates; ``python train.py --smoke`` runs it small.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import InvalidPath, InvalidValue

FILES = Path(__file__).resolve().parent / "files"


def list_templates() -> list[dict[str, str]]:
    """Every template: name, title, description.

    Example:
        >>> [t["name"] for t in list_templates()][:2]
        ['dask-large-data', 'dataprep-then-train']
    """
    out = []
    for folder in sorted(p for p in FILES.iterdir() if (p / "copier.yml").is_file()):
        about = json.loads((folder / "about.json").read_text(encoding="utf-8"))
        out.append({"name": folder.name, "title": str(about["title"]), "description": str(about["description"])})
    return out


def new_project(path: str | Path, template: str, values: dict[str, Any] | None = None) -> Path:
    """Render ``template`` into the new (or empty) folder ``path`` and make it a workspace.

    Example:
        >>> import tempfile, os
        >>> folder = new_project(os.path.join(tempfile.mkdtemp(), "churn"), "tabular-classification")
        >>> sorted(p.name for p in folder.iterdir())[:3]
        ['.aml', 'README.md', 'requirements.txt']
    """
    names = [t["name"] for t in list_templates()]
    if template not in names:
        raise InvalidValue(f"no template {template!r}; the templates are: {', '.join(names)}")
    dest = Path(path).expanduser()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidPath(f"{dest} exists and is not an empty folder; choose a new one", path=str(dest))
    try:
        from copier import run_copy
    except ImportError:
        raise InvalidValue("project templates need copier: pip install 'aml_jupyter[templates]'") from None
    data = {"project_name": dest.resolve().name, **dict(values or {})}
    run_copy(str(FILES / template), str(dest), data=data, defaults=True, quiet=True, unsafe=False)
    from ..workspace import Workspace

    Workspace.init(dest, exist_ok=True)
    return dest
