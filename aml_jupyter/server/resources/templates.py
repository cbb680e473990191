"""The project templates of the gallery, and a new project from one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..answers import STR
from ..calls import Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


NEW_PROJECT_BODY: dict[str, Any] = {"type": "object", "required": ["folder"], "properties": {"folder": STR}}


def templates(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/templates``: the project templates of the gallery.

    Example:
        >>> api.dispatch("GET", "/api/v1/templates", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...templates import list_templates

    return Response.json(200, {"templates": list_templates()})


def new_project(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/templates/{template}/new``: a new project from one.

    Example:
        >>> path = "/api/v1/templates/classify-tabular/new"
        >>> api.dispatch("POST", path, "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    from ...templates import new_project

    folder = api.new_folder(call, "folder")
    made = new_project(folder, call.params["template"], shown=str(call.json().get("folder")))
    files = sorted(p.relative_to(made).as_posix() for p in made.rglob("*") if p.is_file() and ".aml" not in p.parts)
    return Response.json(201, {"folder": made.relative_to(api.ws.root).as_posix(), "files": files})
