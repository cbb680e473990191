"""The warm process's wire format: length-prefixed JSON messages over a Unix socket, the first
one carrying the caller's file descriptors (stdin, stdout, stderr) alongside.
"""

from __future__ import annotations

import json
import socket
import struct
from typing import Any

MAX_MESSAGE = 4 << 20  # an environment and a few arguments; anything larger is not a request
_LEN = struct.Struct("!I")


class ProtocolError(Exception):
    """The other side sent something that is not a message, or went away mid-message."""


def send(sock: socket.socket, message: dict[str, Any], fds: list[int] | None = None) -> None:
    """Send one message, with ``fds`` attached to its first byte.

    Example:
        >>> a, b = socket.socketpair()
        >>> send(a, {"hello": 1}); Reader(b).receive()[0]
        {'hello': 1}
        >>> a.close(); b.close()
    """
    body = json.dumps(message, separators=(",", ":")).encode()
    data = _LEN.pack(len(body)) + body
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        sock.sendall(data[sent:])
    else:
        sock.sendall(data)


class Reader:
    """Messages off one socket, in order (two may arrive in one read).

    Example:
        >>> a, b = socket.socketpair()
        >>> send(a, {"n": 1}); send(a, {"n": 2}); a.close()
        >>> r = Reader(b); [r.receive()[0], r.receive()[0], r.receive()[0]]
        [{'n': 1}, {'n': 2}, None]
        >>> b.close()
    """

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = b""

    def _fill(self, want: int, max_fds: int, fds: list[int]) -> bool:
        while len(self.buf) < want:
            if max_fds and not fds:
                chunk, got, _flags, _addr = socket.recv_fds(self.sock, 65536, max_fds)
                fds += got
            else:
                chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def receive(self, max_fds: int = 0) -> tuple[dict[str, Any] | None, list[int]]:
        """The next message and the descriptors that came with it; ``(None, [])`` at a clean end."""
        fds: list[int] = []
        if not self._fill(_LEN.size, max_fds, fds):
            if self.buf or fds:
                _close(fds)
                raise ProtocolError("the stream ended inside a message")
            return None, []
        (size,) = _LEN.unpack(self.buf[: _LEN.size])
        if size > MAX_MESSAGE:
            _close(fds)
            raise ProtocolError(f"a message of {size} bytes is too large")
        if not self._fill(_LEN.size + size, 0, fds):
            _close(fds)
            raise ProtocolError("the stream ended inside a message")
        body, self.buf = self.buf[_LEN.size : _LEN.size + size], self.buf[_LEN.size + size :]
        try:
            message = json.loads(body)
        except ValueError as exc:
            _close(fds)
            raise ProtocolError(f"not JSON: {exc}") from None
        if not isinstance(message, dict):
            _close(fds)
            raise ProtocolError("a message is a JSON object")
        return message, fds


def _close(fds: list[int]) -> None:
    import os

    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
