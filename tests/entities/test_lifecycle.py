"""The run lifecycle state machine, without any I/O."""

from __future__ import annotations

import itertools

import pytest

from aml_jupyter.entities.lifecycle import (
    HEARTBEATING,
    LIVE,
    TERMINAL,
    TRANSITIONS,
    RunEvent,
    RunStatus,
    event_for_exit,
    next_status,
)
from aml_jupyter.errors import IllegalTransition
from aml_jupyter.tracking.fluent import Terminated

S, E = RunStatus, RunEvent


def test_the_happy_paths() -> None:
    status = S.QUEUED
    for event in (E.PREPARE, E.START, E.COMPLETE):
        status = next_status(status, event)
    assert status is S.COMPLETED
    assert next_status("queued", "start") is S.RUNNING


@pytest.mark.parametrize("status,event", list(itertools.product(S, E)))
def test_every_pair_is_either_in_the_table_or_refused(status: RunStatus, event: RunEvent) -> None:
    if (status, event) in TRANSITIONS:
        assert next_status(status, event) is TRANSITIONS[(status, event)]
    else:
        with pytest.raises(IllegalTransition) as info:
            next_status(status, event)
        assert info.value.fields == {"status": status.value, "event": event.value}


def test_terminal_states_have_no_way_out() -> None:
    assert TERMINAL == {S.COMPLETED, S.FAILED, S.CANCELLED, S.LOST}
    assert not [pair for pair in TRANSITIONS if pair[0] in TERMINAL]


def test_only_live_states_can_be_lost() -> None:
    assert {s for (s, e) in TRANSITIONS if e is E.LOSE} == set(HEARTBEATING)
    assert LIVE == {S.QUEUED, *HEARTBEATING} and not LIVE & TERMINAL


def test_unknown_names_are_refused() -> None:
    with pytest.raises(ValueError):
        next_status("sleeping", "start")


@pytest.mark.parametrize(
    "exc_type,code,event",
    [
        (None, None, E.COMPLETE),
        (SystemExit, 0, E.COMPLETE),
        (SystemExit, None, E.COMPLETE),
        (SystemExit, 1, E.FAIL),
        (SystemExit, "error text", E.FAIL),
        (KeyboardInterrupt, None, E.CANCEL),
        (Terminated, 143, E.CANCEL),
        (ValueError, None, E.FAIL),
    ],
)
def test_exit_events(exc_type: type[BaseException] | None, code: object, event: RunEvent) -> None:
    assert event_for_exit(exc_type, code) is event


@pytest.mark.parametrize(
    "status,last,retries,expected",
    [
        ("queued", 0, 0, ("start", 1)),
        ("queued", 0, 2, ("start", 1)),
        ("preparing", 1, 0, ("give_up", 2)),  # its worker died while preparing, no retry allowed
        ("running", 1, 2, ("retry", 2)),
        ("running", 2, 2, ("retry", 3)),  # the last one allowed: the first and two retries
        ("running", 3, 2, ("give_up", 4)),
        *[(s.value, 1, 5, ("leave", 2)) for s in sorted(TERMINAL)],
    ],
)
def test_a_jobs_attempts_without_io(status: str, last: int, retries: int, expected: tuple[str, int]) -> None:
    from aml_jupyter.entities.lifecycle import attempt_decision

    action, attempt = attempt_decision(status, last, retries)
    assert (action.value, attempt) == expected
