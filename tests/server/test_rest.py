"""The REST API through a real Jupyter server: runs created, logged, paged, downsampled, rerun,
cancelled and deleted; bad paths, huge bodies and absurd page sizes refused or capped."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from urllib.parse import quote

import pytest

import aml_jupyter as aml
from aml_jupyter.errors import AccessDenied
from tests.conftest import eventually
from tests.mlflow_venv import mlflow_python

from .conftest import Server


def _wait_ended(server: Server, run_id: str, timeout: float = 120) -> dict:  # type: ignore[type-arg]
    def ended() -> dict | None:  # type: ignore[type-arg]
        status, run, _ = server.call("GET", f"aml/api/v1/runs/{run_id}")
        assert status == 200
        return run if run["status"] in ("completed", "failed", "cancelled", "lost") else None  # type: ignore[no-any-return]

    return eventually(ended, timeout, f"run {run_id[:8]} ending")


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
    assert status == 200 and [r["id"] for r in listed["runs"]] == [run["id"]]
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
        seen += [r["id"] for r in page["runs"]]
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
    # A trailing newline is part of the name (refused), never dropped to reach ok.txt.
    status, body, _ = server.call("GET", base + "ok.txt%0A", "reader")
    assert status == 404 and "'ok.txt\\n'" in body["error"]  # that name, not ok.txt
    assert server.call("PUT", base + "ok.txt%0A", "owner", raw=b"x")[0] == 400
    # Names are decoded once: %2541 is "%41" (refused: percent-escapes are not names), never "A".
    status, body, _ = server.call("PUT", base + "%2541.txt", "owner", raw=b"pct")
    assert status == 400 and "'%41.txt'" in body["error"]
    huge = b'{"experiment": "' + b"x" * (100 * 1024 * 1024) + b'"}'
    assert server.call("POST", "aml/api/v1/runs", "owner", raw=huge)[0] == 413
    status, body, _ = server.call("POST", "aml/api/v1/runs", "owner", raw=b"[1, 2]")
    assert status == 400 and "JSON object" in body["error"]
    assert server.call("POST", "aml/api/v1/runs", "owner", raw=b"{nope")[0] == 400
    assert server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "x", "params": {"": 1}})[0] == 400
    assert server.call("GET", "aml/api/v1/no/such/route", "owner")[0] == 404
    assert server.call("PATCH", "aml/api/v1/runs", "owner", {})[0] in (404, 405)


def test_submit_rerun_with_edited_params_then_cancel_and_delete(server: Server) -> None:
    body = {"path": "train.py", "params": {"lr": 0.1}, "experiment": "jobs"}
    status, first, _ = server.call("POST", "aml/api/v1/jobs", "contributor", body)
    assert status == 201 and first["status"] == "queued"
    assert _wait_ended(server, first["id"])["status"] == "completed"
    status, body_, _ = server.call("POST", "aml/api/v1/jobs", "contributor", {"path": "../etc/passwd"})
    assert status == 400
    assert server.call("POST", "aml/api/v1/jobs", "contributor", {"path": "train.py", "args": "x"})[0] == 400
    assert server.call("POST", "aml/api/v1/jobs", "contributor", {"path": "a" * 300})[0] == 400  # found by the fuzz
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


def _notebook_with(text: str) -> bytes:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# results {text}"),
        nbformat.v4.new_code_cell(
            "print(1)",
            outputs=[
                nbformat.v4.new_output("display_data", data={"text/html": f"<b>{text}</b><script>alert(2)</script>"})
            ],
        ),
    ]
    return nbformat.writes(nb).encode()


def test_previews_are_sandboxed(server: Server) -> None:
    from playwright.sync_api import sync_playwright

    hostile = "<img src=x onerror=alert(1)>"
    run = server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "preview"})[1]
    base = f"aml/api/v1/runs/{run['id']}"
    assert server.call("PUT", base + "/artifacts/notebook.ipynb", "owner", raw=_notebook_with(hostile))[0] == 200
    assert server.call("PUT", base + "/artifacts/notes.txt", "owner", raw=hostile.encode())[0] == 200
    assert server.call("PUT", base + "/artifacts/blob.bin", "owner", raw=b"\0\1")[0] == 200
    status, html, headers = server.call("GET", base + "/preview/notebook.ipynb", "reader")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert (
        headers["Content-Security-Policy"].startswith("sandbox;")
        and "default-src 'none'" in headers["Content-Security-Policy"]
    )
    # Sanitized as well: the hostile markup is there only as escaped text.
    assert b"<script>alert(2)" not in html and b"<img src=x" not in html and b'<img src="x"' not in html
    assert b"&lt;script&gt;alert(2)" in html
    # ...and the markdown rendered, as JupyterLab shows it: a heading, not the text of its tag
    assert re.search(rb"<h1[^>]*>results", html) and b"&lt;h1" not in html
    status, text, headers = server.call("GET", base + "/preview/notes.txt", "reader")
    assert status == 200 and headers["Content-Type"].startswith("text/plain") and text == hostile.encode()
    assert server.call("GET", base + "/preview/blob.bin", "reader")[0] == 400
    # And in a real browser: nothing in the preview runs.
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--headless=new", "--no-sandbox"])
        try:
            page = browser.new_page()
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(server.url + base + "/preview/notebook.ipynb?token=tok-rita", timeout=60_000)
            assert "results" in page.inner_text("body")
            page.goto(server.url + base + "/preview/notes.txt?token=tok-rita", timeout=60_000)
            assert hostile in page.inner_text("body")  # the characters, as text
            page.wait_for_timeout(500)
        finally:
            browser.close()
    assert dialogs == []


def test_a_parquet_table_previews_as_its_first_rows(server: Server) -> None:
    import io

    import pandas as pd

    run = server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "preview"})[1]
    base = f"aml/api/v1/runs/{run['id']}"
    frame = pd.DataFrame({"id": range(1000), "label": ["<b>x</b>"] * 1000})
    buffer = io.BytesIO()
    frame.to_parquet(buffer, row_group_size=100)
    assert server.call("PUT", base + "/artifacts/predictions.parquet", "owner", raw=buffer.getvalue())[0] == 200
    status, text, headers = server.call("GET", base + "/preview/predictions.parquet?head=65536", "reader")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    assert headers["X-Aml-Rows"] == "1000" and headers["X-Aml-Truncated"] == "true"
    lines = text.decode().splitlines()
    assert lines[0] == "id,label" and len(lines) == 201 and lines[1] == "0,<b>x</b>"  # text: the Lab shows it as text
    assert server.call("PUT", base + "/artifacts/broken.parquet", "owner", raw=b"not a table")[0] == 200
    status, answer, _ = server.call("GET", base + "/preview/broken.parquet", "reader")
    assert status == 400 and "cannot be read as a Parquet table" in answer["error"]


def test_snapshots_compare_and_restore(server: Server) -> None:
    project = server.ws.root
    (project / "params.txt").write_text("lr = 0.1\n")
    with aml.start_run("snaps", workspace=server.ws) as first:
        pass
    (project / "params.txt").write_text("lr = 0.5\n")
    with aml.start_run("snaps", workspace=server.ws) as second:
        pass
    a, b = first.info.snapshot_id, second.info.snapshot_id
    status, diff, _ = server.call("GET", f"aml/api/v1/snapshots/{a}/diff/{b}", "reader")
    assert status == 200 and {"status": "M", "path": "params.txt"} in diff["changes"]
    assert "-lr = 0.1" in diff["patch"] and "+lr = 0.5" in diff["patch"]
    status, body, _ = server.call("POST", f"aml/api/v1/snapshots/{a}/restore", "contributor", {"to": "restored/a"})
    assert status == 201 and (project / "restored" / "a" / "params.txt").read_text() == "lr = 0.1\n"
    assert server.call("POST", f"aml/api/v1/snapshots/{a}/restore", "contributor", {"to": "restored/a"})[0] == 409
    for bad in ("../outside", "/tmp/abs", ""):
        assert server.call("POST", f"aml/api/v1/snapshots/{a}/restore", "contributor", {"to": bad})[0] == 400
    assert not (project.parent / "outside").exists()
    assert server.call("POST", f"aml/api/v1/snapshots/{a}/restore", "reader", {"to": "r2"})[0] == 403
    # A snapshot this workspace does not have is a 404 in aml's words (before: a 409 with git's).
    missing = "0" * 40
    for path in (f"snapshots/{missing}/files", f"snapshots/{missing}/diff/{a}", f"snapshots/{missing}"):
        status, body, _ = server.call("GET", "aml/api/v1/" + path, "reader")
        assert status == 404 and "no snapshot" in body["error"] and "git" not in body["error"], path


def test_register_deploy_score_and_stop_through_the_api(server: Server, tmp_path: Path) -> None:
    import json
    import urllib.request

    (tmp_path / "score.py").write_text("def init():\n    pass\n\ndef run(data):\n    return [len(r) for r in data]\n")
    with aml.start_run("models", workspace=server.ws) as run:
        run.log_artifact(tmp_path / "score.py", "model/score.py")
    body = {"run": run.id, "artifact": "model", "tags": {"team": "a"}}
    status, mv, _ = server.call("POST", "aml/api/v1/models/counter", "contributor", body)
    assert status == 201 and mv["ref"] == "counter:1" and mv["tags"] == {"team": "a"}
    tagged = {"run": run.id, "artifact": "model", "tags": {"aml.approved_by": "olga x"}}
    assert server.call("POST", "aml/api/v1/models/counter", "contributor", tagged)[0] == 400  # aml's own
    status, odd, _ = server.call("POST", "aml/api/v1/models/odd%2541", "contributor", body)
    assert status == 201 and odd["name"] == "odd%41"  # decoded once, not twice into "oddA"
    assert server.call("GET", "aml/api/v1/models/odd%2541", "reader")[1]["versions"][0]["name"] == "odd%41"
    assert server.call("POST", "aml/api/v1/models/counter", "contributor", {"run": run.id, "artifact": "no"})[0] == 400
    assert server.call("POST", "aml/api/v1/deployments", "reader", {"model": "counter:1", "name": "ctr"})[0] == 403
    # carl registered code: olga deploying it would run carl's code, so she must say she trusts it.
    status, refused, _ = server.call("POST", "aml/api/v1/deployments", "owner", {"model": "counter:1", "name": "ctr"})
    assert status == 403 and "registered by 'carl'" in refused["error"] and refused["type"] == "UntrustedModel"
    assert (
        server.call("POST", "aml/api/v1/deployments", "owner", {"model": "counter:1", "name": "x", "trusted": 1})[0]
        == 400
    )
    # Approving a version for deployment is an owner's (admin) action.
    assert server.call("POST", "aml/api/v1/models/counter/versions/1/approve", "contributor", {})[0] == 403
    status, approved, _ = server.call("POST", "aml/api/v1/models/counter/versions/1/approve", "owner", {})
    assert status == 200 and approved["tags"]["aml.approved_by"].startswith("olga ")
    status, dep, _ = server.call("POST", "aml/api/v1/deployments", "contributor", {"model": "counter:1", "name": "ctr"})
    try:
        assert status == 201 and dep["url"].startswith("http://127.0.0.1:")
        req = urllib.request.Request(
            dep["url"] + "/score", data=b'{"data": [[1, 2, 3]]}', headers={"Authorization": f"Bearer {dep['key']}"}
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            assert json.loads(resp.read()) == {"predictions": [3]}
        listed = server.call("GET", "aml/api/v1/deployments", "reader")[1]["deployments"]
        assert [d["name"] for d in listed] == ["ctr"] and listed[0]["status"] == "running"
        assert "key" not in json.dumps(listed)  # the key is given once, to the one who deployed
    finally:
        assert server.call("DELETE", "aml/api/v1/deployments/ctr", "contributor")[0] == 200
    assert server.call("DELETE", "aml/api/v1/deployments/ctr", "contributor")[0] == 404


def test_datasets_and_learning_by_example(server: Server) -> None:
    from aml_jupyter import dataprep

    (server.ws.root / "people.csv").write_text("name,email\nAda Lovelace,ada@math.org\nAlan Turing,alan@bp.uk\n")
    dataprep.read(str(server.ws.root / "people.csv")).register("people", workspace=server.ws)
    status, page, _ = server.call("GET", "aml/api/v1/datasets/people/preview?rows=1", "reader")
    assert status == 200 and page["columns"] == ["name", "email"] and page["rows"] == [["Ada Lovelace", "ada@math.org"]]
    status, profile, _ = server.call("GET", "aml/api/v1/datasets/people/profile", "reader")
    assert status == 200 and [c["column"] for c in profile["columns"]] == ["name", "email"]
    assert server.call("GET", "aml/api/v1/datasets/nope/preview", "reader")[0] == 404
    # A recipe that runs code (here an expression) registered by this process's user is not run
    # for another caller: the server would run it as itself.
    people = dataprep.read(str(server.ws.root / "people.csv"))
    people.add_column_python("n", "df.name.str.len()").register("coded", workspace=server.ws)
    for what in ("preview", "profile"):
        status, refused, _ = server.call("GET", f"aml/api/v1/datasets/coded/{what}", "reader")
        assert status == 403 and "runs code when read" in refused["error"], refused
    body = {"examples": [[["ada@math.org"], "math.org"]], "inputs": [["alan@bp.uk"], ["grace@navy.mil"]]}
    status, learned, _ = server.call("POST", "aml/api/v1/dataprep/learn", "reader", body)
    assert status == 200 and learned["outputs"] == ["bp.uk", "navy.mil"] and "def transform" in learned["code"]
    clash = {"examples": [[["a"], "b"], [["a"], "c"]]}
    status, body_, _ = server.call("POST", "aml/api/v1/dataprep/learn", "reader", clash)
    assert status == 422 and "two outputs" in body_["error"]
    assert server.call("POST", "aml/api/v1/dataprep/learn", "reader", {"examples": "x"})[0] == 400


def test_a_remote_job_logs_through_the_jupyter_server(server: Server) -> None:
    # One implementation: what `aml server` offers remote jobs, the extension offers at {base_url}aml.
    from aml_jupyter.errors import AccessDenied
    from aml_jupyter.tracking.remote import RemoteRun

    from .conftest import TOKENS

    run = server.call("POST", "aml/api/v1/runs", "contributor", {"experiment": "remote"})[1]
    remote = RemoteRun(server.url + "aml", run["id"], token=TOKENS["contributor"])
    for i in range(100):
        remote.log("loss", 1.0 / (i + 1), step=i)
    remote.flush()
    series = server.call("GET", f"aml/api/v1/runs/{run['id']}/metrics/loss", "reader")[1]
    assert series["points"] == 100 and series["value"][0] == 1.0
    reader = RemoteRun(server.url + "aml", run["id"], token=TOKENS["reader"])  # may read the run...
    reader.log("loss", 0.0, step=100)
    with pytest.raises(AccessDenied, match="403"):  # ...but not write to it, and is told at once
        reader.flush()
    reader._points.clear()  # nothing left for its exit


def test_what_the_lab_panels_ask(server: Server) -> None:
    for lr in ("0.1", "0.2", "0.2"):
        run = server.call("POST", "aml/api/v1/runs", "contributor", {"experiment": "panels", "params": {"lr": lr}})[1]
        server.call(
            "POST",
            f"aml/api/v1/runs/{run['id']}/metrics",
            "contributor",
            {"metrics": [{"key": "acc", "value": float(lr)}]},
        )
    status, found, _ = server.call("GET", "aml/api/v1/keys?experiment=panels", "reader")
    assert status == 200 and found["params"] == ["lr"] and found["metrics"] == ["acc"]
    status, grouped, _ = server.call("GET", "aml/api/v1/groups?experiment=panels&by=params.lr&metric=acc", "reader")
    assert status == 200 and grouped["groups"][0] == {"value": "0.2", "count": 2, "best": 0.2}
    assert server.call("GET", "aml/api/v1/groups?by=metrics.acc", "reader")[0] == 400
    status, paged, _ = server.call(
        "GET", "aml/api/v1/runs?experiment=panels&offset=1&max_results=1&count=true", "reader"
    )
    assert status == 200 and len(paged["runs"]) == 1 and paged["total"] == 3
    assert server.call("GET", "aml/api/v1/runs?offset=-3", "reader")[0] == 400
    status, params, _ = server.call("GET", "aml/api/v1/jobs/parameters?path=train.py", "reader")
    assert status == 200 and params["kind"] == "script"
    assert server.call("GET", "aml/api/v1/jobs/parameters?path=..%2Fx.py", "reader")[0] == 400
    assert server.call("GET", "aml/api/v1/jobs/parameters", "reader")[0] == 400


def test_a_text_preview_bounded_by_head(server: Server) -> None:
    run = server.call("POST", "aml/api/v1/runs", "owner", {"experiment": "previews"})[1]
    base = f"aml/api/v1/runs/{run['id']}"
    assert server.call("PUT", base + "/artifacts/big.log", "owner", raw=b"line\n" * 100_000)[0] == 200
    status, body, headers = server.call("GET", base + "/preview/big.log?head=12", "reader")
    assert status == 200 and body == b"line\nline\nli" and headers["X-Aml-Truncated"] == "true"
    status, body, headers = server.call("GET", base + "/preview/big.log?head=10000000", "reader")
    assert status == 200 and len(body) == 500_000 and headers["X-Aml-Truncated"] == "false"
    for bad in ("0", "x", str(10**9)):
        assert server.call("GET", base + f"/preview/big.log?head={bad}", "reader")[0] == 400


def test_me_says_what_each_role_may_do(server: Server) -> None:
    for role, actions in [
        ("reader", ["read"]),
        ("contributor", ["execute", "read", "write"]),
        ("owner", ["admin", "execute", "read", "write"]),
    ]:
        status, me, _ = server.call("GET", "aml/api/v1/me", role)
        assert status == 200 and me["actions"] == actions, (role, me)


def test_a_snapshots_files(server: Server) -> None:
    with aml.start_run("snap", workspace=server.ws) as run:
        pass
    snapshot = server.call("GET", f"aml/api/v1/runs/{run.id}", "reader")[1]["snapshot_id"]
    status, listed, _ = server.call("GET", f"aml/api/v1/snapshots/{snapshot}/files", "reader")
    assert status == 200 and "train.py" in listed["files"] and listed["total"] == len(listed["files"])
    assert server.call("GET", "aml/api/v1/snapshots/not-a-snapshot/files", "reader")[0] in (400, 404)


def test_the_model_versions_registered_from_a_run(server: Server, tmp_path: Path) -> None:
    with aml.start_run("lineage-out", workspace=server.ws) as run:
        (tmp_path / "weights.json").write_text("{}")
        run.log_artifact(tmp_path / "weights.json", "model/weights.json")
    status, body, _ = server.call("GET", f"aml/api/v1/runs/{run.id}/models", "reader")
    assert status == 200 and body == {"versions": []}
    aml.register_model("out-a", run=run, artifact="model", flavor="python", workspace=server.ws)
    aml.register_model("out-a", run=run, artifact="model", flavor="python", workspace=server.ws)
    status, body, _ = server.call("GET", f"aml/api/v1/runs/{run.id}/models", "reader")
    assert status == 200 and [v["ref"] for v in body["versions"]] == ["out-a:1", "out-a:2"]
    assert server.call("GET", "aml/api/v1/runs/0000aaaa0000/models", "reader")[0] == 404


def test_a_new_project_from_the_gallery(server: Server) -> None:
    status, listed, _ = server.call("GET", "aml/api/v1/templates", "reader")
    assert status == 200 and len(listed["templates"]) >= 6
    body = {"folder": "projects/churn"}
    status, made, _ = server.call("POST", "aml/api/v1/templates/tabular-classification/new", "contributor", body)
    assert status == 201 and made["folder"] == "projects/churn" and "README.md" in made["files"]
    # A project inside this workspace is a folder of it: its runs go where the Lab shows them.
    assert not (server.ws.root / "projects" / "churn" / ".aml").exists()
    again = server.call("POST", "aml/api/v1/templates/tabular-classification/new", "contributor", body)
    assert again[0] == 400 and "not an empty folder" in again[1]["error"]
    for template, folder in [("tabular-classification", "../outside"), ("nope", "projects/x")]:
        refused = server.call("POST", f"aml/api/v1/templates/{template}/new", "contributor", {"folder": folder})
        assert refused[0] == 400, refused
    assert not (server.ws.root.parent / "outside").exists() and not (server.ws.root / "projects" / "x").exists()
    # A link that loops, a file where a folder should be: a 400 naming the folder as given, not a
    # 500 with the server's own path, and nothing left half made.
    (server.ws.root / "loop").symlink_to(server.ws.root / "loop")
    (server.ws.root / "plain.txt").write_text("x")
    for folder in ("loop/p", "loop", "plain.txt/p"):
        status, refused, _ = server.call(
            "POST", "aml/api/v1/templates/mlp-per-epoch/new", "contributor", {"folder": folder}
        )
        assert status == 400 and str(server.ws.root) not in refused["error"], refused
    assert (server.ws.root / "plain.txt").read_text() == "x"
    entries = server.call("GET", "aml/api/v1/audit?max_results=10", "owner")[1]["entries"]
    assert any(e["path"].endswith("/templates/mlp-per-epoch/new") and e["status"] == 400 for e in entries)


def test_one_metric_of_many_runs_in_one_request(server: Server) -> None:
    ids = []
    for i in range(3):
        run = server.call("POST", "aml/api/v1/runs", "contributor", {"experiment": "many"})[1]
        points = [{"key": "loss", "value": 1.0 / (s + 1 + i), "step": s} for s in range(5000)]
        server.call("POST", f"aml/api/v1/runs/{run['id']}/metrics", "contributor", {"metrics": points})
        ids.append(run["id"])
    query = "&".join(f"run={r}" for r in [*ids, "0" * 32])
    status, body, _ = server.call("GET", f"aml/api/v1/metrics/loss?{query}&max_points=100", "reader")
    assert status == 200 and [s["run_id"] for s in body["series"]] == [*ids, "0" * 32]
    assert all(s["points"] == 5000 and len(s["step"]) <= 100 for s in body["series"][:3])
    assert "error" in body["series"][3]
    assert server.call("GET", "aml/api/v1/metrics/loss", "reader")[0] == 400
    assert server.call("GET", "aml/api/v1/metrics/loss?" + "&".join(["run=x"] * 51), "reader")[0] == 400
    assert server.call("GET", f"aml/api/v1/metrics/loss?run={ids[0]}&max_points=1", "reader")[0] == 400


def test_a_body_is_refused_before_a_byte_of_it_is_read(server: Server) -> None:
    # Before: the extension read whole bodies before refusing them; three 500 MiB uploads without
    # credentials took the server from 211 MB to 2.2 GB. Now the headers decide: only headers are
    # sent here, and the answer comes without waiting for the body.
    import http.client
    import json
    import urllib.parse

    from tests.server.conftest import TOKENS

    run = server.call("POST", "aml/api/v1/runs", "contributor", {"experiment": "uploads"})[1]
    where = urllib.parse.urlsplit(server.url)
    path = f"{where.path}aml/api/v1/runs/{run['id']}/artifacts/big.bin"

    def headers_only(who: str | None, length: int) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=20)
        try:
            conn.putrequest("PUT", path)
            conn.putheader("Content-Length", str(length))
            if who is not None:
                conn.putheader("Authorization", f"token {TOKENS[who]}")
            conn.endheaders()
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    assert headers_only(None, 500 << 20)[0] == 403  # no credentials: refused on its headers
    assert headers_only("reader", 500 << 20)[0] == 403  # no write: likewise
    status, body = headers_only("contributor", 8 << 30)  # over the 1 GiB cap: the documented 413
    assert status == 413 and json.loads(body)["type"] == "TooLarge"
    server.call("POST", f"aml/api/v1/runs/{run['id']}/transition", "contributor", {"event": "complete"})


def test_the_sdk_works_through_jupyter_with_a_persons_token(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no workspace here: the server's is the one
    aml.set_tracking_uri(server.url + "aml", token="tok-carl")
    with aml.start_run("through-jupyter", params={"lr": 0.5}, system_metrics=False) as run:
        for i in range(3):
            aml.log("loss", 1.0 / (i + 1))
    stored = server.ws.store.get_run(run.id)
    assert stored.user == "carl" and stored.status == "completed" and stored.metrics == {"loss": 1.0 / 3}
    assert aml.get_run(run.id).metric_history("loss")["value"].tolist() == [1.0, 0.5, 1.0 / 3]
    assert aml.list_runs("params.lr = '0.5'", "through-jupyter")[0]["id"] == run.id
    aml.set_tracking_uri(server.url + "aml", token="tok-rita")  # a reader: reads, never writes
    with pytest.raises(AccessDenied):
        aml.start_run("through-jupyter")


@pytest.mark.sqlite_only
def test_the_mlflow_client_logs_through_jupyter(server: Server, tmp_path: Path) -> None:
    python = mlflow_python("3")
    script = (
        "import mlflow, sys\n"
        "mlflow.set_tracking_uri(sys.argv[1])\n"
        "mlflow.set_experiment('through-jupyter')\n"
        "with mlflow.start_run(run_name='j') as run:\n"
        "    mlflow.log_metric('acc', 0.5, step=1)\n"
        "    mlflow.log_param('k', 'v')\n"
        "print(run.info.run_id)\n"
    )
    env = {**os.environ, "MLFLOW_TRACKING_TOKEN": "tok-carl", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}
    done = subprocess.run(
        [str(python), "-c", script, server.url + "aml/mlflow"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    stored = server.ws.store.get_run(done.stdout.strip().splitlines()[-1])
    assert stored.user == "carl" and stored.status == "completed" and stored.params == {"k": "v"}
    assert stored.metrics == {"acc": 0.5}
