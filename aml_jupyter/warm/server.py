"""The warm process: an interpreter with the heavy modules already imported that forks a child
per request, so a command or a cell starts in milliseconds instead of an interpreter start plus
pandas, SQLAlchemy and the rest.

It only imports; it never opens a workspace or starts a thread, so every child begins as a fresh
process would (reseeded random generators included) with its caller's descriptors, working
folder, environment and umask. A child answers its caller directly on the request's connection:
its pid, then its exit code. It is tied to that caller: when the connection drops before the
child is done (the caller was killed), the child's process group is killed too.

Requests come only from this user (the peer's uid is checked) over a socket in a folder only
this user can enter. The server exits after ``idle_s`` without a request, or when its parent,
given as ``parent_pid``, is gone.
"""

from __future__ import annotations

import gc
import importlib
import io
import os
import selectors
import signal
import socket
import struct
import sys
import threading
import time
from typing import Any

from .protocol import ProtocolError, Reader, send

REQUEST_TIMEOUT_S = 5.0  # a caller that connects and sends nothing does not hold the server up
# Never imported ahead: they start threads or take devices at import, which a fork cannot copy,
# or they are the kernel's own machinery, of no use to a job.
NEVER_PRELOAD = frozenset(
    """IPython ipykernel jupyter_client jupyter_core zmq tornado comm debugpy prompt_toolkit jedi parso
    pygments psutil matplotlib_inline ipywidgets widgetsnbextension torch tensorflow jax jaxlib cupy
    numba ray distributed dask_cuda pyspark mpi4py multiprocess grpc asyncio concurrent keras transformers
    lightning pytorch_lightning wandb sentry_sdk comet_ml clearml neptune posthog mlflow""".split()
)


def preload(modules: list[str]) -> list[str]:
    """Import what ``modules`` names that may be imported ahead; returns those now imported.

    Example:
        >>> preload(["json", "torch", "no_such_module_here"])
        ['json']
    """
    done = []
    for name in modules:
        if not isinstance(name, str) or name.split(".")[0] in NEVER_PRELOAD:
            continue
        try:
            importlib.import_module(name)
        except BaseException:  # noqa: BLE001 - a module that cannot load here is one the child loads itself
            continue
        done.append(name)
    return done


def _freeze() -> None:
    # What is loaded is left out of garbage collection from now on, so that a child's collections
    # do not touch (and so copy) the pages it shares with this process.
    gc.collect()
    gc.freeze()


def _peer_uid(conn: socket.socket) -> int:
    creds = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def _reseed() -> None:
    # A forked child shares its parent's generator states; a fresh process would not.
    if "numpy" in sys.modules:
        try:
            sys.modules["numpy"].random.seed()
        except Exception:  # noqa: BLE001 - a numpy without its random module has nothing to reseed
            pass
    if "torch" in sys.modules:  # pragma: no cover - never preloaded, but a preloaded module may import it
        try:
            sys.modules["torch"].seed()
        except Exception:  # noqa: BLE001
            pass


def _streams() -> None:
    # The interpreter's streams were made for the server's /dev/null: remade over the new 0, 1, 2.
    enc = os.environ.get("PYTHONIOENCODING", "utf-8").split(":")[0] or "utf-8"
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED"))
    for fd, name, errors in ((0, "stdin", "strict"), (1, "stdout", "strict"), (2, "stderr", "backslashreplace")):
        raw: Any = io.FileIO(fd, "rb" if fd == 0 else "wb", closefd=False)
        tty = os.isatty(fd)
        if fd == 0:
            stream: Any = io.TextIOWrapper(io.BufferedReader(raw), encoding=enc, errors=errors)
        else:
            buffered = raw if unbuffered and fd == 1 else io.BufferedWriter(raw)
            stream = io.TextIOWrapper(
                buffered,
                encoding=enc,
                errors=errors,
                line_buffering=tty or fd == 2,
                write_through=unbuffered or fd == 2,
            )
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


def _tie_to_caller(conn: socket.socket, session: bool, done: threading.Event) -> None:
    # The caller holds the other end until it has the exit code: an end of stream before then
    # means it died, and what it started must not run on unwatched.
    def watch() -> None:
        try:
            while conn.recv(1024):
                pass
        except OSError:
            pass
        if done.is_set():
            return
        if session:
            os.killpg(os.getpid(), signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="aml-warm-tie", daemon=True).start()


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int]) -> int:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if request.get("session"):
        os.setsid()  # its own process group: stopping the job stops what it started
    for target, fd in enumerate(fds):
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in dict(request.get("env") or {}).items()})
    os.chdir(str(request.get("cwd") or "/"))
    os.umask(int(request.get("umask", 0o022)))
    args = list(request.get("args") or [])
    sys.argv = [str(request.get("argv0") or sys.executable), *(str(a) for a in request.get("argv") or [])]
    if request.get("path0") is not None:
        sys.path.insert(0, str(request["path0"]))
    _streams()
    _reseed()
    done = threading.Event()
    _tie_to_caller(conn, bool(request.get("session")), done)
    send(conn, {"pid": os.getpid()})
    module, _, function = str(request.get("call") or "").partition(":")
    try:
        code = getattr(importlib.import_module(module), function)(*args)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if not isinstance(exc.code, int | None):
            print(exc.code, file=sys.stderr)
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # noqa: BLE001 - said as Python would say it, then the usual code
        import traceback

        traceback.print_exc()
        code = 1
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    done.set()
    send(conn, {"exit": int(code or 0)})
    return int(code or 0)


