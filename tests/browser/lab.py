"""A real `jupyter lab` for the browser tests, and a headless Chromium driving it (Debian's, never
playwright's own download)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import REPO, free_port

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
OUTPUT = Path(os.environ.get("AML_TEST_OUTPUT", REPO / "test-output"))
JUPYTER = str(Path(sys.executable).parent / "jupyter")


@dataclass
class Lab:
    url: str  # http://127.0.0.1:PORT/
    token: str
    pid: int
    log: Path

    def page_url(self, path: str = "lab", query: str = "") -> str:
        return f"{self.url}{path}?{query + '&' if query else ''}token={self.token}"

    def api(self, path: str) -> tuple[int, bytes]:
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


def isolated_env(home: Path) -> dict[str, str]:
    """The environment of a Lab that reads none of this machine's Jupyter settings or layouts."""
    for sub in ("config", "settings", "workspaces", "runtime"):
        (home / sub).mkdir(parents=True, exist_ok=True)
    # No "would you like news?" toast over the screenshots.
    news = home / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text('{"fetchNews": "false"}')
    # Server extensions these tests never use start slower than the rest together.
    unused = {"jupyter_lsp": False, "voila.server_extension": False, "jupyter_server_terminals": False}
    (home / "config" / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"jpserver_extensions": unused}})
    )
    return {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_PLATFORM_DIRS": "1",
    }


@contextmanager
def running_lab(
    argv_for: Callable[[int], list[str]], cwd: Path, home: Path, token: str, env: dict[str, str] | None = None
) -> Iterator[Lab]:
    """Starts ``argv_for(port)`` (make lab, or jupyter lab itself) on a free port, in its own process
    group, and stops it by its id. A port taken between choosing and binding it (the browser's own
    connections draw from the same pool) means another port, up to three times."""
    environ = {**isolated_env(home), **(env or {})}  # makes `home` too
    for attempt in range(3):
        port = free_port()
        log = home / f"lab-{attempt}.log"
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                argv_for(port), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, env=environ
            )
        lab = Lab(f"http://127.0.0.1:{port}/", token, proc.pid, log)
        try:
            if _wait_up(lab, proc):
                yield lab
                return
        finally:
            _stop(proc)
        if "already in use" not in log.read_text():
            break
    raise RuntimeError(log.read_text()[-4000:])


def _wait_up(lab: Lab, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            if lab.api("api/status")[0] == 200:
                return True
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def jupyter_lab(root: Path, port: int, token: str, *extra: str) -> list[str]:
    """The command line of a bare `jupyter lab` on loopback (the tests that need other settings)."""
    return [
        JUPYTER,
        "lab",
        "--allow-root",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        *extra,
    ]
