"""Finding runs, for every surface: searches by the filter grammar, pages with tokens that belong
to one query, and the best run of an experiment. The SDK (``aml.search_runs``, ``aml.list_runs``,
``aml.best_run``), the CLI (``aml runs list``), ``GET /api/v1/runs`` and the widgets come here;
metric series for charts are :mod:`aml_jupyter.services.downsample`'s.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import TYPE_CHECKING, Any

from ..entities.query import DEFAULT_MAX_RESULTS, RunQuery, order_terms
from ..entities.validation import check_key, check_name
from ..errors import InvalidInput, RunNotFound
from ..sysmetrics import PREFIX
from . import liveness

if TYPE_CHECKING:
    import pandas as pd

    from ..entities.records import RunRecord
    from ..workspace import Workspace


def experiment_ids(ws: Workspace, experiments: str | list[str] | None) -> list[int] | None:
    """The ids of experiments named by the caller (None: all of them); an unknown name is refused.

    Example:
        >>> experiment_ids(ws, ["iris"])  # doctest: +SKIP
        [1]
    """
    if experiments is None:
        return None
    names = [experiments] if isinstance(experiments, str) else list(experiments)
    return [ws.store.experiment_id(check_name(n, "experiment name")) for n in names]


def query(
    ws: Workspace,
    filter: str | None = None,
    experiments: str | list[str] | None = None,
    order_by: list[str] | str | None = None,
    max_results: int = DEFAULT_MAX_RESULTS,
    offset: int = 0,
) -> RunQuery:
    """A surface's search parameters as one :class:`~aml_jupyter.entities.query.RunQuery`, the
    experiments' names checked and turned into ids.

    Example:
        >>> query(ws, "metrics.acc > 0.9", experiments="iris", max_results=10).experiment_ids  # doctest: +SKIP
        (1,)
    """
    ids = experiment_ids(ws, experiments)
    return RunQuery(filter, tuple(ids) if ids is not None else None, order_terms(order_by), max_results, offset)


def runs(ws: Workspace, q: RunQuery | None = None) -> list[dict[str, Any]]:
    """Matching runs in listings' JSON shape, newest first unless the query orders them otherwise.

    Example:
        >>> [r["id"] for r in runs(ws, query(ws, "metrics.acc > 0.9", max_results=10))]  # doctest: +SKIP
        ['4f1c...']
    """
    liveness.sweep(ws)
    return ws.store.search(q or RunQuery())


def frame(ws: Workspace, q: RunQuery | None = None, system: bool = False) -> pd.DataFrame:
    """:func:`runs` as a DataFrame, one row per run, ``params.*``/``metrics.*``/``tags.*`` columns;
    the machine's ``metrics.system/...`` columns only when ``system`` is true.

    Example:
        >>> frame(ws, query(ws, "params.C = '0.5'")).shape  # doctest: +SKIP
        (3, 17)
    """
    liveness.sweep(ws)
    result: pd.DataFrame = ws.store.search_frame(q or RunQuery())
    if not system:
        result = result[[c for c in result.columns if not str(c).startswith("metrics." + PREFIX)]]
    return result


def best(ws: Workspace, experiment: str, metric: str, goal: str = "max") -> RunRecord:
    """The completed run of ``experiment`` with the highest (or, ``goal="min"``, lowest) latest
    ``metric``; NaN never wins. None has a value: :class:`~aml_jupyter.errors.RunNotFound`.

    Example:
        >>> best(ws, "iris", "acc").params  # doctest: +SKIP
        {'C': '0.5'}
    """
    store = ws.store
    liveness.sweep(ws)
    pk = store.best_run_pk(store.experiment_id(check_name(experiment, "experiment name")), check_key(metric), goal)
    if pk is None:
        raise RunNotFound(
            f"no completed run of {experiment!r} has a value for metric {metric!r}",
            experiment=experiment,
            metric=metric,
        )
    return store.runs_by_pk([pk])[0]


def page(ws: Workspace, query: dict[str, list[str]], cap: int) -> dict[str, Any]:
    """One page of runs from a query string's values: ``filter``, ``experiment`` (repeatable),
    ``order_by`` (repeatable), ``max_results`` (capped at ``cap``) and ``page_token`` from the
    previous page; a token only serves the query it was made for. ``offset`` (instead of a token)
    starts the page at that match, as a scrolled table asks; ``count=true`` adds ``total``, the
    number of matching runs.

    Example:
        >>> page(ws, {"filter": ["metrics.acc > 0.9"], "max_results": ["2"]}, 1000)  # doctest: +SKIP
        {'runs': [{...}, {...}], 'next_page_token': 'eyJvIjogMiwg...'}
    """
    filter = (query.get("filter") or [""])[0] or None
    experiments = query.get("experiment") or None
    order_by = query.get("order_by") or None
    wanted = whole_number((query.get("max_results") or ["100"])[0], "max_results")
    if wanted < 1:
        raise InvalidInput("max_results must be at least 1")
    size = min(wanted, cap)
    digest = _query_digest(filter, experiments, order_by)
    token = (query.get("page_token") or [""])[0]
    if query.get("offset"):
        if token:
            raise InvalidInput("give page_token or offset, not both")
        offset = whole_number(query["offset"][0], "offset")
        if not 0 <= offset <= 10**9:
            raise InvalidInput("offset must be from 0 to 1,000,000,000")
    else:
        offset = _offset(token, digest)
    count = (query.get("count") or ["false"])[0].lower()
    if count not in ("true", "false", "1", "0"):
        raise InvalidInput("count must be true or false")
    ids = tuple(ws.store.experiment_id(name) for name in experiments) if experiments else None
    q = RunQuery(filter, ids, order_terms(order_by), size + 1, offset)
    liveness.sweep(ws)
    found = ws.store.search(q)
    next_token = None
    if len(found) > size:
        next_token = (
            base64.urlsafe_b64encode(json.dumps({"o": offset + size, "q": digest}).encode()).decode().rstrip("=")
        )
    out: dict[str, Any] = {"runs": found[:size], "next_page_token": next_token}
    if count in ("true", "1"):
        out["total"] = ws.store.count_runs(q)
    return out


def keys(ws: Workspace, experiments: list[str] | None) -> dict[str, list[str]]:
    """The param, metric and tag keys the runs of these experiments hold (all runs' when None):
    what a filter can name and a table can show as columns. The machine's metrics (``system/...``)
    are listed apart, as ``system_metrics``.

    Example:
        >>> keys(ws, ["iris"])  # doctest: +SKIP
        {'params': ['C'], 'metrics': ['acc'], 'tags': ['aml.source'], 'system_metrics': ['system/...']}
    """
    found = ws.store.run_keys(experiment_ids(ws, experiments))
    metrics = found.get("metrics", [])
    return {
        **found,
        "metrics": [k for k in metrics if not k.startswith(PREFIX)],
        "system_metrics": [k for k in metrics if k.startswith(PREFIX)],
    }


def unknown_names(ws: Workspace, filter: str | None, experiments: list[str] | None) -> list[str]:
    """What a filter names that no run of these experiments has (``metrics.acx``), each with the
    nearest names that exist: why a search found nothing, said rather than an empty table.

    Example:
        >>> unknown_names(ws, "metrics.acx > 0.9", None)  # doctest: +SKIP
        ["no run has a metric 'acx' (did you mean 'acc'?)"]
    """
    from ..entities.filter import parse_filter
    from ..errors import did_you_mean

    known = keys(ws, experiments)
    said = []
    for clause in parse_filter(filter):
        plural = {"metric": "metrics", "param": "params", "tag": "tags"}.get(clause.entity)
        if plural is None or clause.key in known.get(plural, []):
            continue
        said.append(f"no run has a {clause.entity} {clause.key!r}{did_you_mean(clause.key, known.get(plural, []))}")
    return said


def groups(ws: Workspace, query: dict[str, list[str]]) -> dict[str, Any]:
    """Matching runs grouped by ``by`` (``params.KEY`` or ``tags.KEY``), each group with its count
    and the best latest value of ``metric`` (``goal`` max or min), from a query string's values.

    Example:
        >>> groups(ws, {"by": ["params.lr"], "metric": ["acc"]})  # doctest: +SKIP
        {'by': 'params.lr', 'metric': 'acc', 'goal': 'max', 'groups': [{'value': '0.01', 'count': 4, 'best': 0.9}]}
    """
    by = (query.get("by") or [""])[0]
    if not by:
        raise InvalidInput('"by" is required: params.KEY or tags.KEY')
    metric = (query.get("metric") or [""])[0] or None
    if metric is not None:
        check_key(metric)
    goal = (query.get("goal") or ["max"])[0]
    filter = (query.get("filter") or [""])[0] or None
    ids = experiment_ids(ws, query.get("experiment") or None)
    found = ws.store.group_runs(filter, ids, by, metric, goal)
    return {"by": by, "metric": metric, "goal": goal, "groups": found}


def whole_number(text: str, name: str) -> int:
    """A query string's value as an int, or a clear refusal naming it.

    Example:
        >>> whole_number("20", "offset")
        20
    """
    try:
        return int(text)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number") from None


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
