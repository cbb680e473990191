"""Registered datasets: a recipe and its source's fingerprint, versioned in the workspace, and
recorded as an input of any run that reads them."""

from __future__ import annotations

import glob
import hashlib
import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..entities.validation import check_resource_name
from ..errors import DatasetNotFound
from ..processes import active_run, active_run_finder
from ..seals import checks, private, seal
from ..workspace import Workspace

if TYPE_CHECKING:
    import pandas as pd

    from .flow import Flow


def recipe_hash(flow: Flow) -> str:
    """SHA-256 of the recipe's canonical JSON.

    Example:
        >>> from aml_jupyter.dataprep.flow import Flow
        >>> len(recipe_hash(Flow({"path": "x.csv", "format": "csv"})))
        64
    """
    text = json.dumps(flow.to_data(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def source_fingerprint(flow: Flow) -> str:
    """A cheap fingerprint of the source files: their paths, sizes and modification times.

    Example:
        >>> from aml_jupyter.dataprep.flow import Flow
        >>> len(source_fingerprint(Flow({"path": "/nonexistent", "format": "csv"})))
        64
    """
    path = flow.source["path"]
    files = sorted(glob.glob(path)) if any(c in path for c in "*?[") else [path]
    h = hashlib.sha256()
    for f in files:
        try:
            st = os.stat(f)
            h.update(f"{os.path.abspath(f)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
        except OSError:
            h.update(f"{f}\0missing\n".encode())
    return h.hexdigest()


@dataclass(frozen=True)
class Dataset:
    """One registered version of a dataset."""

    name: str
    version: int
    recipe_hash: str
    source_fingerprint: str
    flow: Flow
    workspace: Workspace

    @property
    def digest(self) -> str:
        """Identifies the data: the recipe and the source it ran on."""
        return hashlib.sha256(f"{self.recipe_hash}:{self.source_fingerprint}".encode()).hexdigest()

    def to_pandas(self) -> pd.DataFrame:
        """The data; inside a run, the run records this dataset version as an input."""
        uri = f"dataset:{self.name}:{self.version}"
        if active_run_finder():
            run = active_run()
            # The same workspace folder, not the same object: a workspace closed and opened again
            # (by another thread, say) is a new object for the same store.
            if run is not None and getattr(getattr(run, "workspace", None), "root", None) == self.workspace.root:
                run.log_input(self.name, uri=uri, digest=self.digest)
        elif os.environ.get("AML_RUN_ID") and os.environ.get("AML_WORKSPACE") == str(self.workspace.root):
            # A job's script that reads data without the SDK: its run is the job's.
            store = self.workspace.store
            pk = store.get_run(os.environ["AML_RUN_ID"]).pk
            store.add_input(pk, kind="dataset", name=self.name, uri=uri, digest=self.digest, role="input")
        return self.flow.to_pandas()


def register(flow: Flow, name: str, workspace: Workspace | str | None = None) -> Dataset:
    """Record ``flow`` as the next version of dataset ``name`` (or return the latest version if
    neither the recipe nor the source changed)."""
    from ..processes import current_user as _user

    ws = Workspace.open(workspace)
    name = check_resource_name(name, "dataset name")
    rh, fp = recipe_hash(flow), source_fingerprint(flow)
    recipe = json.dumps(flow.to_data(), sort_keys=True, ensure_ascii=False)
    from ..store.sql.metrics import now_ms

    who = _user()
    version = ws.store.datasets.add(name, recipe, rh, fp, who, now_ms())
    row = ws.store.datasets.get(name, version)
    if row is not None and row[4] == who:  # an unchanged recipe returns its first registrant's version
        seal_dataset(ws, name, version, rh, who)
    return Dataset(name, version, rh, fp, flow, ws)


def get_dataset(
    name: str,
    version: int | None = None,
    workspace: Workspace | str | None = None,
    *,
    trust: bool = False,
    user: str | None = None,
) -> Dataset:
    """A registered dataset (the latest version unless ``version`` is given).

    A recipe that runs code when read (a Python expression step, a SQL query, a source on the
    private network) loads for the user who registered it; anybody else's needs ``trust=True``,
    as someone else's pickle model does: reading it runs their code as you. ``user`` is who
    reads (by default this process's user; the server passes its caller).

    Example:
        >>> get_dataset("customers").to_pandas()  # doctest: +SKIP
    """
    from ..errors import InvalidInput, UntrustedDataset
    from ..processes import current_user as _user
    from .flow import flow_from_data

    ws = Workspace.open(workspace)
    row = ws.store.datasets.get(name, version)
    if row is None:
        which = f"version {version} of " if version is not None else ""
        raise DatasetNotFound(f"no {which}dataset named {name!r} is registered", name=name)
    data = json.loads(row[1])
    ref, registered_by, me = f"{name}:{row[0]}", row[4], user or _user()
    where = f"dataset {ref}"
    # In a shared store the name in the row is anyone's to write: it counts only when vouched for.
    if not trust and (registered_by != me or not vouched_dataset(ws, name, int(row[0]), row[2], registered_by)):
        try:
            flow = flow_from_data(data, trust=False, where=where)
        except InvalidInput as exc:
            if "trust=True" not in str(exc):
                raise
            who = f"says it was registered by you ({me!r}), unverified (a shared store: anyone can write that name)"
            if registered_by != me:
                who = f"was registered by {registered_by!r}"
            raise UntrustedDataset(
                f"{where} {who} and runs code when read "
                f"({str(exc).split(';')[0].removeprefix(where + ' ')}): reading it runs their code as {me!r}. "
                "Read it with trust=True if you trust them.",
                name=name,
                registered_by=registered_by,
            ) from None
    else:
        flow = flow_from_data(data, trust=True, where=where)
    return Dataset(name, int(row[0]), row[2], row[3], flow, ws)


def list_datasets(workspace: Workspace | str | None = None) -> list[dict[str, Any]]:
    """Every registered dataset version.

    Example:
        >>> [d["name"] for d in list_datasets()]  # doctest: +SKIP
        ['customers']
    """
    return Workspace.open(workspace).store.datasets.versions()


def _dataset_seal_file(ws: Workspace, name: str, version: int) -> os.PathLike[str]:
    # The datasets table has no room for a seal: it stays beside the key, in the registering workspace.
    return ws.aml_dir / "seals" / f"dataset-{hashlib.sha256(name.encode()).hexdigest()[:32]}-{version}"


def seal_dataset(ws: Workspace, name: str, version: int, recipe_hash: str, user: str) -> None:
    """Seal a dataset version just registered by ``user`` (see :func:`vouched_dataset`).

    Example:
        >>> seal_dataset(ws, "customers", 1, "ab" * 32, "alice")  # doctest: +SKIP
    """
    path = _dataset_seal_file(ws, name, version)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    with open(path, "w") as f:
        f.write(seal(ws, name, recipe_hash, user, version, kind="dataset"))


def vouched_dataset(ws: Workspace, name: str, version: int, recipe_hash: str, user: str) -> bool:
    """Whether the store can vouch that ``user`` registered this dataset version: a private store,
    or a seal of this workspace's that checks out.

    Example:
        >>> vouched_dataset(ws, "customers", 1, ds.digest, "alice")  # doctest: +SKIP
        True
    """
    if private(ws):
        return True
    try:
        with open(_dataset_seal_file(ws, name, version)) as f:
            given = f.read().strip()
    except OSError:
        return False
    return checks(ws, given, name, recipe_hash, user, version, "dataset")
