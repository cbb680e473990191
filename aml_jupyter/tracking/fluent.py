"""The module-level SDK: ``aml.start_run``, ``aml.log`` and friends, over an active-run stack.

``aml.log`` logs to the innermost active run of this process; a job started by a compute target
finds its run through ``AML_RUN_ID``. At normal exit, active runs complete; on SIGTERM they are
cancelled; both write everything buffered first.
"""

from __future__ import annotations

import atexit
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from ..entities.handle import RunHandle
from ..entities.lifecycle import RunStatus
from ..entities.validation import check_count
from ..errors import NoActiveRun
from ..jobs.binding import bound_job
from ..processes import find_active_run_with
from ..sysmetrics import check_interval
from ..workspace import Workspace
from .run import Run
from .uri import server_for, workspace_for

if TYPE_CHECKING:
    from ..store.http import ServerClient
    from .remote import RemoteRun

# The run of a job bound to this thread (a cell running on a Dask worker: jobs/binding.py) comes
# before the process-wide stack: one worker process runs several jobs at once.
_stack: list[Run] = []
_stack_lock = threading.Lock()
_hooks_installed = False


class Terminated(SystemExit):
    """Raised in the main thread on SIGTERM so ``with start_run()`` blocks unwind and cancel."""

    cancels_run = True


def start_run(
    experiment: str = "default",
    params: dict[str, Any] | None = None,
    *,
    name: str | None = None,
    tags: dict[str, Any] | None = None,
    parent: Run | str | None = None,
    nested: bool = False,
    source_kind: str | None = None,
    source_path: str | None = None,
    compute_target: str = "local",
    snapshot: bool | None = None,
    system_metrics: bool | float | None = None,
    workspace: Workspace | str | os.PathLike[str] | None = None,
) -> Run:
    """Start a tracked run and make it the active one; use it as a context manager.

    Inputs are checked first (nothing is written for a bad one). Then the run is prepared: the
    project folder is snapshotted and the user's git state and the environment are captured; the
    run is recorded ``running`` with all of it in one transaction (if preparing fails, it is
    recorded ``failed``, or ``cancelled`` on KeyboardInterrupt, and the error is raised). Leaving
    the ``with`` block completes it; an exception fails it (error and traceback stored);
    KeyboardInterrupt or SIGTERM cancels it. Inside a job started by ``aml submit`` (``AML_RUN_ID``
    set), it returns the job's own run instead, adding the params and tags, and moving it to
    ``experiment`` and naming it ``name`` where the submission named neither; the job's launcher
    ends it.

    While it runs, CPU, memory, disk, network and GPU use are sampled into ``system/...`` metrics
    (``run.system_metrics``) every ``system_metrics`` seconds: by default ``[tracking]
    system_metrics`` in aml.toml (10 s); ``False`` for none.

    Example:
        >>> import tempfile, aml_jupyter as aml
        >>> ws = aml.Workspace.init(tempfile.mkdtemp())
        >>> with aml.start_run(experiment="iris", params={"C": 0.5}, workspace=ws) as run:
        ...     aml.log("acc", 0.93)
        >>> aml.get_run(run.id, workspace=ws).status
        'completed'
    """
    if os.environ.get("AML_RUN_ID") and workspace is None and parent is None and not nested and not _stack:
        # Inside a submitted job, start_run() is the job's own run (created by its launcher).
        job_run = _run_from_env()
        if job_run is not None and bound_job() is None:
            if isinstance(job_run, Run):  # where its submission named none, the script's names hold
                from ..services.runs import adopt_names

                adopt_names(job_run.workspace, job_run.id, experiment, name)
            elif experiment != "default" or name is not None:
                job_run.adopt_names(experiment, name)  # through aml server
            job_run.log_params(dict(params or {}))
            job_run.set_tags(dict(tags or {}))
            job_run._job_owned = True
            run_: Run = job_run  # a Run, or a RemoteRun with the same logging methods
            return run_
    server = server_for(workspace)
    if server is not None:
        remote_run: Run = _start_remote(server, experiment, params, name, tags, parent, nested, system_metrics)
        return remote_run  # a RemoteRun: the same logging and reading methods
    ws = workspace_for(workspace)
    from ..services import runs
    from .kernel import kernel_tags

    configured = ws.tracking.system_metrics
    interval = check_interval(configured if system_metrics is None else system_metrics)
    given_tags = check_count(dict(tags or {}), "tags")  # counted before the kernel's own are added
    spec = runs.RunSpec(
        experiment,
        name=name,
        params=dict(params or {}),
        tags={**kernel_tags(), **given_tags},  # a run started in a kernel ends with it (server/kernels.py)
        source_kind=source_kind or _guess_source_kind(),
        source_path=source_path or _guess_source_path(),
        target=compute_target,
        parent=_parent_pk(ws, parent, nested),
        snapshot=snapshot,
    )
    record = runs.create(ws, spec)
    run = Run(ws, record, active=True)
    ws.writer.watch(run.pk)
    with _stack_lock:
        _stack.append(run)
    _install_hooks()
    if interval is not None:
        run._sample_system(interval)
    return run


