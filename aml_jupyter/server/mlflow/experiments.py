"""MLflow's experiment routes (``/mlflow/api/2.0/mlflow/experiments/...``) on aml's experiments."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ...entities.validation import check_name
from ...errors import ExperimentNotFound, InvalidInput
from ...services import runs
from ..calls import Call, Response
from . import wire

if TYPE_CHECKING:
    from ..api import TrackingAPI

MAX_SEARCH = 50_000
# MLflow's experiment filters that mean something here: on the name, one clause.
_NAME_FILTER = re.compile(r"^\s*(?:attributes?\.)?name\s*(=|!=|LIKE|ILIKE)\s*'([^']*)'\s*$", re.IGNORECASE)


def create(api: TrackingAPI, call: Call) -> Response:
    """``POST experiments/create``: a new experiment; its name must be new.

    Example:
        >>> api.dispatch("POST", M + "experiments/create", "", b'{"name": "x"}', who).status  # doctest: +SKIP
        200
    """
    name = check_name(wire.field(call, "name"), "experiment name")
    known = {e["name"] for e in runs.experiments(api.ws)}
    if name in known or name in wire.DEFAULT_NAMES:
        return wire.already_exists(f"experiment {name!r} already exists")
    runs.create_experiment(api.ws, name)
    found = _by_name(api, name)
    return Response.json(200, {"experiment_id": found["experiment_id"]})


def _by_name(api: TrackingAPI, name: str) -> dict[str, Any]:
    wanted = wire.DEFAULT if name in wire.DEFAULT_NAMES else name
    if wanted == wire.DEFAULT:
        runs.create_experiment(api.ws, wire.DEFAULT)  # MLflow's experiment "0" is always there
    for e in runs.experiments(api.ws):
        if e["name"] == wanted:
            return wire.experiment_json(e)
    raise ExperimentNotFound(f"could not find experiment with name {name!r}", experiment=name)


def get(api: TrackingAPI, call: Call) -> Response:
    """``GET experiments/get?experiment_id=``.

    Example:
        >>> api.dispatch("GET", M + "experiments/get", "experiment_id=0", b"", who).status  # doctest: +SKIP
        200
    """
    name = wire.experiment_name(api.ws, wire.field(call, "experiment_id"))
    return Response.json(200, {"experiment": _by_name(api, name)})


def get_by_name(api: TrackingAPI, call: Call) -> Response:
    """``GET experiments/get-by-name?experiment_name=``: RESOURCE_DOES_NOT_EXIST when none has it.

    Example:
        >>> q = "experiment_name=iris"
        >>> api.dispatch("GET", M + "experiments/get-by-name", q, b"", who).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"experiment": _by_name(api, str(wire.field(call, "experiment_name")))})


def search(api: TrackingAPI, call: Call) -> Response:
    """``POST experiments/search``: every experiment (Default first), a filter on the name, paged.

    Example:
        >>> api.dispatch("POST", M + "experiments/search", "", b"{}", who).status  # doctest: +SKIP
        200
    """
    size = wire.max_results(call, 1000, MAX_SEARCH)
    start = wire.offset_of(wire.field(call, "page_token", required=False))
    runs.create_experiment(api.ws, wire.DEFAULT)
    found = [wire.experiment_json(e) for e in runs.experiments(api.ws)]
    found.sort(key=lambda e: (e["experiment_id"] != "0", e["name"]))
    text = wire.field(call, "filter", required=False)
    if text:
        m = _NAME_FILTER.match(str(text))
        if m is None:
            raise InvalidInput(f"experiment filter {text!r}: only name = / != / LIKE / ILIKE 'text' is supported here")
        op, value = m.group(1).upper(), m.group(2)
        pattern = re.compile(
            "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$", re.I if op == "ILIKE" else 0
        )
        if op in ("=", "!="):
            found = [e for e in found if (e["name"] == value) == (op == "=")]
        else:
            found = [e for e in found if pattern.match(e["name"])]
    page = found[start : start + size]
    out: dict[str, Any] = {"experiments": page}
    if start + size < len(found):
        out["next_page_token"] = wire.page_token(start + size)
    return Response.json(200, out)
