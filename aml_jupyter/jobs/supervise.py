"""The supervisor of one submitted run: prepare, run, capture output, end the run.

It materializes the run's snapshot into ``.aml/jobs/RUN/src`` (the live project folder is never
the working directory), starts the script there in its own process group with ``AML_RUN_ID``,
``AML_WORKSPACE``, ``AML_TRACKING_URI`` and ``AML_OUTPUT_DIR``, writes stdout and stderr to files
(capped), and when the script ends stores the logs and the ``outputs/`` folder as artifacts and
ends the run: exit 0 completed, another code failed (with the tail of stderr), SIGTERM to the
supervisor (``aml cancel``) cancelled.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Any

from ..tracking.lifecycle import RunEvent
from ..workspace import Workspace

LOG_CAP_BYTES = 10_000_000


def _pump(stream: IO[bytes], path: Path, echo: Any) -> None:
    # Copy a pipe to a file (and the terminal), keeping at most LOG_CAP_BYTES on disk.
    written = 0
    with stream, open(path, "wb") as out:
        for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
            if echo is not None:
                echo.write(chunk)
                echo.flush()
            if written < LOG_CAP_BYTES:
                part = chunk[: LOG_CAP_BYTES - written]
                out.write(part)
                out.flush()
                written += len(part)
                if written >= LOG_CAP_BYTES:
                    out.write(b"\n[aml: log capped at 10 MB; the rest was not kept]\n")


def supervise(run_id: str, ws: Workspace | None = None, echo: bool = False) -> str:
    """Run a queued run to its end; returns the final status.

    Example:
        >>> supervise(run_id)  # doctest: +SKIP
        'completed'
    """
    ws = ws or Workspace.open(os.environ.get("AML_WORKSPACE") or None)
    store = ws.store
    record = store.get_run(run_id)
    job = ws.aml_dir / "jobs" / record.id
    src = job / "src"
    cancelled = threading.Event()
    proc: subprocess.Popen[bytes] | None = None

    def on_term(signum: int, frame: Any) -> None:
        cancelled.set()
        if proc is not None and proc.poll() is None:
            proc.terminate()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_term)
    store.transition(record.pk, RunEvent.PREPARE)
    try:
        assert record.snapshot_id
        ws.snapshot_store.restore(record.snapshot_id, src)
        (src / "outputs").mkdir(exist_ok=True)
        args = json.loads(record.tags.get("aml.args", "[]"))
        cmd = [
            sys.executable,
            record.source_path or "",
            *[x for k, v in record.params.items() for x in (f"--{k}", v)],
            *args,
        ]
        env = {
            **os.environ,
            "AML_RUN_ID": record.id,
            "AML_WORKSPACE": str(ws.root),
            "AML_TRACKING_URI": ws.store_url,
            "AML_OUTPUT_DIR": str(src / "outputs"),
            "PYTHONUNBUFFERED": "1",
        }
        store.set_tags(record.pk, {"aml.pid": str(os.getpid()), "aml.job_dir": str(job)})
        proc = subprocess.Popen(
            cmd, cwd=src, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
    except Exception as exc:
        store.transition(record.pk, RunEvent.FAIL, error=f"could not start the job: {type(exc).__name__}: {exc}")
        shutil.rmtree(job, ignore_errors=True)
        raise
    store.transition(record.pk, RunEvent.START)
    ws.writer.watch(record.pk)
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, job / "stdout.txt", sys.stdout.buffer if echo else None)),
        threading.Thread(target=_pump, args=(proc.stderr, job / "stderr.txt", sys.stderr.buffer if echo else None)),
    ]
    for t in pumps:
        t.start()
    try:
        code = proc.wait()
    except KeyboardInterrupt:  # Ctrl-C on `aml submit --wait`: the job got it too; end it as cancelled
        cancelled.set()
        proc.terminate()
        code = proc.wait()
    for t in pumps:
        t.join()
    return _finish(ws, record.pk, job, code, cancelled.is_set())


def _finish(ws: Workspace, run_pk: int, job: Path, code: int, cancelled: bool) -> str:
    from ..errors import InvalidPath
    from ..tracking.run import Run

    store = ws.store
    ws.writer.live_runs.discard(run_pk)
    # Through the Run API, so output names meet the same rules as any artifact name.
    run = Run(ws, store.runs_by_pk([run_pk])[0], active=True)
    for name in ("stdout.txt", "stderr.txt"):
        if (job / name).exists():
            run.log_artifact(job / name, f"logs/{name}")
    outputs = job / "src" / "outputs"
    refused = []
    for f in sorted(p for p in outputs.rglob("*") if p.is_file() and not p.is_symlink()):
        rel = f.relative_to(outputs).as_posix()
        try:
            run.log_artifact(f, f"outputs/{rel}")
        except InvalidPath:
            refused.append(rel)
    if refused:
        store.set_tags(run_pk, {"aml.outputs_not_kept": ", ".join(refused)[:2000]})
    tail = (job / "stderr.txt").read_bytes()[-4000:].decode("utf-8", "replace") if (job / "stderr.txt").exists() else ""
    if cancelled:
        status = store.transition(run_pk, RunEvent.CANCEL, error="cancelled (aml cancel)", error_traceback=tail)
    elif code == 0:
        status = store.transition(run_pk, RunEvent.COMPLETE)
    else:
        why = f"the script exited with code {code}" if code > 0 else f"the script was killed by signal {-code}"
        status = store.transition(run_pk, RunEvent.FAIL, error=why, error_traceback=tail)
    shutil.rmtree(job, ignore_errors=True)
    return status.value


def main() -> int:
    """``python -m aml_jupyter.jobs.supervise [--detach] RUN_ID`` (started by ``aml submit``)."""
    args = sys.argv[1:]
    if args and args[0] == "--detach":
        args = args[1:]
        if os.fork() > 0:
            os._exit(0)  # the submitter waits for this parent only; the child goes on alone
    status = supervise(args[0])
    return 0 if status == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
