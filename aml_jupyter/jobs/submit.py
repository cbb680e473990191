"""Submitting a script as a tracked run: record it, snapshot the project, hand it to a target.

The run is created ``queued`` with its snapshot and environment; a supervisor (``python -m
aml_jupyter.jobs.supervise RUN``) then prepares it, runs it, captures its output and ends it.
With ``wait=True`` the supervisor runs in this process and streams the output here; otherwise it
is started detached in a session of its own, so it outlives this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from ..compute.targets import get_target
from ..errors import InvalidPath, InvalidValue
from ..paths import is_inside
from ..tracking.fluent import _prepare, _user
from ..tracking.lifecycle import RunStatus
from ..tracking.validation import check_key, check_name, param_to_str
from ..workspace import Workspace


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
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Run the script ``path`` of the project as a tracked run on ``target``.

    ``params`` are recorded on the run and passed to the script as ``--NAME VALUE``; ``args``
    follow them as they are. Returns ``{"id", "status"}`` (the final status with ``wait=True``).

    Example:
        >>> aml_jupyter.jobs.submit.submit("train.py", {"epochs": 3}, wait=True)  # doctest: +SKIP
        {'id': '3f2a...', 'status': 'completed'}
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(workspace)
    tgt = get_target(ws, target)
    if not tgt.runs_jobs:
        raise InvalidValue(f"target {target!r} ({tgt.type}) cannot run submitted jobs yet; use 'local'", target=target)
    script = Path(path)
    if not script.is_absolute() and not script.exists():
        script = ws.root / script  # a name relative to the project, as `aml -w DIR submit train.py` means it
    script = script.resolve()
    if not script.is_file():
        raise InvalidPath(f"{path}: no such script", path=str(path))
    if not is_inside(ws.root, script) or ws.aml_dir in script.parents:
        raise InvalidPath(
            f"{path} is not in the project folder {ws.root}; only project files are snapshotted", path=str(path)
        )
    if script.suffix != ".py":
        raise InvalidValue(f"{path}: only Python scripts (.py) can be submitted so far", path=str(path))
    rel = script.relative_to(ws.root.resolve()).as_posix()
    limit = ws.tracking.param_value_max_length
    p = {check_key(k, "param name"): param_to_str(check_key(k), v, limit) for k, v in dict(params or {}).items()}
    extra = [str(a) for a in (args or [])]
    prepared = _prepare(ws, snapshot=True)
    if rel not in ws.snapshot_store.files(prepared["snapshot_id"]):
        raise InvalidPath(f"{rel} is ignored by .gitignore or .amlignore, so the job could not see it", path=rel)
    store = ws.store
    record = store.create_run(
        store.experiment_id(check_name(experiment, "experiment name"), create=True),
        name=check_name(name, "run name") if name else None,
        source_kind="script",
        source_path=rel,
        user=_user(),
        compute_target=tgt.name,
        status=RunStatus.QUEUED,
        params=p,
        tags={"aml.args": json.dumps(extra)},
        **prepared,
    )
    if wait:
        from .supervise import supervise

        status = supervise(record.id, ws, echo=echo)
        return {"id": record.id, "status": status}
    env = {**os.environ, "AML_WORKSPACE": str(ws.root)}
    # The supervisor detaches (it forks and its parent exits at once), so it outlives this process
    # and leaves no child here to reap.
    subprocess.run(
        [sys.executable, "-m", "aml_jupyter.jobs.supervise", "--detach", record.id],
        env=env,
        cwd=ws.root,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        check=True,
        timeout=60,
    )
    return {"id": record.id, "status": RunStatus.QUEUED.value}
