"""Clone, edit, rerun: a submitted script or notebook run again from its own snapshot, with some
params changed ("what if lr were 0.1?"), as a new run that records which run it repeats.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue

if TYPE_CHECKING:
    from ..workspace import Workspace

# The job's own settings that a rerun keeps; the run's other tags describe that run, not the job.
KEPT_TAGS = ("aml.args", "aml.kernel", "aml.requirements", "aml.flags")


def _edited_notebook_params(given: dict[str, Any], edits: dict[str, Any]) -> dict[str, Any]:
    # The parameters as injected (its defaults among them): an edit typed as text (a form's) takes
    # the type of the value it replaces.
    from ..jobs.notebook import coerce_parameter

    out = dict(given)
    for name, value in edits.items():
        if name not in given:
            known = ", ".join(sorted(given)) or "none"
            raise InvalidValue(f"the run was not given a parameter {name!r} (it had: {known})", param=name)
        old = given[name]
        value = coerce_parameter(name, value, old) if old is not None else value
        same = type(value) is type(old) or (isinstance(old, float) and type(value) is int)
        if not same and old is not None:
            raise InvalidValue(
                f"parameter {name!r} was a {type(old).__name__}; {value!r} is a {type(value).__name__}", param=name
            )
        out[name] = value
    return out


def rerun(ws: Workspace, run_id: str, params: dict[str, Any] | None = None, wait: bool = False) -> dict[str, Any]:
    """Submit run ``run_id``'s job again from its snapshot, with ``params`` replacing some of its
    params (only names it had). Returns ``{"id", "status", "error", "rerun_of"}``.

    Example:
        >>> rerun(ws, "1a2b3c4d", {"lr": 0.1})  # doctest: +SKIP
        {'id': '9e8d...', 'status': 'queued', 'error': None, 'rerun_of': '1a2b3c4d...'}
    """
    from ..compute.targets import get_target
    from ..jobs.supervise import launch
    from . import runs
    from .access import job_token
    from .submit import target_tags

    store = ws.store
    record = store.get_run(run_id)
    if record.source_kind not in ("script", "notebook") or not record.snapshot_id or not record.source_path:
        raise InvalidValue(
            f"run {record.id[:8]} is not a submitted script or notebook with a snapshot, so it cannot be run again",
            run_id=record.id,
        )
    edits = dict(params or {})
    if not all(isinstance(k, str) for k in edits):
        raise InvalidValue("parameter names must be strings")
    tgt = get_target(ws, record.compute_target or "local")
    tags = {**target_tags(tgt), **{k: record.tags[k] for k in KEPT_TAGS if k in record.tags}}
    new_params: dict[str, Any]
    if record.source_kind == "notebook":
        given = _edited_notebook_params(json.loads(record.tags.get("aml.nb_params", "{}")), edits)
        tags["aml.nb_params"] = json.dumps(given)
        new_params = {**record.params, **given}  # its defaults recorded as before
    else:
        unknown = [k for k in edits if k not in record.params]
        if unknown:
            known = ", ".join(sorted(record.params)) or "none"
            raise InvalidValue(f"the run had no param {unknown[0]!r} (it had: {known})", param=unknown[0])
        new_params = {**record.params, **edits}
        defaults = [k for k in json.loads(record.tags.get("aml.defaults", "[]")) if k not in edits]
        if defaults:  # a default edited is given now: passed on the command line
            tags["aml.defaults"] = json.dumps(defaults)
    tags["aml.rerun_of"] = record.id
    env = store.environment(record.environment_hash) if record.environment_hash else None
    reused = runs.Prepared(
        record.snapshot_id,
        record.git,
        (record.environment_hash, env) if record.environment_hash and env is not None else None,
    )
    spec = runs.RunSpec(
        record.experiment,
        name=record.name,
        params=new_params,
        tags=tags,
        source_kind=record.source_kind,
        source_path=record.source_path,
        target=tgt.name,
        job=True,
        reuse=reused,
    )
    created = runs.create(ws, spec)
    result = launch(ws, created.id, wait=wait, token=job_token(ws, created.id))
    return {"id": created.id, "status": result["status"], "error": result.get("error"), "rerun_of": record.id}
