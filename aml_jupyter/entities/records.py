"""Plain records read from the store, and the encoding of metric values that round-trips exactly."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ..sysmetrics import is_system

PLAIN, NAN, NEG_ZERO = 0, 1, 2
V = TypeVar("V")


def split_system(metrics: dict[str, V]) -> tuple[dict[str, V], dict[str, V]]:
    """The user's metrics and the machine's (``system/...``, sysmetrics.py), kept apart in every
    record and listing so that comparisons see the user's alone unless they ask.

    Example:
        >>> split_system({"loss": 0.5, "system/cpu_utilization_percentage": 12.0})
        ({'loss': 0.5}, {'system/cpu_utilization_percentage': 12.0})
    """
    if not any(is_system(k) for k in metrics):
        return metrics, {}
    return {k: v for k, v in metrics.items() if not is_system(k)}, {k: v for k, v in metrics.items() if is_system(k)}


def encode_value(v: float) -> tuple[float | None, int]:
    """Split a float into the (value, special) pair stored in the metric tables.

    Example:
        >>> encode_value(float("nan")), encode_value(-0.0), encode_value(1.5)
        ((None, 1), (0.0, 2), (1.5, 0))
    """
    if v != v:
        return None, NAN
    if v == 0.0 and math.copysign(1.0, v) < 0:
        return 0.0, NEG_ZERO
    return v, PLAIN


def decode_value(value: float | None, special: int) -> float:
    """The inverse of :func:`encode_value`.

    Example:
        >>> import math; math.copysign(1, decode_value(0.0, 2))
        -1.0
    """
    if special == NAN:
        return math.nan
    if special == NEG_ZERO:
        return -0.0
    return float(value) if value is not None else math.nan


@dataclass(frozen=True)
class RunRecord:
    """One run as stored: its attributes, params, latest metrics, tags and artifacts."""

    pk: int
    id: str
    experiment_id: int
    experiment: str
    name: str
    status: str
    parent_id: str | None
    start_time: int
    end_time: int | None
    heartbeat_at: int | None
    source_kind: str
    source_path: str | None
    user: str
    compute_target: str
    snapshot_id: str | None
    git: dict[str, Any] | None
    environment_hash: str | None
    error: str | None
    error_traceback: str | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    artifacts: list[ArtifactRecord] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    system_metrics: dict[str, float] = field(default_factory=dict)  # CPU, memory, GPU... (sysmetrics.py)

    def __post_init__(self) -> None:
        mine, machine = split_system(self.metrics)
        if machine:  # a store reads every metric alike; the record keeps the machine's apart
            object.__setattr__(self, "metrics", mine)
            object.__setattr__(self, "system_metrics", {**self.system_metrics, **machine})

    def to_dict(self, environment: dict[str, Any] | None = None) -> dict[str, Any]:
        """The run's one JSON shape (docs/guide.md, "JSON shapes"): the keys of a listing
        (:data:`SUMMARY_KEYS`, then params, metrics and tags as objects), then the details.
        Times are epoch milliseconds; NaN and infinities are strings, since JSON has none.

        Example:
            >>> r = RunRecord(1, "a", 1, "e", "n", "completed", None, 0, None, None, "python",
            ...               None, "u", "local", None, None, None, None, None, metrics={"x": float("nan")})
            >>> r.to_dict()["metrics"], list(r.to_dict())[:2]
            ({'x': 'NaN'}, ['id', 'experiment'])
        """
        out = {k: getattr(self, k) for k in SUMMARY_KEYS}
        out.update(params=dict(self.params), metrics={k: json_number(v) for k, v in self.metrics.items()})
        out["system_metrics"] = {k: json_number(v) for k, v in self.system_metrics.items()}
        out["tags"] = dict(self.tags)
        for k in ("experiment_id", "heartbeat_at", "git", "environment_hash", "error", "error_traceback", "inputs"):
            out[k] = getattr(self, k)
        out["artifacts"] = [a.__dict__ for a in self.artifacts]
        out["environment"] = environment
        return out


# The keys of a run in every listing (CLI --json, REST pages), in this order; a run's full shape
# (RunRecord.to_dict) starts with them too.
SUMMARY_KEYS = (
    "id",
    "experiment",
    "name",
    "status",
    "user",
    "start_time",
    "end_time",
    "source_kind",
    "source_path",
    "compute_target",
    "snapshot_id",
    "parent_id",
)


def run_summary(row: dict[str, Any]) -> dict[str, Any]:
    """A run in a listing, from a row of ``search_runs``' frame (whose columns are MLflow's:
    ``run_id``, times as timestamps, ``metrics.acc``...): the same keys and types as
    :meth:`RunRecord.to_dict` begins with, params, metrics and tags holding only what it has.

    A frame's empty cell cannot tell a metric logged as NaN from one never logged: a listing
    leaves both out (the run's own shape keeps a logged NaN).

    Example:
        >>> run_summary({"run_id": "ab", "start_time": None, "metrics.acc": 0.5, "params.C": None})["metrics"]
        {'acc': 0.5}
    """
    out: dict[str, Any] = {k: None for k in SUMMARY_KEYS}
    nested: dict[str, dict[str, Any]] = {"params": {}, "metrics": {}, "tags": {}}
    for col, value in row.items():
        missing = value is None or (isinstance(value, float) and value != value)
        prefix, _, key = col.partition(".")
        if key and prefix in nested:
            if not missing:
                nested[prefix][key] = json_number(value) if prefix == "metrics" else value
            continue
        name = "id" if col == "run_id" else col
        out[name] = _epoch_ms(value) if name in ("start_time", "end_time") else (None if missing else value)
    mine, machine = split_system(nested["metrics"])
    return {**out, "params": nested["params"], "metrics": mine, "system_metrics": machine, "tags": nested["tags"]}


def _epoch_ms(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    if hasattr(value, "value"):  # a pandas Timestamp (NaT has none that counts)
        import pandas as pd

        return None if pd.isna(value) else int(value.value // 1_000_000)
    return int(value)


@dataclass(frozen=True)
class ArtifactRecord:
    """A run's artifact: its logical name and the content it points to."""

    name: str
    digest: str
    size: int
    media_type: str
    created_at: int


# JSON has no NaN or infinities: every surface spells them so, and reads them back (the one encoder).
SPELLED: dict[str, float] = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def json_number(v: float) -> float | str:
    """A float for JSON: finite values as they are (-0.0 too: JSON keeps its sign), NaN and the
    infinities spelled out as strings.

    Example:
        >>> json_number(float("inf")), json_number(float("nan")), json_number(2.0)
        ('Infinity', 'NaN', 2.0)
    """
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    return v


def number_from_json(raw: object) -> object:
    """What :func:`json_number` wrote, read back: a spelled-out NaN or infinity as the float; any
    other value as it is (for the validators to judge).

    Example:
        >>> number_from_json("-Infinity"), number_from_json(1.5), number_from_json("x")
        (-inf, 1.5, 'x')
    """
    return SPELLED[raw] if isinstance(raw, str) and raw in SPELLED else raw


def to_jsonable(value: Any) -> Any:
    """Make ``value`` JSON-safe: NaN/inf as strings, datetimes as ISO text, numpy scalars as Python.

    Example:
        >>> to_jsonable({"a": float("nan"), "b": [1.5]})
        {'a': 'NaN', 'b': [1.5]}
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return json_number(value)
    if isinstance(value, dt.datetime):
        return None if value != value else value.isoformat()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return to_jsonable(value.item())
    if value is not None and type(value).__name__ == "NaTType":
        return None
    return value
