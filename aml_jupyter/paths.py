"""Safe names and paths: the one place that decides whether a path stays inside a root.

Every file read or written from a user-given name goes through :func:`safe_join`; artifact and
other logical names are checked by :func:`check_relative_name` before they are stored. Writes that
must survive a crash go through :func:`atomic_write_bytes` / :func:`atomic_copy`.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from pathlib import Path

from .errors import InvalidPath

MAX_NAME_CHARS = 1024
MAX_SEGMENT_CHARS = 255
_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{i}" for p in ("com", "lpt") for i in range(10)}
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_DRIVE = re.compile(r"^[A-Za-z]:")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Characters that mean something to a URL, a shell or a Windows path; never part of a name.
_FORBIDDEN_CHARS = set('\\:*?"<>|#;') | {chr(c) for c in range(32)} | {"\x7f"}


def check_relative_name(name: object, what: str = "name") -> str:
    """Return ``name`` (NFC-normalised) if it is a safe relative POSIX name, else raise.

    A safe name is made of ``/``-separated segments, none empty, ``.``/``..``, hidden (leading dot),
    padded with spaces, ending in a dot, a Windows device name, or holding control characters,
    backslashes, drive letters, URL schemes or percent-escapes. The check also runs on the NFKC
    form, so fullwidth dots and slashes cannot smuggle a ``..`` through.

    Example:
        >>> check_relative_name("plots/loss.png")
        'plots/loss.png'
        >>> check_relative_name("../x")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidPath: name '../x' is not allowed: segment '..' is not allowed
    """
    if not isinstance(name, str):
        raise InvalidPath(f"{what} must be a string, not {type(name).__name__}", name=repr(name))
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidPath(f"{what} {name!r} is not valid Unicode", name=repr(name)) from None
    normal = unicodedata.normalize("NFC", name)
    for form in (normal, unicodedata.normalize("NFKC", name)):
        reason = _why_unsafe(form)
        if reason:
            raise InvalidPath(f"{what} {name!r} is not allowed: {reason}", name=name)
    return normal


def _why_unsafe(name: str) -> str | None:
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME_CHARS:
        return f"it is longer than {MAX_NAME_CHARS} characters"
    if name.startswith("/"):
        return "it is absolute"
    if _DRIVE.match(name) or _SCHEME.match(name):
        return "it names a drive or a URL scheme"
    if _PERCENT_ESCAPE.search(name):
        return "percent-escapes are not allowed"
    bad = sorted({c for c in name if c in _FORBIDDEN_CHARS or unicodedata.category(c) in ("Cc", "Cf")})
    if bad:
        return "it contains " + ", ".join(repr(c) for c in bad)
    for seg in name.split("/"):
        if seg in ("", ".", ".."):
            return f"segment {seg!r} is not allowed" if seg else "it has an empty segment"
        if len(seg) > MAX_SEGMENT_CHARS:
            return f"a segment is longer than {MAX_SEGMENT_CHARS} characters"
        if seg.startswith("."):
            return f"hidden segment {seg!r} is not allowed"
        if seg != seg.strip() or seg.endswith("."):
            return f"segment {seg!r} starts or ends with a space or ends with a dot"
        if seg.split(".")[0].lower() in _WINDOWS_RESERVED:
            return f"segment {seg!r} is a reserved device name"
    return None


def is_inside(root: str | os.PathLike[str], path: str | os.PathLike[str]) -> bool:
    """Whether ``path``, with symlinks resolved, is ``root`` or lies below it.

    Example:
        >>> is_inside("/data/store", "/data/store2/secret")
        False
        >>> is_inside("/", "/etc")
        True
    """
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(path))
    return real == real_root or real.is_relative_to(real_root)


def safe_join(root: str | os.PathLike[str], name: str) -> Path:
    """Join a checked relative ``name`` to ``root`` and verify the result stays inside it.

    Example:
        >>> str(safe_join("/tmp/out", "a/b.txt"))
        '/tmp/out/a/b.txt'
    """
    name = check_relative_name(name)
    target = Path(root) / name
    if not is_inside(root, target):
        raise InvalidPath(f"{name!r} leaves {os.fspath(root)!r} (through a link?)", name=name)
    return target


def fsync_dir(path: str | os.PathLike[str]) -> None:
    """Flush a folder's entry table so a rename in it survives a crash.

    Example:
        >>> fsync_dir(".")
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one.

    Example:
        >>> import tempfile, pathlib
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "f"
        >>> atomic_write_bytes(p, b"x"); p.read_bytes()
        b'x'
    """
    parent = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(parent)


def atomic_copy(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Copy the file ``src`` to ``dest`` through a temporary file in ``dest``'s folder.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp()); _ = (d / "a").write_text("hi")
        >>> atomic_copy(d / "a", d / "b"); (d / "b").read_text()
        'hi'
    """
    parent = os.path.dirname(os.path.abspath(dest))
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
            shutil.copyfileobj(inp, out, 1 << 20)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, dest)
    except BaseException:
        _unlink_quietly(tmp)
        raise
    fsync_dir(parent)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
