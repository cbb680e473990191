"""Learning by example for a server's users: a child process per request under a hard limit, and
caps on how many run at once."""

from __future__ import annotations

import random
import threading
import time

import pytest

from aml_jupyter.dataprep import isolated
from aml_jupyter.errors import InvalidInput, NoProgramFound, Throttled


def _slow_task() -> tuple[list[tuple[list[str], str]], list[list[str | None]]]:
    # One long example: the engine alone takes several times a 1 s budget on it.
    rng = random.Random(1)
    words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randint(1, 6))) for _ in range(400)]
    text = " ".join(words)
    return [([text], " ".join(words[::7]))], [[text]]


def test_learns_and_applies_in_a_child() -> None:
    answer = isolated.learn_and_apply([(["Ada Lovelace"], "Lovelace")], [["Alan Turing"], [None]], user="ada")
    assert answer["outputs"] == ["Turing", None] and "def transform" in answer["code"]
    with pytest.raises(NoProgramFound):
        isolated.learn_and_apply([(["a"], "x"), (["a"], "y")], [], user="ada")


def test_the_budget_is_a_hard_limit() -> None:
    examples, inputs = _slow_task()
    started = time.monotonic()
    with pytest.raises(NoProgramFound, match="budget"):
        isolated.learn_and_apply(examples, inputs, user="ada", budget=1.0)
    assert time.monotonic() - started < 1.0 + isolated.GRACE_S + 2  # killed, not left to finish
    for budget in (0, -1, 11, "2", True):
        with pytest.raises(InvalidInput, match="budget"):
            isolated.learn_and_apply(examples, inputs, user="ada", budget=budget)  # type: ignore[arg-type]


def test_each_user_and_everyone_have_a_cap() -> None:
    examples, inputs = _slow_task()
    results: list[object] = []

    def slow(user: str) -> None:
        try:
            isolated.learn_and_apply(examples, inputs, user=user, budget=1.0)
        except (NoProgramFound, Throttled) as exc:
            results.append(exc)

    threads = [threading.Thread(target=slow, args=("rita",)) for _ in range(isolated.PER_USER)]
    for th in threads:
        th.start()
    deadline = time.monotonic() + 10
    while isolated._running.get("rita", 0) < isolated.PER_USER:  # both of hers are running
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(Throttled, match="rita already has"):
        isolated.learn_and_apply([(["a b"], "b")], [], user="rita")
    assert isolated.learn_and_apply([(["a b"], "b")], [["c d"]], user="carl")["outputs"] == ["d"]  # others go on
    for th in threads:
        th.join()
    assert all(isinstance(r, NoProgramFound) for r in results) and isolated._running == {}
