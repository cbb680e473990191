"""Reading runs back from a server (``aml login``, :func:`~aml_jupyter.tracking.uri.set_tracking_uri`):
what :mod:`.queries` does on a workspace, over the REST API, in the same shapes.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..entities.records import SPELLED, SUMMARY_KEYS
from ..errors import RunNotFound
from ..sysmetrics import PREFIX
from .remote import RemoteRunView

if TYPE_CHECKING:
    import pandas as pd

    from ..store.http import ServerClient

PAGE = 1000  # the server's largest page
SUMMARY = SUMMARY_KEYS[1:]  # a listing's keys after its id, as a frame's columns after run_id


def runs(
    server: ServerClient,
    filter: str | None,
    experiments: str | list[str] | None,
    order_by: list[str] | str | None,
    max_results: int,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Runs matching ``filter`` in their listing's JSON shape, fetched a page at a time.

    Example:
        >>> [r["id"] for r in runs(server, "metrics.acc > 0.9", None, None, 10)]  # doctest: +SKIP
        ['1a2b...', '3c4d...']
    """
    query: dict[str, Any] = {}
    if filter:
        query["filter"] = filter
    if experiments:
        query["experiment"] = [experiments] if isinstance(experiments, str) else list(experiments)
    if order_by:
        query["order_by"] = [order_by] if isinstance(order_by, str) else list(order_by)
    found: list[dict[str, Any]] = []
    start = offset
    while len(found) < max_results:
        size = min(PAGE, max_results - len(found))
        page = server.request("GET", "/runs", query={**query, "max_results": str(size), "offset": str(start)})
        found.extend(page["runs"])
        start += len(page["runs"])
        if not page.get("next_page_token") or not page["runs"]:
            break
    return found


def frame(listings: list[dict[str, Any]], system: bool = False) -> pd.DataFrame:
    """Listings as the DataFrame a workspace's search gives: the same columns, order and types.

    Example:
        >>> frame(runs(server, None, "iris", None, 100)).columns[:2].tolist()  # doctest: +SKIP
        ['run_id', 'experiment']
    """
    import numpy as np
    import pandas as pd

    n = len(listings)
    data: dict[str, Any] = {"run_id": [r["id"] for r in listings]}
    for col in SUMMARY:
        data[col] = [r.get(col) for r in listings]
    for col in ("start_time", "end_time"):
        data[col] = pd.to_datetime(pd.Series(data[col], dtype="float64"), unit="ms", utc=True)
    metrics: dict[str, Any] = {}
    texts: dict[str, list[Any]] = {}
    for i, r in enumerate(listings):
        values = {**r.get("metrics", {}), **(r.get("system_metrics", {}) if system else {})}
        for key, v in values.items():
            column = metrics.setdefault(key, np.full(n, np.nan))
            column[i] = SPELLED.get(v, math.nan) if isinstance(v, str) else v
        for prefix in ("params", "tags"):
            for key, v in r.get(prefix, {}).items():
                texts.setdefault(f"{prefix}.{key}", [None] * n)[i] = v
    for key in sorted(metrics):
        if system or not key.startswith(PREFIX):
            data["metrics." + key] = metrics[key]
    for key in sorted(texts):
        data[key] = texts[key]
    return pd.DataFrame(data)


def get(server: ServerClient, run_id: str) -> RemoteRunView:
    """One run by id or unique prefix, to read.

    Example:
        >>> get(server, "1a2b3c4d").status  # doctest: +SKIP
        'completed'
    """
    record = server.request("GET", f"/runs/{quote(run_id)}")
    return RemoteRunView(server.uri, record["id"], server.token, record)


def best(server: ServerClient, experiment: str, metric: str, goal: str = "max") -> RemoteRunView:
    """The completed run of ``experiment`` with the best latest ``metric`` (NaN never wins).

    Example:
        >>> best(server, "iris", "acc").params  # doctest: +SKIP
        {'C': '0.5'}
    """
    from ..entities.validation import check_key

    check_key(metric)
    if goal not in ("max", "min"):
        from ..errors import InvalidValue

        raise InvalidValue(f"goal is 'max' or 'min', not {goal!r}")
    order = f"metrics.`{metric}` {'DESC' if goal == 'max' else 'ASC'}"
    offset = 0
    while True:
        page = runs(server, "attributes.status = 'completed'", experiment, [order], PAGE, offset)
        for r in page:
            v = r["metrics"].get(metric)
            if isinstance(v, int | float) and not math.isnan(v):
                return get(server, r["id"])
            if isinstance(v, str) and v != "NaN":  # an infinity, spelled out in JSON
                return get(server, r["id"])
        if len(page) < PAGE:
            break
        offset += PAGE
    raise RunNotFound(
        f"no completed run of {experiment!r} has a value for metric {metric!r}", experiment=experiment, metric=metric
    )


def experiments(server: ServerClient) -> list[dict[str, Any]]:
    """Every experiment with its run count and last run time.

    Example:
        >>> [e["name"] for e in experiments(server)]  # doctest: +SKIP
        ['iris']
    """
    found: list[dict[str, Any]] = server.request("GET", "/experiments")["experiments"]
    return found


def delete(server: ServerClient, run_ids: list[str]) -> list[str]:
    """Delete ended runs (the server's admins may); their ids.

    Example:
        >>> delete(server, ["1a2b3c4d"])  # doctest: +SKIP
        ['1a2b3c4d...']
    """
    gone: list[str] = []
    for run_id in run_ids:
        gone.extend(server.request("DELETE", f"/runs/{quote(run_id)}")["deleted"])
    return gone
