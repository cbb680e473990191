"""What the REST API's handlers read and write beyond a single run: targets, runs created over
HTTP, dataset previews and by-example learning (pages of runs: :mod:`aml_jupyter.services.search`;
roles and the audit log: :mod:`aml_jupyter.services.access`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import InvalidInput

if TYPE_CHECKING:
    from ..workspace import Workspace


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


def create_run(ws: Workspace, payload: dict[str, Any], user: str, token_id: str | None = None) -> dict[str, Any]:
    """Create a running run from ``{"experiment", "name"?, "params"?, "tags"?}``; its client then
    logs to it, sends heartbeats and ends it (``/transition``), as a remote job does.

    Example:
        >>> create_run(ws, {"experiment": "iris", "params": {"lr": 0.1}}, "alice")["status"]  # doctest: +SKIP
        'running'
    """
    from ..services import runs

    experiment = payload.get("experiment")
    if not isinstance(experiment, str):
        raise InvalidInput('"experiment" (a name) is required')
    params = runs.client_values(payload.get("params") or {}, "params")
    tags = runs.client_tags(payload.get("tags") or {}, job_of_run=False)
    if token_id:  # which token wrote it: revoking that token ends this run, not its user's others
        tags = {**tags, runs.TOKEN_TAG: token_id}
    # The client's project and environment are not the server's: nothing to snapshot or capture here.
    spec = runs.RunSpec(
        experiment,
        name=payload.get("name"),
        params=params,
        tags=tags,
        source_kind="api",
        user=user,
        reuse=runs.Prepared(),
    )
    record = runs.create(ws, spec)
    return record.to_dict()


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
