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


def new_project(
    path: str | Path, template: str, values: dict[str, Any] | None = None, shown: str | None = None
) -> Path:
    """Render ``template`` into the new (or empty) folder ``path``. Outside any workspace, the
    folder becomes one; inside one (``path`` below a folder holding ``.aml/``), it is a folder of
    that workspace, and its runs go there: a project never hides a second store inside the first.
    Every value is a name under the rule of :func:`~aml_jupyter.entities.validation.check_resource_name`
    (so none can end a string in the code it is written into). A render that fails leaves nothing
    behind. ``shown`` is how errors name the folder (a server's caller never sees its own paths).

    Example:
        >>> import tempfile, os
        >>> folder = new_project(os.path.join(tempfile.mkdtemp(), "churn"), "tabular-classification")
        >>> sorted(p.name for p in folder.iterdir())[:3]
        ['.aml', 'README.md', 'requirements.txt']
    """
    from ..entities.validation import check_resource_name

    names = [t["name"] for t in list_templates()]
    if template not in names:
        raise InvalidValue(f"no template {template!r}; the templates are: {', '.join(names)}")
    shown = shown or str(path)
    dest = Path(path).expanduser()
    try:
        for parent in reversed(dest.parents):
            if parent.exists() and not parent.is_dir():
                raise InvalidPath(f"{shown}: {parent.name} is a file, not a folder", path=shown)
        if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
            raise InvalidPath(f"{shown} exists and is not an empty folder; choose a new one", path=shown)
        name = dest.resolve().name
    except (OSError, RuntimeError) as exc:  # a link that loops, a folder that cannot be read
        raise InvalidPath(f"{shown}: cannot be made a new folder ({type(exc).__name__})", path=shown) from None
    data = {"project_name": name, **dict(values or {})}
    for key, value in data.items():
        check_resource_name(value, f"{key.replace('_', ' ')}")
    try:
        from copier import run_copy
    except ImportError:
        raise InvalidValue("project templates need copier: pip install 'aml_jupyter[templates]'") from None
    made = next((p for p in [*reversed(dest.parents), dest] if not p.exists()), None)
    try:
        run_copy(str(FILES / template), str(dest), data=data, defaults=True, quiet=True, unsafe=False)
        if not any((p / ".aml").is_dir() for p in dest.resolve().parents):
            from ..workspace import Workspace

            Workspace.init(dest, exist_ok=True)
    except BaseException as exc:
        _remove(made, dest)
        if isinstance(exc, OSError):
            raise InvalidPath(f"{shown}: the project could not be written ({exc.strerror})", path=shown) from None
        raise
    return dest


def _remove(made: Path | None, dest: Path) -> None:
    # What a failed render made: the first folder it created, else the empty folder's new content.
    import shutil

    if made is not None:
        shutil.rmtree(made, ignore_errors=True)
    elif dest.is_dir():
        for child in dest.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink()
