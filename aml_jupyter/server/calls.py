"""What a REST handler receives and answers, for both servers: the request (:class:`Call`, with its
:class:`Caller` and a streamed :class:`Upload`), the answer (:class:`Response`), and the limits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..entities.records import to_jsonable
from ..errors import InvalidInput

if TYPE_CHECKING:
    from .routes import Route

MAX_JSON_BYTES = 16 * 1024 * 1024
MAX_ARTIFACT_BYTES = 1024 * 1024 * 1024
MAX_PAGE = 1000  # runs in one page of GET /runs; larger asks are capped, not refused
MAX_SNAPSHOT_FILES = 10_000  # a listing for a panel, not an archive (GET snapshots/{snapshot} is that)
MAX_POINTS = 10_000  # points in one downsampled metric series


@dataclass
class Response:
    """What a handler answers: status, content type, and a body, or a file to stream as the body."""

    status: int
    body: bytes
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    file: Path | None = None

    @staticmethod
    def json(status: int, value: Any) -> Response:
        return Response(status, json.dumps(to_jsonable(value), allow_nan=False).encode())

    @staticmethod
    def json_ready(status: int, value: Any) -> Response:
        """An answer built of JSON's own types already (NaN spelled out, no numpy): sent without
        walking it first, as a page of a thousand runs or a series of a million points wants."""
        return Response(status, json.dumps(value, allow_nan=False).encode())


def body_limit(route: Route | None) -> int:
    """The most bytes a request to ``route`` may carry, checked before any is read: an artifact
    upload's limit, a JSON body's, or none at all for a path that is no route.

    Example:
        >>> body_limit(None)
        0
    """
    if route is None:
        return 0
    return MAX_ARTIFACT_BYTES if route.upload else MAX_JSON_BYTES


def error(status: int, message: str, kind: str) -> Response:
    """A JSON error answer: ``{"error": message, "type": kind}``.

    Example:
        >>> error(404, "no such run", "RunNotFound").status
        404
    """
    return Response.json(status, {"error": message, "type": kind})


@dataclass(frozen=True)
class Caller:
    """Who sends a request, for the audit log: a user name and the client's address; for the
    ``me`` route, the actions the caller's role allows (the surface asks its own authorizer)."""

    user: str
    address: str | None = None
    actions: frozenset[str] | None = None
    token_id: str | None = None  # the per-user token that authenticated the call, if one did
    run_id: str | None = None  # a run-scoped token's run (the job of that run is calling)
    server: bool = False  # the server's own token (a job of a target, in older set-ups)


@dataclass(frozen=True)
class Upload:
    """A request body the server streamed to ``path`` (constant memory), with its SHA-256 and size."""

    path: Path
    digest: str
    size: int


@dataclass(frozen=True)
class Call:
    """One request as a handler sees it: path parameters, query, body and who sent it.

    Example:
        >>> Call({"run": "1a2b"}, {}, b'{"tags": {"a": 1}}', Caller("alice")).json()
        {'tags': {'a': 1}}
    """

    params: dict[str, str]
    query: dict[str, list[str]]
    body: bytes
    caller: Caller
    upload: Upload | None = None  # an artifact's body, streamed to a file and hashed on the way

    def json(self) -> dict[str, Any]:
        """The body as a JSON object (an empty body is ``{}``)."""
        payload = json.loads(self.body or b"{}")
        if not isinstance(payload, dict):
            raise InvalidInput("the body must be a JSON object")
        return payload
