"""Jobs (submitted runs), for every surface: the bound on a target's queue, their logs, their
cancellation, the targets they use. Each kind of job is submitted by its own module of
:mod:`aml_jupyter.jobs` (``submit``, ``cells``, ``rerun``), which describes the run as a
:class:`~aml_jupyter.services.runs.RunSpec` with ``job=True``; :func:`aml_jupyter.services.runs.create`
then calls :func:`check_queue`, so no way in skips it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from ..entities.lifecycle import is_live
from ..errors import InvalidValue, JobError, RunStateError
from . import liveness, runs

if TYPE_CHECKING:
    from ..entities.records import RunRecord
    from ..workspace import Workspace


def check_queue(ws: Workspace, target: str) -> None:
    """Refuse new work when the target's ``max_queued`` runs (1,000 unless set) already wait or
    run there: the queue is bounded, for every way in (``aml submit``, a rerun, ``%%aml run``,
    ``POST /api/v1/jobs``).

    Example:
        >>> check_queue(ws, "local")  # doctest: +SKIP
    """
    from ..compute.targets import get_target

    limit = int(get_target(ws, target).settings.get("max_queued", 1000))
    pending = ws.store.count_pending(target)
    if pending >= limit:
        raise JobError(
            f"target {target!r} already has {pending} runs queued or running (max_queued = {limit}); "
            "wait for some to end, or raise max_queued in its [targets.NAME] table"
        )


def read_log(ws: Workspace, record: RunRecord, which: str) -> str:
    """A submitted run's ``stdout`` or ``stderr``: the live file while it runs, then the artifact.

    Example:
        >>> read_log(ws, ws.store.get_run(run_id), "stdout").splitlines()[0]  # doctest: +SKIP
        'epoch 0'
    """
    from ..jobs.logs import job_folder, read_all

    job_dir = job_folder(ws.aml_dir, record.tags.get("aml.job_dir"))
    if job_dir is not None and job_dir.is_dir() and not has_ended(record):
        return read_all(job_dir, which)
    parts = {a.name: a for a in record.artifacts}
    names = [f"logs/{which}.1.txt", f"logs/{which}.txt"]
    return "".join(ws.artifacts.read_bytes(parts[n].digest).decode("utf-8", "replace") for n in names if n in parts)


def follow_log(
    ws: Workspace, run_id: str, which: str = "stdout", follow: bool = True, poll: float = 0.5
) -> Iterator[str]:
    """A submitted run's ``stdout`` or ``stderr`` as it grows: what is there now, then each new
    piece until the run ends (``follow``), read every ``poll`` seconds (``aml logs -f``).

    Example:
        >>> for piece in follow_log(ws, run_id):  # doctest: +SKIP
        ...     print(piece, end="")
    """
    import time

    shown = 0
    while True:
        record = runs.get(ws, run_id)  # a job whose process is gone ends, and so does following it
        text = read_log(ws, record, which)
        if len(text) > shown:
            yield text[shown:]
            shown = len(text)
        if not follow or has_ended(record):
            return
        time.sleep(poll)


def has_ended(record: RunRecord) -> bool:
    """Whether the run is in a terminal state.

    Example:
        >>> has_ended(ws.store.get_run(run_id))  # doctest: +SKIP
        True
    """
    return not is_live(record.status)


def cancel(ws: Workspace, run_id: str) -> str:
    """Ask a submitted run to stop wherever it runs; it then ends ``cancelled``.

    A queued run is cancelled at once; a running one is stopped by its job's watcher within a
    fraction of a second (its process group killed, its kernel shut down, or its cell interrupted).

    Example:
        >>> cancel(ws, "1a2b3c4d")  # doctest: +SKIP
        '1a2b3c4d...'
    """
    from ..jobs.supervise import request_cancel

    record = ws.store.get_run(run_id)  # a job already gone ends cancelled, below
    if has_ended(record):
        raise RunStateError(
            f"run {record.id[:8]} has already ended ({record.status}); it is not a submitted run that is still going",
            run_id=record.id,
        )
    if not record.tags.get("aml.submitted"):
        raise InvalidValue(f"run {record.id[:8]} was not started by `aml submit`; end it where it runs")
    request_cancel(ws, record.id)
    liveness.sweep(ws, force=True)  # its supervisor or cluster gone: nothing is left to stop, it ends now
    return record.id


def targets(ws: Workspace) -> list[dict[str, Any]]:
    """The compute targets in their one shape, for every surface (``aml targets --json``, ``%aml
    targets``, ``GET /api/v1/targets``): name, type, whether it runs jobs, its settings, and the
    embedded Dask cluster's dashboard link while it runs.

    Example:
        >>> [(t["name"], t["runs_jobs"]) for t in targets(ws)]  # doctest: +SKIP
        [('dask', True), ('local', True)]
    """
    from ..compute.dask_cluster import embedded_state
    from ..compute.targets import list_targets

    out: list[dict[str, Any]] = [
        {"name": t.name, "type": t.type, "runs_jobs": t.runs_jobs, "settings": dict(t.settings)}
        for t in list_targets(ws)
    ]
    info = embedded_state(ws)  # None unless the embedded cluster's daemon is alive
    for item in out:
        if item["type"] == "dask" and info and not item["settings"].get("address"):
            item["dashboard"] = info.get("dashboard")
    return out


def job_parameters(ws: Workspace, path: str) -> dict[str, Any]:
    """What a submit dialog shows for a project file: a notebook's ``parameters`` cell, or the
    ``--options`` a script's argparse declares, each with its default (``None`` and
    ``required: true`` where there is none), its ``kind`` (``flag`` for a ``store_true``,
    ``flag_off`` for a ``store_false``, ``choice`` with its ``choices``, ``int``, ``float``, ``text``,
    ``other``) and its ``help``. ``has_parameters_cell`` is false for a notebook without one, which
    can still be submitted; ``readable`` is false for a script whose parser cannot be read without
    running it (the dialog then offers free arguments).

    Example:
        >>> job_parameters(ws, "train.ipynb")  # doctest: +SKIP
        {'path': 'train.ipynb', 'kind': 'notebook', 'has_parameters_cell': True, 'readable': True,
         'parameters': [{'name': 'lr', 'default': 0.1, 'required': False, 'kind': 'float', ...}]}
    """
    from ..jobs.arguments import read_parser
    from ..jobs.notebook import _NO_DEFAULT, declared_parameters, load_notebook
    from .submit import KINDS, project_file

    file, rel = project_file(ws, path)
    kind = KINDS.get(file.suffix)
    if kind is None:
        raise InvalidValue(f"{path}: only Python scripts (.py) and notebooks (.ipynb) can be submitted", path=path)
    if not file.is_file():
        from ..errors import InvalidPath

        raise InvalidPath(f"{path}: no such file in the project", path=path)
    if kind == "notebook":
        nb = load_notebook(file)
        has_cell = any(
            c.cell_type == "code" and "parameters" in c.get("metadata", {}).get("tags", []) for c in nb.cells
        )
        params: list[dict[str, Any]] = [
            {
                "name": name,
                "default": None if value is _NO_DEFAULT else _plain(value),
                "required": value is _NO_DEFAULT,
                "kind": _kind_of(value),
                "choices": [],
                "help": "",
            }
            for name, value in declared_parameters(nb).items()
        ]
        return {"path": rel, "kind": kind, "has_parameters_cell": has_cell, "readable": True, "parameters": params}
    parser = read_parser(file.read_text(encoding="utf-8", errors="replace"))
    options = [{**(o := option.to_json()), "default": _plain(o["default"])} for option in parser.options]
    return {"path": rel, "kind": kind, "has_parameters_cell": False, "readable": parser.readable, "parameters": options}


def _kind_of(value: Any) -> str:
    # A notebook parameter's kind, from its default: a bool is a checkbox, a number a number.
    if isinstance(value, bool):
        return "bool"
    return {int: "int", float: "float", str: "text"}.get(type(value), "other")


def _plain(value: Any) -> Any:
    # A literal as JSON holds it: tuples as lists, what JSON has no form for (sets, bytes) as its repr.
    if value is None or isinstance(value, bool | int | str) or (isinstance(value, float) and math.isfinite(value)):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v) for k, v in value.items()}
    return repr(value)
