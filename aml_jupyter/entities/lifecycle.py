"""The run lifecycle as a pure state machine: states, events, and the table of legal transitions.

No I/O here. The store applies a transition with a compare-and-set on the status column, so two
processes that race (a run completing while a reader marks it lost) cannot both win::

    queued ──prepare──▶ preparing ──start──▶ running ──complete──▶ completed
       │                    │                   ├──fail──────▶ failed
       └──start──▶ running  │                   ├──cancel────▶ cancelled
                            └─ fail/cancel/lose └──lose──────▶ lost

Terminal states (completed, failed, cancelled, lost) have no way out.
"""

from __future__ import annotations

from enum import StrEnum

from ..errors import IllegalTransition


class RunStatus(StrEnum):
    """Where a run is in its life.

    Example:
        >>> RunStatus("running").is_terminal
        False
    """

    QUEUED = "queued"
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    LOST = "lost"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL


# MLflow's names for a run's status (its REST API and filters), both ways. aml's "lost" (a run whose
# process went silent) is a failure to MLflow; MLflow's SCHEDULED is aml's queued.
TO_MLFLOW: dict[str, str] = {
    "queued": "SCHEDULED",
    "preparing": "SCHEDULED",
    "running": "RUNNING",
    "completed": "FINISHED",
    "failed": "FAILED",
    "cancelled": "KILLED",
    "lost": "FAILED",
}
FROM_MLFLOW: dict[str, str] = {
    "SCHEDULED": "queued",
    "RUNNING": "running",
    "FINISHED": "completed",
    "FAILED": "failed",
    "KILLED": "cancelled",
}


class RunEvent(StrEnum):
    """What can happen to a run."""

    PREPARE = "prepare"
    START = "start"
    COMPLETE = "complete"
    FAIL = "fail"
    CANCEL = "cancel"
    LOSE = "lose"


S, E = RunStatus, RunEvent
# How a run is ended by the status it is to end with (Run.end, RemoteRun.end), and back.
END_EVENTS: dict[RunStatus, RunEvent] = {S.COMPLETED: E.COMPLETE, S.FAILED: E.FAIL, S.CANCELLED: E.CANCEL}
ENDED_BY: dict[RunEvent, RunStatus] = {e: s for s, e in END_EVENTS.items()}
TRANSITIONS: dict[tuple[RunStatus, RunEvent], RunStatus] = {
    (S.QUEUED, E.PREPARE): S.PREPARING,
    (S.QUEUED, E.START): S.RUNNING,
    (S.QUEUED, E.FAIL): S.FAILED,
    (S.QUEUED, E.CANCEL): S.CANCELLED,
    (S.PREPARING, E.START): S.RUNNING,
    (S.PREPARING, E.FAIL): S.FAILED,
    (S.PREPARING, E.CANCEL): S.CANCELLED,
    (S.PREPARING, E.LOSE): S.LOST,
    (S.RUNNING, E.COMPLETE): S.COMPLETED,
    (S.RUNNING, E.FAIL): S.FAILED,
    (S.RUNNING, E.CANCEL): S.CANCELLED,
    (S.RUNNING, E.LOSE): S.LOST,
}
TERMINAL = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.LOST})
# A run still going, whatever it waits for: every surface's one meaning of "live" (the Lab panels
# get it through labextension/src/api.ts, generated from here).
LIVE = frozenset({S.QUEUED, S.PREPARING, S.RUNNING})
# States whose runs send heartbeats, and so can go stale (a queued run has no process yet).
HEARTBEATING = frozenset({S.PREPARING, S.RUNNING})


def is_live(status: RunStatus | str) -> bool:
    """Whether a run in ``status`` is still going (queued, preparing or running).

    Example:
        >>> is_live("queued"), is_live("lost")
        (True, False)
    """
    return RunStatus(status) in LIVE


def next_status(status: RunStatus | str, event: RunEvent | str) -> RunStatus:
    """The status after ``event``, or IllegalTransition if the table has no such move.

    Example:
        >>> next_status("running", "complete")
        <RunStatus.COMPLETED: 'completed'>
        >>> next_status("completed", "start")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.IllegalTransition: a completed run cannot start
    """
    current, ev = RunStatus(status), RunEvent(event)
    try:
        return TRANSITIONS[(current, ev)]
    except KeyError:
        raise IllegalTransition(
            f"a {current.value} run cannot {ev.value}", status=current.value, event=ev.value
        ) from None


