"""The workspace as a whole: its health and its experiments."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ...services import runs
from ..calls import Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


def health(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/health``: the workspace's name; a liveness probe.

    Example:
        >>> api.dispatch("GET", "/api/v1/health", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"ok": True, "workspace": api.ws.name})


def experiments(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/experiments``: experiments with their run counts.

    Example:
        >>> api.dispatch("GET", "/api/v1/experiments", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    return Response.json(200, {"experiments": runs.experiments(api.ws)})
