"""Running a notebook cell as a tracked run on a target, from the kernel (``%%aml run``).

The cell's source is stored with the run (artifact ``cell.py``); its ``inputs`` are pickled with
cloudpickle before anything is written, so a value that cannot be shipped is an error that
records nothing. Output streams back while the cell runs; its ``outputs`` come back as values.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from ..compute.targets import get_target
from ..errors import InvalidValue
from ..workspace import Workspace
from . import runs
from .access import job_token
from .runs import RunSpec
from .submit import target_tags


def _pickled(inputs: dict[str, Any]) -> bytes:
    import cloudpickle

    try:
        return bytes(cloudpickle.dumps(inputs))
    except Exception as exc:
        for name, value in inputs.items():
            try:
                cloudpickle.dumps(value)
            except Exception:
                raise InvalidValue(
                    f"input {name!r} ({type(value).__name__}) cannot be shipped to the job: {exc}", input=name
                ) from None
        raise InvalidValue(f"the inputs cannot be shipped to the job: {exc}") from None


def run_cell(
    source: str,
    inputs: dict[str, Any] | None = None,
    outputs: list[str] | None = None,
    params: dict[str, Any] | None = None,
    *,
    target: str = "local",
    experiment: str = "default",
    name: str | None = None,
    on_output: Callable[[str, bytes], None] | None = None,
    workspace: Workspace | str | None = None,
) -> dict[str, Any]:
    """Run ``source`` as a tracked cell run; returns ``{"id", "status", "error", "outputs"}``.

    ``outputs`` (a dict of the named values) is filled when the run completed.

    Example:
        >>> r = aml_jupyter.run_cell("y = x + 1", {"x": 1}, ["y"], target="dask")  # doctest: +SKIP
        >>> r["status"], r["outputs"]  # doctest: +SKIP
        ('completed', {'y': 2})
    """
    import cloudpickle

    ws = Workspace.open(workspace)
    tgt = get_target(ws, target)
    ins = dict(inputs or {})
    outs = list(outputs or [])
    pars = dict(params or {})
    for n in [*ins, *outs, *pars]:
        if not isinstance(n, str) or not n.isidentifier():
            raise InvalidValue(f"{n!r} is not a Python name", name=str(n))
    try:
        compile(source, "<cell>", "exec")
    except SyntaxError as exc:
        raise InvalidValue(f"the cell is not valid Python: {exc.msg} (line {exc.lineno})") from None
    payload = bytes(cloudpickle.dumps({"source": source, "inputs": _pickled(ins), "outputs": outs, "params": pars}))
    spec = RunSpec(
        experiment,
        name=name or None,
        params=pars,
        tags={**target_tags(tgt), "aml.inputs": json.dumps(sorted(ins)), "aml.outputs": json.dumps(outs)},
        source_kind="cell",
        target=tgt.name,
        job=True,  # as `aml submit`: a cell is a job too, counted against the target's queue
    )
    record = runs.create(ws, spec)
    store = ws.store
    digest, size = ws.artifacts.put_bytes(source.encode("utf-8"))
    store.add_artifact(record.pk, "cell.py", digest, size, "text/x-python")
    if tgt.type == "dask":
        from ..jobs.supervise import run_on_dask

        token = job_token(ws, record.id)
        result = run_on_dask(ws, record.id, tgt, payload, wait=True, on_output=on_output, token=token)
    else:
        result = _run_local(ws, record.id, payload, on_output)
    out = result.get("outputs")
    return {**result, "outputs": cloudpickle.loads(out) if out and result["status"] == "completed" else None}


def _run_local(
    ws: Workspace, run_id: str, payload: bytes, on_output: Callable[[str, bytes], None] | None
) -> dict[str, Any]:
    # The job runs in a thread here (its cell in a child process); this thread streams its output,
    # and Ctrl-C (interrupting the kernel) cancels the job.
    from ..jobs.execute import run_job
    from ..jobs.supervise import LogFollower, request_cancel

    box: dict[str, Any] = {}
    token = job_token(ws, run_id)

    def work() -> None:
        try:
            box["result"] = run_job(run_id, str(ws.root), payload, token=token)
        except BaseException as exc:  # reported below, in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name=f"aml-cell-{run_id[:8]}", daemon=True)
    worker.start()
    follower = LogFollower(ws, run_id, on_output) if on_output else None
    try:
        while worker.is_alive():
            worker.join(0.1)
            if follower is not None:
                follower.poll()
    except KeyboardInterrupt:
        request_cancel(ws, run_id)
        worker.join()
    if follower is not None:
        follower.finish()
    if "error" in box:
        raise box["error"]
    result: dict[str, Any] = box["result"]
    return result