def _serve_one(conn: socket.socket) -> list[str]:
    conn.settimeout(REQUEST_TIMEOUT_S)
    try:
        if _peer_uid(conn) != os.getuid():
            send(conn, {"error": "this warm process serves its own user only"})
            return []
        request, fds = Reader(conn).receive(max_fds=3)
    except (OSError, ProtocolError):
        return []
    if request is None or len(fds) != 3 or not isinstance(request.get("call"), str):
        for fd in fds:
            os.close(fd)
        try:
            send(conn, {"error": "a request names a call and brings stdin, stdout and stderr"})
        except OSError:
            pass
        return []
    conn.settimeout(None)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = _child(conn, request, fds)
        finally:
            os._exit(code)
    for fd in fds:
        os.close(fd)
    return [m for m in request.get("preload") or [] if isinstance(m, str) and m not in sys.modules]


def stop_stale(folder: str, prefix: str, keep: str) -> list[int]:
    """SIGTERM the warm servers in ``folder`` whose sockets start with ``prefix`` (the same
    interpreter, older code) but are not ``keep``; their pids.

    Example:
        >>> stop_stale("/nonexistent", "cli-0123-", "cli-0123-new.sock")
        []
    """
    stopped = []
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    for name in names:
        if not (name.startswith(prefix) and name.endswith(".sock.pid")) or name == keep + ".pid":
            continue
        try:
            with open(os.path.join(folder, name)) as f:
                pid = int(f.read().strip())
            with open(f"/proc/{pid}/cmdline", "rb") as f:  # the pid is still a warm server, not a reused one
                if b"aml_jupyter.warm" not in f.read():
                    continue
            os.kill(pid, signal.SIGTERM)
            stopped.append(pid)
        except (OSError, ValueError):
            continue
    return stopped


def serve(
    path: str, idle_s: float, parent_pid: int | None = None, modules: list[str] | None = None, replaces: str = ""
) -> None:
    """Answer requests on the Unix socket ``path`` until idle for ``idle_s`` (or the parent is gone);
    its pid is in ``PATH.pid``. SIGTERM stops it. Once it answers, the servers beside it whose
    sockets start with ``replaces`` are stopped (they run code that has since changed).

    Example:
        >>> serve("/run/user/1000/aml_jupyter/cli-0123.sock", 300.0)  # doctest: +SKIP
    """
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel itself
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # through the finally below: the socket goes
    os.chdir("/")  # holds no project folder
    preload(list(modules or []))
    _freeze()
    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = os.path.join(os.path.dirname(path), f".{os.getpid()}.tmp")  # no longer than the path itself
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass
    lsock.bind(tmp)
    os.chmod(tmp, 0o600)
    lsock.listen(64)
    os.replace(tmp, path)  # a caller sees no socket, or one that answers
    mine = os.stat(path).st_ino
    pid_file = f"{path}.pid"
    with open(pid_file, "w") as f:  # for whoever must stop it: `kill $(cat PATH.pid)`
        f.write(f"{os.getpid()}\n")
    if replaces:
        stop_stale(os.path.dirname(path), replaces, os.path.basename(path))
    sel = selectors.DefaultSelector()
    sel.register(lsock, selectors.EVENT_READ)
    last = time.monotonic()  # idle from now: importing ahead may have taken seconds
    try:
        while True:
            if not sel.select(timeout=1.0):
                if time.monotonic() - last > idle_s or (parent_pid and os.getppid() != parent_pid):
                    return
                try:
                    if os.stat(path).st_ino != mine:
                        return  # another server took the path over
                except FileNotFoundError:
                    return
                continue
            conn, _ = lsock.accept()
            last = time.monotonic()
            try:
                later = _serve_one(conn)
            finally:
                conn.close()
            if preload(later):  # after the fork: this caller does not wait for it, the next one gains
                _freeze()
    finally:
        try:
            if os.stat(path).st_ino == mine:
                os.unlink(path)
                os.unlink(pid_file)
                if parent_pid:  # an owned server's folder was made for it alone
                    os.rmdir(os.path.dirname(path))
        except OSError:
            pass
        lsock.close()
