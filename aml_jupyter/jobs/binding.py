"""Which run the job running in this thread logs to, for the SDK to find without the engine importing it.

A cell on a Dask worker runs in a thread of a process shared by other jobs, so ``AML_RUN_ID`` cannot
name its run. The engine binds a :class:`JobBinding` (where the run is) to the thread; the SDK's
``aml.log`` and friends (tracking/fluent.py) open the run from it on first use and keep the handle
here, and the engine flushes that handle when the cell ends. The engine stands below the SDK and
never imports it (docs/design.md, "Floors").
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from dataclasses import dataclass

from ..entities.handle import RunHandle


@dataclass
class JobBinding:
    """The run of the job this thread executes: in the workspace at ``root``, or behind ``uri``.

    Example:
        >>> JobBinding("ab" * 16, root="/home/me/project").handle is None
        True
    """

    run_id: str
    root: str | None = None
    uri: str | None = None
    token: str | None = None
    handle: RunHandle | None = None  # opened by the SDK on the first log call

    def flush(self) -> None:
        """Deliver what the job logged through the SDK (nothing when it logged nothing)."""
        if self.handle is not None:
            self.handle.flush()


_bound: ContextVar[JobBinding | None] = ContextVar("aml_job_binding", default=None)


def bind_job(binding: JobBinding) -> Token[JobBinding | None]:
    """Make ``binding`` this thread's (context's) job run until :func:`unbind_job`.

    Example:
        >>> unbind_job(bind_job(JobBinding("ab" * 16)))
    """
    return _bound.set(binding)


def unbind_job(token: Token[JobBinding | None]) -> None:
    """Undo a :func:`bind_job`.

    Example:
        >>> unbind_job(bind_job(JobBinding("ab" * 16)))
    """
    _bound.reset(token)


def bound_job() -> JobBinding | None:
    """This thread's job run, or None outside a job's cell.

    Example:
        >>> bound_job() is None
        True
    """
    return _bound.get()
