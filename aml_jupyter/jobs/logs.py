"""A job's output on disk: files capped in size and rotated, never held in memory.

Each stream (``stdout``, ``stderr``) is written to ``NAME.txt`` in the job folder. When that file
reaches ``cap`` bytes it becomes ``NAME.1.txt`` (replacing an older one) and a new ``NAME.txt``
starts, so a job that prints 100 MB keeps at most two caps of its most recent output on disk.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import IO

LOG_CAP_BYTES = 10_000_000
ROTATED_NOTE = b"[aml: earlier output was rotated to %s; older output than that was dropped]\n"


class RotatingLog:
    """An append-only log file that rotates at ``cap`` bytes; thread-safe; accepts str or bytes.

    Example:
        >>> import tempfile, pathlib
        >>> d = pathlib.Path(tempfile.mkdtemp())
        >>> log = RotatingLog(d / "stdout.txt", cap=2000)
        >>> log.write("x" * 3000); log.close()
        3000
        >>> sorted(p.name for p in d.iterdir())
        ['stdout.1.txt', 'stdout.txt']
    """

    def __init__(self, path: Path, cap: int = LOG_CAP_BYTES, echo: IO[bytes] | None = None) -> None:
        self.path = Path(path)
        self.cap = max(cap, 1024)  # room for the rotation note and then some
        self.echo = echo
        self.rotations = 0
        self._lock = threading.Lock()
        self._file = open(self.path, "wb")  # noqa: SIM115 (closed by close())
        self._size = 0

    def write(self, data: str | bytes) -> int:
        raw = data.encode("utf-8", "replace") if isinstance(data, str) else bytes(data)
        with self._lock:
            if self._file.closed:
                return len(data)
            if self.echo is not None:
                self.echo.write(raw)
                self.echo.flush()
            while raw:  # split at the cap, so no file grows past it
                part, raw = raw[: self.cap - self._size], raw[self.cap - self._size :]
                self._file.write(part)
                self._size += len(part)
                if self._size >= self.cap:
                    self._rotate()
            self._file.flush()
        return len(data)

    def _rotate(self) -> None:
        self._file.close()
        older = self.path.with_suffix(".1" + self.path.suffix)
        os.replace(self.path, older)
        self.rotations += 1
        self._file = open(self.path, "wb")  # noqa: SIM115
        note = ROTATED_NOTE % older.name.encode()
        self._file.write(note)
        self._size = len(note)

    def flush(self) -> None:
        with self._lock:
            if not self._file.closed:
                self._file.flush()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    # Enough of the file protocol for print(), papermill and logging handlers.
    def isatty(self) -> bool:
        return False

    def writable(self) -> bool:
        return True


def pump(stream: IO[bytes], log: RotatingLog) -> None:
    """Copy a child's pipe into ``log`` until the pipe closes, then close both.

    Example:
        >>> threading.Thread(target=pump, args=(proc.stdout, log)).start()  # doctest: +SKIP
    """
    with stream:
        for chunk in iter(lambda: stream.read1(65536), b""):  # type: ignore[attr-defined]
            log.write(chunk)
    log.close()


def log_files(job: Path, which: str) -> list[Path]:
    """The files holding stream ``which`` of a job, oldest first.

    Example:
        >>> log_files(Path("/nonexistent"), "stdout")
        []
    """
    names = [f"{which}.1.txt", f"{which}.txt"]
    return [job / n for n in names if (job / n).exists()]


def tail(job: Path, which: str, limit: int = 4000) -> str:
    """The last ``limit`` bytes a job wrote to stream ``which``, as text.

    Example:
        >>> tail(Path("/nonexistent"), "stderr")
        ''
    """
    files = log_files(job, which)
    data = b"".join(f.read_bytes()[-limit:] for f in files[-2:])[-limit:]
    return data.decode("utf-8", "replace")


def read_all(job: Path, which: str) -> str:
    """What is kept of stream ``which`` (both files), as text.

    Example:
        >>> read_all(Path("/nonexistent"), "stdout")
        ''
    """
    return b"".join(f.read_bytes() for f in log_files(job, which)).decode("utf-8", "replace")


def job_folder(home: Path, tag: str | None) -> Path | None:
    """The job folder a run's ``aml.job_dir`` tag names, only when it lies in ``home``'s ``jobs/``
    (a tag is a value someone wrote: never a way to read a file elsewhere).

    Example:
        >>> job_folder(Path("/srv/p/.aml"), "/etc") is None
        True
    """
    from ..paths import is_inside

    if not tag:
        return None
    path = Path(tag)
    if not path.is_absolute() or path == home / "jobs" or not is_inside(home / "jobs", path):
        return None
    return path
