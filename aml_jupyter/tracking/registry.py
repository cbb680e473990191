"""The model registry as the SDK offers it (``aml.register_model``, ``aml.load_model``...): on a
workspace, :mod:`aml_jupyter.services.models`; on a server (``aml login``), its REST API, with the
same checks on this side: every file's hash, and who may load code-bearing versions.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..errors import InvalidPath, InvalidValue, ModelNotFound, UntrustedModel
from ..paths import safe_join
from ..services import models as local
from .uri import server_for, workspace_for

if TYPE_CHECKING:
    import os

    from ..store.http import ServerClient
    from ..workspace import Workspace

    WorkspaceArg = Workspace | str | os.PathLike[str] | None


def register_model(
    name: str,
    run: Any = None,
    artifact: str | None = None,
    path: str | Path | None = None,
    model: Any = None,
    tags: dict[str, Any] | None = None,
    sample_input: Any = None,
    flavor: str | None = None,
    description: str | None = None,
    workspace: WorkspaceArg = None,
    user: str | None = None,
) -> local.ModelVersion:
    """Register a new version of model ``name`` from a run's artifact, a local path, or an object
    (:func:`aml_jupyter.services.models.register_model` says how). On a server, ``path=`` and
    ``model=`` need ``run=``: the files go up as that run's artifacts (under ``models/NAME``), and
    the version is registered from them, under the token's user.

    Example:
        >>> mv = aml.register_model("iris-clf", run=run, artifact="model.skops")  # doctest: +SKIP
        >>> mv.ref  # doctest: +SKIP
        'iris-clf:1'
    """
    server = server_for(workspace)
    if server is None:
        return local.register_model(
            name,
            run=run,
            artifact=artifact,
            path=path,
            model=model,
            tags=tags,
            sample_input=sample_input,
            flavor=flavor,
            description=description,
            workspace=workspace_for(workspace),
            user=user,
        )
    _no_user(user)
    given = [x for x in (artifact is not None, path is not None, model is not None) if x]
    if len(given) != 1:
        raise InvalidValue(
            "register a model from exactly one of: run= with artifact=, path=, model= (run= may go with any)"
        )
    if run is None:
        raise InvalidValue("on a server a version is registered from a run's files: pass run= (a run or its id)")
    run_id = run if isinstance(run, str) else run.id
    if artifact is None:
        artifact = _upload(server, run, name, path, model, flavor)
    body: dict[str, Any] = {"run": run_id, "artifact": artifact}
    if flavor is not None:
        body["flavor"] = flavor
    if tags:
        body["tags"] = {str(k): v if isinstance(v, str) else str(v) for k, v in tags.items()}
    if description is not None:
        body["description"] = description
    if sample_input is not None:
        body["sample_input"] = _rows(sample_input)
    made = server.request("POST", f"/models/{quote(name, safe='')}", json.dumps(body).encode())
    return _version(made)


def _no_user(user: str | None) -> None:
    if user is not None:
        raise InvalidValue("user= is for a workspace on this machine: on a server, your token says who you are")


def _upload(server: ServerClient, run: Any, name: str, path: Any, model: Any, flavor: str | None) -> str:
    # The files of path= or model= go up as the run's artifacts under models/NAME: registered from there.
    from ..models import flavors
    from .remote import RemoteRun

    prefix = f"models/{name}"
    with tempfile.TemporaryDirectory(prefix="aml-model-") as tmp:
        if model is not None:
            chosen = flavors.get(flavor) if flavor else flavors.for_object(model)
            chosen.save(model, Path(tmp))
            folder = Path(tmp)
        else:
            src = Path(path).expanduser()
            if not src.exists() or src.is_symlink():
                raise InvalidPath(f"{path}: no such file or folder", path=str(path))
            if src.is_file():
                shutil.copyfile(src, Path(tmp) / src.name)
                folder = Path(tmp)
            else:
                folder = src
        if isinstance(run, RemoteRun) and run._active:
            run.log_artifacts(folder, prefix=prefix)
        else:
            uploader = RemoteRun(server.uri, run if isinstance(run, str) else run.id, server.token)
            try:
                uploader.log_artifacts(folder, prefix=prefix)
            finally:
                uploader.close()
    return prefix


def _rows(sample: Any) -> list[list[Any]]:
    if hasattr(sample, "to_numpy"):
        sample = sample.to_numpy()
    if hasattr(sample, "tolist"):
        sample = sample.tolist()
    rows = [list(r) for r in sample]
    return rows


def _version(d: dict[str, Any]) -> local.ModelVersion:
    fields = local.ModelVersion.__dataclass_fields__
    return local.ModelVersion(**{k: v for k, v in d.items() if k in fields and k != "seal"})


def get_model_version(ref: str, workspace: WorkspaceArg = None) -> local.ModelVersion:
    """The version ``ref`` names: ``name`` (newest), ``name:3`` or ``name@alias``.

    Example:
        >>> aml.get_model_version("iris-clf@production").version  # doctest: +SKIP
        3
    """
    server = server_for(workspace)
    if server is None:
        return local.get_model_version(ref, workspace=workspace_for(workspace))
    return _version(_remote_version(server, ref))


def _remote_version(server: ServerClient, ref: str) -> dict[str, Any]:
    name, version, alias = local.parse_ref(ref)
    if version is None:
        versions = server.request("GET", f"/models/{quote(name, safe='')}")["versions"]
        chosen = [v for v in versions if alias is None or alias in v.get("aliases", [])]
        if not chosen:
            raise ModelNotFound(f"model {name!r} has no version with alias {alias!r}", name=name, alias=alias)
        version = chosen[0]["version"]
    found: dict[str, Any] = server.request("GET", f"/models/{quote(name, safe='')}/versions/{version}")
    return found


def list_models(workspace: WorkspaceArg = None) -> list[dict[str, Any]]:
    """Every model with its newest version, version count and aliases.

    Example:
        >>> [m["name"] for m in aml.list_models()]  # doctest: +SKIP
        ['iris-clf']
    """
    server = server_for(workspace)
    if server is None:
        return local.list_models(workspace=workspace_for(workspace))
    found: list[dict[str, Any]] = server.request("GET", "/models")["models"]
    return found


def load_model(ref: str, trusted: bool = False, workspace: WorkspaceArg = None, user: str | None = None) -> Any:
    """Load a registered version through its flavor, every file checked against its recorded hash
    (:func:`aml_jupyter.services.models.load_model` says who may load what without ``trusted``).
    On a server the files are fetched and checked here.

    Example:
        >>> clf = aml.load_model("iris-clf@production")  # doctest: +SKIP
        >>> clf.predict([[5.1, 3.5, 1.4, 0.2]])  # doctest: +SKIP
        array([0])
    """
    server = server_for(workspace)
    if server is None:
        return local.load_model(ref, trusted=trusted, workspace=workspace_for(workspace), user=user)
    _no_user(user)
    from ..models import flavors

    found = _remote_version(server, ref)
    mv = _version(found)
    me = server.request("GET", "/me")["user"]
    local.check_trust(mv, trusted, me)  # someone else's code-bearing version: only with trusted=True
    if mv.flavor in local.CODE_FLAVORS and not trusted and not found.get("vouched"):
        raise UntrustedModel(
            f"{mv.ref} is a {mv.flavor} model that says it was registered by you ({me!r}), but the server cannot "
            "vouch for it: loading it runs whatever code it holds. Load it with trusted=True if you registered it.",
            ref=mv.ref,
            registered_by=mv.user,
        )
    folder = Path(tempfile.mkdtemp(prefix="aml-load-"))
    try:
        for f in mv.files:
            data = server.request(
                "GET", f"/models/{quote(mv.name, safe='')}/versions/{mv.version}/files/{quote(f['path'])}", raw=True
            )
            if hashlib.sha256(data).hexdigest() != f["digest"]:
                raise UntrustedModel(f"{mv.ref}: {f['path']} does not match its recorded hash; not loading it")
            target = safe_join(folder, f["path"])
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        loaded = flavors.get(mv.flavor).load(folder, trusted=trusted or mv.flavor in local.CODE_FLAVORS)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if mv.flavor == "python":  # score.py may read its neighbours whenever it is called
        weakref.finalize(loaded, shutil.rmtree, str(folder), ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)
    return loaded
