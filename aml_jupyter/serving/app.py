"""The scoring service: an ASGI app (Starlette on uvicorn) around one registered model version.

    GET  /health        {"status": "ok", "model": "iris-clf:3"}  (no key: for probes)
    POST /score         {"data": [[...], ...]} -> {"predictions": [...]}
    GET  /swagger.json  an OpenAPI document with a sample request
    GET  /metrics       Prometheus text: requests by status, latency histogram, errors, model version

Every route but ``/health`` wants ``Authorization: Bearer KEY`` (compared in constant time; a
refused request is logged without the key). Bodies are capped (413), requests that do not fit the
version's signature are 400 naming the field, a model that raises is 500 without a traceback, a
request that takes too long is 504. A batch of rows is scored in one model call.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import threading
import time
from bisect import bisect_left
from collections.abc import AsyncIterator
from typing import Any

from ..models.scoring import BadRequest, parse_body, to_input, to_json

log = logging.getLogger("aml_jupyter.serve")
MAX_BODY = 1024 * 1024
TIMEOUT_S = 30.0
INLINE_ROWS = 256
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Telemetry:
    """Counters for /metrics (and for the workspace, where a deployment writes them)."""

    def __init__(self, model: str) -> None:
        self.model = model
        self.lock = threading.Lock()
        self.by_status: dict[int, int] = {}
        self.buckets = [0] * (len(BUCKETS) + 1)
        self.latency_sum = 0.0
        self.rows = 0

    def record(self, status: int, seconds: float, rows: int = 0) -> None:
        with self.lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            self.buckets[bisect_left(BUCKETS, seconds)] += 1
            self.latency_sum += seconds
            self.rows += rows

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "model": self.model,
                "requests": dict(self.by_status),
                "rows_scored": self.rows,
                "latency_sum_s": self.latency_sum,
                "latency_buckets": dict(zip([*map(str, BUCKETS), "+Inf"], self.buckets, strict=True)),
            }

    def prometheus(self) -> str:
        s = self.snapshot()
        lines = [
            "# HELP aml_requests_total Scoring requests by HTTP status.",
            "# TYPE aml_requests_total counter",
            *[f'aml_requests_total{{status="{k}"}} {v}' for k, v in sorted(s["requests"].items())],
            "# HELP aml_errors_total Requests that ended in a server error.",
            "# TYPE aml_errors_total counter",
            f"aml_errors_total {sum(v for k, v in s['requests'].items() if k >= 500)}",
            "# HELP aml_rows_scored_total Rows passed to the model.",
            "# TYPE aml_rows_scored_total counter",
            f"aml_rows_scored_total {s['rows_scored']}",
            "# HELP aml_request_seconds Time to answer a request.",
            "# TYPE aml_request_seconds histogram",
        ]
        total = 0
        for bound, count in s["latency_buckets"].items():
            total += count
            lines.append(f'aml_request_seconds_bucket{{le="{bound}"}} {total}')
        lines += [
            f"aml_request_seconds_sum {s['latency_sum_s']:.6f}",
            f"aml_request_seconds_count {total}",
            "# HELP aml_model_info The model version served.",
            "# TYPE aml_model_info gauge",
            f'aml_model_info{{model="{_label(self.model)}"}} 1',
        ]
        return "\n".join(lines) + "\n"


class Collector:
    """Opt-in collection of what a service scored: inputs and predictions, appended to
    date-partitioned Parquet files (``DIR/date=YYYY-MM-DD/part-*.parquet``) every few seconds and
    at shutdown. ``aml_jupyter.dataprep.read("DIR/date=*/*.parquet")`` reads them back, and
    ``.register(name)`` makes them a dataset for drift checks.

    Example:
        >>> import tempfile, numpy as np
        >>> c = Collector(tempfile.mkdtemp(), "m:1")
        >>> c.add(np.array([[1.0, 2.0]]), [3]); len(c.flush())
        1
    """

    def __init__(self, folder: str, model: str, every: float = 5.0) -> None:
        from pathlib import Path

        self.folder = Path(folder)
        self.model = model
        self.every = every
        self.lock = threading.Lock()
        self.rows: list[dict[str, Any]] = []
        self.stopped = threading.Event()

    def add(self, x: Any, predictions: list[Any]) -> None:
        now = time.time()
        if hasattr(x, "to_dict"):
            inputs = x.to_dict("records")
        else:
            inputs = [{f"x{i}": v for i, v in enumerate(row)} for row in x.tolist()]
        with self.lock:
            for row, prediction in zip(inputs, predictions, strict=False):
                self.rows.append({**row, "prediction": prediction, "model": self.model, "scored_at": now})

    def flush(self) -> list[Any]:
        """Write what was collected since the last flush; returns the files written."""
        import datetime as dt
        import os

        import pandas as pd

        with self.lock:
            rows, self.rows = self.rows, []
        if not rows:
            return []
        frame = pd.DataFrame(rows)
        frame["scored_at"] = pd.to_datetime(frame["scored_at"], unit="s", utc=True)
        written = []
        for day, part in frame.groupby(frame["scored_at"].dt.strftime("%Y-%m-%d")):
            folder = self.folder / f"date={day}"
            folder.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%H%M%S%f")
            path = folder / f"part-{stamp}-{os.getpid()}.parquet"
            tmp = path.with_suffix(".tmp")
            part.to_parquet(tmp, index=False)
            os.replace(tmp, path)  # readers never see half a file
            written.append(path)
        return written

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            self.flush()


def predictor(flavor: str, model: Any) -> Any:
    """The function that scores a model input, by flavor.

    Example:
        >>> predictor("python", type("M", (), {"run": staticmethod(lambda d: [1])})())(None)
        [1]
    """
    if flavor == "python":
        return model.run
    if flavor == "onnx":
        name = model.get_inputs()[0].name

        def run_onnx(x: Any) -> Any:
            import numpy as np

            return model.run(None, {name: np.asarray(x, dtype=np.float32)})[0]

        return run_onnx
    if hasattr(model, "predict"):
        return model.predict
    if callable(model):
        return model
    raise TypeError(f"a {type(model).__name__} has no predict() and is not callable")


def signature_of_model(model: Any) -> dict[str, Any] | None:
    """What a version registered without a sample input says of its own input: a scikit-learn
    estimator knows how many features it was fitted on (and their names, for a DataFrame), so a
    request of another width is a 400 that says so, not the model failing with a 500.

    Example:
        >>> class Fitted: n_features_in_ = 4
        >>> signature_of_model(Fitted())
        {'type': 'rows', 'width': 4, 'dtype': 'mixed'}
    """
    names = getattr(model, "feature_names_in_", None)
    if names is not None:
        return {"type": "dataframe", "columns": [{"name": str(n), "dtype": "object"} for n in list(names)]}
    width = getattr(model, "n_features_in_", None)
    if isinstance(width, int) and width > 0:
        return {"type": "rows", "width": width, "dtype": "mixed"}
    return None


def openapi(ref: str, signature: dict[str, Any] | None) -> dict[str, Any]:
    """The service's OpenAPI document, with a sample request built from the signature.

    Example:
        >>> doc = openapi("m:1", {"type": "rows", "width": 2, "dtype": "float"})
        >>> doc["paths"]["/score"]["post"]["requestBody"]["content"]["application/json"]["example"]
        {'data': [[0.0, 0.0]]}
    """
    sig = signature or {}
    if sig.get("example") is not None:  # rows of the sample input the version was registered with
        example: dict[str, Any] = {"data": sig["example"]}
    elif sig.get("type") == "dataframe":
        example = {"data": [{c["name"]: 0 for c in sig["columns"]}]}
    else:
        width = sig.get("width") or ((sig.get("shape") or [None, 1])[1:] or [1])[0] or 1
        example = {"data": [[0.0] * int(width)]}
    return {
        "openapi": "3.0.3",
        "info": {"title": f"aml_jupyter scoring: {ref}", "version": ref},
        "components": {"securitySchemes": {"key": {"type": "http", "scheme": "bearer"}}},
        "security": [{"key": []}],
        "paths": {
            "/score": {
                "post": {
                    "summary": "score rows",
                    "requestBody": {"content": {"application/json": {"example": example, "x-signature": sig}}},
                    "responses": {
                        "200": {"description": '{"predictions": [...]}'},
                        "400": {"description": "the request does not fit the signature"},
                        "401": {"description": "no key or a wrong key"},
                        "413": {"description": "the body is too large"},
                        "500": {"description": "the model failed"},
                        "504": {"description": "the model took too long"},
                    },
                }
            },
            "/health": {"get": {"summary": "liveness", "security": []}},
            "/metrics": {"get": {"summary": "Prometheus metrics"}},
        },
    }


def create_app(
    ref: str,
    model: Any,
    flavor: str,
    signature: dict[str, Any] | None,
    key: str | None,
    max_body: int = MAX_BODY,
    timeout: float = TIMEOUT_S,
    telemetry: Telemetry | None = None,
    collector: Collector | None = None,
) -> Any:
    """The Starlette app serving ``model``. ``key=None`` serves without a key (for tests only).

    Example:
        >>> app = create_app("m:1", model, "sklearn", None, key="k")  # doctest: +SKIP
    """
    import anyio
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    score = predictor(flavor, model)
    inline = flavor == "native"  # a bounded number of array operations: never near the timeout
    stats = telemetry or Telemetry(ref)
    doc = openapi(ref, signature)
    expected = ("Bearer " + key).encode() if key else None

    def allowed(request: Request) -> bool:
        if expected is None:
            return True
        ok = hmac.compare_digest(request.headers.get("authorization", "").encode(), expected)
        if not ok:  # the client's address, never what it sent as a key
            log.warning(
                "refused a request without the right key from %s", request.client.host if request.client else "?"
            )
        return ok

    def refuse() -> JSONResponse:
        return JSONResponse({"error": "missing or wrong key (Authorization: Bearer KEY)"}, status_code=401)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", "model": ref})

    async def swagger(request: Request) -> JSONResponse:
        return JSONResponse(doc) if allowed(request) else refuse()

    async def metrics(request: Request) -> PlainTextResponse | JSONResponse:
        return PlainTextResponse(stats.prometheus()) if allowed(request) else refuse()

    async def score_route(request: Request) -> JSONResponse:
        started = time.perf_counter()
        status, rows = 200, 0
        try:
            if not allowed(request):
                status = 401
                return refuse()
            length = request.headers.get("content-length")
            if length is not None and (not length.isdigit() or int(length) > max_body):
                status = 413
                return JSONResponse({"error": f"the body may hold at most {max_body} bytes"}, status_code=413)
            body = b""
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_body:
                    status = 413
                    return JSONResponse({"error": f"the body may hold at most {max_body} bytes"}, status_code=413)
            try:
                x = to_input(parse_body(body), signature)
            except BadRequest as exc:
                status = 400
                return JSONResponse({"error": str(exc), "field": exc.fields.get("field")}, status_code=400)
            except (OverflowError, ValueError) as exc:  # e.g. a 400-digit integer for a float64 column
                status = 400
                message = f"the data does not fit the model's input: {str(exc)[:200]}"
                return JSONResponse({"error": message, "field": "data"}, status_code=400)
            rows = len(x)
            try:
                if inline and rows <= INLINE_ROWS:
                    out = score(x)  # microseconds: a thread hop would cost more than the model
                else:
                    with anyio.fail_after(timeout):
                        out = await anyio.to_thread.run_sync(score, x, abandon_on_cancel=True)
            except TimeoutError:
                status = 504
                return JSONResponse({"error": f"the model took longer than {timeout:g} s"}, status_code=504)
            except (ValueError, TypeError) as exc:  # the model's own word on an input it cannot take
                status = 400
                message = f"the model refused this input: {str(exc).strip()[:300] or type(exc).__name__}"
                return JSONResponse({"error": message, "field": "data"}, status_code=400)
            except Exception:  # the model's failure, reported without its traceback
                log.exception("the model failed on a request")
                status = 500
                return JSONResponse({"error": "the model failed on this input"}, status_code=500)
            predictions = to_json(out)
            if collector is not None:
                collector.add(x, predictions)
            return JSONResponse({"predictions": predictions})
        finally:
            stats.record(status, time.perf_counter() - started, rows if status == 200 else 0)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        yield
        if collector is not None:  # what was collected is written before the service ends
            collector.stopped.set()
            collector.flush()

    return Starlette(
        lifespan=lifespan,
        routes=[
            Route("/health", health),
            Route("/score", score_route, methods=["POST"]),
            Route("/swagger.json", swagger),
            Route("/metrics", metrics),
        ],
    )


def _write_telemetry(stats: Telemetry, path: str, every: float = 2.0) -> None:
    # The counters, written to the workspace for `aml deployments show` and dashboards.
    import json

    from ..paths import atomic_write_bytes

    while True:
        time.sleep(every)
        try:
            atomic_write_bytes(path, json.dumps({**stats.snapshot(), "at": time.time()}).encode())
        except OSError:
            continue


def serve(
    ref: str,
    host: str = "127.0.0.1",
    port: int = 8000,
    key: str | None = None,
    workspace: Any = None,
    telemetry_file: str | None = None,
    collect_dir: str | None = None,
    native: bool = True,
    trusted: bool = False,
) -> None:
    """Load the version and serve it until interrupted (``aml serve``); with ``collect_dir``,
    what it scores is collected there (:class:`Collector`). A scikit-learn version is served by
    its native predictor when it has one, unless ``native=False`` (models/native.py).

    Example:
        >>> serve("iris-clf@production", port=8000, key="s3cret")  # doctest: +SKIP
    """
    import uvicorn

    from ..services.models import load_for_serving

    mv, model, flavor = load_for_serving(ref, native=native, workspace=workspace, trusted=trusted)
    stats = Telemetry(mv.ref)
    if telemetry_file:
        threading.Thread(target=_write_telemetry, args=(stats, telemetry_file), daemon=True).start()
    collector = Collector(collect_dir, mv.ref) if collect_dir else None
    if collector is not None:
        threading.Thread(target=collector.run, daemon=True).start()
    signature = mv.signature or signature_of_model(model)
    app = create_app(mv.ref, model, flavor, signature, key, telemetry=stats, collector=collector)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)


def _label(value: str) -> str:
    # A Prometheus label value: backslash, double quote and newline escaped, as the format asks.
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
