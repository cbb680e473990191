"""docs/openapi.yaml against the handlers, and a bounded fuzz of every operation on a live server."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path

import pytest
import yaml

from aml_jupyter.server.events import AmlEventsHandler
from aml_jupyter.server.extension import AmlApiHandler, AmlExtension
from aml_jupyter.server.openapi import document
from aml_jupyter.server.resources import access, artifacts, data, jobs, models, runs, templates, workspace
from aml_jupyter.server.routes import ROUTES

from .conformance import check_answer
from .conftest import TOKENS, Server

RESOURCES = (access, artifacts, data, jobs, models, runs, templates, workspace)

DOC = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def test_the_document_describes_every_route_and_only_those() -> None:
    committed = yaml.safe_load(DOC.read_text())
    assert committed == json.loads(json.dumps(document())), "regenerate: python -m aml_jupyter.server.openapi"
    described = {(m.upper(), p) for p, ops in committed["paths"].items() for m in ops}
    assert described == {(r.method, r.path) for r in ROUTES}
    handlers = {
        (module.__name__.rsplit(".", 1)[-1], name)
        for module in RESOURCES
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }
    # No handler without a route, no route without one, no two routes on one handler.
    assert handlers == {(r.handler.__module__.rsplit(".", 1)[-1], r.name) for r in ROUTES}
    assert len({r.handler for r in ROUTES}) == len(ROUTES)
    for route in ROUTES:
        assert route.action in ("read", "write", "execute", "admin") and route.resource.startswith("aml:")


def test_the_panels_typescript_types_are_the_documents() -> None:
    from aml_jupyter.server.openapi_ts import typescript

    committed = (DOC.parents[1] / "labextension" / "src" / "api.ts").read_text()
    assert committed == typescript(yaml.safe_load(DOC.read_text())), (
        "regenerate: python -m aml_jupyter.server.openapi_ts > labextension/src/api.ts"
    )


def test_answers_off_their_schema_are_caught() -> None:
    keys = {"params": [], "metrics": [], "tags": [], "system_metrics": []}
    check_answer("GET", "aml/api/v1/keys?experiment=x", 200, keys)
    check_answer("GET", "aml/api/v1/audit", 200, {"anything": 1})  # a route the document leaves open
    with pytest.raises(AssertionError, match=r"keys\) answered off its schema: at metrics: 3 is not of type 'array'"):
        check_answer("GET", "aml/api/v1/keys", 200, keys | {"metrics": 3})
    run = {k: "x" for k in ("id", "experiment", "name", "status", "user", "source_kind", "compute_target")}
    run |= {"start_time": 1, "end_time": None, "source_path": None, "snapshot_id": None, "parent_id": None}
    run |= {"params": {}, "metrics": {"acc": 0.5, "loss": "NaN"}, "system_metrics": {}, "tags": {}}
    check_answer("GET", "aml/api/v1/runs", 200, {"runs": [run], "next_page_token": None})
    with pytest.raises(AssertionError, match="at runs/0/end_time: 'soon' is not valid"):
        check_answer("GET", "aml/api/v1/runs", 200, {"runs": [run | {"end_time": "soon"}], "next_page_token": None})


def test_every_handler_of_the_extension_authenticates() -> None:
    app = AmlExtension()
    app.initialize_handlers()
    assert [h for _, h in app.handlers] == [AmlEventsHandler, AmlApiHandler, AmlApiHandler]  # aml's API, MLflow's
    for method in ("get", "post", "put", "delete"):
        fn = getattr(AmlApiHandler, method)
        assert fn.__wrapped__ is not None  # tornado's authenticated: no user, no answer
    assert AmlEventsHandler.get.__wrapped__ is not None  # Jupyter's ws_authenticated


def test_fuzz_every_operation_on_a_live_server(server: Server) -> None:
    # Schemathesis makes requests from the document (valid and not); none may break the server.
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import HealthCheck, given, settings

    schema = schemathesis.openapi.from_path(DOC)
    headers = {"Authorization": f"token {TOKENS['owner']}"}
    seen: dict[str, int] = {}
    for result in schema.get_all_operations():
        operation = result.ok()

        # CI replays the same examples each time (a failure there is one to fix, not a coin toss);
        # other runs draw new ones and keep exploring.
        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            derandomize=bool(os.environ.get("CI")),
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def probe(case: object) -> None:
            response = case.call(base_url=server.url + "aml", headers=headers, timeout=30)  # type: ignore[attr-defined]
            key = f"{case.method} {case.path}"  # type: ignore[attr-defined]
            seen[key] = seen.get(key, 0) + 1
            assert response.status_code < 500, (key, response.status_code, response.text[:500])
            if "json" in response.headers.get("Content-Type", ""):
                check_answer(case.method, case.formatted_path, response.status_code, response.json())  # type: ignore[attr-defined]

        probe()
    assert len(seen) == len(ROUTES)
    assert server.call("GET", "aml/api/v1/health")[0] == 200  # and it still answers


def test_the_lab_client_matches_the_document() -> None:
    """The labextension's REST client names each operation by its operationId; its method and
    path must be the document's (the TypeScript client would call a route that is not there)."""
    repo = Path(__file__).resolve().parents[2]
    used = json.loads((repo / "labextension" / "src" / "operations.json").read_text())
    spec = yaml.safe_load((repo / "docs" / "openapi.yaml").read_text())
    ops = {
        op["operationId"]: (method.upper(), path)
        for path, methods in spec["paths"].items()
        for method, op in methods.items()
        if isinstance(op, dict) and "operationId" in op
    }
    drift = {k: (v["method"], v["path"]) for k, v in used.items() if ops.get(k) != (v["method"], v["path"])}
    assert drift == {}, f"labextension/src/operations.json differs from docs/openapi.yaml: {drift}"
