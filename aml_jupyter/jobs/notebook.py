"""Notebook jobs: check a notebook and its parameters, then execute it with papermill.

Parameters are injected the papermill way (a cell after the one tagged ``parameters``), so a
value arrives as data whatever it holds: quotes and newlines in a string stay in the string.
Names must be Python identifiers and, unless ``allow_new_params``, declared in the parameters cell.
A value given as text (``-p lr 0.01`` on the command line) takes the type of the declared default.
"""

from __future__ import annotations

import ast
import json
import keyword
import os
import re
import signal
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

from ..errors import InvalidValue, JobError

_NO_DEFAULT = object()


def load_notebook(path: str | Path) -> Any:
    """The notebook at ``path``, or JobError with the validation message (not JSON, not nbformat 4).

    Example:
        >>> load_notebook("train.ipynb").nbformat  # doctest: +SKIP
        4
    """
    import nbformat
    from nbformat.v4.rwbase import rejoin_lines

    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8-sig"))  # a byte-order mark is tolerated
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JobError(f"{Path(path).name} is not a valid notebook: not JSON ({exc})") from None
    if not isinstance(raw, dict) or raw.get("nbformat") != 4:
        found = raw.get("nbformat") if isinstance(raw, dict) else type(raw).__name__
        raise JobError(f"{Path(path).name} is not a valid notebook: nbformat 4 is needed, found {found!r}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # nbformat's warnings about missing cell ids: papermill adds them
            nb = nbformat.from_dict(raw)  # type: ignore[no-untyped-call]
            nbformat.validate(nb)
        # Sources stored as lists of lines become strings.
        nb = rejoin_lines(nb)  # type: ignore[no-untyped-call]
    except nbformat.ValidationError as exc:
        raise JobError(f"{Path(path).name} is not a valid notebook: {exc.message}") from None
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        raise JobError(f"{Path(path).name} is not a valid notebook: {type(exc).__name__}: {exc}") from None
    tagged = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if len(tagged) > 1:
        raise JobError(f"{Path(path).name}: {len(tagged)} cells are tagged 'parameters'; papermill needs at most one")
    return nb


KERNEL_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def check_kernel_name(name: str) -> str:
    """A kernel name as kernelspecs spell them (letters, digits, ``._-``); paths and the like are refused.

    Example:
        >>> check_kernel_name("python3")
        'python3'
        >>> check_kernel_name("../../x")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: kernel name '../../x' is not a kernelspec name (letters, digits, '.', '_', '-')
    """
    if not isinstance(name, str) or not KERNEL_NAME.match(name):
        raise InvalidValue(f"kernel name {name!r} is not a kernelspec name (letters, digits, '.', '_', '-')")
    return name


def declared_parameters(nb: Any) -> dict[str, Any]:
    """Names assigned in the cell tagged ``parameters``, with their literal defaults.

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("lr = 0.1\\nname = 'a'")])
        >>> nb.cells[0].metadata["tags"] = ["parameters"]
        >>> declared_parameters(nb)
        {'lr': 0.1, 'name': 'a'}
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.get("metadata", {}).get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                return {}
            found: dict[str, Any] = {}
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                value = getattr(node, "value", None)
                for t in targets:
                    if isinstance(t, ast.Name):
                        try:
                            found[t.id] = ast.literal_eval(value) if value is not None else _NO_DEFAULT
                        except ValueError:
                            found[t.id] = _NO_DEFAULT
            return found
    return {}


def coerce_parameter(name: str, value: Any, default: Any) -> Any:
    """``value`` typed like a notebook parameter's ``default`` (text from a form or a command line).

    Example:
        >>> coerce_parameter("epochs", "5", 2), coerce_parameter("C", 3, 20.0)
        (5, 3.0)
    """
    return _coerce(name, value, default)


def _coerce(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, float) and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # 3 for a float parameter is 3.0, however it was sent (a sweep sends 3.0)
    if not isinstance(value, str) or isinstance(default, str):
        return value
    try:
        if isinstance(default, bool):
            low = value.strip().lower()
            if low not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(value)
            return low in ("true", "1", "yes")
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list | dict | tuple) or default is None or default is _NO_DEFAULT:
            parsed = ast.literal_eval(value)
            return (
                parsed if not isinstance(default, list | dict | tuple) or isinstance(parsed, type(default)) else value
            )
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        if default is None or default is _NO_DEFAULT:
            return value  # plain text, kept as a string
        raise InvalidValue(
            f"parameter {name!r}: {value!r} is not a {type(default).__name__} like its default {default!r}",
            param=name,
        ) from None
    return value


def check_parameters(nb: Any, params: dict[str, Any], allow_new: bool = False) -> dict[str, Any]:
    """``params`` checked against the notebook: identifiers, declared, typed like their defaults.

    Example:
        >>> import nbformat
        >>> nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("lr = 0.1")])
        >>> nb.cells[0].metadata["tags"] = ["parameters"]
        >>> check_parameters(nb, {"lr": "0.01"})
        {'lr': 0.01}
        >>> check_parameters(nb, {"x=1\\nimport os": 1})
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: parameter name 'x=1\\nimport os' is not a Python identifier
    """
    declared = declared_parameters(nb)
    out: dict[str, Any] = {}
    for name, value in params.items():
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise InvalidValue(f"parameter name {name!r} is not a Python identifier", param=str(name))
        if name not in declared and not allow_new:
            known = ", ".join(sorted(declared)) or "none: no cell is tagged 'parameters'"
            raise InvalidValue(
                f"parameter {name!r} is not declared in the notebook's parameters cell (declared: {known}); "
                "pass --allow-new-params to inject it anyway",
                param=name,
            )
        out[name] = _coerce(name, value, declared.get(name, _NO_DEFAULT))
        try:
            json.dumps(out[name])
        except (TypeError, ValueError):
            raise InvalidValue(f"parameter {name!r}: only JSON-like values can be passed to a notebook") from None
    return out


# Kernels started for jobs, by the thread that runs the job: what the job's stop() kills.
_kernels: dict[int, Any] = {}


def _kernel_manager_class(owner: int, env: dict[str, str], python: str | None = None) -> type:
    # A class per job: papermill may start the kernel from a thread of its own (inside a running
    # event loop, as in a Jupyter kernel), so the job's settings travel with the class.
    from jupyter_client.manager import AsyncKernelManager

    class JobKernelManager(AsyncKernelManager):
        """Starts the kernel with the job's own environment and remembers it for stop()."""

        def __init__(self, **kw: Any) -> None:
            super().__init__(**kw)
            _kernels[owner] = self

        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            cmd = list(super().format_kernel_cmd(extra_arguments))
            if cmd[1:3] == ["-m", "ipykernel_launcher"]:
                if python:  # a run with its own environment starts the kernel with that environment's Python
                    cmd[0] = python
                # Job kernels keep no input history: concurrent kernels would share one SQLite file.
                cmd.append("--HistoryManager.enabled=False")
            return cmd

        async def _async_pre_start_kernel(self, **kw: Any) -> Any:
            # Several jobs share a Dask worker's os.environ: each kernel gets its run's variables, and
            # only those (the caller built them with compute.user_env: no server token, no keys).
            kw["env"] = dict(env)
            return await super()._async_pre_start_kernel(**kw)

        async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
            job_dir = env.get("AML_JOB_DIR")
            if not job_dir:
                return await super()._async_launch_kernel(kernel_cmd, **kw)
            # The kernel process's own chatter goes to the job's kernel log, not the terminal.
            with open(Path(job_dir) / "kernel.txt", "ab") as log:
                kw["stdout"] = kw["stderr"] = log
                return await super()._async_launch_kernel(kernel_cmd, **kw)

    return JobKernelManager


