"""Local deployments: a model version served by a supervised background process.

``deploy(ref, name)`` records the deployment, writes its key to ``.aml/deployments/NAME/key``
(readable by its owner only; the key never enters the store or the logs), and starts a detached
supervisor (``python -m aml_jupyter.services.deployments ROOT NAME``) that runs ``aml serve`` as its
child on the deployment's port, restarts it when it crashes (with a growing pause), swaps the
model when told to (SIGHUP, from :func:`update`) and stops it on SIGTERM (:func:`delete`). It
returns once ``/health`` answers. The service writes its counters to ``telemetry.json`` there.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ..errors import InvalidValue, JobError, NotFound
from ..paths import atomic_write_bytes
from ..processes import pid_alive, start_detached
from ..workspace import Workspace

_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
START_TIMEOUT_S = 60.0


class DeploymentNotFound(NotFound):
    """No deployment of that name."""


def folder_of(ws: Workspace, name: str) -> Path:
    """Where a deployment keeps its key, config, log and telemetry.

    Example:
        >>> folder_of(ws, "iris").name  # doctest: +SKIP
        'iris'
    """
    return ws.aml_dir / "deployments" / name


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidValue(
            f"deployment name {name!r} must be lower-case letters, digits and '-', starting with a letter"
        )
    return name


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_healthy(url: str, model: str, pid: int, log: Path, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/health", timeout=2) as resp:
                if json.loads(resp.read()).get("model") == model:
                    return
        except (urllib.error.URLError, OSError, ValueError):
            pass
        if not pid_alive(pid):
            break
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-1500:] if log.exists() else ""
    raise JobError(f"the service for {model} did not answer /health at {url}; its log ends:\n{tail}")


def deploy(
    ref: str,
    name: str,
    port: int | None = None,
    collect: bool = False,
    workspace: Workspace | str | None = None,
    trusted: bool = False,
    user: str | None = None,
) -> dict[str, Any]:
    """Serve model version ``ref`` as deployment ``name`` on 127.0.0.1; returns ``{"url", "key", ...}``
    once it answers ``/health``. With ``collect``, what it scores is kept as Parquet in
    ``.aml/collected/NAME/date=.../`` (kept after the deployment is deleted).

    Example:
        >>> deploy("iris-clf@production", "iris")["url"]  # doctest: +SKIP
        'http://127.0.0.1:41873'
    """
    from .models import check_approval, check_trust, get_model_version

    ws = Workspace.open(workspace)
    name = _check_name(name)
    mv = get_model_version(ref, workspace=ws)
    check_trust(mv, trusted, user, ws)  # before anything is written or started
    check_approval(ws, mv)
    existing = _row(ws, name, missing_ok=True)
    if existing is not None:
        raise InvalidValue(f"deployment {name!r} exists (serving {existing['model_ref']}); use update or delete")
    if port is not None and (not isinstance(port, int) or not 1024 <= port <= 65535):
        raise InvalidValue(f"port must be between 1024 and 65535, not {port!r}")
    port = port or _free_port()
    if not _port_free(port):
        raise InvalidValue(f"port {port} is already in use (another deployment or program); pick another")
    folder = folder_of(ws, name)
    folder.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(24)
    key_file = folder / "key"
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key)
    url = f"http://127.0.0.1:{port}"
    _write_config(folder, mv.ref, port, collect, _service_trust(mv, trusted))
    now = int(time.time() * 1000)
    ws.store.deployments.add(
        {
            "name": name,
            "model_ref": ref,
            "model": mv.name,
            "version": mv.version,
            "target": "local",
            "url": url,
            "port": port,
            "pid": None,
            "created_at": now,
            "updated_at": now,
        }
    )
    (folder / "supervisor.pid").unlink(missing_ok=True)  # a stale one from an earlier life would mislead
    start_detached("aml_jupyter.services.deployments", [str(ws.root), name], ws.root)
    pid = _wait_for_pid(folder)
    _set(ws, name, pid=pid)
    try:
        _wait_healthy(url, mv.ref, pid, folder / "service.txt")
    except JobError:
        delete(name, workspace=ws)
        raise
    return {"name": name, "url": url, "key": key, "model": mv.ref, "pid": pid}


def _service_trust(mv: Any, trusted: bool) -> bool:
    # The service runs as this server's account, not as the caller check_trust just cleared: a
    # code-running version it was cleared for loads there without asking again. A skops version's
    # unknown types still need the caller's own trusted=True.
    from .models import CODE_FLAVORS

    return trusted or mv.flavor in CODE_FLAVORS


def _write_config(folder: Path, model: str, port: int, collect: bool = False, trusted: bool = False) -> None:
    # trusted: whoever deployed it was allowed to run this version's code (registry.check_trust).
    config = {"model": model, "port": port, "collect": collect, "trusted": trusted}
    atomic_write_bytes(folder / "config.json", json.dumps(config).encode())


def _wait_for_pid(folder: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return int((folder / "supervisor.pid").read_text())
        except (OSError, ValueError):
            time.sleep(0.05)
    raise JobError(f"the deployment's supervisor did not start; see {folder / 'service.txt'}")


def _row(ws: Workspace, name: str, missing_ok: bool = False) -> dict[str, Any] | None:
    row = ws.store.deployments.get(name)
    if row is None:
        if missing_ok:
            return None
        names = ", ".join(r["name"] for r in list_deployments(ws)) or "none"
        raise DeploymentNotFound(f"no deployment {name!r} (deployments: {names})", deployment=name)
    return row


def _set(ws: Workspace, name: str, **values: Any) -> None:
    values["updated_at"] = int(time.time() * 1000)
    ws.store.deployments.update(name, values)


def list_deployments(workspace: Workspace | str | None = None) -> list[dict[str, Any]]:
    """Every deployment, with whether its supervisor is alive and its latest counters.

    Example:
        >>> [d["name"] for d in list_deployments()]  # doctest: +SKIP
        ['iris']
    """
    ws = Workspace.open(workspace)
    out = []
    for item in ws.store.deployments.all():
        item["status"] = "running" if pid_alive(item["pid"]) else "stopped"
        try:
            item["telemetry"] = json.loads((folder_of(ws, item["name"]) / "telemetry.json").read_text())
        except (OSError, ValueError):
            item["telemetry"] = None
        out.append(item)
    return out


def key_of(name: str, workspace: Workspace | str | None = None) -> str:
    """A deployment's key, read from its owner-only file.

    Example:
        >>> key_of("iris")  # doctest: +SKIP
        'pJ0...'
    """
    ws = Workspace.open(workspace)
    _row(ws, _check_name(name))
    return (folder_of(ws, name) / "key").read_text().strip()


def logs(name: str, workspace: Workspace | str | None = None) -> str:
    """What the deployment's service printed (its last 10 MB at most).

    Example:
        >>> print(logs("iris"))  # doctest: +SKIP
    """
    from ..jobs.logs import read_all

    ws = Workspace.open(workspace)
    _row(ws, _check_name(name))
    return read_all(folder_of(ws, name), "service")


def update(
    name: str, ref: str, workspace: Workspace | str | None = None, trusted: bool = False, user: str | None = None
) -> dict[str, Any]:
    """Serve another version under the same name, URL and key; returns once it answers.

    Example:
        >>> update("iris", "iris-clf:4")["model"]  # doctest: +SKIP
        'iris-clf:4'
    """
    from .models import check_approval, check_trust, get_model_version

    ws = Workspace.open(workspace)
    row = _row(ws, _check_name(name))
    assert row is not None
    mv = get_model_version(ref, workspace=ws)
    check_trust(mv, trusted, user, ws)
    check_approval(ws, mv)
    if not pid_alive(row["pid"]):
        raise JobError(f"deployment {name!r} is not running; delete it and deploy again")
    folder = folder_of(ws, name)
    collect = bool(json.loads((folder / "config.json").read_text()).get("collect"))
    _write_config(folder, mv.ref, int(row["port"]), collect, _service_trust(mv, trusted))
    _set(ws, name, model_ref=ref, model=mv.name, version=mv.version)
    os.kill(int(row["pid"]), signal.SIGHUP)
    _wait_healthy(row["url"], mv.ref, int(row["pid"]), folder / "service.txt")
    return {"name": name, "url": row["url"], "model": mv.ref}


def delete(name: str, workspace: Workspace | str | None = None) -> None:
    """Stop a deployment's service and forget it.

    Example:
        >>> delete("iris")  # doctest: +SKIP
    """
    import shutil

    ws = Workspace.open(workspace)
    row = _row(ws, _check_name(name))
    assert row is not None
    pid = row["pid"]
    if pid_alive(pid):
        os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + 20
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if pid_alive(pid):
            os.kill(int(pid), signal.SIGKILL)
    ws.store.deployments.delete(name)
    shutil.rmtree(folder_of(ws, name), ignore_errors=True)


def supervise(root: str, name: str) -> int:
    """The supervisor's loop: run the service, restart it when it dies, swap it on SIGHUP.

    Example:
        >>> supervise("/home/me/project", "iris")  # doctest: +SKIP
    """
    from ..compute.targets import passed_names
    from ..compute.user_env import user_environment
    from ..jobs.logs import RotatingLog

    folder = Path(root) / ".aml" / "deployments" / name
    (folder / "supervisor.pid").write_text(str(os.getpid()))
    state = {"stop": False, "swap": False}
    child: subprocess.Popen[bytes] | None = None

    def on_term(*_: Any) -> None:
        state["stop"] = True
        if child is not None and child.poll() is None:
            child.terminate()

    def on_hup(*_: Any) -> None:
        state["swap"] = True
        if child is not None and child.poll() is None:
            child.terminate()

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGHUP, on_hup)
    log = RotatingLog(folder / "service.txt")
    pause = 0.5
    while not state["stop"]:
        config = json.loads((folder / "config.json").read_text())
        # The service runs the model's code: it sees no token, key or password of this process.
        env = {
            # A service runs on this machine as the local target's jobs do: the same names pass.
            **user_environment(pass_env=passed_names(Workspace.open(root), "local")),
            "AML_SERVE_KEY": (folder / "key").read_text().strip(),
            "AML_TELEMETRY_FILE": str(folder / "telemetry.json"),
        }
        if config.get("collect"):
            # Beside the deployment's folder, so the data outlives `delete`.
            env["AML_COLLECT_DIR"] = str(Path(root) / ".aml" / "collected" / name)
        cmd = [
            sys.executable,
            "-m",
            "aml_jupyter.cli",
            "-w",
            root,
            "serve",
            config["model"],
            "--port",
            str(config["port"]),
            *(["--trust"] if config.get("trusted") else []),
        ]
        started = time.monotonic()
        child = subprocess.Popen(
            cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        assert child.stdout is not None
        reader = threading.Thread(target=_copy, args=(child.stdout, log), daemon=True)
        reader.start()
        code = child.wait()
        reader.join(5)
        if state["stop"]:
            break
        if state["swap"]:
            state["swap"] = False
            pause = 0.5
            continue
        log.write(f"[aml: the service exited with code {code}; restarting]\n")
        # A service that keeps crashing at start is retried less and less often.
        pause = 0.5 if time.monotonic() - started > 30 else min(pause * 2, 30.0)
        time.sleep(pause)
    log.close()
    return 0


def _copy(stream: Any, log: Any) -> None:
    with stream:
        for chunk in iter(lambda: stream.read1(65536), b""):
            log.write(chunk)


if __name__ == "__main__":
    from ..processes import detach_if_asked

    argv = detach_if_asked(sys.argv[1:])
    sys.exit(supervise(argv[0], argv[1]))
