"""Turning a scoring request into model input and the model's answer into JSON, checked against
the version's signature. Framework-free, so the service and the tests share it.

A request body is ``{"data": [[...], ...]}`` (rows), ``{"data": [{"col": v, ...}, ...]}``
(records) or ``{"columns": [...], "data": [[...], ...]}`` (split). NaN and infinities are refused
(JSON has none; Python's parser would take them), as are empty inputs, rows of the wrong width,
values of the wrong kind and nesting deeper than a table needs.
"""

from __future__ import annotations

import json
import math
from typing import Any

from ..errors import InvalidValue

MAX_ROWS = 100_000


class BadRequest(InvalidValue):
    """A scoring request the model cannot take; ``field`` says where."""


def _refuse_constant(name: str) -> Any:
    raise BadRequest(f"{name} is not a JSON number; send finite numbers", field="data")


def parse_body(body: bytes) -> dict[str, Any]:
    """The request's JSON object, refusing NaN/Infinity and absurd nesting.

    Example:
        >>> parse_body(b'{"data": [[1, 2]]}')
        {'data': [[1, 2]]}
        >>> parse_body(b'{"data": [[NaN]]}')
        Traceback (most recent call last):
        ...
        aml_jupyter.models.scoring.BadRequest: NaN is not a JSON number; send finite numbers
    """
    try:
        value = json.loads(body, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest("the body nests deeper than a table", field="data") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"the body is not JSON: {exc}", field="body") from None
    if not isinstance(value, dict):
        raise BadRequest('the body must be a JSON object with "data"', field="body")
    return value


def _cell(v: Any, where: str) -> Any:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return v
    if isinstance(v, int | float):
        if isinstance(v, float) and not math.isfinite(v):
            raise BadRequest(f"{where} is not a finite number", field=where)
        if isinstance(v, int) and v.bit_length() > 1023:  # no model's number type holds it
            raise BadRequest(f"{where} is a number too large for any model input", field=where)
        return v
    raise BadRequest(f"{where} must be a number, a string, a boolean or null, not {type(v).__name__}", field=where)


