"""Reading data over http(s) without reaching into private networks.

A URL is fetched only when every address its host resolves to is public: loopback, private,
shared, link-local, multicast, reserved and unspecified addresses are refused, whatever the
spelling (``127.1``, ``0x7f000001``, ``2130706433``, ``[::1]``, ``localhost.``), as are user
names or passwords in the URL and ports other than 80 and 443. The connection goes to the address
that was checked (no second lookup an attacker's DNS could answer differently), and every
redirect is checked the same way. ``allow_private_network=True`` admits loopback and private
addresses and any port, for a data server inside one's own network; link-local addresses (the
cloud metadata services among them) stay refused even then. Bodies are capped in size.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import InvalidPath, InvalidValue

MAX_BYTES = 512 * 1024 * 1024
MAX_REDIRECTS = 5
TIMEOUT_S = 30.0
PORTS = (80, 443)
_METADATA = (ipaddress.ip_network("fd00:ec2::254/128"),)


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (the checked address) and what to ask for."""

    scheme: str
    host: str
    port: int
    address: str
    path: str


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, allow_private: bool) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one (::ffff:a.b.c.d, 6to4's 2002:AABB:CCDD::,
        # Teredo's client) reaches that IPv4 address: judge that one.
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is not None:
            ip = embedded
    if ip.is_link_local or any(ip in net for net in _METADATA):
        return "a link-local address (cloud metadata services live there)"
    if ip.is_multicast or ip.is_unspecified or (ip.is_reserved and not ip.is_loopback):
        return "not a unicast address"
    if allow_private:
        return None
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_private or not ip.is_global:
        return "a private address"
    return None


def check_url(url: str, allow_private: bool = False) -> Target:
    """Resolve and check ``url``; raises InvalidPath saying why it is refused.

    Example:
        >>> check_url("http://169.254.169.254/latest/meta-data/")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidPath: http://169.254.169.254/...: 169.254.169.254 is a link-local address (...)
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidPath(f"{url}: not a valid URL ({exc})", path=url) from None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise InvalidPath(f"{url}: only http and https URLs are fetched", path=url)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise InvalidPath(f"{url}: user names and passwords in URLs are refused", path=url)
    host = parts.hostname
    if not host:
        raise InvalidPath(f"{url}: no host", path=url)
    port = port or (443 if scheme == "https" else 80)
    if not allow_private and port not in PORTS:
        raise InvalidPath(f"{url}: port {port} is refused (allowed: {', '.join(map(str, PORTS))})", path=url)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise InvalidPath(f"{url}: cannot resolve {host} ({exc})", path=url) from None
    addresses = sorted({str(info[4][0]) for info in infos})
    for address in addresses:
        why = _refusal(ipaddress.ip_address(address.split("%")[0]), allow_private)
        if why:
            raise InvalidPath(f"{url}: {address} is {why}", path=url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(scheme, host, port, addresses[0], path)


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port, timeout=TIMEOUT_S)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, target: Target) -> None:
        super().__init__(target.host, target.port, timeout=TIMEOUT_S, context=ssl.create_default_context())
        self.address = target.address

    def connect(self) -> None:
        raw = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def fetch(url: str, allow_private: bool = False, max_bytes: int = MAX_BYTES) -> bytes:
    """The body of ``url`` after the checks above (redirects followed, each checked).

    Example:
        >>> fetch("https://example.com/data.csv")[:20]  # doctest: +SKIP
        b'id,name\\n1,Ada\\n'
    """
    for _ in range(MAX_REDIRECTS + 1):
        target = check_url(url, allow_private)
        conn: http.client.HTTPConnection = (_PinnedHTTPS if target.scheme == "https" else _PinnedHTTP)(target)
        try:
            conn.request("GET", target.path, headers={"User-Agent": "aml_jupyter-dataprep"})
            resp = conn.getresponse()
            if resp.status in (301, 302, 303, 307, 308):
                location = resp.getheader("Location")
                if not location:
                    raise InvalidValue(f"{url}: a redirect without a Location")
                url = urljoin(url, location)
                continue
            if resp.status != 200:
                raise InvalidValue(f"{url}: the server answered {resp.status} {resp.reason}")
            length = resp.getheader("Content-Length")
            if length and length.isdigit() and int(length) > max_bytes:
                raise InvalidValue(f"{url}: {int(length):,} bytes is more than the {max_bytes:,} allowed")
            body = resp.read(max_bytes + 1)
            if len(body) > max_bytes:
                raise InvalidValue(f"{url}: more than the {max_bytes:,} bytes allowed")
            return body
        except OSError as exc:
            raise InvalidValue(f"{url}: {type(exc).__name__}: {exc}") from None
        finally:
            conn.close()
    raise InvalidValue(f"{url}: more than {MAX_REDIRECTS} redirects")


class WebFiles:
    """Just enough of a file system (``isfile``, ``open``) for the readers, over :func:`fetch`."""

    def __init__(self, allow_private: bool = False) -> None:
        self.allow_private = allow_private
        self._bodies: dict[str, bytes] = {}

    def _body(self, url: str) -> bytes:
        if url not in self._bodies:
            self._bodies[url] = fetch(url, self.allow_private)
        return self._bodies[url]

    def isfile(self, url: str) -> bool:
        self._body(url)  # fetched once: a refusal or an HTTP error is its own clear message
        return True

    def open(self, url: str, mode: str = "rb") -> Any:
        import io

        return io.BytesIO(self._body(url))
