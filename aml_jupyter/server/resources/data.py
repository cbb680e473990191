"""Registered datasets and learning a column by example."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ..answers import STR
from ..calls import MAX_PAGE, Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


DATASET_PREVIEW_QUERY: list[dict[str, Any]] = [
    {"name": "rows", "in": "query", "schema": {"type": "integer", "minimum": 1}}
]

LEARN_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["examples"],
    "properties": {
        "examples": {"type": "array", "items": {"type": "array"}},
        "inputs": {"type": "array", "items": {"type": "array", "items": STR}},
        "budget": {"type": "number", "minimum": 0.01, "maximum": 10},
    },
}


def datasets(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/datasets``: registered datasets.

    Example:
        >>> api.dispatch("GET", "/api/v1/datasets", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.datasets import list_datasets

    return Response.json(200, {"datasets": list_datasets(workspace=api.ws)})


def dataset_preview(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/datasets/{dataset}/preview``: a dataset's rows.

    Example:
        >>> api.dispatch("GET", "/api/v1/datasets/customers/preview", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.datasets import dataset_rows

    rows = min(int((call.query.get("rows") or ["20"])[0]), MAX_PAGE)
    return Response.json(
        200, dataset_rows(api.ws, unquote(call.params["dataset"]), max(rows, 1), user=call.caller.user)
    )


def dataset_profile(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/datasets/{dataset}/profile``: column profiles.

    Example:
        >>> api.dispatch("GET", "/api/v1/datasets/customers/profile", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.datasets import dataset_profile

    columns = dataset_profile(api.ws, unquote(call.params["dataset"]), user=call.caller.user)
    return Response.json(200, {"columns": columns})


def learn(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/dataprep/learn``: learn a column from examples.

    Example:
        >>> api.dispatch("POST", "/api/v1/dataprep/learn", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.by_example import learn_column

    return Response.json(200, learn_column(call.json(), call.caller.user))
