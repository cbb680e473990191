"""Reading runs back: search, get, best, compare."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import InvalidValue
from ..services import runs, search
from ..workspace import Workspace
from . import server_queries as remote
from .run import Run
from .uri import server_for, workspace_for

if TYPE_CHECKING:
    import pandas as pd

WorkspaceArg = Workspace | str | os.PathLike[str] | None


def search_runs(
    filter: str | None = None,
    experiments: str | list[str] | None = None,
    order_by: list[str] | str | None = None,
    max_results: int = 100_000,
    *,
    offset: int = 0,
    system_metrics: bool = False,
    workspace: WorkspaceArg = None,
) -> pd.DataFrame:
    """Runs matching an MLflow-style filter, as a DataFrame (one row per run).

    Columns: run_id, experiment, name, status, user, start_time, end_time, source_kind,
    source_path, compute_target, snapshot_id, parent_id, then ``metrics.*`` (latest values),
    ``params.*`` and ``tags.*``. The newest runs come first unless ``order_by`` says otherwise;
    ``offset`` skips that many matching runs first (a page further on). What the machine did
    (``metrics.system/...``, docs/jobs.md) is left out unless ``system_metrics`` is true; a filter
    or ``order_by`` can name it either way.

    Example:
        >>> aml.search_runs("metrics.acc > 0.9 and params.C = '0.5'", order_by=["metrics.acc DESC"])  # doctest: +SKIP
    """
    server = server_for(workspace)
    if server is not None:
        return remote.frame(remote.runs(server, filter, experiments, order_by, max_results, offset), system_metrics)
    ws = workspace_for(workspace)
    return search.frame(ws, search.query(ws, filter, experiments, order_by, max_results, offset), system_metrics)


def list_runs(
    filter: str | None = None,
    experiments: str | list[str] | None = None,
    order_by: list[str] | str | None = None,
    max_results: int = 100_000,
    *,
    offset: int = 0,
    workspace: WorkspaceArg = None,
) -> list[dict[str, Any]]:
    """:func:`search_runs` as plain dicts in a listing's JSON shape (``id``, times in epoch
    milliseconds, nested ``params``/``metrics``/``tags``), without pandas.

    Example:
        >>> [r["metrics"]["acc"] for r in aml.list_runs("metrics.acc > 0.9")]  # doctest: +SKIP
        [0.93, 0.91]
    """
    server = server_for(workspace)
    if server is not None:
        return remote.runs(server, filter, experiments, order_by, max_results, offset)
    ws = workspace_for(workspace)
    return search.runs(ws, search.query(ws, filter, experiments, order_by, max_results, offset))


def get_run(run_id: str, *, workspace: WorkspaceArg = None) -> Run:
    """A run by id (or a unique prefix of 4+ characters), to read. On a server it is a
    :class:`~aml_jupyter.tracking.remote.RemoteRunView`, with the same reading properties.

    Example:
        >>> aml.get_run(run.id).metric_history("loss")  # doctest: +SKIP
    """
    from . import fluent

    server = server_for(workspace)
    if server is not None:
        for active in list(fluent._stack):
            if getattr(active, "uri", None) == server.uri and active.id == run_id:
                return active
        view: Any = remote.get(server, run_id)  # read like a Run: the same properties
        return view  # type: ignore[no-any-return]
    ws = workspace_for(workspace)
    for active in list(fluent._stack):
        if getattr(getattr(active, "workspace", None), "root", None) == ws.root and active.id == run_id:
            return active
    return Run(ws, runs.get(ws, run_id))


def best_run(experiment: str, metric: str, goal: str = "max", *, workspace: WorkspaceArg = None) -> Run:
    """The completed run of ``experiment`` with the highest (``goal="max"``) or lowest latest ``metric``.

    Example:
        >>> aml.best_run("iris", metric="acc", goal="max").params  # doctest: +SKIP
        {'C': '0.5'}
    """
    server = server_for(workspace)
    if server is not None:
        view: Any = remote.best(server, experiment, metric, goal)  # read like a Run: the same properties
        return view  # type: ignore[no-any-return]
    ws = workspace_for(workspace)
    return Run(ws, search.best(ws, experiment, metric, goal))


def compare_runs(run_ids: list[str], *, system_metrics: bool = False, workspace: WorkspaceArg = None) -> pd.DataFrame:
    """Params and latest metrics of several runs side by side, the params that differ first.

    Rows are ``params.*`` then ``metrics.*`` (then, with ``system_metrics``, the machine's
    ``system/...``: peak memory, GPU memory...); columns are the runs' short ids; the ``differs``
    column says whether the values are not all equal.

    Example:
        >>> aml.compare_runs([a.id, b.id])  # doctest: +SKIP
    """
    import pandas as pd

    if isinstance(run_ids, str) or len(run_ids) < 1:
        raise InvalidValue("compare_runs needs a list of run ids")
    server = server_for(workspace)
    if server is not None:
        records: list[Any] = [remote.get(server, i) for i in run_ids]
    else:
        ws = workspace_for(workspace)
        records = [runs.get(ws, i) for i in run_ids]
    if len({r.id for r in records}) != len(records):
        raise InvalidValue("compare_runs got the same run twice")
    cols = [r.id[:8] if len({x.id[:8] for x in records}) == len(records) else r.id for r in records]
    rows: list[tuple[str, list[Any], bool]] = []
    blocks = [("params.", "params"), ("metrics.", "metrics")] + ([("", "system_metrics")] if system_metrics else [])
    for prefix, attr in blocks:
        keys = sorted({k for r in records for k in getattr(r, attr)})
        block = []
        for key in keys:
            values = [getattr(r, attr).get(key) for r in records]
            differs = len({repr(v) for v in values}) > 1
            block.append((prefix + key, values, differs))
        if prefix == "params.":
            block.sort(key=lambda row: not row[2])  # differing params first (stable)
        rows.extend(block)
    frame = pd.DataFrame([v for _, v, _ in rows], index=[k for k, _, _ in rows], columns=cols, dtype=object)
    frame["differs"] = [d for _, _, d in rows]
    return frame


def list_experiments(*, workspace: WorkspaceArg = None) -> list[dict[str, Any]]:
    """Every experiment with its run count and last run time.

    Example:
        >>> [e["name"] for e in aml.list_experiments()]  # doctest: +SKIP
        ['iris']
    """
    server = server_for(workspace)
    if server is not None:
        return remote.experiments(server)
    return workspace_for(workspace).store.list_experiments()


def delete_runs(run_ids: list[str], *, workspace: WorkspaceArg = None) -> list[str]:
    """Delete runs and what they logged; their files are removed by the next ``aml gc``.

    Example:
        >>> aml.delete_runs([run.id])  # doctest: +SKIP
    """
    server = server_for(workspace)
    if server is not None:
        return remote.delete(server, run_ids)
    return runs.delete(workspace_for(workspace), run_ids)
