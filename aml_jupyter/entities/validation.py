"""Checks on what users log: keys, metric values, steps, params, tags and names.

Every check raises an :class:`~aml_jupyter.errors.InvalidInput` subclass that names the bad input;
nothing reaches the store before its check passes. Keys are NFC-normalised, so ``é`` and
``e\\u0301`` are the same key.
"""

from __future__ import annotations

import math
import numbers
import re
import unicodedata
from typing import Any

from ..errors import InvalidKey, InvalidName, InvalidValue

MAX_KEY_CHARS = 250
MAX_STEP = 2**63 - 1
# Integers beyond this may not survive the trip through a double; we refuse them rather than round.
MAX_EXACT_INT = 2**53
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u202a-\u202e\u2066-\u2069\u200b-\u200f\ufeff]")
_SECRET_WORDS = ("password", "passwd", "token", "secret", "api_key", "apikey", "credential")
REDACTED = "***redacted***"

_valid_keys: set[str] = set()


def check_key(key: object, what: str = "key") -> str:
    """Return the NFC form of a metric/param/tag key, or raise InvalidKey.

    Example:
        >>> check_key("val/acc")
        'val/acc'
        >>> check_key("a..b")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidKey: key 'a..b' must not contain '..'
    """
    if type(key) is str and key in _valid_keys:
        return key
    if not isinstance(key, str):
        raise InvalidKey(f"{what} must be a string, not {type(key).__name__}", key=repr(key))
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidKey(f"{what} {key!r} is not valid Unicode", key=repr(key)) from None
    normal = unicodedata.normalize("NFC", key)
    if not normal.strip():
        raise InvalidKey(f"{what} must not be empty", key=key)
    if len(normal) > MAX_KEY_CHARS:
        raise InvalidKey(f"{what} is longer than {MAX_KEY_CHARS} characters", key=key[:40] + "...")
    if _CONTROL.search(normal):
        raise InvalidKey(f"{what} {key!r} contains a control or invisible character", key=key)
    if ".." in normal:
        raise InvalidKey(f"{what} {key!r} must not contain '..'", key=key)
    if normal.startswith("/") or normal != normal.strip():
        raise InvalidKey(f"{what} {key!r} must not start with '/' or with/end in spaces", key=key)
    if len(_valid_keys) < 100_000:
        _valid_keys.add(normal)
    return normal


def check_metric_value(value: object, key: str = "") -> float:
    """Return ``value`` as a float, or raise InvalidValue for anything that is not a real number.

    Floats (NaN and infinities included), ints that a double holds exactly, and numpy real scalars
    pass; bools, strings, None, Decimal, complex and arrays do not.

    Example:
        >>> check_metric_value(3)
        3.0
        >>> check_metric_value(True)
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: metric '' must be a real number, not bool
    """
    kind = type(value)
    if kind is float:
        return value  # type: ignore[return-value]
    if kind is int:
        if -MAX_EXACT_INT <= value <= MAX_EXACT_INT:  # type: ignore[operator]
            return float(value)  # type: ignore[arg-type]
        return _big_int(value, key)  # type: ignore[arg-type]
    if isinstance(value, bool) or kind.__name__ in ("bool_", "bool"):
        raise InvalidValue(f"metric {key!r} must be a real number, not bool", key=key)
    if isinstance(value, numbers.Integral):
        return _big_int(int(value), key)
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Rational):
        return float(value)
    raise InvalidValue(f"metric {key!r} must be a real number, not {kind.__name__}", key=key)


def _big_int(value: int, key: str) -> float:
    try:
        as_float = float(value)
    except OverflowError:
        raise InvalidValue(f"metric {key!r}: {value} is too large for a double", key=key) from None
    if int(as_float) != value:
        raise InvalidValue(f"metric {key!r}: {value} cannot be stored exactly as a double", key=key)
    return as_float


def check_step(step: object, key: str = "") -> int:
    """Return a step as an int in [0, 2**63), or raise InvalidValue.

    Example:
        >>> check_step(2**31)
        2147483648
    """
    if type(step) is int and 0 <= step <= MAX_STEP:
        return step
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise InvalidValue(f"step of {key!r} must be an integer, not {type(step).__name__}", key=key)
    as_int = int(step)
    if not 0 <= as_int <= MAX_STEP:
        raise InvalidValue(f"step of {key!r} must be in [0, 2**63), got {as_int}", key=key)
    return as_int


MAX_TIMESTAMP_MS = 7_258_118_400_000  # 2200-01-01


def check_timestamp(ts: object) -> int:
    """Return a timestamp in milliseconds, checking it lies between 1970 and 2200.

    Example:
        >>> check_timestamp(1_700_000_000_000)
        1700000000000
    """
    if type(ts) is int and 0 <= ts <= MAX_TIMESTAMP_MS:
        return ts
    if isinstance(ts, bool) or not isinstance(ts, numbers.Real) or not math.isfinite(float(ts)):
        raise InvalidValue(f"timestamp must be a finite number of milliseconds, got {ts!r}")
    value = int(float(ts))
    if not 0 <= value <= MAX_TIMESTAMP_MS:
        raise InvalidValue(f"timestamp {value} ms is outside 1970..2200")
    return value


