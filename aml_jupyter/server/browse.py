"""What the REST API's handlers read and write beyond a single run: pages of runs (metric series:
:mod:`aml_jupyter.tracking.downsample`), targets and runs created over HTTP (roles and the audit
log: :mod:`aml_jupyter.services.access`).
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..workspace import Workspace


def _query_digest(filter: str | None, experiments: list[str] | None, order_by: list[str] | None) -> str:
    return hashlib.sha256(json.dumps([filter, experiments, order_by]).encode()).hexdigest()[:16]


def _offset(token: str | None, digest: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode() + b"==").decode())
        offset, made_for = int(data["o"]), str(data["q"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise InvalidInput("page_token is not one this API gave out") from None
    if made_for != digest or offset < 0:
        raise InvalidInput("page_token belongs to another query (filter, experiments and order must stay the same)")
    return offset


def search_page(ws: Workspace, query: dict[str, list[str]], cap: int) -> dict[str, Any]:
    """One page of runs for ``GET /runs``: ``filter``, ``experiment`` (repeatable), ``order_by``
    (repeatable), ``max_results`` (capped at ``cap``) and ``page_token`` from the previous page.

    Example:
        >>> search_page(ws, {"filter": ["metrics.acc > 0.9"], "max_results": ["2"]}, 1000)  # doctest: +SKIP
        {'runs': [{...}, {...}], 'next_page_token': 'eyJvIjogMiwg...'}
    """
    from ..store.sql.search import search_records

    filter = (query.get("filter") or [""])[0] or None
    experiments = query.get("experiment") or None
    order_by = query.get("order_by") or None
    try:
        wanted = int((query.get("max_results") or ["100"])[0])
    except ValueError:
        raise InvalidInput("max_results must be a whole number") from None
    if wanted < 1:
        raise InvalidInput("max_results must be at least 1")
    size = min(wanted, cap)
    digest = _query_digest(filter, experiments, order_by)
    offset = _offset((query.get("page_token") or [""])[0], digest)
    ids = None
    if experiments:
        ids = [ws.store.experiment_id(name) for name in experiments]
    records = search_records(ws.store, filter, ids, order_by, size + 1, offset=offset)
    more = len(records) > size
    token = None
    if more:
        token = base64.urlsafe_b64encode(json.dumps({"o": offset + size, "q": digest}).encode()).decode().rstrip("=")
    return {"runs": records[:size], "next_page_token": token}


def targets(ws: Workspace) -> list[dict[str, Any]]:
    """The compute targets, with the embedded Dask cluster's dashboard link when it runs.

    Example:
        >>> [t["name"] for t in targets(ws)]  # doctest: +SKIP
        ['local', 'dask']
    """
    from ..compute.dask_cluster import embedded_state
    from ..compute.targets import list_targets

    out: list[dict[str, Any]] = [
        {"name": t.name, "type": t.type, "settings": dict(t.settings)} for t in list_targets(ws)
    ]
    info = embedded_state(ws)  # None unless the embedded cluster's daemon is alive
    for item in out:
        if item["type"] == "dask" and info and not item["settings"].get("address"):
            item["dashboard"] = info.get("dashboard")
    return out


def create_run(ws: Workspace, payload: dict[str, Any], user: str) -> dict[str, Any]:
    """Create a running run from ``{"experiment", "name"?, "params"?, "tags"?}``; its client then
    logs to it, sends heartbeats and ends it (``/transition``), as a remote job does.

    Example:
        >>> create_run(ws, {"experiment": "iris", "params": {"lr": 0.1}}, "alice")["status"]  # doctest: +SKIP
        'running'
    """
    from ..tracking.validation import check_key, check_name, param_to_str

    experiment = payload.get("experiment")
    if not isinstance(experiment, str):
        raise InvalidInput('"experiment" (a name) is required')
    name = payload.get("name")
    params, tags = payload.get("params") or {}, payload.get("tags") or {}
    if not isinstance(params, dict) or not isinstance(tags, dict):
        raise InvalidInput('"params" and "tags" must be objects')
    limits = ws.tracking
    checked_params = {check_key(k): param_to_str(k, v, limits.param_value_max_length) for k, v in params.items()}
    checked_tags = {check_key(k): param_to_str(k, v, limits.tag_value_max_length) for k, v in tags.items()}
    run_name = check_name(name, "run name") if name is not None else None
    store = ws.store
    record = store.create_run(
        store.experiment_id(check_name(experiment, "experiment name"), create=True),
        name=run_name,
        source_kind="api",
        user=user,
        params=checked_params,
        tags=checked_tags,
    )
    return record.to_dict()


def dataset_rows(ws: Workspace, name: str, rows: int, user: str | None = None) -> dict[str, Any]:
    """The first ``rows`` rows of a registered dataset's newest version (its recipe run on its
    source), for ``user``: a recipe that runs code previews only for the user who registered it.

    Example:
        >>> dataset_rows(ws, "customers", 5)["columns"]  # doctest: +SKIP
        ['id', 'email', 'domain']
    """
    from ..dataprep.lineage import get_dataset

    dataset = get_dataset(name, workspace=ws, user=user)
    frame = dataset.flow.to_pandas().head(rows)
    return {
        "name": dataset.name,
        "version": dataset.version,
        "columns": [str(c) for c in frame.columns],
        "rows": frame.astype(object).where(frame.notna(), None).values.tolist(),
    }


def learn_column(payload: dict[str, Any], user: str) -> dict[str, Any]:
    """Learn a program from ``{"examples": [[[inputs...], output], ...], "inputs": [[...], ...],
    "budget": seconds}`` and apply it to ``inputs``: ``{"outputs", "code"}``, off the server's
    threads in a child process (dataprep/isolated.py), a few at a time per user.

    Example:
        >>> body = {"examples": [[["Ada Lovelace"], "Lovelace"]], "inputs": [["Alan Turing"]]}
        >>> learn_column(body, user="ada")["outputs"]
        ['Turing']
    """
    from ..dataprep.isolated import learn_and_apply

    examples, inputs = payload.get("examples"), payload.get("inputs") or []
    if not isinstance(examples, list) or not examples or len(examples) > 100:
        raise InvalidInput('"examples" must be a list of 1 to 100 [[inputs...], output] pairs')
    pairs = []
    for ex in examples:
        ok = isinstance(ex, list) and len(ex) == 2 and isinstance(ex[0], list) and isinstance(ex[1], str)
        if not ok or not all(isinstance(v, str) for v in ex[0]):
            raise InvalidInput("each example is [[input strings...], output string]")
        pairs.append((ex[0], ex[1]))
    if not isinstance(inputs, list) or len(inputs) > 10_000:
        raise InvalidInput('"inputs" must be a list of at most 10,000 rows of strings')
    for row in inputs:
        if not isinstance(row, list) or not all(isinstance(v, str | None) for v in row):
            raise InvalidInput("each input row is a list of strings")
    return learn_and_apply(pairs, inputs, user=user, budget=payload.get("budget", 2.0))
