"""Submitting a script or a notebook of the project as a tracked run on a compute target.

Inputs are checked first and a bad one changes nothing. The run is then recorded ``queued`` with
its snapshot and environment and handed to its target (:mod:`~aml_jupyter.jobs.supervise`). A
notebook that cannot be read (not JSON, not nbformat 4) is recorded as a failed run whose error
is the validation message.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..compute.targets import Target, get_target
from ..entities.lifecycle import RunStatus
from ..errors import InvalidPath, InvalidValue, JobError
from ..paths import is_inside
from ..workspace import Workspace
from . import runs
from .access import job_token
from .runs import RunSpec

KINDS = {".py": "script", ".ipynb": "notebook"}


def project_file(ws: Workspace, path: str | os.PathLike[str]) -> tuple[Path, str]:
    """``path`` resolved inside the project folder, and its project-relative name.

    Example:
        >>> project_file(ws, "train.py")[1]  # doctest: +SKIP
        'train.py'
    """
    file = Path(path)
    try:
        if not file.is_absolute() and not file.exists():
            file = ws.root / file  # a name relative to the project, as `aml -w DIR submit train.py` means it
        file = file.resolve()
        found = file.is_file()
    except OSError as exc:  # a name too long, a loop of links: not a file of the project either way
        raise InvalidPath(f"{str(path)[:200]}: {exc.strerror or exc}", path=str(path)) from None
    if not found:
        raise InvalidPath(f"{path}: no such file", path=str(path))
    if not is_inside(ws.root, file) or ws.aml_dir in file.parents:
        raise InvalidPath(
            f"{path} is not in the project folder {ws.root}; only project files are snapshotted", path=str(path)
        )
    return file, file.relative_to(ws.root.resolve()).as_posix()


def _data_path(ws: Workspace, path: str | os.PathLike[str]) -> str:
    # A file or folder of the project for --data, by its project-relative name.
    given = Path(path)
    full = (given if given.is_absolute() else ws.root / given).resolve()
    if not full.exists():
        raise InvalidPath(f"--data {path}: no such file or folder in the project", path=str(path))
    if not is_inside(ws.root, full) or full == ws.root.resolve() or ws.aml_dir in (full, *full.parents):
        raise InvalidPath(f"--data {path} is not in the project folder {ws.root}", path=str(path))
    return full.relative_to(ws.root.resolve()).as_posix()


def target_tags(tgt: Target) -> dict[str, str]:
    """The tags every submitted run carries from its target: submitted, its retries, where it logs.

    Example:
        >>> from aml_jupyter.compute.targets import Target
        >>> target_tags(Target("local", "local", {"retries": 1}))
        {'aml.submitted': '1', 'aml.retries': '1'}
    """
    tags = {"aml.submitted": "1", "aml.retries": str(int(tgt.settings.get("retries", 0)))}
    if tgt.settings.get("tracking_uri"):
        tags["aml.tracking_uri"] = str(tgt.settings["tracking_uri"])
    return tags


def _script_params(file: Path, given: dict[str, Any], job_tags: dict[str, str]) -> dict[str, Any]:
    # Checked and typed by the script's argparse options (a clear error now, not in the job), its
    # defaults recorded beside them; which are defaults and which are flags, for the command line.
    from ..jobs.arguments import read_parser, with_defaults

    parser = read_parser(file.read_text(encoding="utf-8", errors="replace"))
    try:
        params, defaults, flags = with_defaults(parser, given)
    except ValueError as exc:
        raise InvalidValue(f"{file.name}: {exc}") from None
    if defaults:
        job_tags["aml.defaults"] = json.dumps(defaults)
    if flags:
        job_tags["aml.flags"] = json.dumps(flags)
    return params


def recordable_defaults(nb: Any) -> dict[str, Any]:
    """A notebook's declared parameters that have a value: what it runs with unless given others.

    Example:
        >>> recordable_defaults(load_notebook(path))  # doctest: +SKIP
        {'C': 1.0, 'solver': 'lbfgs'}
    """
    from ..jobs.notebook import declared_parameters

    return {k: v for k, v in declared_parameters(nb).items() if isinstance(v, str | int | float | bool)}


def submit(
    path: str | os.PathLike[str],
    params: dict[str, Any] | None = None,
    args: list[str] | None = None,
    *,
    target: str = "local",
    experiment: str = "default",
    name: str | None = None,
    wait: bool = False,
    echo: bool = False,
    kernel: str | None = None,
    allow_new_params: bool = False,
    parent: str | None = None,
    tags: dict[str, str] | None = None,
    requirements: str | None = None,
    data: list[str] | None = None,
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Run the script (``.py``) or notebook (``.ipynb``) ``path`` of the project as a tracked run.

    It runs in its own folder of the run's snapshot (``sub/train.py`` in ``sub/``). ``data`` names
    files or folders of the project that the snapshot leaves out (git-ignored data): the job sees
    them at the same place, read from the project itself (not copied into the snapshot).

    A script gets ``params`` as ``--NAME VALUE`` and then ``args``; a notebook gets ``params``
    injected by papermill (declared in its ``parameters`` cell unless ``allow_new_params``) and is
    stored executed as the artifact ``notebook.ipynb``. ``requirements`` (or the target's setting)
    names a requirements file of the project: the job then runs in an environment built from it.
    Returns ``{"id", "status", "error"}``: the
    final status with ``wait=True``, else ``queued``.

    Example:
        >>> aml_jupyter.submit("train.ipynb", {"lr": 0.01}, target="dask", wait=True)  # doctest: +SKIP
        {'id': '3f2a...', 'status': 'completed', 'error': None}
    """
    ws = Workspace.open(workspace)
    tgt = get_target(ws, target)
    file, rel = project_file(ws, path)
    kind = KINDS.get(file.suffix)
    if kind is None:
        raise InvalidValue(f"{path}: only Python scripts (.py) and notebooks (.ipynb) can be submitted", path=str(path))
    if args and kind == "notebook":
        raise InvalidValue("a notebook takes parameters (-p NAME VALUE), not command-line arguments")
    raw = dict(params or {})
    job_tags = {**target_tags(tgt), **(tags or {})}
    error = None
    if kind == "notebook":
        from ..jobs.notebook import check_parameters, load_notebook

        try:
            nb = load_notebook(file)
        except JobError as exc:
            error = str(exc)  # recorded as a failed run, as the user asked for a run of this file
        else:
            # What the notebook runs with, its defaults too: recorded, and injected (the same values
            # its cell holds), so a rerun edits any of them with its type known.
            raw = {**recordable_defaults(nb), **check_parameters(nb, raw, allow_new_params)}
            job_tags["aml.nb_params"] = json.dumps(raw)
        if kernel is not None:
            from ..jobs.notebook import check_kernel_name

            job_tags["aml.kernel"] = check_kernel_name(kernel)
    else:
        job_tags["aml.args"] = json.dumps([str(a) for a in (args or [])])
        raw = _script_params(file, raw, job_tags)
    req = requirements or tgt.settings.get("requirements")
    if req:
        from ..compute.environments import requirement_lines

        req_file, job_tags["aml.requirements"] = project_file(ws, req)
        requirement_lines(req_file)  # a file that cannot be read is refused now, not in the job
    if data:
        job_tags["aml.data"] = json.dumps([_data_path(ws, d) for d in data])
    spec = RunSpec(
        experiment,
        name=name,
        params=raw,
        tags=job_tags,
        source_kind=kind,
        source_path=rel,
        target=tgt.name,
        parent=parent,
        job=True,
        snapshot=True,
        needs=tuple(n for n in (rel, job_tags.get("aml.requirements")) if n),
        error=error,
    )
    record = runs.create(ws, spec)
    if error:
        return {"id": record.id, "status": RunStatus.FAILED.value, "error": error}
    from ..jobs.supervise import launch

    result = launch(ws, record.id, wait=wait, echo=echo, token=job_token(ws, record.id))
    return {"id": record.id, "status": result["status"], "error": result.get("error")}
