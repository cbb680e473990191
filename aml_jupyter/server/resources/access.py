"""Who calls, roles and the audit log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidInput
from ..calls import MAX_PAGE, Call, Response

if TYPE_CHECKING:
    from ..api import TrackingAPI


AUDIT_QUERY: list[dict[str, Any]] = [
    {"name": "max_results", "in": "query", "schema": {"type": "integer", "minimum": 1}}
]

PUT_ROLES_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["roles"],
    "properties": {
        "roles": {
            "type": "object",
            "additionalProperties": {"enum": ["reader", "contributor", "owner", None], "nullable": True},
        }
    },
}


def me(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/me``: who calls and what their role allows.

    Example:
        >>> api.dispatch("GET", "/api/v1/me", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.access import ACTIONS

    allowed = call.caller.actions if call.caller.actions is not None else ACTIONS["owner"]
    return Response.json(200, {"user": call.caller.user, "actions": sorted(allowed)})


def audit(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/audit``: the audit log, newest first.

    Example:
        >>> api.dispatch("GET", "/api/v1/audit", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.access import audit_entries

    limit = min(int((call.query.get("max_results") or ["100"])[0]), MAX_PAGE)
    return Response.json(200, {"entries": audit_entries(api.ws, max(limit, 1))})


def get_roles(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/roles``: roles given in this workspace.

    Example:
        >>> api.dispatch("GET", "/api/v1/roles", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.access import stored_groups, stored_roles

    return Response.json(200, {"roles": stored_roles(api.ws), "groups": stored_groups(api.ws)})


def put_roles(api: TrackingAPI, call: Call) -> Response:
    """``PUT /api/v1/roles``: give or take roles.

    Example:
        >>> api.dispatch("PUT", "/api/v1/roles", "", b"{}", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.access import set_roles, stored_groups

    payload = call.json()
    roles, groups = payload.get("roles", {}), payload.get("groups", {})
    if not isinstance(roles, dict):
        raise InvalidInput('"roles" must be an object: user or group name -> role, or null to take it away')
    if not isinstance(groups, dict):
        raise InvalidInput('"groups" must be an object: group name -> the list of its members ([] deletes it)')
    given = set_roles(api.ws, roles, groups)
    return Response.json(200, {"roles": given, "groups": stored_groups(api.ws)})
