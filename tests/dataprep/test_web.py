"""http(s) sources: public hosts only unless asked, every spelling of a private address refused."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from aml_jupyter import dataprep as dp
from aml_jupyter.dataprep.web import check_url
from aml_jupyter.errors import InvalidPath, InvalidValue
from tests.conftest import free_port

REFUSED = [
    ("http://127.0.0.1/x.csv", "loopback"),
    ("http://127.1/x.csv", "loopback"),
    ("http://0x7f000001/x.csv", "loopback"),
    ("http://2130706433/x.csv", "loopback"),
    ("http://[::1]/x.csv", "loopback"),
    ("http://localhost./x.csv", "loopback|cannot resolve"),  # refused either way, as the resolver has it
    ("http://[::ffff:127.0.0.1]/x.csv", "loopback"),
    ("http://[2002:7f00:1::]/x.csv", "loopback"),  # 6to4 around 127.0.0.1
    ("http://[2002:a00:5::1]/x.csv", "private"),  # 6to4 around 10.0.0.5
    ("http://[2002:a9fe:a9fe::]/latest/meta-data/", "link-local"),  # 6to4 around 169.254.169.254
    ("http://10.0.0.5/x.csv", "private"),
    ("http://192.168.1.1/x.csv", "private"),
    ("http://100.64.0.1/x.csv", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),
    ("http://[fd00:ec2::254]/latest/meta-data/", "link-local"),
    ("http://0.0.0.0/x.csv", "not a unicast"),
    ("http://224.0.0.1/x.csv", "not a unicast"),
    ("http://user:pass@example.com/x.csv", "user names and passwords"),
    ("http://example.com:22/x.csv", "port 22 is refused"),
    ("gopher://example.com/x", "not allowed"),
    ("ftp://example.com/x.csv", "not allowed"),
    ("javascript://x", "not allowed"),
    ("data://text/plain,x", "not allowed"),
]


@pytest.mark.parametrize(("url", "why"), REFUSED)
def test_refused_urls(url: str, why: str) -> None:
    with pytest.raises(InvalidPath, match=why):
        dp.read(url)


def test_private_network_only_when_asked_and_never_link_local() -> None:
    assert check_url("http://127.0.0.1:8000/x.csv", allow_private=True).address == "127.0.0.1"
    with pytest.raises(InvalidPath, match="link-local"):
        check_url("http://169.254.169.254/", allow_private=True)


SERVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/to-metadata"):
            self.send_response(302); self.send_header("Location", "http://169.254.169.254/latest/"); self.end_headers()
        elif self.path.startswith("/hop"):
            self.send_response(302); self.send_header("Location", "/data.csv"); self.end_headers()
        elif self.path.startswith("/data.csv"):
            body = b"name,email\\nAda,ada@math.org\\nAlan,alan@bletchley.gov.uk\\n"
            self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
            self.wfile.write(body)
        else:
            self.send_response(404); self.end_headers()
    def log_message(self, *a):
        pass

ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    """A real HTTP server on loopback, stopped by its pid."""
    port = free_port()
    script = tmp_path / "server.py"
    script.write_text(textwrap.dedent(SERVER))
    proc = subprocess.Popen([sys.executable, str(script), str(port)])
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(10)


def test_a_server_in_ones_own_network(server: str, tmp_path: Path) -> None:
    with pytest.raises(InvalidPath, match="loopback|refused"):
        dp.read(f"{server}/data.csv")
    flow = dp.read(f"{server}/hop", allow_private_network=True)  # a redirect, followed and checked
    flow = dp.read(f"{server}/data.csv", allow_private_network=True).derive_column_by_example(
        source_columns=["email"], new_column="domain", examples=[({"email": "ada@math.org"}, "math.org")]
    )
    assert flow.to_pandas()["domain"].tolist() == ["math.org", "bletchley.gov.uk"]
    saved = tmp_path / "web.dprep"
    flow.save(saved)
    with pytest.raises(InvalidValue, match="private network"):
        dp.load(saved)
    assert dp.load(saved, trust=True).to_pandas().shape == (2, 3)


def test_redirects_are_checked_too(server: str) -> None:
    with pytest.raises(InvalidPath, match="link-local"):
        dp.read(f"{server}/to-metadata", allow_private_network=True)
    with pytest.raises(InvalidValue, match="404"):
        dp.read(f"{server}/missing.csv", allow_private_network=True)
