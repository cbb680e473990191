"""Plain records read from the store, and the encoding of metric values that round-trips exactly."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

PLAIN, NAN, NEG_ZERO = 0, 1, 2


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

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (NaN and infinities as strings, since JSON has none).

        Example:
            >>> r = RunRecord(1, "a", 1, "e", "n", "completed", None, 0, None, None, "python",
            ...               None, "u", "local", None, None, None, None, None, metrics={"x": float("nan")})
            >>> r.to_dict()["metrics"]
            {'x': 'NaN'}
        """
        out = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("pk", "artifacts")}
        out["metrics"] = {k: json_number(v) for k, v in self.metrics.items()}
        out["artifacts"] = [a.__dict__ for a in self.artifacts]
        return out


@dataclass(frozen=True)
class ArtifactRecord:
    """A run's artifact: its logical name and the content it points to."""

    name: str
    digest: str
    size: int
    media_type: str
    created_at: int


def json_number(v: float) -> float | str:
    """A float for JSON: finite values as they are, NaN/inf/-0.0 spelled out as strings.

    Example:
        >>> json_number(float("inf")), json_number(-0.0), json_number(2.0)
        ('Infinity', '-0.0', 2.0)
    """
    if v != v:
        return "NaN"
    if math.isinf(v):
        return "Infinity" if v > 0 else "-Infinity"
    if v == 0.0 and math.copysign(1.0, v) < 0:
        return "-0.0"
    return v
