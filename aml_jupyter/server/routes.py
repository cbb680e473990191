"""The REST API's routes: one table that both servers (``aml server`` and the Jupyter extension),
the authorization check, the OpenAPI document and the tests read.

Each route names the action a caller needs (``read``, ``write``, ``execute`` or ``admin``; see
server/roles.py for who has which) and the resource it touches. Paths are relative to the API's
root: ``/api/v1/...`` for ``aml server``, ``{base_url}aml/api/v1/...`` in Jupyter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RUN = r"(?P<run>[0-9a-f]{4,32})"


@dataclass(frozen=True)
class Route:
    """One method and path of the API, the action it needs and what it does."""

    method: str
    path: str  # OpenAPI style: /api/v1/runs/{run}
    action: str
    resource: str
    handler: str  # the TrackingAPI method that answers it
    summary: str

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.path)

    @property
    def audited(self) -> bool:
        """Whether an allowed request goes to the audit log: every write, execute and admin one,
        but for a live run's own stream (metric batches, heartbeats), which the run itself records
        and which would write an entry every half second per job. Refusals are always audited."""
        return self.action != "read" and self.handler not in STREAM_HANDLERS


STREAM_HANDLERS = frozenset({"log_metrics", "heartbeat"})


def _compiled(path: str) -> re.Pattern[str]:
    if path not in _PATTERNS:
        parts = {
            "{run}": RUN,
            "{snapshot}": r"(?P<snapshot>[0-9a-f]{40,64})",
            "{key}": r"(?P<key>[^/]+)",
            "{name}": r"(?P<name>.+)",
            "{model}": r"(?P<model>[^/]+)",
            "{version}": r"(?P<version>[1-9][0-9]{0,8})",
            "{other}": r"(?P<other>[0-9a-f]{40,64})",
            "{dataset}": r"(?P<dataset>[^/]+)",
            "{deployment}": r"(?P<deployment>[a-z0-9-]+)",
            "{template}": r"(?P<template>[a-z0-9-]+)",
        }
        regex = re.escape(path)
        for token, group in parts.items():
            regex = regex.replace(re.escape(token), group)
        _PATTERNS[path] = re.compile(f"^{regex}\\Z")  # not $: it would let a trailing newline through
    return _PATTERNS[path]


_PATTERNS: dict[str, re.Pattern[str]] = {}

ROUTES: list[Route] = [
    Route("GET", "/api/v1/health", "read", "aml:workspace", "health", "the workspace's name; a liveness probe"),
    Route("GET", "/api/v1/me", "read", "aml:workspace", "me", "who calls and what their role allows"),
    Route("GET", "/api/v1/experiments", "read", "aml:runs", "experiments", "experiments with their run counts"),
    Route("GET", "/api/v1/runs", "read", "aml:runs", "search", "runs matching a filter, a page at a time"),
    Route("GET", "/api/v1/keys", "read", "aml:runs", "keys", "the param, metric and tag keys runs hold"),
    Route("GET", "/api/v1/groups", "read", "aml:runs", "groups", "runs grouped by a param or tag, best metric each"),
    Route("POST", "/api/v1/runs", "write", "aml:runs", "create_run", "create a run (status running)"),
    Route("GET", "/api/v1/runs/{run}", "read", "aml:runs", "record", "one run: params, metrics, tags, artifacts"),
    Route("DELETE", "/api/v1/runs/{run}", "admin", "aml:runs", "delete_run", "delete an ended run"),
    Route("POST", "/api/v1/runs/{run}/metrics", "write", "aml:runs", "log_metrics", "log metric points"),
    Route("POST", "/api/v1/runs/{run}/params", "write", "aml:runs", "log_params", "log params"),
    Route("POST", "/api/v1/runs/{run}/tags", "write", "aml:runs", "set_tags", "set tags"),
    Route(
        "POST",
        "/api/v1/runs/{run}/names",
        "write",
        "aml:runs",
        "adopt_names",
        "a job's run takes the experiment and name its script asks for, where its submission named none",
    ),
    Route("POST", "/api/v1/runs/{run}/heartbeat", "write", "aml:runs", "heartbeat", "keep a remote run alive"),
    Route("POST", "/api/v1/runs/{run}/transition", "write", "aml:runs", "transition", "change a run's status"),
    Route("POST", "/api/v1/runs/{run}/clear_metrics", "write", "aml:runs", "clear_metrics", "drop a run's metrics"),
    Route(
        "GET", "/api/v1/jobs/parameters", "read", "aml:jobs", "job_parameters", "a notebook's or script's parameters"
    ),
    Route("POST", "/api/v1/jobs", "execute", "aml:jobs", "submit", "submit a script or notebook as a job"),
    Route("POST", "/api/v1/runs/{run}/cancel", "execute", "aml:jobs", "cancel", "cancel a submitted run"),
    Route("POST", "/api/v1/runs/{run}/rerun", "execute", "aml:jobs", "rerun", "run a job again, params edited"),
    Route(
        "GET", "/api/v1/runs/{run}/metrics/{key}", "read", "aml:runs", "metric_series", "a metric's points, downsampled"
    ),
    Route("GET", "/api/v1/metrics/{key}", "read", "aml:runs", "metric_series_of_runs", "one metric of many runs"),
    Route("GET", "/api/v1/runs/{run}/models", "read", "aml:models", "run_models", "model versions registered from it"),
    Route("GET", "/api/v1/runs/{run}/artifacts", "read", "aml:runs", "list_artifacts", "a run's artifacts"),
    Route("GET", "/api/v1/runs/{run}/artifacts/{name}", "read", "aml:runs", "get_artifact", "an artifact's bytes"),
    Route("PUT", "/api/v1/runs/{run}/artifacts/{name}", "write", "aml:runs", "put_artifact", "store an artifact"),
    Route(
        "GET", "/api/v1/runs/{run}/preview/{name}", "read", "aml:runs", "preview", "an artifact shown: notebook as HTML"
    ),
    Route("GET", "/api/v1/snapshots/{snapshot}", "read", "aml:runs", "snapshot", "a snapshot as a tar archive"),
    Route("GET", "/api/v1/snapshots/{snapshot}/files", "read", "aml:runs", "snapshot_files", "a snapshot's paths"),
    Route("GET", "/api/v1/snapshots/{snapshot}/diff/{other}", "read", "aml:runs", "snapshot_diff", "two snapshots"),
    Route(
        "POST", "/api/v1/snapshots/{snapshot}/restore", "write", "aml:runs", "restore", "a snapshot into a new folder"
    ),
    Route("GET", "/api/v1/models", "read", "aml:models", "models", "registered models"),
    Route("GET", "/api/v1/models/{model}", "read", "aml:models", "model_versions", "a model's versions"),
    Route("POST", "/api/v1/models/{model}", "write", "aml:models", "register", "register a run's artifact"),
    Route(
        "POST",
        "/api/v1/models/{model}/versions/{version}/approve",
        "admin",
        "aml:models",
        "approve",
        "an owner approves a version for deployment",
    ),
    Route("GET", "/api/v1/deployments", "read", "aml:deployments", "deployments", "deployments and their state"),
    Route("POST", "/api/v1/deployments", "execute", "aml:deployments", "deploy", "serve a version locally"),
    Route("DELETE", "/api/v1/deployments/{deployment}", "execute", "aml:deployments", "undeploy", "stop a deployment"),
    Route("GET", "/api/v1/datasets", "read", "aml:datasets", "datasets", "registered datasets"),
    Route("GET", "/api/v1/datasets/{dataset}/preview", "read", "aml:datasets", "dataset_preview", "a dataset's rows"),
    Route("GET", "/api/v1/datasets/{dataset}/profile", "read", "aml:datasets", "dataset_profile", "column profiles"),
    Route("POST", "/api/v1/dataprep/learn", "read", "aml:datasets", "learn", "learn a column from examples"),
    Route("GET", "/api/v1/templates", "read", "aml:projects", "templates", "the project templates of the gallery"),
    Route("POST", "/api/v1/templates/{template}/new", "write", "aml:projects", "new_project", "a new project from one"),
    Route("GET", "/api/v1/targets", "read", "aml:compute", "targets", "compute targets and their settings"),
    Route("GET", "/api/v1/audit", "admin", "aml:audit", "audit", "the audit log, newest first"),
    Route("GET", "/api/v1/roles", "admin", "aml:roles", "get_roles", "roles given in this workspace"),
    Route("PUT", "/api/v1/roles", "admin", "aml:roles", "put_roles", "give or take roles"),
]


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, its path parameters, whether the path exists under another method).

    Example:
        >>> route, params, _ = match("GET", "/api/v1/runs/1a2b3c4d")
        >>> route.handler, params
        ('record', {'run': '1a2b3c4d'})
        >>> match("PATCH", "/api/v1/runs")[0], match("PATCH", "/api/v1/runs")[2]
        (None, True)
    """
    other = False
    for route in ROUTES:
        m = route.pattern.match(path)
        if m is None:
            continue
        if route.method == method:
            return route, m.groupdict(), False
        other = True
    return None, {}, other
