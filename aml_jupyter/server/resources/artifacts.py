"""A run's artifacts and snapshots: listing, reading, storing, previewing, comparing, restoring."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...services import runs, snapshots
from ..answers import STR
from ..calls import MAX_ARTIFACT_BYTES, MAX_SNAPSHOT_FILES, Call, Response, error

if TYPE_CHECKING:
    from ..api import TrackingAPI


PREVIEW_QUERY: list[dict[str, Any]] = [
    {
        "name": "head",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 20971520},
        "description": "a text file's first bytes only; X-Aml-Truncated says whether there was more",
    }
]

RESTORE_BODY: dict[str, Any] = {"type": "object", "required": ["to"], "properties": {"to": STR}}


def list_artifacts(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs/{run}/artifacts``: a run's artifacts.

    Example:
        >>> api.dispatch("GET", "/api/v1/runs/1a2b3c4d/artifacts", "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    record = runs.get(api.ws, call.params["run"])
    items = [{"name": a.name, "size": a.size, "media_type": a.media_type} for a in record.artifacts]
    return Response.json(200, {"artifacts": items})


def get_artifact(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs/{run}/artifacts/{name}``: an artifact's bytes.

    Example:
        >>> path = "/api/v1/runs/1a2b3c4d/artifacts/model.pkl"
        >>> api.dispatch("GET", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...tracking.run import Run

    path_ = Run(api.ws, runs.get(api.ws, call.params["run"])).artifact_path(unquote(call.params["name"]))
    return Response(200, b"", "application/octet-stream", file=path_)  # streamed by the server


def put_artifact(api: TrackingAPI, call: Call) -> Response:
    """``PUT /api/v1/runs/{run}/artifacts/{name}``: store an artifact.

    Example:
        >>> path = "/api/v1/runs/1a2b3c4d/artifacts/model.pkl"
        >>> api.dispatch("PUT", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    run_id, name = call.params["run"], unquote(call.params["name"])
    if len(call.body) > MAX_ARTIFACT_BYTES:
        return error(413, f"an artifact may hold at most {MAX_ARTIFACT_BYTES} bytes", "TooLarge")
    from ...paths import check_relative_name

    logical = check_relative_name(name, "artifact name")
    run = api.live_run(run_id, call=call)
    if call.upload is not None:
        up = call.upload
        record = run._log_staged(up.path, up.digest, up.size, logical, "application/octet-stream")
    else:
        record = run._log_bytes(call.body, logical, "application/octet-stream")
    return Response.json(200, {"name": record.name, "digest": record.digest, "size": record.size})


def preview(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/runs/{run}/preview/{name}``: an artifact shown: notebook as HTML.

    Example:
        >>> path = "/api/v1/runs/1a2b3c4d/preview/model.pkl"
        >>> api.dispatch("GET", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    from ...services.search import whole_number
    from ..preview import preview

    raw = (call.query.get("head") or [""])[0]
    head = whole_number(raw, "head") if raw else None
    content, media_type, headers = preview(api.ws, call.params["run"], unquote(call.params["name"]), head)
    return Response(200, content, media_type, headers)


def snapshot(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/snapshots/{snapshot}``: a snapshot as a tar archive.

    Example:
        >>> path = "/api/v1/snapshots/9f9f9f9f..."
        >>> api.dispatch("GET", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    return Response(200, snapshots.archive(api.ws, call.params["snapshot"]), "application/x-tar")


def snapshot_files(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/snapshots/{snapshot}/files``: a snapshot's paths.

    Example:
        >>> path = "/api/v1/snapshots/9f9f9f9f.../files"
        >>> api.dispatch("GET", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    files = snapshots.files(api.ws, call.params["snapshot"])
    return Response.json(200, {"files": files[:MAX_SNAPSHOT_FILES], "total": len(files)})


def snapshot_diff(api: TrackingAPI, call: Call) -> Response:
    """``GET /api/v1/snapshots/{snapshot}/diff/{other}``: two snapshots.

    Example:
        >>> path = "/api/v1/snapshots/9f9f9f9f.../diff/8e8e8e8e..."
        >>> api.dispatch("GET", path, "", b"", Caller("ada")).status  # doctest: +SKIP
        200
    """
    changes, patch = snapshots.diff(api.ws, call.params["snapshot"], call.params["other"])
    return Response.json(200, {"changes": [{"status": s, "path": p} for s, p in changes], "patch": patch})


def restore(api: TrackingAPI, call: Call) -> Response:
    """``POST /api/v1/snapshots/{snapshot}/restore``: a snapshot into a new folder.

    Example:
        >>> path = "/api/v1/snapshots/9f9f9f9f.../restore"
        >>> api.dispatch("POST", path, "", b"{}", Caller("ada")).status  # doctest: +SKIP
        201
    """
    dest = api.new_folder(call, "to")
    files = snapshots.restore(api.ws, call.params["snapshot"], dest)
    return Response.json(201, {"folder": str(dest), "files": files})
