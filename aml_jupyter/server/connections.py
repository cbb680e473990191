"""How ``aml server`` holds its connections: a deadline for a request's headers and a cap on the
connections one client address may hold open.

uvicorn closes an idle keep-alive connection, but a client that opens a connection and then
sends its headers one line every few seconds (or nothing at all) would hold it, and its file
descriptor, for ever: a few hundred of those, with no token, lock everyone out. So each
connection must have its request headers in within ``header_timeout`` seconds of opening (and
of the first byte of each later request on it), and one address may hold at most
``max_per_client`` connections at once; a connection past either is closed.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEADER_TIMEOUT_S = 10.0
MAX_PER_CLIENT = 128  # above the benchmark's 64 writers from one machine; well under LimitNOFILE


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol with a header deadline and a per-client connection cap."""

    header_timeout = HEADER_TIMEOUT_S
    max_per_client = MAX_PER_CLIENT
    open_per_client: Counter[str] = Counter()  # one event loop per worker process: no lock needed

    _deadline: asyncio.TimerHandle | None = None
    _counted: str | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self.client[0] if self.client else "-"
        if self.open_per_client[address] >= self.max_per_client:
            transport.close()  # said with a closed connection: no bytes spent on an HTTP answer
            return
        self.open_per_client[address] += 1
        self._counted = address
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:
            self._arm()

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._counted is not None:
            self.open_per_client[self._counted] -= 1
            if self.open_per_client[self._counted] <= 0:
                del self.open_per_client[self._counted]
            self._counted = None
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def protocol(header_timeout: float = HEADER_TIMEOUT_S, max_per_client: int = MAX_PER_CLIENT) -> Any:
    """The protocol class for uvicorn's ``http=`` with these limits.

    Example:
        >>> protocol(5.0, 10).header_timeout
        5.0
    """
    if header_timeout == HEADER_TIMEOUT_S and max_per_client == MAX_PER_CLIENT:
        return GuardedHttpToolsProtocol  # importable by name: the workers of --workers N load it
    attrs = {"header_timeout": header_timeout, "max_per_client": max_per_client, "open_per_client": Counter()}
    return type("GuardedHttpToolsProtocol", (GuardedHttpToolsProtocol,), attrs)