def _start_remote(
    server: ServerClient,
    experiment: str,
    params: dict[str, Any] | None,
    name: str | None,
    tags: dict[str, Any] | None,
    parent: Any,
    nested: bool,
    system_metrics: bool | float | None,
) -> Any:
    # A person's run on the server the SDK works against (aml login, set_tracking_uri): created
    # there under the token's user and role; this process buffers its points, beats and ends it.
    from ..config import TrackingSettings
    from .kernel import kernel_tags
    from .remote import RemoteRun

    interval = check_interval(TrackingSettings().system_metrics if system_metrics is None else system_metrics)
    given_tags = check_count(dict(tags or {}), "tags")
    if nested and parent is None:
        if active_run() is None:
            raise NoActiveRun("nested=True needs an active run to nest under")
        parent = active_run()
    parent_id = parent if isinstance(parent, str) or parent is None else parent.id
    run = RemoteRun.start(
        server, experiment, name=name, params=params, tags={**kernel_tags(), **given_tags}, parent=parent_id
    )
    with _stack_lock:
        _stack.append(run)  # type: ignore[arg-type]  # a RemoteRun: the same logging and reading methods
    _install_hooks()
    if interval is not None:
        run._sample_system(interval)
    return run


def _parent_pk(ws: Workspace, parent: Run | str | None, nested: bool) -> int | None:
    if isinstance(parent, Run):
        return parent.pk
    if isinstance(parent, str):
        return ws.store.get_run(parent).pk
    if nested:
        current = active_run()
        if current is None:
            raise NoActiveRun("nested=True needs an active run to nest under")
        return current.pk
    return None


def _guess_source_kind() -> str:
    main = sys.modules.get("__main__")
    if main is not None and "ipykernel" in sys.modules and not hasattr(main, "__file__"):
        return "interactive"
    return "script" if getattr(main, "__file__", None) else "python"


def _guess_source_path() -> str | None:
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    return os.path.abspath(main_file) if main_file else None


def active_run() -> Run | None:
    """The innermost active run of this process, or None.

    Example:
        >>> active_run() is None
        True
    """
    bound: Run | None = _bound_run()
    if bound is not None:
        return bound
    with _stack_lock:
        if _stack:
            return _stack[-1]
    env_run: Run | None = _run_from_env()
    return env_run


_env_run: Any = None  # a Run, or a RemoteRun when the job logs over HTTP


def _run_from_env() -> Any:
    # A job launched by a compute target logs to the run its launcher created: in the workspace
    # file, or through `aml server` when AML_TRACKING_URI is an http(s) address.
    global _env_run
    run_id = os.environ.get("AML_RUN_ID")
    if not run_id:
        return None
    if _env_run is None or _env_run.id != run_id:
        uri = os.environ.get("AML_TRACKING_URI", "")
        if uri.startswith(("http://", "https://")):
            _env_run = _open_job_run(run_id, None, uri, None)  # it flushes at exit on its own
        else:
            _env_run = _open_job_run(run_id, os.environ.get("AML_WORKSPACE") or None, None, None)
            ws = _env_run.workspace
            if os.environ.get("AML_ATTEMPT"):  # a job's process writes only while its attempt is current
                ws.store.fence(_env_run.pk, os.environ["AML_ATTEMPT"])
            ws.writer.watch(_env_run.pk)
            _install_hooks()
    return _env_run


def _open_job_run(run_id: str, root: str | None, uri: str | None, token: str | None) -> Any:
    # A job's run, created by its launcher: in the workspace at root, or through aml server at uri.
    if uri:
        from .remote import RemoteRun

        return RemoteRun(uri, run_id, token)
    ws = Workspace.open(root)
    return Run(ws, ws.store.get_run(run_id), active=True)


def _bound_run() -> Any:
    # The run of the job whose cell this thread executes (jobs/binding.py), opened on first use.
    binding = bound_job()
    if binding is None:
        return None
    if binding.handle is None:
        handle: RunHandle = _open_job_run(binding.run_id, binding.root, binding.uri, binding.token)
        binding.handle = handle
    return binding.handle


def _current() -> Run:
    run = active_run()
    if run is None:
        raise NoActiveRun("no active run: start one with aml.start_run(...)")
    return run


def _forget(run: Run) -> None:
    global _env_run
    with _stack_lock:
        if run in _stack:
            _stack.remove(run)
    if _env_run is run:
        _env_run = None


def end_run(status: str = "completed") -> str:
    """End the active run (when started without ``with``); returns its final status.

    Example:
        >>> run = aml.start_run("iris"); aml.log("acc", 0.9); aml.end_run()  # doctest: +SKIP
    """
    return _current().end(status)


