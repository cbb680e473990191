"""The REST API through a real Jupyter server: runs created, logged, paged, downsampled, rerun,
cancelled and deleted; bad paths, huge bodies and absurd page sizes refused or capped."""

from __future__ import annotations

import time
from urllib.parse import quote

import aml_jupyter as aml

from .conftest import Server


def _wait_ended(server: Server, run_id: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    deadline = time.monotonic() + timeout
    while True:
        status, run, _ = server.call("GET", f"aml/api/v1/runs/{run_id}")
        assert status == 200
        if run["status"] in ("completed", "failed", "cancelled", "lost"):
            return run  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, run
        time.sleep(0.3)


def test_create_log_and_read_a_downsampled_series(server: Server) -> None:
    status, run, _ = server.call("POST", "aml/api/v1/runs", "contributor", {"experiment": "api", "params": {"lr": 0.1}})
    assert status == 201 and run["status"] == "running" and run["source_kind"] == "api"
    base = f"aml/api/v1/runs/{run['id']}"
    points = [{"key": "loss", "value": 1.0 / (i + 1), "step": i} for i in range(20_000)]
    points[777]["value"] = 50.0  # a spike the downsampled chart must keep
    assert server.call("POST", base + "/metrics", "contributor", {"metrics": points})[0] == 200
    status, series, _ = server.call("GET", base + "/metrics/loss?max_points=500")
    assert status == 200 and series["points"] == 20_000 and series["downsampled"]
    assert len(series["step"]) <= 500 and series["step"] == sorted(series["step"])
    assert 50.0 in series["value"] and 777 in series["step"] and min(series["value"]) == 1.0 / 20_000
    assert server.call("GET", base + "/metrics/loss?max_points=1")[0] == 400
    assert server.call("POST", base + "/transition", "contributor", {"event": "complete"})[1]["status"] == "completed"
    status, listed, _ = server.call("GET", "aml/api/v1/runs?filter=" + quote("params.lr = '0.1'"), "reader")
    assert status == 200 and [r["run_id"] for r in listed["runs"]] == [run["id"]]
    assert listed["runs"][0]["metrics"] == {"loss": 1.0 / 20_000} and listed["runs"][0]["params"] == {"lr": "0.1"}


def test_pages_and_caps(server: Server) -> None:
    ids = {server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "paged"})[1]["id"] for _ in range(5)}
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = "aml/api/v1/runs?experiment=paged&max_results=2" + (f"&page_token={token}" if token else "")
        status, page, _ = server.call("GET", query, "reader")
        assert status == 200 and len(page["runs"]) <= 2
        seen += [r["run_id"] for r in page["runs"]]
        pages += 1
        token = page["next_page_token"]
        if token is None:
            break
    assert pages == 3 and len(seen) == 5 and set(seen) == ids
    # A token belongs to its query; a forged one is refused.
    first = server.call("GET", "aml/api/v1/runs?experiment=paged&max_results=2", "reader")[1]["next_page_token"]
    status, body, _ = server.call("GET", f"aml/api/v1/runs?max_results=2&page_token={first}", "reader")
    assert status == 400 and "another query" in body["error"]
    assert server.call("GET", "aml/api/v1/runs?page_token=bm9wZQ", "reader")[0] == 400
    status, body, _ = server.call("GET", f"aml/api/v1/runs?max_results={10**9}", "reader")
    assert status == 200 and len(body["runs"]) <= 1000  # capped, not refused
    assert server.call("GET", "aml/api/v1/runs?max_results=0", "reader")[0] == 400
    assert server.call("GET", "aml/api/v1/runs?filter=" + quote("metrics.acc >"), "reader")[0] == 400


