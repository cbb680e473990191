"""MLflow's proxied artifact routes (``/mlflow/api/2.0/mlflow-artifacts/artifacts/...``): a run's
``artifact_uri`` is ``mlflow-artifacts:/EXPERIMENT/RUN/artifacts``, so the client uploads, lists
and downloads through the server, into and out of aml's artifact store (streamed both ways)."""

from __future__ import annotations

import mimetypes
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from ...paths import check_relative_name
from ...services import runs
from ..calls import MAX_ARTIFACT_BYTES, Call, Response, error
from . import wire
from .runs import entries

if TYPE_CHECKING:
    from ..api import TrackingAPI


def put(api: TrackingAPI, call: Call) -> Response:
    """``PUT mlflow-artifacts/artifacts/EXP/RUN/artifacts/PATH``: store a file of a live run.

    Example:
        >>> path = A + "artifacts/0/1a2b/artifacts/model.pkl"  # doctest: +SKIP
        >>> api.dispatch("PUT", path, "", b"...", who).status  # doctest: +SKIP
        200
    """
    if len(call.body) > MAX_ARTIFACT_BYTES:
        return error(413, f"an artifact may hold at most {MAX_ARTIFACT_BYTES} bytes", "TooLarge")
    name = check_relative_name(unquote(call.params["name"]), "artifact name")
    media = mimetypes.guess_type(name)[0] or "application/octet-stream"
    run = api.live_run(call.params["run"], call=call)
    if call.upload is not None:
        run._log_staged(call.upload.path, call.upload.digest, call.upload.size, name, media)
    else:
        run._log_bytes(call.body, name, media)
    return Response.json(200, {})


def get(api: TrackingAPI, call: Call) -> Response:
    """``GET mlflow-artifacts/artifacts/EXP/RUN/artifacts/PATH``: a file's bytes, streamed.

    Example:
        >>> path = A + "artifacts/0/1a2b/artifacts/model.pkl"  # doctest: +SKIP
        >>> api.dispatch("GET", path, "", b"", who).status  # doctest: +SKIP
        200
    """
    from ...tracking.run import Run

    record = runs.get(api.ws, call.params["run"])
    path = Run(api.ws, record).artifact_path(unquote(call.params["name"]))
    return Response(200, b"", "application/octet-stream", file=path)


def listing(api: TrackingAPI, call: Call) -> Response:
    """``GET mlflow-artifacts/artifacts?path=EXP/RUN/artifacts/FOLDER``: what is directly in a folder.

    Example:
        >>> api.dispatch("GET", A + "artifacts", "path=0/1a2b/artifacts", b"", who).status  # doctest: +SKIP
        200
    """
    given = str(wire.field(call, "path", required=False) or "").strip("/")
    parts = given.split("/", 3)
    if len(parts) < 3 or parts[2] != "artifacts":
        return Response.json(200, {"files": []})  # not a run's folder: nothing there, as MLflow answers
    record = runs.show(api.ws, parts[1])
    folder = parts[3] if len(parts) > 3 else ""
    found: list[dict[str, Any]] = entries(record["artifacts"], folder)
    # Listed relative to the folder asked for, as MLflow's artifact server answers.
    cut = len(folder) + 1 if folder else 0
    return Response.json(200, {"files": [{**f, "path": f["path"][cut:]} for f in found]})