def log(key: str, value: Any, step: int | None = None) -> None:
    """Log one metric point to the active run; costs microseconds (buffered).

    Example:
        >>> with start_run("demo", workspace=ws):  # doctest: +SKIP
        ...     aml.log("loss", 0.5, step=0)
    """
    run = _bound_run() or (_stack[-1] if _stack else _current())
    run.log(key, value, step)


def log_metrics(metrics: dict[str, Any], step: int | None = None) -> None:
    """Log several metrics at one step to the active run.

    Example:
        >>> aml.log_metrics({"acc": 0.93, "f1": 0.9}, step=10)  # doctest: +SKIP
    """
    _current().log_metrics(metrics, step=step)


def log_params(params: dict[str, Any]) -> None:
    """Log params to the active run.

    Example:
        >>> aml.log_params({"lr": 0.01, "layers": [64, 64]})  # doctest: +SKIP
    """
    _current().log_params(params)


def set_tags(tags: dict[str, Any]) -> None:
    """Set tags on the active run.

    Example:
        >>> aml.set_tags({"team": "vision", "stage": "tuning"})  # doctest: +SKIP
    """
    _current().set_tags(tags)


def log_artifact(path: str | os.PathLike[str], name: str | None = None) -> Any:
    """Store a file as an artifact of the active run.

    Example:
        >>> aml.log_artifact("model.pkl", name="models/final.pkl")  # doctest: +SKIP
    """
    return _current().log_artifact(path, name)


def log_artifacts(folder: str | os.PathLike[str], prefix: str | None = None) -> Any:
    """Store every file under a folder as artifacts of the active run.

    Example:
        >>> aml.log_artifacts("outputs/", prefix="outputs")  # doctest: +SKIP
    """
    return _current().log_artifacts(folder, prefix)


def log_table(table: Any, name: str) -> Any:
    """Store a DataFrame as a Parquet artifact of the active run.

    Example:
        >>> aml.log_table(pd.DataFrame({"class": ["a"], "f1": [0.9]}), "per_class")  # doctest: +SKIP
    """
    return _current().log_table(table, name)


def log_figure(figure: Any, name: str) -> Any:
    """Store a matplotlib (PNG) or plotly (HTML) figure as an artifact of the active run.

    Example:
        >>> aml.log_figure(fig, "loss_curve")  # doctest: +SKIP
    """
    return _current().log_figure(figure, name)


def log_text(text: str, name: str) -> Any:
    """Store text as an artifact of the active run.

    Example:
        >>> aml.log_text("trained on the November extract", "notes.md")  # doctest: +SKIP
    """
    return _current().log_text(text, name)


def flush() -> None:
    """Make everything logged so far in this process durable.

    Example:
        >>> aml.flush()  # doctest: +SKIP
    """
    bound = _bound_run()
    for run in [*([bound] if bound is not None else []), *_stack, *([_env_run] if _env_run is not None else [])]:
        run.flush()


# exit and signals -------------------------------------------------------------------------------

_terminated = False


def _on_sigterm(signum: int, frame: Any) -> None:
    global _terminated
    _terminated = True
    raise Terminated(128 + signum)


def _at_exit() -> None:
    from .kernel import ENDED_WITH_KERNEL, kernel_tags

    status = RunStatus.CANCELLED if _terminated else RunStatus.COMPLETED
    failure = getattr(sys, "last_value", None) or _uncaught[0]
    # A kernel exits when it is shut down or restarted, not when its work is done: its runs are
    # cancelled (and sys.last_value is only the last cell that raised, not a failed run).
    in_kernel = not _terminated and bool(kernel_tags())
    for run in reversed(list(_stack) + ([_env_run] if _env_run and _env_run not in _stack else [])):
        try:
            if run is _env_run:
                run.flush()  # the launcher owns this run's status
                continue
            if in_kernel:
                run.end(RunStatus.CANCELLED, error=ENDED_WITH_KERNEL)
            elif failure is not None and not _terminated:
                run.end(RunStatus.FAILED, error=f"{type(failure).__name__}: {failure}")
            else:
                run.end(status, error="terminated by SIGTERM" if _terminated else None)
        except Exception as exc:  # noqa: BLE001 - exit must go on; report and continue
            print(f"aml_jupyter: could not end run {run.id[:8]}: {exc}", file=sys.stderr)


_uncaught: list[BaseException | None] = [None]


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
    _uncaught[0] = exc
    _previous_excepthook(exc_type, exc, tb)


_previous_excepthook = sys.excepthook


def _install_hooks() -> None:
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
    if threading.current_thread() is threading.main_thread():
        try:
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                signal.signal(signal.SIGTERM, _on_sigterm)
        except (ValueError, OSError):
            pass


def _handles(run: Run, remote: RemoteRun) -> tuple[RunHandle, RunHandle]:
    # For mypy: both kinds of run meet the one RunHandle Protocol the job engine holds them by.
    return run, remote


find_active_run_with(active_run)  # what code below the SDK asks (processes.py): a dataset read, for one