def kill_kernel(thread_ident: int) -> bool:
    """Kill the kernel of the notebook job running in thread ``thread_ident``; False if it has none.

    Example:
        >>> kill_kernel(0)
        False
    """
    km = _kernels.get(thread_ident)
    pid = getattr(getattr(km, "provisioner", None), "pid", None)
    if not pid:
        return False
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return False
    return True


def execute(
    nb_path: Path,
    out_path: Path,
    params: dict[str, Any],
    *,
    kernel: str | None,
    cwd: Path,
    env: dict[str, str],
    stdout: Any,
    stderr: Any,
    python: str | None = None,
) -> None:
    """Execute the notebook with papermill, writing the executed copy (per-cell timings) to ``out_path``.

    A failing cell raises JobError naming the cell (its number in the user's notebook, its first
    line) and the exception; an unknown kernel names the installed ones.

    Example:
        >>> execute(Path("nb.ipynb"), Path("out.ipynb"), {"lr": 0.1}, kernel=None, cwd=Path("."),
        ...         env={}, stdout=None, stderr=None)  # doctest: +SKIP
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    nb = load_notebook(nb_path)
    spec = nb.metadata.get("kernelspec") or {}
    named = kernel or spec.get("name")
    if not named:  # as nbformat.v4.new_notebook() and many generators write it: this Python's kernel
        python = python or sys.executable
    language = spec.get("language") or nb.metadata.get("language_info", {}).get("name") or _language_of(named)
    started = time.monotonic()
    me = threading.get_ident()
    try:
        papermill.execute_notebook(
            nb,
            str(out_path),
            parameters=params,
            kernel_name=named or "python3",
            language=language,
            progress_bar=False,
            # The executed notebook is written once at the end (and on failure), not after every
            # cell: each write validates and serializes the whole notebook.
            request_save_on_cell_execute=False,
            log_output=stdout is not None,
            stdout_file=stdout,
            stderr_file=stderr,
            cwd=str(cwd),
            kernel_manager_class=_kernel_manager_class(me, env, python),
        )
    except PapermillExecutionError as exc:
        if exc.ename == "SystemExit" and exc.evalue.strip() in ("", "0", "None"):
            return  # sys.exit(0) in a cell ends the notebook successfully, as it ends a script
        if exc.ename == "KeyboardInterrupt":
            raise KeyboardInterrupt from None  # the run ends cancelled
        number, src = _failed_cell(out_path, exc.cell_index)
        raise JobError(f"cell {number} ({src!r}) raised {exc.ename}: {exc.evalue}", cell=number) from None
    except Exception as exc:  # papermill's own errors: no such kernel, kernel died, timeouts
        if type(exc).__name__ == "NoSuchKernel":
            from jupyter_client.kernelspec import KernelSpecManager

            names = ", ".join(sorted(KernelSpecManager().find_kernel_specs()))
            raise JobError(f"no such kernel {exc}; installed kernels: {names}") from None
        if type(exc).__name__ == "DeadKernelError":
            raise JobError(f"the notebook's kernel died after {time.monotonic() - started:.1f} s: {exc}") from None
        raise
    finally:
        _kernels.pop(me, None)


def _language_of(kernel: str | None) -> str:
    # The language papermill writes the parameters in, for a notebook that does not say it.
    if not kernel or kernel.startswith("python"):
        return "python"
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        return str(KernelSpecManager().get_kernel_spec(kernel).language or "python")
    except NoSuchKernel:
        return "python"  # papermill then names the installed kernels


def _failed_cell(out_path: Path, index: int) -> tuple[int, str]:
    # The cell's number as the user sees it (1-based, in their notebook: the cells papermill and
    # aml injected are not counted) and its first line.
    try:
        # papermill puts a note about the error first in the output notebook; the index is without it.
        cells = [
            c
            for c in json.loads(out_path.read_text(encoding="utf-8"))["cells"]
            if "papermill-error-cell-tag" not in c.get("metadata", {}).get("tags", [])
        ]
        injected = {"aml-injected", "injected-parameters"}
        number = sum(1 for c in cells[: index + 1] if not injected & set(c.get("metadata", {}).get("tags", [])))
        src = cells[index]["source"]
        src = "".join(src) if isinstance(src, list) else src
        return number, str(src.strip().splitlines()[0] if src.strip() else "")[:80]
    except (OSError, ValueError, KeyError, IndexError):
        return index + 1, ""
