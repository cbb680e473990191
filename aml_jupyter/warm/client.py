"""Asking a warm process (:mod:`~aml_jupyter.warm.server`) to run something, and starting one.

Imports nothing heavy: the ``aml`` command loads this before it knows whether it needs pandas.
"""

from __future__ import annotations

import hashlib
import os
import socket
import sys
from pathlib import Path
from typing import Any

from .protocol import ProtocolError, Reader, send

PACKAGE = Path(__file__).resolve().parent.parent
MAX_SOCKET_PATH = 100  # Linux takes 107 bytes; a server binds a shorter name first


def usable(path: str | os.PathLike[str]) -> bool:
    """Whether a Unix socket can live at ``path`` (its length is limited).

    Example:
        >>> usable("/tmp/aml_jupyter-0/cli-0123456789abcdef.sock"), usable("/" + "x" * 200)
        (True, False)
    """
    return len(os.fsencode(path)) <= MAX_SOCKET_PATH


def runtime_dir() -> Path | None:
    """The folder for this user's warm sockets, made private; None when it is not safely ours.

    ``AML_WARM_DIR`` overrides the place (``$XDG_RUNTIME_DIR/aml_jupyter``, else
    ``/tmp/aml_jupyter-UID``).

    Example:
        >>> runtime_dir() is None or oct(runtime_dir().stat().st_mode & 0o777)
        '0o700'
    """
    base = os.environ.get("AML_WARM_DIR")
    if not base:
        xdg = os.environ.get("XDG_RUNTIME_DIR")
        base = os.path.join(xdg, "aml_jupyter") if xdg else f"/tmp/aml_jupyter-{os.getuid()}"
    path = Path(base)
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.lstat()
    except OSError:
        return None
    # Another user's folder (made first in /tmp to catch our requests) is never used.
    if not path.is_dir() or path.is_symlink() or st.st_uid != os.getuid() or st.st_mode & 0o077:
        return None
    return path


def fingerprint(*extra: str) -> str:
    """What a warm process must share with its caller: the interpreter and the settings it read
    when it started (``PYTHON*``, the locale), the import path and the installed code (this
    package's newest file, and each import folder's listing).

    Example:
        >>> fingerprint() == fingerprint() and len(fingerprint())
        16
    """
    h = hashlib.sha1(usedforsecurity=False)
    for part in (sys.executable, *_startup_settings(), *extra):
        h.update(part.encode() + b"\0")
    newest = 0
    stack = [str(PACKAGE)]
    while stack:
        with os.scandir(stack.pop()) as it:
            for entry in it:
                if entry.is_dir(follow_symlinks=False):
                    if entry.name != "__pycache__":
                        stack.append(entry.path)
                elif entry.name.endswith(".py"):
                    newest = max(newest, entry.stat().st_mtime_ns)
    h.update(str(newest).encode())
    for folder in sys.path[1:]:  # an install or an upgrade changes its folder's listing
        try:
            h.update(str(os.stat(folder).st_mtime_ns).encode())
        except OSError:
            continue
    return h.hexdigest()[:16]


class WarmChild:
    """A process the warm server forked for us: its pid, and its exit code when it ends.

    Example:
        >>> child = spawn(path, "aml_jupyter.cli:main", [["runs", "list"]], fds=[0, 1, 2])  # doctest: +SKIP
        >>> child.wait()  # doctest: +SKIP
        0
    """

    def __init__(self, sock: socket.socket, reader: Reader, pid: int) -> None:
        self.sock = sock
        self.reader = reader
        self.pid = pid
        self.returncode: int | None = None

    def wait(self) -> int:
        """Its exit code; ``-9`` when it ended without one (killed)."""
        if self.returncode is None:
            try:
                message, _ = self.reader.receive()
            except (OSError, ProtocolError):
                message = None
            self.returncode = int(message["exit"]) if message and isinstance(message.get("exit"), int) else -9
            self.sock.close()
        return self.returncode

    def close(self) -> None:
        """Let go of it; a child still running then dies (it is tied to this connection)."""
        self.sock.close()


def spawn(
    path: str | os.PathLike[str],
    call: str,
    args: list[Any],
    *,
    fds: list[int],
    argv: list[str] | None = None,
    cwd: str | None = None,
    env: dict[str, str] | None = None,
    session: bool = False,
    path0: str | None = None,
    argv0: str | None = None,
    preload: list[str] | None = None,
    timeout: float = 5.0,
) -> WarmChild | None:
    """Have the warm server at ``path`` fork a child that runs ``call`` (``module:function``) with
    ``args``, on ``fds`` as its stdin, stdout and stderr, with ``sys.argv`` set to ``[argv0, *argv]``;
    None when no server answers there.

    Example:
        >>> spawn("/nowhere.sock", "aml_jupyter.cli:main", [[]], fds=[0, 1, 2]) is None
        True
    """
    if not usable(path):
        return None
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(timeout)
    try:
        sock.connect(os.fspath(path))
        send(
            sock,
            {
                "call": call,
                "args": args,
                "argv": list(argv or []),
                "cwd": cwd or os.getcwd(),
                "env": dict(os.environ if env is None else env),
                "umask": _umask(),
                "session": session,
                "path0": path0,
                "argv0": argv0,
                "preload": preload or [],
            },
            fds,
        )
        reader = Reader(sock)
        message, _ = reader.receive()
    except (OSError, ProtocolError):
        sock.close()
        return None
    if not message or not isinstance(message.get("pid"), int):
        sock.close()
        return None
    sock.settimeout(None)
    return WarmChild(sock, reader, message["pid"])


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def server_command(
    path: str | os.PathLike[str], idle_s: float, modules: list[str], parent: int | None = None, replaces: str = ""
) -> list[str]:
    """The command line that starts a warm server.

    Example:
        >>> server_command("/tmp/x.sock", 60, ["pandas"])[1:4]
        ['-m', 'aml_jupyter.warm', '--socket']
    """
    cmd = [sys.executable, "-m", "aml_jupyter.warm", "--socket", os.fspath(path), "--idle", str(idle_s)]
    if parent:
        cmd += ["--parent", str(parent)]
    if replaces:
        cmd += ["--replaces", replaces]
    return [*cmd, *modules]


def _startup_settings() -> list[str]:
    return sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(("PYTHON", "LC_")) or k == "LANG")


def interpreter_key() -> str:
    """A short name for this interpreter and the settings it starts with, which a warm CLI
    server's socket name begins with: the servers of one key differ only in the code they run.

    Example:
        >>> len(interpreter_key())
        8
    """
    h = hashlib.sha1(usedforsecurity=False)
    for part in (sys.executable, *_startup_settings()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:8]


def start_background(path: str | os.PathLike[str], idle_s: float, modules: list[str], replaces: str = "") -> None:
    """Start a warm server at ``path`` for later calls, without waiting for it; once it answers,
    it stops the servers whose sockets start with ``replaces``.

    Example:
        >>> start_background(runtime_dir() / "cli-x.sock", 300, ["aml_jupyter.cli"])  # doctest: +SKIP
    """
    import subprocess

    if not usable(path):
        return
    try:
        subprocess.Popen(
            server_command(path, idle_s, modules, replaces=replaces),
            cwd="/",
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # not in this terminal's process group: Ctrl-C here leaves it be
            close_fds=True,
        )
    except OSError:
        pass
