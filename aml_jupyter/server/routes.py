"""The REST API's routes: one table that both servers (``aml server`` and the Jupyter extension),
the authorization check, the OpenAPI document and the tests read.

Each route names the action a caller needs (``read``, ``write``, ``execute`` or ``admin``; see
server/roles.py for who has which) and the resource it touches. Paths are relative to the API's
root: ``/api/v1/...`` for ``aml server``, ``{base_url}aml/api/v1/...`` in Jupyter.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .answers import BOOL, INT, STR, STRS, obj, ref
from .mlflow import artifacts as ml_artifacts
from .mlflow import experiments as ml_experiments
from .mlflow import registry as ml_registry
from .mlflow import runs as ml_runs
from .resources import access, artifacts, data, jobs, models, runs, templates, workspace

if TYPE_CHECKING:
    from .api import TrackingAPI
    from .calls import Call, Response

RUN = r"(?P<run>[0-9a-f]{4,32})"


Handler = Callable[["TrackingAPI", "Call"], "Response"]


@dataclass(frozen=True)
class Route:
    """One method and path of the API, the action it needs, the handler that answers it (a function
    of server/resources/, so grep finds the code from the route), what it does, and what the
    OpenAPI document says of it: its query parameters, its JSON body, its answer's schema, whether
    it answers 201 (created) or may answer 409 (the run's status does not allow it), and any other
    error it may answer. A new route is a row here and a function there.
    """

    method: str
    path: str  # OpenAPI style: /api/v1/runs/{run}
    action: str
    resource: str
    handler: Handler = field(compare=False)
    summary: str
    query: list[dict[str, Any]] = field(default_factory=list, compare=False)
    body: dict[str, Any] | None = field(default=None, compare=False)
    answer: dict[str, Any] | None = field(default=None, compare=False)
    created: bool = False
    conflicts: bool = False
    errors: dict[int, str] = field(default_factory=dict, compare=False)
    # Its body is an artifact's bytes, streamed to a file as it comes (up to MAX_ARTIFACT_BYTES).
    upload: bool = False
    # A live run's own stream (metric batches, heartbeats): several a second per job, so allowed
    # requests are not audited; the run itself records them.
    stream: bool = False

    @property
    def name(self) -> str:
        """The operation's name: its handler's (the OpenAPI operationId)."""
        return self.handler.__name__

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.path)

    @property
    def audited(self) -> bool:
        """Whether an allowed request goes to the audit log: every write, execute and admin one,
        but for a live run's own stream (metric batches, heartbeats), which the run itself records
        and which would write an entry every half second per job. Refusals are always audited."""
        return self.action != "read" and not self.stream


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
            "{experiment}": r"(?P<experiment>[0-9]{1,18})",
            "{model_id}": r"(?P<model_id>m-[0-9a-f]{32})",
        }
        regex = re.escape(path)
        for token, group in parts.items():
            regex = regex.replace(re.escape(token), group)
        _PATTERNS[path] = re.compile(f"^{regex}\\Z")  # not $: it would let a trailing newline through
    return _PATTERNS[path]


_PATTERNS: dict[str, re.Pattern[str]] = {}

ROUTES: list[Route] = [
    Route(
        "GET",
        "/api/v1/health",
        "read",
        "aml:workspace",
        workspace.health,
        "the workspace's name; a liveness probe",
        answer=obj({"ok": BOOL, "workspace": STR}),
    ),
    Route(
        "GET",
        "/api/v1/me",
        "read",
        "aml:workspace",
        access.me,
        "who calls and what their role allows",
        answer=obj({"user": STR, "actions": STRS}),
    ),
    Route(
        "GET",
        "/api/v1/experiments",
        "read",
        "aml:runs",
        workspace.experiments,
        "experiments with their run counts",
        answer=obj({"experiments": {"type": "array", "items": ref("Experiment")}}),
    ),
    Route(
        "GET",
        "/api/v1/runs",
        "read",
        "aml:runs",
        runs.search,
        "runs matching a filter, a page at a time",
        query=runs.SEARCH_QUERY,
        answer=ref("RunPage"),
    ),
    Route(
        "GET",
        "/api/v1/keys",
        "read",
        "aml:runs",
        runs.keys,
        "the param, metric and tag keys runs hold",
        query=runs.KEYS_QUERY,
        answer=ref("Keys"),
    ),
    Route(
        "GET",
        "/api/v1/groups",
        "read",
        "aml:runs",
        runs.groups,
        "runs grouped by a param or tag, best metric each",
        query=runs.GROUPS_QUERY,
        answer=ref("Groups"),
    ),
    Route(
        "POST",
        "/api/v1/runs",
        "write",
        "aml:runs",
        runs.create_run,
        "create a run (status running)",
        body=runs.CREATE_RUN_BODY,
        created=True,
    ),
    Route(
        "GET",
        "/api/v1/runs/{run}",
        "read",
        "aml:runs",
        runs.record,
        "one run: params, metrics, tags, artifacts",
        answer=ref("RunRecord"),
    ),
    Route("DELETE", "/api/v1/runs/{run}", "admin", "aml:runs", runs.delete_run, "delete an ended run", conflicts=True),
    Route(
        "POST",
        "/api/v1/runs/{run}/metrics",
        "write",
        "aml:runs",
        runs.log_metrics,
        "log metric points",
        body=runs.LOG_METRICS_BODY,
        conflicts=True,
        stream=True,
    ),
    Route(
        "POST",
        "/api/v1/runs/{run}/params",
        "write",
        "aml:runs",
        runs.log_params,
        "log params",
        body=runs.LOG_PARAMS_BODY,
    ),
    Route("POST", "/api/v1/runs/{run}/tags", "write", "aml:runs", runs.set_tags, "set tags", body=runs.SET_TAGS_BODY),
    Route(
        "POST",
        "/api/v1/runs/{run}/names",
        "write",
        "aml:runs",
        runs.adopt_names,
        "a job's run takes the experiment and name its script asks for, where its submission named none",
        body=runs.ADOPT_NAMES_BODY,
    ),
    Route(
        "POST",
        "/api/v1/runs/{run}/heartbeat",
        "write",
        "aml:runs",
        runs.heartbeat,
        "keep a remote run alive",
        stream=True,
    ),
    Route(
        "POST",
        "/api/v1/runs/{run}/transition",
        "write",
        "aml:runs",
        runs.transition,
        "change a run's status",
        body=runs.TRANSITION_BODY,
        conflicts=True,
    ),
    Route("POST", "/api/v1/runs/{run}/clear_metrics", "write", "aml:runs", runs.clear_metrics, "drop a run's metrics"),
    Route(
        "GET",
        "/api/v1/jobs/parameters",
        "read",
        "aml:jobs",
        jobs.job_parameters,
        "a notebook's or script's parameters",
        query=jobs.JOB_PARAMETERS_QUERY,
        answer=ref("JobParameters"),
    ),
    Route(
        "POST",
        "/api/v1/jobs",
        "execute",
        "aml:jobs",
        jobs.submit,
        "submit a script or notebook as a job",
        body=jobs.SUBMIT_BODY,
        answer=ref("JobStarted"),
        created=True,
    ),
    Route(
        "POST",
        "/api/v1/runs/{run}/cancel",
        "execute",
        "aml:jobs",
        jobs.cancel,
        "cancel a submitted run",
        answer=ref("JobStarted"),
        conflicts=True,
    ),
    Route(
        "POST",
        "/api/v1/runs/{run}/rerun",
        "execute",
        "aml:jobs",
        jobs.rerun,
        "run a job again, params edited",
        body=jobs.RERUN_BODY,
        answer=ref("JobStarted"),
        created=True,
    ),
    Route(
        "GET",
        "/api/v1/runs/{run}/metrics/{key}",
        "read",
        "aml:runs",
        runs.metric_series,
        "a metric's points, downsampled",
        query=runs.METRIC_SERIES_QUERY,
        answer=ref("Series"),
    ),
    Route(
        "GET",
        "/api/v1/metrics/{key}",
        "read",
        "aml:runs",
        runs.metric_series_of_runs,
        "one metric of many runs",
        query=runs.METRIC_SERIES_OF_RUNS_QUERY,
        answer=obj({"key": STR, "series": {"type": "array", "items": ref("SeriesOrError")}}),
    ),
    Route(
        "GET",
        "/api/v1/runs/{run}/models",
        "read",
        "aml:models",
        models.run_models,
        "model versions registered from it",
        answer=obj({"versions": {"type": "array", "items": ref("ModelVersionOfRun")}}),
    ),
    Route(
        "GET",
        "/api/v1/runs/{run}/artifacts",
        "read",
        "aml:runs",
        artifacts.list_artifacts,
        "a run's artifacts",
        answer=obj({"artifacts": {"type": "array", "items": ref("Artifact")}}),
    ),
    Route(
        "GET", "/api/v1/runs/{run}/artifacts/{name}", "read", "aml:runs", artifacts.get_artifact, "an artifact's bytes"
    ),
    Route(
        "PUT",
        "/api/v1/runs/{run}/artifacts/{name}",
        "write",
        "aml:runs",
        artifacts.put_artifact,
        "store an artifact",
        upload=True,
    ),
    Route(
        "GET",
        "/api/v1/runs/{run}/preview/{name}",
        "read",
        "aml:runs",
        artifacts.preview,
        "an artifact shown: notebook as HTML",
        query=artifacts.PREVIEW_QUERY,
    ),
    Route("GET", "/api/v1/snapshots/{snapshot}", "read", "aml:runs", artifacts.snapshot, "a snapshot as a tar archive"),
    Route(
        "GET",
        "/api/v1/snapshots/{snapshot}/files",
        "read",
        "aml:runs",
        artifacts.snapshot_files,
        "a snapshot's paths",
        answer=obj({"files": STRS, "total": INT}),
    ),
    Route(
        "GET",
        "/api/v1/snapshots/{snapshot}/diff/{other}",
        "read",
        "aml:runs",
        artifacts.snapshot_diff,
        "two snapshots",
        answer=obj(
            {"changes": {"type": "array", "items": obj({"status": STR, "path": STR})}, "patch": STR},
        ),
    ),
    Route(
        "POST",
        "/api/v1/snapshots/{snapshot}/restore",
        "write",
        "aml:runs",
        artifacts.restore,
        "a snapshot into a new folder",
        body=artifacts.RESTORE_BODY,
        answer=obj({"folder": STR, "files": STRS}),
        created=True,
    ),
    Route("GET", "/api/v1/models", "read", "aml:models", models.models, "registered models"),
    Route("GET", "/api/v1/models/{model}", "read", "aml:models", models.model_versions, "a model's versions"),
    Route(
        "POST",
        "/api/v1/models/{model}",
        "write",
        "aml:models",
        models.register,
        "register a run's artifact",
        body=models.REGISTER_BODY,
        created=True,
    ),
    Route(
        "GET",
        "/api/v1/models/{model}/versions/{version}",
        "read",
        "aml:models",
        models.version,
        "one version, and whether its registration is vouched for",
    ),
    Route(
        "GET",
        "/api/v1/models/{model}/versions/{version}/files/{name}",
        "read",
        "aml:models",
        models.version_file,
        "one of a version's files",
    ),
    Route(
        "POST",
        "/api/v1/models/{model}/versions/{version}/approve",
        "admin",
        "aml:models",
        models.approve,
        "an owner approves a version for deployment",
    ),
    Route("GET", "/api/v1/deployments", "read", "aml:deployments", models.deployments, "deployments and their state"),
    Route(
        "POST",
        "/api/v1/deployments",
        "execute",
        "aml:deployments",
        models.deploy,
        "serve a version locally",
        body=models.DEPLOY_BODY,
        created=True,
        errors={
            403: "the caller's role does not allow execute, or the model runs someone else's code and "
            "trusted is not true"
        },
    ),
    Route(
        "DELETE", "/api/v1/deployments/{deployment}", "execute", "aml:deployments", models.undeploy, "stop a deployment"
    ),
    Route("GET", "/api/v1/datasets", "read", "aml:datasets", data.datasets, "registered datasets"),
    Route(
        "GET",
        "/api/v1/datasets/{dataset}/preview",
        "read",
        "aml:datasets",
        data.dataset_preview,
        "a dataset's rows",
        query=data.DATASET_PREVIEW_QUERY,
        errors={403: "the caller's role does not allow read, or the recipe runs code that another user registered"},
    ),
    Route(
        "GET",
        "/api/v1/datasets/{dataset}/profile",
        "read",
        "aml:datasets",
        data.dataset_profile,
        "column profiles",
        errors={403: "the caller's role does not allow read, or the recipe runs code that another user registered"},
    ),
    Route(
        "POST",
        "/api/v1/dataprep/learn",
        "read",
        "aml:datasets",
        data.learn,
        "learn a column from examples",
        body=data.LEARN_BODY,
        errors={
            422: "no program fits the examples",
            429: "the caller, or everyone, has too many learning requests running",
        },
    ),
    Route(
        "GET",
        "/api/v1/templates",
        "read",
        "aml:projects",
        templates.templates,
        "the project templates of the gallery",
        answer=obj({"templates": {"type": "array", "items": ref("Template")}}),
    ),
    Route(
        "POST",
        "/api/v1/templates/{template}/new",
        "write",
        "aml:projects",
        templates.new_project,
        "a new project from one",
        body=templates.NEW_PROJECT_BODY,
        answer=obj({"folder": STR, "files": STRS}, description="the folder, relative to the project's root"),
        created=True,
    ),
    Route(
        "GET",
        "/api/v1/targets",
        "read",
        "aml:compute",
        jobs.targets,
        "compute targets and their settings",
        answer=obj({"targets": {"type": "array", "items": ref("Target")}}),
    ),
    Route(
        "GET",
        "/api/v1/audit",
        "admin",
        "aml:audit",
        access.audit,
        "the audit log, newest first",
        query=access.AUDIT_QUERY,
    ),
    Route("GET", "/api/v1/roles", "admin", "aml:roles", access.get_roles, "roles given in this workspace"),
    Route(
        "PUT", "/api/v1/roles", "admin", "aml:roles", access.put_roles, "give or take roles", body=access.PUT_ROLES_BODY
    ),
]


def match(method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
    """(route, its path parameters, whether the path exists under another method).

    Example:
        >>> route, params, _ = match("GET", "/api/v1/runs/1a2b3c4d")
        >>> route.name, params
        ('record', {'run': '1a2b3c4d'})
        >>> match("PATCH", "/api/v1/runs")[0], match("PATCH", "/api/v1/runs")[2]
        (None, True)
    """
    other = False
    for route in MLFLOW_ROUTES if path.startswith(MLFLOW) else ROUTES:
        m = route.pattern.match(path)
        if m is None:
            continue
        if route.method == method:
            return route, m.groupdict(), False
        other = True
    return None, {}, other


# MLflow's REST API (its 2.0 tracking routes and the artifact proxy), for MLflow clients logging to
# aml unchanged: below the API's root like aml's own, with the same roles and audit, answered in
# MLflow's wire format (server/mlflow/). Not in openapi.yaml: MLflow documents them. A path under
# it that is no row here is answered 501 NOT_IMPLEMENTED (server/mlflow/wire.py).
MLFLOW = "/mlflow/api/2.0/"
_M = MLFLOW + "mlflow/"
_ART = MLFLOW + "mlflow-artifacts/artifacts"

MLFLOW_ROUTES: list[Route] = [
    Route("POST", _M + "experiments/create", "write", "aml:runs", ml_experiments.create, "create an experiment"),
    Route("GET", _M + "experiments/get", "read", "aml:runs", ml_experiments.get, "an experiment by id"),
    Route(
        "GET", _M + "experiments/get-by-name", "read", "aml:runs", ml_experiments.get_by_name, "an experiment by name"
    ),
    Route("POST", _M + "experiments/search", "read", "aml:runs", ml_experiments.search, "experiments"),
    Route("POST", _M + "runs/create", "write", "aml:runs", ml_runs.create, "create a run"),
    Route("GET", _M + "runs/get", "read", "aml:runs", ml_runs.get, "a run"),
    Route("POST", _M + "runs/update", "write", "aml:runs", ml_runs.update, "rename or end a run"),
    Route("POST", _M + "runs/delete", "admin", "aml:runs", ml_runs.delete, "delete an ended run"),
    Route("POST", _M + "runs/search", "read", "aml:runs", ml_runs.search, "runs matching a filter"),
    Route("POST", _M + "runs/log-metric", "write", "aml:runs", ml_runs.log_metric, "log a metric point", stream=True),
    Route("POST", _M + "runs/log-parameter", "write", "aml:runs", ml_runs.log_parameter, "log a param"),
    Route("POST", _M + "runs/set-tag", "write", "aml:runs", ml_runs.set_tag, "set a tag"),
    Route(
        "POST",
        _M + "runs/log-batch",
        "write",
        "aml:runs",
        ml_runs.log_batch,
        "log metrics, params and tags",
        stream=True,
    ),
    Route("POST", _M + "runs/log-inputs", "write", "aml:runs", ml_runs.log_inputs, "record datasets read"),
    Route("GET", _M + "metrics/get-history", "read", "aml:runs", ml_runs.get_history, "a metric's points"),
    Route("GET", _M + "artifacts/list", "read", "aml:runs", ml_runs.list_artifacts, "a run's artifacts"),
    Route("GET", _ART, "read", "aml:runs", ml_artifacts.listing, "a folder of a run's artifacts"),
    Route("POST", _M + "logged-models", "write", "aml:models", ml_registry.create_logged, "a model a run logs"),
    Route("POST", _M + "logged-models/search", "read", "aml:models", ml_registry.search_logged, "logged models"),
    Route("GET", _M + "logged-models/{model_id}", "read", "aml:models", ml_registry.get_logged, "a logged model"),
    Route("PATCH", _M + "logged-models/{model_id}", "write", "aml:models", ml_registry.finalize_logged, "its status"),
    Route("PATCH", _M + "logged-models/{model_id}/tags", "write", "aml:models", ml_registry.tag_logged, "its tags"),
    Route("POST", _M + "runs/outputs", "write", "aml:runs", ml_registry.log_outputs, "the models a run logged"),
    Route("POST", _M + "runs/log-model", "write", "aml:runs", ml_runs.log_model, "a model a run logged (MLflow 2)"),
    Route("POST", _M + "registered-models/create", "write", "aml:models", ml_registry.create_registered, "a name"),
    Route("GET", _M + "registered-models/get", "read", "aml:models", ml_registry.get_registered, "a model"),
    Route("GET", _M + "registered-models/search", "read", "aml:models", ml_registry.search_registered, "models"),
    Route("POST", _M + "registered-models/search", "read", "aml:models", ml_registry.search_registered, "models"),
    Route(
        "POST",
        _M + "registered-models/get-latest-versions",
        "read",
        "aml:models",
        ml_registry.latest_versions,
        "the newest version",
    ),
    Route("POST", _M + "registered-models/alias", "write", "aml:models", ml_registry.set_alias, "set an alias"),
    Route("GET", _M + "registered-models/alias", "read", "aml:models", ml_registry.get_by_alias, "by alias"),
    Route("POST", _M + "model-versions/create", "write", "aml:models", ml_registry.create_version, "a version"),
    Route("GET", _M + "model-versions/get", "read", "aml:models", ml_registry.get_version, "a version"),
    Route(
        "GET",
        _M + "model-versions/get-download-uri",
        "read",
        "aml:models",
        ml_registry.download_uri,
        "where its files are",
    ),
    Route("GET", _M + "model-versions/search", "read", "aml:models", ml_registry.search_versions, "versions"),
    Route("POST", _M + "model-versions/search", "read", "aml:models", ml_registry.search_versions, "versions"),
    Route(
        "PUT",
        _ART + "/{experiment}/{run}/artifacts/{name}",
        "write",
        "aml:runs",
        ml_artifacts.put,
        "store an artifact",
        upload=True,
    ),
    Route(
        "GET",
        _ART + "/{experiment}/{run}/artifacts/{name}",
        "read",
        "aml:runs",
        ml_artifacts.get,
        "an artifact's bytes",
    ),
]