def sources(event: RunEvent | str) -> frozenset[RunStatus]:
    """The statuses from which ``event`` is legal.

    Example:
        >>> sorted(sources("complete"))
        [<RunStatus.RUNNING: 'running'>]
    """
    ev = RunEvent(event)
    return frozenset(s for (s, e) in TRANSITIONS if e is ev)


def target(event: RunEvent | str) -> RunStatus:
    """The status every legal ``event`` leads to (the table gives each event one target).

    Example:
        >>> target("lose")
        <RunStatus.LOST: 'lost'>
    """
    ev = RunEvent(event)
    (to,) = {to for (_, e), to in TRANSITIONS.items() if e is ev}
    return to


def event_for_exit(exc_type: type[BaseException] | None, exit_code: object = None) -> RunEvent:
    """The event that ends a run whose ``with`` block exited with ``exc_type``.

    ``sys.exit(0)`` (or ``sys.exit()``/``sys.exit(None)``) completes; other exit codes fail;
    KeyboardInterrupt and a SIGTERM cancel; any other exception fails.

    Example:
        >>> event_for_exit(None), event_for_exit(SystemExit, 0), event_for_exit(KeyboardInterrupt)
        (<RunEvent.COMPLETE: 'complete'>, <RunEvent.COMPLETE: 'complete'>, <RunEvent.CANCEL: 'cancel'>)
    """
    if exc_type is None:
        return E.COMPLETE
    if issubclass(exc_type, KeyboardInterrupt):
        return E.CANCEL
    if issubclass(exc_type, SystemExit):
        if getattr(exc_type, "cancels_run", False):
            return E.CANCEL
        return E.COMPLETE if exit_code in (0, None) else E.FAIL
    return E.FAIL


# A job's attempts -----------------------------------------------------------------------------------
# A Dask scheduler gives a job's task out again when the worker running it dies. Each start is an
# attempt, numbered in the run's tag aml.attempt; the run's writes are fenced to the newest attempt.


class AttemptAction(StrEnum):
    """What a worker that picks up a job does with it."""

    LEAVE = "leave"  # the run has ended already (cancelled while queued, ended by its submitter)
    START = "start"  # the first attempt: prepare, then run
    RETRY = "retry"  # a later attempt within the retries: fence the old one out, clear, run again
    GIVE_UP = "give_up"  # a later attempt past the retries: the run fails


def attempt_decision(status: RunStatus | str, last_attempt: int, retries: int) -> tuple[AttemptAction, int]:
    """What a worker does with a job found in ``status`` after ``last_attempt`` attempts, allowed
    ``retries`` more than the first; and the number of its own attempt.

    Example:
        >>> attempt_decision("queued", 0, 0)
        (<AttemptAction.START: 'start'>, 1)
        >>> attempt_decision("running", 1, 1)  # its worker died; one retry is allowed
        (<AttemptAction.RETRY: 'retry'>, 2)
        >>> attempt_decision("running", 2, 1)
        (<AttemptAction.GIVE_UP: 'give_up'>, 3)
        >>> attempt_decision("cancelled", 0, 3)
        (<AttemptAction.LEAVE: 'leave'>, 1)
    """
    current, attempt = RunStatus(status), last_attempt + 1
    if current.is_terminal:
        return AttemptAction.LEAVE, attempt
    if current is S.QUEUED:
        return AttemptAction.START, attempt
    return (AttemptAction.RETRY if attempt <= retries + 1 else AttemptAction.GIVE_UP), attempt


def died_message(attempt: int, retries: int) -> str:
    """Why a job whose worker died ``attempt - 1`` times, with ``retries`` retries, failed.

    Example:
        >>> died_message(3, 1)[:43]
        'the worker running it died (attempt 2 of 2)'
    """
    return (
        f"the worker running it died (attempt {attempt - 1} of {retries + 1}): os._exit, a crash, "
        "or the worker was killed or ran out of memory"
    )
