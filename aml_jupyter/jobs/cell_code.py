"""Cell jobs: one notebook cell's source run with only the names it was given.

The cell sees its ``--inputs`` (shipped with cloudpickle), its params and the module ``aml``;
nothing else of the notebook crosses over, so a name it uses but was not given raises a NameError
that says how to pass it. Its ``--outputs`` are pickled back and bound in the notebook.

On a Dask worker several cells may run at once in one process, so their ``print`` output is routed
by thread to each job's own log (:class:`ThreadRouter`).
"""

from __future__ import annotations

import ast
import builtins
import sys
import threading
import types
from typing import IO, Any

from ..errors import JobError, did_you_mean

_route = threading.local()
_router_lock = threading.Lock()


class ThreadRouter:
    """A stand-in for ``sys.stdout``/``sys.stderr`` that sends each thread's writes to its own sink."""

    def __init__(self, fallback: IO[str]) -> None:
        self.fallback = fallback

    def _sink(self) -> Any:
        sinks = getattr(_route, "sinks", None)
        return sinks.get(id(self)) if sinks else None

    def write(self, text: str) -> int:
        sink = self._sink()
        return int(sink.write(text) if sink is not None else self.fallback.write(text))

    def flush(self) -> None:
        sink = self._sink()
        (sink if sink is not None else self.fallback).flush()

    def isatty(self) -> bool:
        return False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fallback, name)


def _router(name: str) -> ThreadRouter:
    with _router_lock:
        current = getattr(sys, name)
        if not isinstance(current, ThreadRouter):
            current = ThreadRouter(current)
            setattr(sys, name, current)
        return current


def parse_param(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` from ``--param``: the value as a Python literal when it is one, else text.

    Example:
        >>> parse_param("C=0.5"), parse_param("name=adam"), parse_param("layers=[64, 64]")
        (('C', 0.5), ('name', 'adam'), ('layers', [64, 64]))
    """
    name, sep, value = text.partition("=")
    name = name.strip()
    if not sep or not name.isidentifier():
        raise JobError(f"--param wants NAME=VALUE with NAME a Python identifier, not {text!r}")
    try:
        return name, ast.literal_eval(value.strip())
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return name, value.strip()


def exec_cell(
    source: str,
    inputs: bytes | None,
    outputs: list[str],
    params: dict[str, Any],
    stdout: Any = None,
    stderr: Any = None,
) -> bytes:
    """Run ``source`` with only ``inputs`` (cloudpickled dict) and ``params``; returns the pickled outputs.

    Example:
        >>> import cloudpickle
        >>> out = exec_cell("y = x * 2", cloudpickle.dumps({"x": 21}), ["y"], {})
        >>> cloudpickle.loads(out)
        {'y': 42}
        >>> exec_cell("y = z", None, ["y"], {})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        NameError: name 'z' is not defined in this run: ... pass it with --inputs z
    """
    import cloudpickle

    import aml_jupyter

    given = dict(cloudpickle.loads(inputs)) if inputs else {}
    namespace: dict[str, Any] = {"__name__": "__aml_cell__", "aml": aml_jupyter, **params, **given}
    try:
        code = compile(source, "<cell>", "exec")
    except SyntaxError as exc:
        raise JobError(f"the cell is not valid Python: {exc.msg} (line {exc.lineno})") from None
    sinks: dict[int, Any] = {}
    if stdout is not None:
        sinks[id(_router("stdout"))] = stdout
    if stderr is not None:
        sinks[id(_router("stderr"))] = stderr
    previous = getattr(_route, "sinks", None)
    _route.sinks = sinks
    try:
        exec(code, namespace)
    except NameError as exc:
        name = getattr(exc, "name", None)
        if name and name not in namespace and not hasattr(builtins, name):
            raise NameError(
                f"name {name!r} is not defined in this run: a cell run sees only its --inputs "
                f"({', '.join(sorted(given)) or 'none'}) and --param names ({', '.join(sorted(params)) or 'none'}); "
                f"pass it with --inputs {name}",
                name=name,
            ).with_traceback(exc.__traceback__) from None
        raise
    finally:
        _route.sinks = previous
    missing = [n for n in outputs if n not in namespace]
    if missing:
        defined = sorted(
            n
            for n, v in namespace.items()
            if not n.startswith("_") and n not in given and n not in params and not isinstance(v, types.ModuleType)
        )
        hint = did_you_mean(missing[0], defined) if defined else " (it defined no name)"
        raise JobError(f"the cell did not define its output(s) {', '.join(missing)}{hint}")
    return bytes(cloudpickle.dumps({n: namespace[n] for n in outputs}))
