"""Learning by example for many users at once: each request in a child process under a hard time
limit, with a cap on how many run at once per user and in all.

The engine honours its budget between steps, but one step over a long input can overrun it, and
it holds the GIL while it searches: in a server's request thread, a few requests would stall every
other route. Here each request runs in a process forked from a warm server process (the engine
already imported, so a request costs milliseconds, not an interpreter start), is killed once the
budget and a short grace have passed, and answers with plain data (outputs and code), never objects.

The caps are the service's rule, whoever calls: the REST route of both servers goes through
:func:`learn_and_apply`.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from collections import defaultdict
from typing import Any

from ..errors import InvalidInput, NoProgramFound, Throttled

MAX_BUDGET_S = 10.0
GRACE_S = 1.0  # past the budget, before the child is killed
START_TIMEOUT_S = 60.0  # the first request also starts the warm process (imports the engine)
PER_USER = 2  # learning requests one user may have running at once
IN_ALL = 4  # and all users together

_lock = threading.Lock()
_running: dict[str, int] = defaultdict(int)
_context: Any = None


def _ctx() -> Any:
    global _context
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["aml_jupyter.dataprep.synth"])
            _context = ctx
        return _context


def _child(conn: Any, examples: list[tuple[list[str], str]], inputs: list[list[str | None]], budget: float) -> None:
    from .synth import learn

    conn.send(("started", None, None))  # the budget counts from here, not from the server's start
    try:
        program = learn(examples, unlabeled=inputs[:64] or None, timeout=budget)
        conn.send(("ok", [program.apply(row) for row in inputs], program.to_python()))
    except NoProgramFound as exc:
        conn.send(("none", str(exc), None))
    except Exception as exc:  # noqa: BLE001 - said in one line; the parent raises it as its own
        conn.send(("error", f"{type(exc).__name__}: {exc}", None))
    finally:
        conn.close()


def _take(user: str) -> None:
    with _lock:
        if _running[user] >= PER_USER:
            raise Throttled(f"{user} already has {PER_USER} learning requests running; wait for one", user=user)
        if sum(_running.values()) >= IN_ALL:
            raise Throttled(f"{IN_ALL} learning requests are running; try again in a moment", user=user)
        _running[user] += 1


def _give(user: str) -> None:
    with _lock:
        _running[user] -= 1
        if _running[user] <= 0:
            del _running[user]


def learn_and_apply(
    examples: list[tuple[list[str], str]], inputs: list[list[str | None]], user: str, budget: float = 2.0
) -> dict[str, Any]:
    """Learn from ``examples`` in a child process and apply the program to ``inputs``:
    ``{"outputs", "code"}``. NoProgramFound when nothing fits within ``budget`` seconds (the child
    is killed past it), Throttled when ``user``, or everybody, has too many running.

    Example:
        >>> learn_and_apply([(["Ada Lovelace"], "Lovelace")], [["Alan Turing"]], user="ada")["outputs"]
        ['Turing']
    """
    if not isinstance(budget, int | float) or isinstance(budget, bool) or not 0 < budget <= MAX_BUDGET_S:
        raise InvalidInput(f"the budget must be more than 0 and at most {MAX_BUDGET_S:g} seconds")
    _take(user)
    try:
        ctx = _ctx()
        parent, child = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(child, examples, inputs, float(budget)), daemon=True)
        started = time.monotonic()  # until the child says it started
        proc.start()
        child.close()
        try:
            if not parent.poll(START_TIMEOUT_S):
                raise InvalidInput(f"the learning process did not start within {START_TIMEOUT_S:g} s")
            parent.recv()
            started = time.monotonic()
            answered = parent.poll(budget + GRACE_S)
            kind, first, code = parent.recv() if answered else ("late", None, None)
        except EOFError:  # the child died without a word (out of memory, killed)
            kind, first, code = "error", "the learning process ended without an answer", None
        finally:
            parent.close()
            if proc.is_alive():
                proc.kill()
            proc.join(5)
    finally:
        _give(user)
    if kind == "ok":
        return {"outputs": first, "code": code}
    if kind == "late":
        raise NoProgramFound(f"no program found within the {budget:g} s budget ({time.monotonic() - started:.1f} s)")
    if kind == "none":
        raise NoProgramFound(str(first))
    raise InvalidInput(f"learning failed: {first}")