MAX_KEYS_PER_CALL = 10_000  # params, tags or metrics named in one call
MAX_POINTS_PER_BATCH = 100_000  # metric points in one REST batch


def check_count(items: Any, what: str, limit: int = MAX_KEYS_PER_CALL) -> Any:
    """``items`` if it holds at most ``limit`` entries, checked before any entry is looked at.

    Example:
        >>> check_count({"a": 1}, "params")
        {'a': 1}
        >>> check_count(range(20_000), "params")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidValue: 20,000 params in one call; at most 10,000 (split them, or log a table)
    """
    n = len(items)
    if n > limit:
        raise InvalidValue(f"{n:,} {what} in one call; at most {limit:,} (split them, or log a table)")
    return items


def param_to_str(key: str, value: Any, max_length: int) -> str:
    """Params are stored as text (the MLflow convention); secrets are redacted; long ones refused.

    Example:
        >>> param_to_str("C", 0.5, 100), param_to_str("db_password", "hunter2", 100)
        ('0.5', '***redacted***')
    """
    if is_secret_key(key):
        return REDACTED
    text = value if isinstance(value, str) else str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(f"param {key!r} is not valid Unicode", key=key) from None
    if len(text) > max_length:
        raise InvalidValue(f"param {key!r} is {len(text)} characters long; the limit is {max_length}", key=key)
    if "\x00" in text:
        raise InvalidValue(f"param {key!r} contains a NUL character", key=key)
    return text


def is_secret_key(key: str) -> bool:
    """Whether a param or tag name looks like it holds a secret.

    Example:
        >>> is_secret_key("GITHUB_TOKEN"), is_secret_key("lr")
        (True, False)
    """
    lower = key.lower()
    return any(word in lower for word in _SECRET_WORDS)


def check_name(name: object, what: str = "name") -> str:
    """An experiment or run name: 1-250 printable characters, NFC, no surrounding spaces.

    Example:
        >>> check_name("iris")
        'iris'
    """
    if not isinstance(name, str):
        raise InvalidName(f"{what} must be a string, not {type(name).__name__}", name=repr(name))
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidName(f"{what} {name!r} is not valid Unicode", name=repr(name)) from None
    normal = unicodedata.normalize("NFC", name)
    if not normal or normal != normal.strip():
        raise InvalidName(f"{what} {name!r} must be non-empty without surrounding spaces", name=name)
    if len(normal) > MAX_KEY_CHARS:
        raise InvalidName(f"{what} is longer than {MAX_KEY_CHARS} characters", name=name[:40])
    if _CONTROL.search(normal):
        raise InvalidName(f"{what} {name!r} contains a control or invisible character", name=name)
    return normal


_DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)


def check_resource_name(name: object, what: str = "name") -> str:
    """The name of a new experiment, model or dataset: :func:`check_name`'s rule, and one that is
    safe wherever the name becomes a folder, a file, a URL segment or a metric label. ``/`` may
    part it into segments (``team/iris``); no segment is ``.``, ``..``, empty, starts with a dot,
    ends with a dot or a space, or is a Windows device name (``CON``, ``nul.txt``); no ``\\``,
    ``"`` or character that Unicode folds into another (a fullwidth dot reads as ``.``).

    Example:
        >>> check_resource_name("team/iris-v2")
        'team/iris-v2'
        >>> check_resource_name("../x")
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidName: name '../x' has a part '..': ...
    """
    normal = check_name(name, what)
    if unicodedata.normalize("NFKC", normal) != normal:
        raise InvalidName(
            f"{what} {normal!r} holds characters that read as others ({unicodedata.normalize('NFKC', normal)!r})",
            name=normal,
        )
    for bad in ("\\", '"'):
        if bad in normal:
            raise InvalidName(f"{what} {normal!r} may not hold {bad!r}", name=normal)
    rule = "a part is not empty, '.' or '..', starts with no dot and ends with no dot or space"
    for part in normal.split("/"):
        if part in ("", ".", "..") or part.startswith(".") or part.endswith((".", " ")):
            raise InvalidName(f"{what} {normal!r} has a part {part!r}: {rule}", name=normal)
        if part.split(".")[0].upper() in _DEVICE_NAMES:
            raise InvalidName(f"{what} {normal!r} has a part {part!r}, a device name on Windows", name=normal)
    return normal


# One metric point checked: key, value, step or None, timestamp in ms or None.
MetricPoint = tuple[str, float, int | None, int | None]


def check_point(key: object, value: object, step: object = None, timestamp: object = None) -> MetricPoint:
    """One metric point checked, as every way in checks it (``Run.log``, ``RemoteRun.log``, a REST
    batch): ``(key, value, step or None, timestamp in ms or None)``.

    Example:
        >>> check_point("loss", 0.5, 3, 1700000000000)
        ('loss', 0.5, 3, 1700000000000)
        >>> check_point("", 1)
        Traceback (most recent call last):
        ...
        aml_jupyter.errors.InvalidKey: key must not be empty
    """
    checked = check_key(key)
    return (
        checked,
        check_metric_value(value, checked),
        None if step is None else check_step(step, checked),
        None if timestamp is None else check_timestamp(timestamp),
    )
