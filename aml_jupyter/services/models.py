"""The model registry: named models with numbered versions, aliases and lineage, in the workspace store.

A version's files are content-addressed artifacts listed in a manifest (path, digest, size); its
``content_hash`` covers the manifest. It records where it came from (a run's artifact, a local
path or an in-memory object), the flavor that loads it, tags, and a signature inferred from a
sample input. A reference is ``name`` (the newest version), ``name:3`` or ``name@alias``.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..entities.validation import check_key, check_resource_name, param_to_str
from ..errors import ArtifactNotFound, InvalidPath, InvalidValue, UntrustedModel
from ..models import flavors
from ..paths import check_relative_name, safe_join
from ..workspace import Workspace

_REF = re.compile(r"^(?P<name>[^:@]+?)(?::(?P<version>\d+|latest)|@(?P<alias>[A-Za-z][\w-]{0,63}))?$")
_ALIAS = re.compile(r"^[A-Za-z][\w-]{0,63}$")


@dataclass(frozen=True)
class ModelVersion:
    """One registered version of a model."""

    name: str
    version: int
    flavor: str
    files: list[dict[str, Any]]
    content_hash: str
    source: dict[str, Any]
    run_id: str | None
    signature: dict[str, Any] | None
    tags: dict[str, str]
    description: str | None
    user: str
    created_at: int
    aliases: list[str] = field(default_factory=list)
    seal: str | None = field(default=None, repr=False)  # services/provenance.py; never shown

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "seal"} | {"ref": self.ref}


def parse_ref(ref: str) -> tuple[str, int | None, str | None]:
    """(name, version or None, alias or None) of ``name``, ``name:3``, ``name:latest`` or ``name@alias``.

    Example:
        >>> parse_ref("iris-clf:3"), parse_ref("iris-clf@production"), parse_ref("iris-clf")
        (('iris-clf', 3, None), ('iris-clf', None, 'production'), ('iris-clf', None, None))
    """
    m = _REF.match(ref.strip()) if isinstance(ref, str) else None
    if not m:
        raise InvalidValue(f"{ref!r} is not a model reference (NAME, NAME:VERSION or NAME@ALIAS)")
    version = m.group("version")
    return m.group("name"), int(version) if version and version != "latest" else None, m.group("alias")


def infer_signature(sample: Any) -> dict[str, Any]:
    """The shape of the model's input, from a sample: columns and dtypes, or array shape and dtype.

    Example:
        >>> infer_signature([[5.1, 3.5, 1.4, 0.2]])
        {'type': 'rows', 'width': 4, 'dtype': 'float', 'example': [[5.1, 3.5, 1.4, 0.2]]}
    """
    import pandas as pd

    if isinstance(sample, pd.DataFrame):
        columns = [{"name": str(c), "dtype": str(d)} for c, d in sample.dtypes.items()]
        return {"type": "dataframe", "columns": columns, **_example(sample.head(2).to_dict("records"))}
    if hasattr(sample, "shape") and hasattr(sample, "dtype"):
        shown = sample[:2].tolist() if len(sample.shape) == 2 else None
        return {
            "type": "ndarray",
            "shape": [None, *list(sample.shape)[1:]],
            "dtype": str(sample.dtype),
            **_example(shown),
        }
    if isinstance(sample, list | tuple) and sample and all(isinstance(r, list | tuple) for r in sample):
        widths = {len(r) for r in sample}
        if len(widths) != 1:
            raise InvalidValue("sample_input rows have different lengths")
        values = [v for r in sample for v in r]
        kind = "float" if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values) else "mixed"
        return {"type": "rows", "width": widths.pop(), "dtype": kind, **_example([list(r) for r in sample[:2]])}
    raise InvalidValue(f"cannot infer a signature from a {type(sample).__name__}; pass a DataFrame, an array or rows")


def _example(rows: Any) -> dict[str, Any]:
    # Up to two rows of the sample, for the service's OpenAPI example, when they are plain JSON.
    try:
        text = json.dumps(rows, allow_nan=False, default=str)
    except (TypeError, ValueError):
        return {}
    return {"example": json.loads(text)} if rows and len(text) <= 4096 else {}


def _manifest_hash(files: list[dict[str, Any]]) -> str:
    h = hashlib.sha256()
    for f in sorted(files, key=lambda f: f["path"]):
        h.update(f"{f['path']}\0{f['digest']}\n".encode())
    return h.hexdigest()


def _list_folder(folder: Path) -> list[tuple[str, Path]]:
    # (name in the model, file) for every file below folder; links are refused, not followed.
    entries = []
    for p in sorted(folder.rglob("*")):
        if p.is_symlink():
            raise InvalidPath(f"{p} is a symbolic link; a model's files must be plain files", path=str(p))
        if p.is_file():
            entries.append((check_relative_name(p.relative_to(folder).as_posix(), "model file name"), p))
    return entries


def _store(ws: Workspace, entries: list[tuple[str, Path]]) -> list[dict[str, Any]]:
    files = []
    for rel, p in entries:
        digest, size = ws.artifacts.put_file(p)
        files.append({"path": rel, "digest": digest, "size": size})
    return files


def _files_from_run(ws: Workspace, run_id: str, artifact: str) -> tuple[Any, list[dict[str, Any]]]:
    record = ws.store.get_run(run_id)
    prefix = artifact.rstrip("/")
    files = []
    for a in record.artifacts:
        if a.name == prefix:
            files.append({"path": Path(a.name).name, "digest": a.digest, "size": a.size})
        elif a.name.startswith(prefix + "/"):
            files.append({"path": a.name[len(prefix) + 1 :], "digest": a.digest, "size": a.size})
    if not files:
        names = ", ".join(a.name for a in record.artifacts[:10]) or "none"
        raise InvalidValue(f"run {record.id[:8]} has no artifact {artifact!r} (it has: {names})", run_id=record.id)
    return record, files


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
    workspace: Workspace | str | None = None,
    user: str | None = None,
) -> ModelVersion:
    """Register a new version of model ``name`` from a run's artifact, a local path, or an object.

    Exactly one source: ``artifact`` (a file or folder name among the artifacts of ``run``),
    ``path`` (a file or folder), or ``model`` (an in-memory object its flavor saves, e.g. a
    scikit-learn estimator, saved with skops). ``run`` (a Run or run id) is the version's lineage
    with any of them. The flavor is the one given, or the one the object or files call for. Inputs
    are all checked before anything is written. ``user`` (default: this process's user) is who
    registered it, which decides who may load a code-running flavor without ``trusted``.

    Example:
        >>> run = aml.best_run("iris", metric="acc")  # doctest: +SKIP
        >>> mv = register_model("iris-clf", run=run, artifact="model.skops", tags={"team": "a"})  # doctest: +SKIP
        >>> mv.name, mv.version  # doctest: +SKIP
        ('iris-clf', 1)
        >>> register_model("iris-clf", run=run, model=clf).run_id == run.id  # doctest: +SKIP
        True
    """
    from .runs import current_user as _user

    ws = Workspace.open(workspace)
    name = check_resource_name(name, "model name")
    if ":" in name or "@" in name:
        raise InvalidValue(f"model name {name!r} may not hold ':' or '@' (they select versions and aliases)")
    given = [x for x in (artifact is not None, path is not None, model is not None) if x]
    if len(given) != 1:
        raise InvalidValue(
            "register a model from exactly one of: run= with artifact=, path=, model= (run= may go with any)"
        )
    if artifact is not None and run is None:
        raise InvalidValue("artifact= names a file of a run: pass run= too")
    limit = ws.tracking.tag_value_max_length
    tag_values = {check_key(k, "tag key"): param_to_str(check_key(k), v, limit) for k, v in dict(tags or {}).items()}
    reserved = sorted(k for k in tag_values if k.startswith("aml."))
    if reserved:
        raise InvalidValue(f"tag {reserved[0]!r} is aml's own: no client may set it")
    signature = infer_signature(sample_input) if sample_input is not None else None
    run_pk = None
    if run is not None:  # the version's lineage; with artifact= also its files
        record = ws.store.get_run(run if isinstance(run, str) else run.id)
        run_pk = record.pk
    if artifact is not None:
        record, files = _files_from_run(ws, record.id, str(artifact))
        source = {"kind": "run", "run_id": record.id, "artifact": artifact}
        chosen = flavors.get(flavor) if flavor else flavors.for_files([f["path"] for f in files])
    elif path is not None:
        src = Path(path).expanduser()
        if not src.exists():
            raise InvalidPath(f"{path}: no such file or folder", path=str(path))
        if src.is_symlink():
            raise InvalidPath(f"{path} is a symbolic link; register the file or folder itself", path=str(path))
        entries = _list_folder(src) if src.is_dir() else [(check_relative_name(src.name, "model file name"), src)]
        if not entries:
            raise InvalidValue(f"{path} holds no files")
        # The flavor is settled before any file is stored: a refused registration stores nothing.
        chosen = flavors.get(flavor) if flavor else flavors.for_files([rel for rel, _ in entries])
        files = _store(ws, entries)
        source = {"kind": "path", "path": str(src.resolve())}
    else:
        chosen = flavors.get(flavor) if flavor else flavors.for_object(model)
        with tempfile.TemporaryDirectory(prefix="aml-model-") as tmp:
            chosen.save(model, Path(tmp))
            files = _store(ws, _list_folder(Path(tmp)))
        source = {"kind": "object", "type": f"{type(model).__module__}.{type(model).__qualname__}"}
    if chosen.name == "sklearn":
        files = _with_native(ws, files, source, model, sample_input)
    from ..seals import seal
    from .provenance import SEAL_TAG

    who, when, content_hash = user or _user(), int(time.time() * 1000), _manifest_hash(files)
    # Who registered it, sealed with this workspace's key: believed later only where that key is.
    tag_values[SEAL_TAG] = seal(ws, name, content_hash, who, when)
    values = {
        "flavor": chosen.name,
        "files": json.dumps(files, sort_keys=True),
        "content_hash": content_hash,
        "source": json.dumps(source, sort_keys=True),
        "run_pk": run_pk,
        "signature": json.dumps(signature, sort_keys=True) if signature else None,
        "tags": json.dumps(tag_values, sort_keys=True),
        "description": description,
        "user": who,  # a server names its caller
        "created_at": when,
    }

    version = ws.store.models.add_version(name, description, values)
    return get_model_version(f"{name}:{version}", workspace=ws)


def _with_native(
    ws: Workspace, files: list[dict[str, Any]], source: dict[str, Any], model: Any, sample: Any
) -> list[dict[str, Any]]:
    # A scikit-learn version also gets its native predictor when one gives exactly its answers
    # (models/native.py); source["native"] names the file, so the service trusts only what we made.
    from ..models import native

    if any(f["path"] == native.FILE for f in files):
        return files
    with tempfile.TemporaryDirectory(prefix="aml-native-") as tmp:
        if model is None:
            _fetch(ws, files, Path(tmp), "the new version")
            try:
                model = flavors.get("sklearn").load(Path(tmp), trusted=False)
            except (UntrustedModel, ValueError, OSError):
                return files  # served the usual way, by scikit-learn, with its own trust check
        compiled = native.compile_model(model, sample)
        if compiled is None:
            return files
        path = Path(tmp) / native.FILE
        compiled.save(path)
        digest, size = ws.artifacts.put_file(path)
    source["native"] = native.FILE
    return [*files, {"path": native.FILE, "digest": digest, "size": size}]


def _fetch(ws: Workspace, files: list[dict[str, Any]], folder: Path, ref: str) -> None:
    # A version's files into folder, each checked against its recorded hash.
    for f in files:
        data = ws.artifacts.read_bytes(f["digest"])
        if hashlib.sha256(data).hexdigest() != f["digest"]:
            raise UntrustedModel(f"{ref}: the stored {f['path']} does not match its recorded hash; not loading it")
        target = safe_join(folder, f["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _row_to_version(row: Any, name: str, aliases: list[str], run_id: str | None) -> ModelVersion:
    from .provenance import SEAL_TAG

    tags = json.loads(row.tags)
    return ModelVersion(
        name=name,
        version=int(row.version),
        flavor=row.flavor,
        files=json.loads(row.files),
        content_hash=row.content_hash,
        source=json.loads(row.source),
        run_id=run_id,
        signature=json.loads(row.signature) if row.signature else None,
        tags={k: v for k, v in tags.items() if k != SEAL_TAG},
        description=row.description,
        user=row.user,
        created_at=int(row.created_at),
        aliases=aliases,
        seal=tags.get(SEAL_TAG),
    )


def get_model_version(ref: str, workspace: Workspace | str | None = None) -> ModelVersion:
    """The version ``ref`` names: ``name`` (newest), ``name:3`` or ``name@alias``.

    Example:
        >>> get_model_version("iris-clf@production").version  # doctest: +SKIP
        3
    """
    ws = Workspace.open(workspace)
    name, version, alias = parse_ref(ref)
    row, aliases, run_id = ws.store.models.version(name, version, alias)
    return _row_to_version(row, name, aliases, run_id)


def list_models(workspace: Workspace | str | None = None) -> list[dict[str, Any]]:
    """Every model with its newest version, version count and aliases.

    Example:
        >>> [m["name"] for m in list_models()]  # doctest: +SKIP
        ['iris-clf']
    """
    ws = Workspace.open(workspace)
    return ws.store.models.models()


def list_versions(name: str, workspace: Workspace | str | None = None) -> list[ModelVersion]:
    """Every version of model ``name``, newest first.

    Example:
        >>> [v.version for v in list_versions("iris-clf")]  # doctest: +SKIP
        [2, 1]
    """
    ws = Workspace.open(workspace)
    newest = get_model_version(name, workspace=ws)
    return [get_model_version(f"{name}:{v}", workspace=ws) for v in range(newest.version, 0, -1)]


def versions_of_run(run_id: str, workspace: Workspace | str | None = None) -> list[dict[str, Any]]:
    """The model versions registered from one run (the run's lineage out), oldest first, each with
    its ``ref``; [] when none were. A run that does not exist is RunNotFound.

    Example:
        >>> [v["ref"] for v in versions_of_run("3f2a9c01")]  # doctest: +SKIP
        ['iris-clf:1']
    """
    from . import runs

    ws = Workspace.open(workspace)
    record = runs.get(ws, run_id)  # says which runs exist when this one does not
    return [{**v, "ref": f"{v['name']}:{v['version']}"} for v in ws.store.models.versions_of_run(record.id)]


def set_model_alias(name: str, alias: str, version: int, workspace: Workspace | str | None = None) -> ModelVersion:
    """Point ``name@alias`` at ``version`` (moving it if it pointed elsewhere).

    Example:
        >>> set_model_alias("iris-clf", "production", 3).aliases  # doctest: +SKIP
        ['production']
    """
    ws = Workspace.open(workspace)
    if not isinstance(alias, str) or not _ALIAS.match(alias) or alias == "latest":
        raise InvalidValue(f"alias {alias!r} must be a word of letters, digits, '_' or '-' (not 'latest')")
    target = get_model_version(f"{name}:{int(version)}", workspace=ws)  # refuses a missing version
    ws.store.models.set_alias(target.name, alias, target.version)
    return get_model_version(target.ref, workspace=ws)


def model_lineage(ref: str, workspace: Workspace | str | None = None) -> dict[str, Any]:
    """Where a version came from and where it went: the datasets its run read, the run (with its
    snapshot and environment), the version itself, and the deployments serving it.

    Example:
        >>> model_lineage("iris-clf:1")["run"]["id"]  # doctest: +SKIP
        '3f2a...'
    """
    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    out: dict[str, Any] = {"model": mv.to_dict(), "run": None, "datasets": [], "deployments": []}

    out["deployments"] = ws.store.deployments.of_version(mv.name, mv.version)
    if mv.run_id:
        record = ws.store.get_run(mv.run_id)
        out["run"] = {
            "id": record.id,
            "experiment": record.experiment,
            "name": record.name,
            "status": record.status,
            "snapshot_id": record.snapshot_id,
            "environment_hash": record.environment_hash,
            "params": record.params,
            "metrics": record.metrics,
        }
        out["datasets"] = [dict(i) for i in record.inputs]
    return out


def download_model(ref: str, to: str | Path, workspace: Workspace | str | None = None) -> Path:
    """Write a version's files into the new (or empty) folder ``to``; never overwrites.

    Example:
        >>> download_model("iris-clf:3", "build/model")  # doctest: +SKIP
        PosixPath('build/model')
    """
    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    dest = Path(to)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise InvalidPath(f"{dest} exists and is not empty; download into a new folder", path=str(dest))
    dest.mkdir(parents=True, exist_ok=True)
    for f in mv.files:
        target = safe_join(dest, f["path"])
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(ws.artifacts.path_of(f["digest"]), target)
    return dest


def version_file(ref: str, name: str, workspace: Workspace | str | None = None) -> Path:
    """The stored file holding file ``name`` of version ``ref`` (read it; never write it).

    Example:
        >>> version_file("iris-clf:1", "model.skops").read_bytes()[:2]  # doctest: +SKIP
        b'PK'
    """
    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    for f in mv.files:
        if f["path"] == name:
            return ws.artifacts.path_of(f["digest"])
    raise ArtifactNotFound(f"{mv.ref} has no file {name!r}", ref=mv.ref, name=name)


CODE_FLAVORS = frozenset({"pickle", "python", "mlflow"})  # loading them runs whatever their author wrote


def check_trust(mv: ModelVersion, trusted: bool, user: str | None = None, workspace: Workspace | None = None) -> None:
    """Refuse to load a version that runs code when loaded (pickle, joblib, ``score.py``) for
    anyone but the user who registered it, unless ``trusted``: in a shared workspace or server,
    loading someone else's pickle runs their code as you. Who registered it counts only where it
    is vouched for (:mod:`~aml_jupyter.services.provenance`): in a shared store (PostgreSQL) anyone
    with write access can write any name, so an unverified registration needs ``trusted`` from all.

    Example:
        >>> check_trust(get_model_version("their-pickle"), trusted=False, user="bob")  # doctest: +SKIP
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.UntrustedModel: their-pickle:1 is a pickle model registered by 'alice': ...
    """
    from .provenance import vouched
    from .runs import current_user as _user

    if mv.flavor not in CODE_FLAVORS or trusted:
        return
    me = user or _user()
    if mv.user != me:
        raise UntrustedModel(
            f"{mv.ref} is a {mv.flavor} model registered by {mv.user!r}: loading it runs their code as {me!r}. "
            "Load it with trusted=True (aml serve/deploy --trust) if you trust them.",
            ref=mv.ref,
            registered_by=mv.user,
        )
    if workspace is not None and not vouched(workspace, mv.name, mv.content_hash, mv.user, mv.created_at, mv.seal):
        raise UntrustedModel(
            f"{mv.ref} is a {mv.flavor} model that says it was registered by you ({me!r}), but its registration is "
            "unverified (made straight into a shared store, where anyone who can write it can write that name, "
            "or through another workspace): loading it runs whatever code it holds. "
            "Load it with trusted=True (aml serve/deploy --trust) if you registered it.",
            ref=mv.ref,
            registered_by=mv.user,
        )


def approve(ref: str, owner: str | None = None, workspace: Workspace | str | None = None) -> ModelVersion:
    """Record ``owner``'s approval to deploy version ``ref`` (needed for a code-bearing version
    where ``[deployments] require_approval = true``). Who may approve is the surface's check: an
    owner (``admin``) through REST, the store's user on the command line.

    Example:
        >>> approve("iris-clf:3", "olga").tags["aml.approved_by"].split()[0]  # doctest: +SKIP
        'olga'
    """
    from .provenance import APPROVAL_TAG, approval_value
    from .runs import current_user as _user

    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    who = owner or _user()
    ws.store.models.set_version_tag(
        mv.name, mv.version, APPROVAL_TAG, approval_value(ws, mv.name, mv.content_hash, who, mv.version)
    )
    return get_model_version(mv.ref, workspace=ws)


def check_approval(ws: Workspace, mv: ModelVersion) -> None:
    """Refuse to deploy a code-bearing version an owner has not approved, where the workspace
    asks for approval (``[deployments] require_approval = true``).

    Example:
        >>> check_approval(ws, get_model_version("their-pickle"))  # doctest: +SKIP
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.UntrustedModel: their-pickle:1 runs code when loaded, and this workspace ...
    """
    from .provenance import APPROVAL_TAG, approved_by

    if mv.flavor not in CODE_FLAVORS or not ws.deployments.require_approval:
        return
    if approved_by(ws, mv.name, mv.content_hash, mv.version, mv.tags.get(APPROVAL_TAG)) is None:
        raise UntrustedModel(
            f"{mv.ref} runs code when loaded ({mv.flavor}), and this workspace deploys such a version only once "
            f"an owner has approved it: aml models approve {mv.ref} (or POST .../versions/{mv.version}/approve)",
            ref=mv.ref,
            registered_by=mv.user,
        )


def load_model(
    ref: str, trusted: bool = False, workspace: Workspace | str | None = None, user: str | None = None
) -> Any:
    """Load a registered version through its flavor, after checking every file against its recorded hash.

    A file whose content changed since registration is refused. Formats that run code when loaded
    (pickle, joblib, a python ``score.py``) load for the user who registered them, the registry
    vouching for these exact bytes; anybody else's need ``trusted=True`` (:func:`check_trust`).
    skops still refuses types it does not trust unless ``trusted=True``.

    Example:
        >>> clf = load_model("iris-clf@production")  # doctest: +SKIP
        >>> clf.predict([[5.1, 3.5, 1.4, 0.2]])  # doctest: +SKIP
        array([0])
    """
    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    check_trust(mv, trusted, user, ws)
    folder = Path(tempfile.mkdtemp(prefix="aml-load-"))
    try:
        _fetch(ws, mv.files, folder, mv.ref)
        vouched = mv.flavor in CODE_FLAVORS
        loaded = flavors.get(mv.flavor).load(folder, trusted=trusted or vouched)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if mv.flavor == "python":
        # score.py may read its neighbours whenever it is called: they go with the module.
        weakref.finalize(loaded, shutil.rmtree, str(folder), ignore_errors=True)
    else:
        shutil.rmtree(folder, ignore_errors=True)  # the other flavors hold everything in memory
    return loaded


def load_for_serving(
    ref: str, native: bool = True, workspace: Workspace | str | None = None, trusted: bool = False
) -> tuple[ModelVersion, Any, str]:
    """(version, model, flavor) for a scoring service: the version's native predictor when it has
    one (numpy only: no scikit-learn import, see models/native.py) and ``native`` is on, else
    the model its flavor loads; the flavor returned is ``native`` for the former.

    Example:
        >>> mv, model, flavor = load_for_serving("iris-clf@production")  # doctest: +SKIP
        >>> flavor, model.predict([[5.1, 3.5, 1.4, 0.2]])  # doctest: +SKIP
        ('native', array([0]))
    """
    ws = Workspace.open(workspace)
    mv = get_model_version(ref, workspace=ws)
    made = mv.source.get("native")
    if native and made:
        from ..models import native as native_models

        with tempfile.TemporaryDirectory(prefix="aml-load-") as tmp:
            _fetch(ws, [f for f in mv.files if f["path"] == made], Path(tmp), mv.ref)
            return mv, native_models.load(Path(tmp) / made), "native"
    return mv, load_model(mv.ref, trusted=trusted, workspace=ws), mv.flavor
