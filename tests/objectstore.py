"""An S3-compatible server on loopback for the tests: moto's standalone server, reached through
s3fs exactly as a user's bucket would be (credentials and the endpoint from the environment)."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

_buckets = itertools.count(1)


@dataclass
class S3Server:
    endpoint: str
    pid: int
    proc: subprocess.Popen[bytes]

    def env(self) -> dict[str, str]:
        """What a client needs: as for any S3-compatible service (MinIO, Ceph, ...)."""
        return {
            "AWS_ENDPOINT_URL_S3": self.endpoint,
            "AWS_ACCESS_KEY_ID": "aml-test",
            "AWS_SECRET_ACCESS_KEY": "aml-test-secret",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    shared: str = ""

    def bucket(self, own: bool = False) -> str:
        """The s3:// URL of a new, empty place: a fresh prefix in this process's bucket (made once),
        or a bucket of its own."""
        import s3fs

        n = next(_buckets)
        if own or not self.shared:
            name = f"aml-{os.getpid()}-{n}"
            s3fs.S3FileSystem(skip_instance_cache=True).mkdir(name)
            if own:
                return f"s3://{name}/artifacts"
            self.shared = name
        return f"s3://{self.shared}/t{n}"

    def stop(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.kill(self.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


def start(port: int, log: Path) -> S3Server:
    """Start moto's server on ``port`` and wait until it answers."""
    exe = str(Path(sys.executable).with_name("moto_server"))
    with open(log, "wb") as out:
        proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", str(port)], stdout=out, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    pause = 0.05
    while True:
        try:
            urllib.request.urlopen(endpoint, timeout=1).close()
            break
        except urllib.error.HTTPError:
            break  # it answers
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"the S3 server did not start: {log.read_text()[-2000:]}") from None
            time.sleep(pause)
            pause = min(pause * 2, 0.25)
    return S3Server(endpoint, proc.pid, proc)