def to_input(payload: dict[str, Any], signature: dict[str, Any] | None) -> Any:
    """The model input for a request: a DataFrame for a dataframe signature, else a 2-D array.

    Example:
        >>> to_input({"data": [[5.1, 3.5, 1.4, 0.2]]}, {"type": "ndarray", "shape": [None, 4], "dtype": "float64"})
        array([[5.1, 3.5, 1.4, 0.2]])
    """
    data = payload.get("data")
    if not isinstance(data, list):
        raise BadRequest('"data" must be a list of rows or records', field="data")
    if not data:
        raise BadRequest('"data" is empty: send at least one row', field="data")
    if len(data) > MAX_ROWS:
        raise BadRequest(f'"data" has {len(data)} rows; at most {MAX_ROWS} per request', field="data")
    columns = payload.get("columns")
    sig_type = (signature or {}).get("type")
    if sig_type in ("ndarray", "rows") and columns is None:
        fast = _numeric_rows(data, signature or {})
        if fast is not None:
            return fast
    import numpy as np
    import pandas as pd

    if all(isinstance(r, dict) for r in data):
        rows = [{str(k): _cell(v, f"data[{i}].{k}") for k, v in r.items()} for i, r in enumerate(data)]
        frame = pd.DataFrame(rows)
    elif all(isinstance(r, list) for r in data):
        rows_l = [[_cell(v, f"data[{i}][{j}]") for j, v in enumerate(r)] for i, r in enumerate(data)]
        widths = {len(r) for r in rows_l}
        if len(widths) != 1:
            raise BadRequest("rows of different lengths", field="data")
        frame = pd.DataFrame(rows_l, columns=columns if isinstance(columns, list) else None)
    else:
        raise BadRequest('"data" must hold rows (lists) or records (objects), not a mix', field="data")
    if sig_type == "dataframe":
        expected = [c["name"] for c in signature["columns"]]  # type: ignore[index]
        if isinstance(frame.columns[0], int):
            if frame.shape[1] != len(expected):
                raise BadRequest(f"each row needs {len(expected)} values ({', '.join(expected)})", field="data")
            frame.columns = expected
        missing = [c for c in expected if c not in frame.columns]
        if missing:
            raise BadRequest(f"missing column(s) {', '.join(missing)}", field=missing[0])
        extra = [c for c in frame.columns if c not in expected]
        if extra:
            raise BadRequest(f"unknown column(s) {', '.join(map(str, extra))}", field=str(extra[0]))
        frame = frame[expected]
        for col in signature["columns"]:  # type: ignore[index]
            if col["dtype"].startswith(("float", "int")) and not pd.api.types.is_numeric_dtype(frame[col["name"]]):
                raise BadRequest(f"column {col['name']} must hold numbers", field=col["name"])
        return frame
    if sig_type is None or (signature or {}).get("dtype") == "mixed":
        _plain_cells(frame)  # no types known: still no nulls, nor booleans passed off as numbers
        if sig_type is None and all(pd.api.types.is_numeric_dtype(frame[c]) for c in frame):
            return frame.to_numpy(dtype=np.float64)
    width = ((signature or {}).get("shape") or [None, None])[1:] or [None]
    if sig_type == "rows":
        width = [signature["width"]]  # type: ignore[index]
    if width[0] is not None and frame.shape[1] != width[0]:
        raise BadRequest(f"each row needs {width[0]} values, not {frame.shape[1]}", field="data")
    numeric = sig_type in ("ndarray", "rows") and (signature or {}).get("dtype", "float") not in ("mixed", "object")
    if numeric:
        if not all(pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]) for c in frame):
            raise BadRequest("every value must be a number", field="data")
        return frame.to_numpy(dtype=np.float64)
    return frame.to_numpy()


def _plain_cells(frame: Any) -> None:
    # A version registered without a sample: the request alone says what it holds. A null has no
    # value to score, and a boolean would be scored as 1.0 or 0.0 without anyone asking for that.
    for j, col in enumerate(frame.columns):
        values = frame[col].tolist()
        for i, v in enumerate(values):
            where = f"data[{i}][{j}]" if isinstance(col, int) else f"data[{i}].{col}"
            if v is None or (isinstance(v, float) and v != v):
                raise BadRequest(f"{where} is null: the model needs a value there", field=where)
            if isinstance(v, bool):
                raise BadRequest(f"{where} is a boolean: send a number (1 or 0) or text", field=where)


def _numeric_rows(data: list[Any], signature: dict[str, Any]) -> Any:
    # The common request, plain rows of numbers, straight into an array (no DataFrame on the way);
    # anything else returns None and takes the general path, which names what is wrong.
    import numpy as np

    if signature.get("dtype") in ("mixed", "object"):
        return None
    width = signature.get("width") if signature.get("type") == "rows" else (signature.get("shape") or [None, None])[1]
    for row in data:
        if type(row) is not list or (width is not None and len(row) != width):
            return None
        for v in row:
            if type(v) is not float and type(v) is not int:
                return None
    x = np.array(data, dtype=np.float64)
    if x.ndim != 2 or not np.isfinite(x).all():
        return None
    return x


def to_json(predictions: Any) -> list[Any]:
    """The model's output as a JSON list (numpy scalars and arrays unwrapped; NaN as null).

    Example:
        >>> import numpy as np
        >>> to_json(np.array([1, 0])), to_json([0.5, float("nan")])
        ([1, 0], [0.5, None])
    """
    if hasattr(predictions, "tolist"):
        predictions = predictions.tolist()
    if not isinstance(predictions, list):
        predictions = [predictions]

    def clean(v: Any) -> Any:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, list):
            return [clean(x) for x in v]
        if hasattr(v, "item"):
            return clean(v.item())
        return v

    return [clean(v) for v in predictions]
