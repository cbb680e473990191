"""Metric series as packed arrays: what the batch API hands the writer and the store keeps.

A :class:`Series` is points of one run and key as three ``array`` columns (int64 steps,
float64 values, int64 millisecond timestamps). Packing with ``array`` keeps a million points
in C memory and turns them into bytes without a Python loop.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..errors import InvalidValue
from .validation import MAX_EXACT_INT, MAX_STEP, MAX_TIMESTAMP_MS, check_metric_value, check_step, check_timestamp

_BIG_ENDIAN = sys.byteorder == "big"


@dataclass
class Series:
    """Points of one metric of one run, in logging order."""

    run_pk: int
    key: str
    steps: array[int]
    values: array[float]
    times: array[int]

    def __len__(self) -> int:
        return len(self.values)


def to_le_bytes(arr: array[Any]) -> bytes:
    """The array's items as little-endian bytes (the stored form on every machine).

    Example:
        >>> to_le_bytes(array("q", [1]))
        b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00'
    """
    if _BIG_ENDIAN:
        arr = array(arr.typecode, arr)
        arr.byteswap()
    return arr.tobytes()


def from_le_bytes(typecode: str, data: bytes) -> array[Any]:
    """The inverse of :func:`to_le_bytes`.

    Example:
        >>> from_le_bytes("d", to_le_bytes(array("d", [-0.0]))).tolist()
        [-0.0]
    """
    arr = array(typecode)
    arr.frombytes(data)
    if _BIG_ENDIAN:
        arr.byteswap()
    return arr


def pack_values(values: Any, key: str) -> array[float]:
    """Check and pack metric values; numpy float and small-int arrays skip the per-item check.

    Example:
        >>> pack_values([1, 2.5], "x").tolist()
        [1.0, 2.5]
    """
    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(values, "ndim", 1) == 1:
        if dtype.kind == "f":
            return _from_buffer("d", values.astype("=f8", copy=False))
        if dtype.kind in "iu" and (
            len(values) == 0 or (abs(int(values.max())) <= MAX_EXACT_INT and abs(int(values.min())) <= MAX_EXACT_INT)
        ):
            return _from_buffer("d", values.astype("=f8"))
    items = values.tolist() if dtype is not None else list(values)
    if all(type(v) is float for v in items):
        return array("d", items)
    return array("d", [check_metric_value(v, key) for v in items])


def pack_steps(steps: Any, n: int, first: int, key: str) -> array[int]:
    """Check and pack steps; None numbers them from ``first``.

    Example:
        >>> pack_steps(None, 3, 5, "x").tolist()
        [5, 6, 7]
    """
    if steps is None:
        if first + n - 1 > MAX_STEP:
            raise InvalidValue(f"steps of {key!r} would pass 2**63", key=key)
        return array("q", range(first, first + n))
    dtype = getattr(steps, "dtype", None)
    if dtype is not None and dtype.kind in "iu" and getattr(steps, "ndim", 1) == 1:
        if len(steps) and (int(steps.min()) < 0 or int(steps.max()) > MAX_STEP):
            raise InvalidValue(f"steps of {key!r} must be in [0, 2**63)", key=key)
        packed = _from_buffer("q", steps.astype("=i8"))
    else:
        items = steps.tolist() if dtype is not None else list(steps)
        if all(type(s) is int for s in items) and (not items or (min(items) >= 0 and max(items) <= MAX_STEP)):
            packed = array("q", items)
        else:
            packed = array("q", [check_step(s, key) for s in items])
    if len(packed) != n:
        raise InvalidValue(f"{key!r}: {n} values but {len(packed)} steps", key=key)
    return packed


def pack_times(times: Iterable[Any] | None, n: int, now_ms: int, key: str) -> array[int]:
    """Check and pack timestamps (ms); None stamps every point with ``now_ms``.

    Example:
        >>> pack_times(None, 2, 7, "x").tolist()
        [7, 7]
    """
    if times is None:
        return array("q", [now_ms]) * n
    items = times.tolist() if hasattr(times, "tolist") else list(times)
    if all(type(t) is int for t in items) and (not items or (min(items) >= 0 and max(items) <= MAX_TIMESTAMP_MS)):
        packed = array("q", items)  # the common case, checked in three passes of C
    else:
        packed = array("q", [check_timestamp(t) for t in items])
    if len(packed) != n:
        raise InvalidValue(f"{key!r}: {n} values but {len(packed)} timestamps", key=key)
    return packed


def _from_buffer(typecode: str, np_array: Any) -> array[Any]:
    arr = array(typecode)
    arr.frombytes(np_array.tobytes())
    return arr


def latest_index(steps: array[int]) -> int:
    """Index of the point that is the series' latest: the highest step, the last one logged on a tie.

    Example:
        >>> latest_index(array("q", [0, 5, 2, 5, 1]))
        3
    """
    top = max(steps)
    if steps[-1] == top:
        return len(steps) - 1
    return len(steps) - 1 - steps[::-1].index(top)
