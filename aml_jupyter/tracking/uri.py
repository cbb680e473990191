"""Where the SDK logs and reads: a workspace on this machine, or a server (``aml server``, or Jupyter
with the extension) reached over HTTP with a token, as a laptop of a team does.

The first of these that is set decides, for calls that name no ``workspace=``:

1. :func:`set_tracking_uri` in this process;
2. ``AML_TRACKING_URI`` when it is an ``http(s)://`` address (with ``AML_TRACKING_TOKEN``);
3. ``AML_WORKSPACE``: that workspace;
4. ``aml login URL``: the server it saved (in the user's config folder, readable by the user only);
5. the workspace of the current folder.

A call that names ``workspace=`` always uses that workspace.
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import AccessDenied, ConfigError, InvalidInput, StoreUnreachable
from ..workspace import Workspace

if TYPE_CHECKING:
    from ..store.http import ServerClient

    WorkspaceArg = Workspace | str | os.PathLike[str] | None

LOGIN_FILE = "login.json"
_lock = threading.Lock()
_chosen: dict[str, Any] = {}  # "uri" and "token" (a server) or "workspace" (a folder), set in this process
_clients: dict[tuple[str, str], ServerClient] = {}


def config_dir() -> Path:
    """The user's aml_jupyter settings folder: ``AML_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/aml_jupyter``,
    else ``~/.config/aml_jupyter``.

    Example:
        >>> config_dir().name in ("aml_jupyter", os.path.basename(os.environ.get("AML_CONFIG_DIR", "")))
        True
    """
    if os.environ.get("AML_CONFIG_DIR"):
        return Path(os.environ["AML_CONFIG_DIR"])
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "aml_jupyter"


def is_server(uri: str) -> bool:
    """Whether ``uri`` names a server rather than a workspace.

    Example:
        >>> is_server("http://10.0.0.5:8765"), is_server("/home/me/project")
        (True, False)
    """
    return uri.startswith(("http://", "https://"))


def check_server(uri: str, token: str) -> dict[str, Any]:
    """Ask the server at ``uri`` who ``token`` is: ``{"user", "actions"}``; a clear error for an
    unreachable server, a wrong address or a refused token.

    Example:
        >>> check_server("http://10.0.0.5:8765", "...")  # doctest: +SKIP
        {'user': 'alice', 'actions': ['read', 'write']}
    """
    if not is_server(uri):
        raise InvalidInput(
            f"{uri!r} is not a server's address: give http://HOST:PORT (aml server) or .../aml (Jupyter)"
        )
    if not token:
        raise AccessDenied(f"{uri} needs a token: pass token=..., set AML_TRACKING_TOKEN, or `aml login {uri}`")
    from ..store.http import ServerClient  # urllib's import costs every process 20 ms: only when asked

    try:
        me = ServerClient(uri, token).request("GET", "/me")
    except StoreUnreachable:
        raise
    except OSError as exc:
        raise StoreUnreachable(f"cannot reach {uri}: {exc}", uri=uri) from None
    if not isinstance(me, dict) or "user" not in me:
        raise ConfigError(f"{uri} answers, but not as aml_jupyter's API (is the address right? Jupyter's ends in /aml)")
    return me


def set_tracking_uri(uri: str | os.PathLike[str] | None, token: str | None = None) -> None:
    """Log to and read from ``uri`` in this process: a server (``http://host:8765`` for ``aml
    server``, ``http://host:8888/aml`` for Jupyter) with ``token`` (else ``AML_TRACKING_TOKEN``, else
    the one ``aml login`` saved for it), or a workspace folder. ``None`` goes back to the default.
    A server is asked at once who the token is, so a wrong address or token fails here.

    Example:
        >>> import aml_jupyter as aml
        >>> aml.set_tracking_uri("http://10.0.0.5:8765", token=os.environ["TEAM_TOKEN"])  # doctest: +SKIP
        >>> aml.set_tracking_uri(None); aml.get_tracking_uri() == ""
        True
    """
    if uri is None or str(uri) == "":
        with _lock:
            _chosen.clear()
        return
    text = str(uri)
    if is_server(text):
        key = token or os.environ.get("AML_TRACKING_TOKEN") or _saved_token(text)
        check_server(text, key)
        with _lock:
            _chosen.clear()
            _chosen.update(uri=text.rstrip("/"), token=key)
        return
    folder = text.removeprefix("file://")
    ws = Workspace.open(folder)  # a folder without a workspace is said now
    with _lock:
        _chosen.clear()
        _chosen.update(workspace=str(ws.root))


def get_tracking_uri() -> str:
    """Where calls that name no workspace go: a server's address, a workspace folder, or "" for the
    workspace of the current folder.

    Example:
        >>> import aml_jupyter as aml
        >>> aml.get_tracking_uri()  # doctest: +SKIP
        'http://10.0.0.5:8765'
    """
    server = server_for(None)
    if server is not None:
        return server.uri
    with _lock:
        chosen = _chosen.get("workspace")
    return str(chosen or os.environ.get("AML_WORKSPACE") or "")


def server_for(workspace: WorkspaceArg) -> ServerClient | None:
    """The server a call that names ``workspace`` goes to, or None for a workspace on this machine.

    Example:
        >>> server_for("/home/me/project") is None
        True
    """
    if workspace is not None:
        return None
    with _lock:
        chosen = dict(_chosen)
    if chosen:
        return _client(chosen["uri"], chosen["token"]) if "uri" in chosen else None
    env = os.environ.get("AML_TRACKING_URI", "")
    if is_server(env):
        return _client(env.rstrip("/"), os.environ.get("AML_TRACKING_TOKEN") or _saved_token(env))
    if os.environ.get("AML_WORKSPACE"):
        return None
    saved = saved_login()
    if saved is not None:
        return _client(saved["uri"], saved["token"])
    return None


def workspace_for(workspace: WorkspaceArg) -> Workspace:
    """The local workspace a call that names ``workspace`` uses (the folder :func:`set_tracking_uri` chose, if any).

    Example:
        >>> workspace_for(ws) is ws  # doctest: +SKIP
        True
    """
    if workspace is None:
        with _lock:
            workspace = _chosen.get("workspace")
    return Workspace.open(workspace)


def _client(uri: str, token: str) -> ServerClient:
    from ..store.http import ServerClient

    with _lock:
        client = _clients.get((uri, token))
        if client is None:
            client = _clients[(uri, token)] = ServerClient(uri, token)
        return client


# the login `aml login` saves -----------------------------------------------------------------


def saved_login() -> dict[str, str] | None:
    """The server and token ``aml login`` saved, or None.

    Example:
        >>> saved_login() is None or set(saved_login()) == {"uri", "token", "user"}
        True
    """
    path = config_dir() / LOGIN_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} cannot be read ({exc}); remove it, or `aml logout`", path=str(path)) from None
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("uri", "token")):
        raise ConfigError(f"{path} is not a saved login; remove it, or `aml logout`", path=str(path))
    return {"uri": data["uri"], "token": data["token"], "user": str(data.get("user", ""))}


def _saved_token(uri: str) -> str:
    saved = saved_login()
    return saved["token"] if saved and saved["uri"] == uri.rstrip("/") else ""


def login(uri: str, token: str) -> dict[str, Any]:
    """Check ``token`` with the server at ``uri`` and save both for this user (a file only they
    can read); from then on the SDK and the CLI work against that server. Returns who the token is.

    Example:
        >>> login("http://10.0.0.5:8765", token)["user"]  # doctest: +SKIP
        'alice'
    """
    uri = uri.rstrip("/")
    me = check_server(uri, token.strip())
    folder = config_dir()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = json.dumps({"uri": uri, "token": token.strip(), "user": me["user"]}).encode()
    # mkstemp makes the file 0600 from its first byte; it is renamed into place: never readable by others.
    fd, tmp = tempfile.mkstemp(prefix=".login-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, folder / LOGIN_FILE)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return me


def logout() -> str | None:
    """Forget the saved login; returns the server it named, or None when there was none.

    Example:
        >>> logout()  # doctest: +SKIP
        'http://10.0.0.5:8765'
    """
    try:
        saved = saved_login()
    except ConfigError:
        saved = None
    try:
        (config_dir() / LOGIN_FILE).unlink()
    except FileNotFoundError:
        return None
    return saved["uri"] if saved else ""
