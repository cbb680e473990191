"""The runner of each job kind, called by :func:`~aml_jupyter.jobs.execute.run_job` in the job's thread.

Each raises :class:`~aml_jupyter.errors.JobError` with the cause when the job fails and
:class:`~aml_jupyter.jobs.execute.JobCancelled` when it was stopped; returning means success.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from ..errors import JobError
from ..paths import is_inside
from .arguments import command_line
from .execute import Job, JobCancelled
from .logs import tail
from .script import ChildProcess, WarmChildProcess, exit_reason


def _python(job: Job) -> str:
    # A run with its own environment (requirements) names that environment's interpreter; a tag is
    # a value someone wrote, so only an interpreter of this machine's built environments is run.
    named: str | None = job.record.tags.get("aml.python")
    if not named:
        return sys.executable
    # (Its folder is checked, not the file: an environment's python is a link to the base interpreter.)
    if not Path(named).is_absolute() or not is_inside(Path(job.svc.home) / "envs", Path(named).parent):
        raise JobError(f"aml.python names {named!r}, which is no environment aml built: refused")
    return named


def _child(job: Job, cmd: list[str], what: str, cwd: Path | None = None, warm: str | None = None) -> None:
    # ``warm`` names the call (``module:function``) that a fork of the warm server makes instead
    # of ``cmd``, when this process has one and the job runs on this interpreter.
    assert job.src is not None
    env = job.child_env
    child: ChildProcess | WarmChildProcess | None = None
    if warm and _python(job) == sys.executable:
        from ..warm.owned import warm_socket

        sock = warm_socket()
        if sock is not None:
            child = WarmChildProcess.start(sock, warm, cmd[3:], cwd or job.src, env, job.stdout, job.stderr)
    if child is None:
        child = ChildProcess(cmd, cwd or job.src, env, job.stdout, job.stderr)
    job.stopper = child.stop
    if job.cancelled.is_set():  # cancelled while it started
        child.stop()
    code = child.wait()
    if job.cancelled.is_set():
        raise JobCancelled()
    if code != 0:
        # The last line of a traceback names the exception: worth more than the exit code alone.
        lines = [ln for ln in tail(job.dir, "stderr", 2000).splitlines() if ln.strip()]
        hint = (_missing_file_hint(job, lines[-1], cwd or job.src) or _withheld_hint(lines[-1], env)) if lines else None
        why = f" ({hint})" if hint else ""
        if what == "the cell" and code == 1 and lines:  # the cell raised: its exception says it all
            raise JobError(lines[-1].strip() + why)
        raise JobError(exit_reason(code, what) + (f": {lines[-1].strip()}" if lines else "") + why)


_KEY_ERROR = re.compile(r"KeyError: '(?P<name>[A-Za-z_][A-Za-z0-9_]*)'")


def _withheld_hint(last_line: str, env: dict[str, str]) -> str | None:
    # A variable of the launcher's environment that the job's minimal one left out (compute/user_env.py).
    found = _KEY_ERROR.search(last_line)
    if found is None or found["name"] in env or found["name"] not in os.environ:
        return None
    return (
        f"{found['name']} is in the launcher's environment, but a job sees only a minimal one: "
        f'name it in the target\'s pass_env in aml.toml ([targets.local] pass_env = ["{found["name"]}"])'
    )


_NOT_FOUND = re.compile(r"FileNotFoundError: \[Errno 2\] No such file or directory: '(?P<path>[^']+)'")


def _missing_file_hint(job: Job, last_line: str, cwd: Path) -> str | None:
    # A file the job could not open that the project has: most likely left out of the snapshot.
    found = _NOT_FOUND.search(last_line)
    if found is None or job.src is None:
        return None
    wanted = (cwd / found["path"]).resolve()
    src = job.src.resolve()
    if not wanted.is_relative_to(src):
        return None
    return job.svc.missing_file_hint(wanted.relative_to(src).as_posix())


def run_script(job: Job, payload: bytes | None) -> None:
    """A project script: ``python PATH --NAME VALUE ... ARGS`` in the materialized snapshot.

    Example:
        >>> run_script(job, None)  # doctest: +SKIP
    """
    assert job.src is not None
    rec = job.record
    args = json.loads(rec.tags.get("aml.args", "[]"))
    # Defaults are recorded, not passed (the script applies its own); flags go by name alone.
    defaults = json.loads(rec.tags.get("aml.defaults", "[]"))
    params = command_line(rec.params, defaults, json.loads(rec.tags.get("aml.flags", "{}")))
    script = Path(rec.source_path or "")
    # It runs in its own folder, as `cd sub && python train.py` would: its neighbours are found by name.
    _child(job, [_python(job), script.name, *params, *args], "the script", cwd=job.src / script.parent)


def run_notebook(job: Job, payload: bytes | None) -> None:
    """A project notebook through papermill; the executed copy becomes the artifact ``notebook.ipynb``.

    Example:
        >>> run_notebook(job, None)  # doctest: +SKIP
    """
    from .notebook import execute, kill_kernel

    assert job.src is not None
    rec = job.record
    job.stopper = lambda: kill_kernel(job.thread)
    try:
        execute(
            job.src / (rec.source_path or ""),
            job.dir / "notebook.ipynb",
            json.loads(rec.tags.get("aml.nb_params", "{}")),
            kernel=rec.tags.get("aml.kernel") or None,
            cwd=job.src / Path(rec.source_path or "").parent,  # a notebook runs in its folder, as in Jupyter
            env=job.child_env,
            stdout=job.stdout,
            stderr=job.stderr,
            python=_python(job) if rec.tags.get("aml.python") else None,
        )
    except JobError:
        if job.cancelled.is_set():
            raise JobCancelled() from None
        raise


def run_cell(job: Job, payload: bytes | None) -> None:
    """A cell: in this process on a Dask worker (its thread bound to the run), else in a child process.

    Example:
        >>> run_cell(job, cloudpickle.dumps({"source": "y = 1", "outputs": ["y"]}))  # doctest: +SKIP
    """
    import cloudpickle

    from .binding import bind_job, unbind_job
    from .cell_code import exec_cell

    if payload is None:
        raise JobError("a cell job needs its source and inputs; this one was submitted without them")
    if job.src is not None:  # the local target: a child process in the materialized snapshot
        (job.dir / "payload.pkl").write_bytes(payload)
        cmd = [_python(job), "-m", "aml_jupyter.jobs.cell_process", str(job.dir)]
        _child(job, cmd, "the cell", warm="aml_jupyter.jobs.cell_process:main")
        job.outputs = (job.dir / "outputs.pkl").read_bytes()
        return
    spec = cloudpickle.loads(payload)
    binding = job.svc.binding()  # the SDK's aml.log in this thread finds the job's run by it
    token = bind_job(binding)
    try:
        job.outputs = exec_cell(
            spec["source"], spec.get("inputs"), spec.get("outputs", []), spec.get("params", {}), job.stdout, job.stderr
        )
    finally:
        unbind_job(token)
        binding.flush()


RUNNERS: dict[str, Callable[[Job, bytes | None], None]] = {
    "script": run_script,
    "notebook": run_notebook,
    "cell": run_cell,
}
