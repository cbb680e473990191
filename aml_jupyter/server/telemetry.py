"""The team server's Prometheus figures (``GET /metrics``): requests by route and status, their
latency, metric points accepted and artifact bytes moved.

With ``--workers N`` every worker writes its figures to files in ``PROMETHEUS_MULTIPROC_DIR``
(set by ``aml server`` before the workers start) and a scrape of any worker sums them all, so
Prometheus sees one server, not whichever worker answered. prometheus_client is imported on first
use, after that variable is set.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Any

MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"
# Seconds: a metric batch on SQLite is about a millisecond, an artifact upload may take minutes.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0)


@lru_cache(maxsize=1)
def _figures() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "requests": Counter(
            "aml_http_requests", "requests answered, by method, route and status", ["method", "route", "status"]
        ),
        "latency": Histogram(
            "aml_http_request_duration_seconds", "time to answer a request, by route", ["route"], buckets=BUCKETS
        ),
        "points": Counter("aml_metric_points", "metric points accepted from jobs"),
        "bytes": Counter("aml_artifact_bytes", "artifact bytes received (in) and sent (out)", ["direction"]),
    }


def observe(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request.

    Example:
        >>> observe("GET", "/api/v1/runs", 200, 0.004)
    """
    figures = _figures()
    figures["requests"].labels(method, route, str(status)).inc()
    figures["latency"].labels(route).observe(seconds)


def count_points(n: int) -> None:
    """Count metric points accepted.

    Example:
        >>> count_points(100)
    """
    _figures()["points"].inc(n)


def count_bytes(direction: str, n: int) -> None:
    """Count artifact bytes received (``in``) or sent (``out``).

    Example:
        >>> count_bytes("in", 1024)
    """
    _figures()["bytes"].labels(direction).inc(n)


def exposition() -> tuple[bytes, str]:
    """The figures in Prometheus's text format, summed over every worker: (body, content type).

    Example:
        >>> body, kind = exposition()
        >>> kind.startswith("text/plain")
        True
    """
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    _figures()
    if os.environ.get(MULTIPROCESS):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
