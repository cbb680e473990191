"""A metric's series for people to look at: at most N points that keep its shape (the lowest and
highest of each slice), in step order, with NaN and infinities spelled out as JSON has them. What
the REST API serves and the widgets draw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..entities.records import json_number

if TYPE_CHECKING:
    from ..workspace import Workspace


def downsample(steps: Any, values: Any, max_points: int) -> Any:
    """Indices of at most ``max_points`` points that keep a series' shape: the lowest and the
    highest point of each of ``max_points // 2`` equal slices, in step order.

    Example:
        >>> import numpy as np
        >>> downsample(np.arange(10), np.array([0, 9, 1, 1, 1, 1, 1, 1, -5, 1.0]), 4).tolist()
        [0, 1, 5, 8]
    """
    import numpy as np

    n = len(values)
    if n <= max_points:
        return np.arange(n)
    buckets = max_points // 2
    width = -(-n // buckets)
    padded = np.full(buckets * width, np.nan)
    padded[:n] = values
    grid = padded.reshape(buckets, width)
    finite = np.isfinite(grid)
    low = np.where(finite, grid, np.inf).argmin(axis=1)
    high = np.where(finite, grid, -np.inf).argmax(axis=1)
    base = np.arange(buckets) * width
    picked = np.unique(np.concatenate([base + low, base + high]))
    return picked[picked < n]


def metric_series(ws: Workspace, run_id: str, key: str, max_points: int | None) -> dict[str, Any]:
    """A metric's points in step order, downsampled to at most ``max_points`` (None: every one).

    Example:
        >>> metric_series(ws, run_id, "loss", 1000)["points"]  # doctest: +SKIP
        1000000
    """
    import numpy as np

    from ..entities.validation import check_key

    record = ws.store.get_run(run_id)
    steps_a, values_a, times_a = ws.store.metric_history(record.pk, check_key(key))
    steps = np.frombuffer(steps_a, dtype=np.int64) if len(steps_a) else np.zeros(0, np.int64)
    values = np.frombuffer(values_a, dtype=np.float64) if len(values_a) else np.zeros(0)
    times = np.frombuffer(times_a, dtype=np.int64) if len(times_a) else np.zeros(0, np.int64)
    order = np.argsort(steps, kind="stable")
    steps, values, times = steps[order], values[order], times[order]
    keep = np.arange(len(values)) if max_points is None else downsample(steps, values, max_points)
    chosen = values[keep]
    shown: list[Any] = chosen.tolist()
    if not np.isfinite(chosen).all():  # JSON has no NaN or infinities: spelled out, as the API takes them
        shown = [json_number(v) for v in shown]
    return {
        "run_id": record.id,
        "key": key,
        "points": int(len(values)),
        "downsampled": bool(len(keep) < len(values)),
        "step": steps[keep].tolist(),
        "value": shown,
        "timestamp": times[keep].tolist(),
    }


MAX_SERIES_RUNS = 50


def metric_series_of_runs(ws: Workspace, run_ids: list[str], key: str, max_points: int) -> list[dict[str, Any]]:
    """One metric of several runs at once, each as :func:`metric_series` gives it (what a compare
    view draws in one request); a run that is not there comes back as ``{"run_id", "error"}``.

    Example:
        >>> [s["points"] for s in metric_series_of_runs(ws, [a, b], "loss", 1000)]  # doctest: +SKIP
        [10000, 10000]
    """
    from ..entities.validation import check_key
    from ..errors import InvalidInput, NotFound

    check_key(key)
    if not 1 <= len(run_ids) <= MAX_SERIES_RUNS:
        raise InvalidInput(f"name from 1 to {MAX_SERIES_RUNS} runs (run=ID, repeated)")
    out: list[dict[str, Any]] = []
    for run_id in run_ids:
        try:
            out.append(metric_series(ws, run_id, key, max_points))
        except NotFound as exc:
            out.append({"run_id": run_id, "key": key, "error": str(exc)})
    return out