def test_bad_paths_and_bodies(server: Server) -> None:
    run = server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "paths"})[1]
    base = f"aml/api/v1/runs/{run['id']}/artifacts/"
    for name in ("..%2F..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a%2F..%2F..%2Fb", "..", "C:%5Cwin.ini"):
        status, body, _ = server.call("PUT", base + name, "owner", raw=b"x")
        assert status == 400, (name, status, body)
        status, body, _ = server.call("GET", base + name, "owner")
        assert status in (400, 404) and b"root:" not in (body if isinstance(body, bytes) else str(body).encode())
    assert server.call("PUT", base + "ok.txt", "owner", raw=b"hello")[0] == 200
    status, data, headers = server.call("GET", base + "ok.txt", "reader")
    assert status == 200 and data == b"hello" and headers["Content-Disposition"] == "attachment"
    listed = server.call("GET", f"aml/api/v1/runs/{run['id']}/artifacts", "reader")[1]["artifacts"]
    assert [a["name"] for a in listed] == ["ok.txt"]
    huge = b'{"experiment": "' + b"x" * (100 * 1024 * 1024) + b'"}'
    assert server.call("POST", "aml/api/v1/runs", "owner", raw=huge)[0] == 413
    status, body, _ = server.call("POST", "aml/api/v1/runs", "owner", raw=b"[1, 2]")
    assert status == 400 and "JSON object" in body["error"]
    assert server.call("POST", "aml/api/v1/runs", "owner", raw=b"{nope")[0] == 400
    assert server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "x", "params": {"": 1}})[0] == 400
    assert server.call("GET", "aml/api/v1/no/such/route", "owner")[0] == 404
    assert server.call("PATCH", "aml/api/v1/runs", "owner", {})[0] in (404, 405)


def test_rerun_with_edited_params_then_cancel_and_delete(server: Server) -> None:
    first = aml.submit("train.py", {"lr": 0.1}, experiment="jobs", wait=True, workspace=server.ws)
    assert first["status"] == "completed"
    status, body, _ = server.call(
        "POST", f"aml/api/v1/runs/{first['id']}/rerun", "contributor", {"params": {"lr": 0.5}}
    )
    assert status == 201 and body["rerun_of"] == first["id"]
    again = _wait_ended(server, body["id"])
    assert again["status"] == "completed" and again["params"]["lr"] == "0.5" and again["metrics"]["lr_seen"] == 0.5
    assert (
        again["tags"]["aml.rerun_of"] == first["id"]
        and again["snapshot_id"] == aml.get_run(first["id"], workspace=server.ws).info.snapshot_id
    )  # the original's files, not today's
    status, body, _ = server.call("POST", f"aml/api/v1/runs/{first['id']}/rerun", "contributor", {"params": {"x": 1}})
    assert status == 400 and "no param 'x'" in body["error"]
    api_run = server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "jobs"})[1]
    assert server.call("POST", f"aml/api/v1/runs/{api_run['id']}/rerun", "owner", {})[0] == 400
    assert server.call("POST", f"aml/api/v1/runs/{first['id']}/cancel", "contributor", {})[0] == 409  # ended
    assert server.call("DELETE", f"aml/api/v1/runs/{api_run['id']}", "owner")[0] == 409  # still running
    status, body, _ = server.call("DELETE", f"aml/api/v1/runs/{first['id']}", "owner")
    assert status == 200 and body["deleted"] == [first["id"]]
    assert server.call("GET", f"aml/api/v1/runs/{first['id']}", "reader")[0] == 404


def test_the_other_collections(server: Server) -> None:
    for path, key in (
        ("experiments", "experiments"),
        ("models", "models"),
        ("deployments", "deployments"),
        ("datasets", "datasets"),
        ("targets", "targets"),
    ):
        status, body, _ = server.call("GET", f"aml/api/v1/{path}", "reader")
        assert status == 200 and isinstance(body[key], list), path
    targets = server.call("GET", "aml/api/v1/targets", "reader")[1]["targets"]
    assert {"local", "dask"} <= {t["name"] for t in targets}
    status, body, _ = server.call("GET", "aml/api/v1/models/nope", "reader")
    assert status == 404 and "no model" in body["error"]
