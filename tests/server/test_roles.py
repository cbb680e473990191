"""Roles on a real Jupyter server: every aml route for every role, Jupyter's own write and execute
routes for a reader, tokens, XSRF, cross-origin requests, and the audit log."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from aml_jupyter.server.roles import ACTIONS
from aml_jupyter.server.routes import ROUTES

from .conftest import TOKENS, Server

FILL = {
    "{run}": "0" * 32,
    "{key}": "acc",
    "{name}": "model.txt",
    "{snapshot}": "0" * 40,
    "{other}": "1" * 40,
    "{model}": "nope",
    "{version}": "1",
    "{dataset}": "nope",
    "{deployment}": "nope",
    "{template}": "nope",
}


def _concrete(path: str) -> str:
    for token, value in FILL.items():
        path = path.replace(token, value)
    return "aml" + path


def test_every_route_for_every_role(server: Server) -> None:
    # A refused action is 403 before anything runs; an allowed one reaches its handler (which may
    # then say 400 or 404 about the made-up run). No route is left without the check.
    role_of = {"owner": "owner", "contributor": "contributor", "reader": "reader", "stranger": None}
    for who, role in role_of.items():
        for route in ROUTES:
            body = {} if route.method in ("POST", "PUT") else None
            status, answer, _ = server.call(route.method, _concrete(route.path), who=who, body=body)
            allowed = role is not None and route.action in ACTIONS[role]
            assert (status != 403) == allowed, (who, route.method, route.path, status, answer)


def test_a_reader_may_not_write_or_execute_through_jupyter_either(server: Server) -> None:
    assert server.call("GET", "api/contents", who="reader")[0] == 200
    assert server.call("POST", "api/kernels", who="reader", body={})[0] == 403
    note = {"type": "file", "format": "text", "content": "x"}
    assert server.call("PUT", "api/contents/new.txt", who="reader", body=note)[0] == 403
    assert server.call("GET", "api/contents", who="stranger")[0] == 403  # no role at all: nothing
    assert not (server.ws.root / "new.txt").exists()


def test_roles_change_only_by_an_owner(server: Server) -> None:
    assert server.call("PUT", "aml/api/v1/roles", who="contributor", body={"roles": {"carl": "owner"}})[0] == 403
    status, body, _ = server.call("GET", "aml/api/v1/roles", who="owner")
    assert status == 200 and body["roles"] == {"rita": "reader"}
    status, body, _ = server.call("PUT", "aml/api/v1/roles", who="owner", body={"roles": {"sam": "admin"}})
    assert status == 400 and "not a role" in body["error"]
    assert server.call("PUT", "aml/api/v1/roles", who="owner", body={"roles": {"sam": "reader"}})[0] == 200
    try:
        assert server.call("GET", "aml/api/v1/runs", who="stranger")[0] == 200  # sam may read now
    finally:
        server.call("PUT", "aml/api/v1/roles", who="owner", body={"roles": {"sam": None}})
    assert server.call("GET", "aml/api/v1/runs", who="stranger")[0] == 403


def test_tokens_cookies_xsrf_and_origins(server: Server) -> None:
    assert server.call("GET", "aml/api/v1/runs", who=None)[0] == 403  # no token
    assert server.call("GET", "aml/api/v1/runs", who="wrong-token")[0] == 403
    # A browser session: the login cookie from a token in the URL, then requests with the cookie only.
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
    with opener.open(server.url + f"aml/api/v1/health?token={TOKENS['owner']}", timeout=30) as resp:
        assert resp.status == 200
    with opener.open(server.url + "aml/api/v1/health", timeout=30) as resp:
        assert json.loads(resp.read())["ok"] is True  # the cookie alone authenticates a read
    post = urllib.request.Request(
        server.url + "aml/api/v1/runs", data=json.dumps({"experiment": "xsrf"}).encode(), method="POST"
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(post, timeout=30)  # no XSRF header: refused, nothing created
    refused.value.close()
    assert refused.value.code == 403
    assert server.call("GET", "aml/api/v1/runs?filter=" + "attributes.experiment%20%3D%20%27xsrf%27")[1]["runs"] == []
    # Another origin's page, riding on the browser's cookie, cannot read answers (no CORS grant)
    # nor post. (A request that carries a token may come from anywhere: the token is the secret.)
    evil = {"Origin": "http://evil.example"}
    with pytest.raises(urllib.error.HTTPError) as refused:  # Jupyter blocks it as if there were no such page
        opener.open(urllib.request.Request(server.url + "aml/api/v1/runs", headers=evil), timeout=30)
    refused.value.close()
    assert refused.value.code in (403, 404) and refused.value.headers.get("Access-Control-Allow-Origin") is None
    cross = urllib.request.Request(
        server.url + "aml/api/v1/runs",
        data=json.dumps({"experiment": "xsrf"}).encode(),
        method="POST",
        headers={**evil, "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        opener.open(cross, timeout=30)
    refused.value.close()
    assert refused.value.code in (403, 404)
    assert server.call("GET", "aml/api/v1/runs?filter=" + "attributes.experiment%20%3D%20%27xsrf%27")[1]["runs"] == []


def test_the_audit_log_says_who_did_what_from_where(server: Server) -> None:
    status, run, _ = server.call("POST", "aml/api/v1/runs", who="contributor", body={"experiment": "audited"})
    assert status == 201 and run["user"] == "carl"
    assert server.call("POST", "aml/api/v1/runs", who="reader", body={"experiment": "audited"})[0] == 403
    entries = server.call("GET", "aml/api/v1/audit?max_results=50", who="owner")[1]["entries"]
    mine = [(e["user"], e["action"], e["method"], e["path"], e["status"], e["address"]) for e in entries[:3]]
    assert ("rita", "write", "POST", "/api/v1/runs", 403, "127.0.0.1") in mine
    assert ("carl", "write", "POST", "/api/v1/runs", 201, "127.0.0.1") in mine
    assert all("tok-" not in json.dumps(e) for e in entries)  # never a token
    assert server.call("GET", "aml/api/v1/audit", who="contributor")[0] == 403


def test_voila_answers_to_the_roles(server: Server) -> None:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("open('rendered.txt', 'a').write('x')\nprint('dashboard up')")]
    nbformat.write(nb, str(server.ws.root / "dash.ipynb"))
    marker = server.ws.root / "rendered.txt"
    for who in ("stranger", "reader"):
        assert server.call("GET", "voila/render/dash.ipynb", who=who)[0] == 403, who
        assert server.call("GET", "voila/tree", who=who)[0] == (200 if who == "reader" else 403), who
    assert not marker.exists()  # nobody without execute ran its code

    before = {k["id"] for k in server.call("GET", "api/kernels", who="owner")[1]}
    status, page, _ = server.call("GET", "voila/render/dash.ipynb", who="contributor")
    assert status == 200 and b"dashboard up" in page
    assert marker.read_text() == "x"
    (kernel,) = {k["id"] for k in server.call("GET", "api/kernels", who="owner")[1]} - before
    for who in ("stranger", "reader"):
        assert server.call("POST", f"voila/api/shutdown/{kernel}", who=who, body={})[0] == 403, who
    other = server.call("POST", "api/kernels", who="contributor", body={"name": "python3"})[1]["id"]
    assert (
        server.call("POST", f"voila/api/shutdown/{other}", who="contributor", body={})[0] == 403
    )  # not rendered by them
    assert server.call("POST", f"voila/api/shutdown/{kernel}", who="contributor", body={})[0] == 204
    assert server.call("POST", f"voila/api/shutdown/{other}", who="owner", body={})[0] == 204  # an owner may
    left = {k["id"] for k in server.call("GET", "api/kernels", who="owner")[1]}
    assert kernel not in left and other not in left
    # Jupyter's own kernels API agrees: a dashboard's kernel is stopped by its renderer or an admin.
    before = {k["id"] for k in server.call("GET", "api/kernels", who="owner")[1]}
    assert server.call("GET", "voila/render/dash.ipynb", who="owner")[0] == 200
    (olgas,) = {k["id"] for k in server.call("GET", "api/kernels", who="owner")[1]} - before
    assert server.call("DELETE", f"api/kernels/{olgas}", who="contributor")[0] == 403
    assert server.call("DELETE", f"api/kernels/{olgas}", who="owner")[0] == 204
    # Voila's files (images a dashboard shows) answer to the roles too; before, a 500 for everyone.
    (server.ws.root / "pic.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    assert server.call("GET", "voila/files/pic.png", who="reader")[0] == 200
    assert server.call("GET", "voila/files/pic.png", who="stranger")[0] == 403
    marker.unlink()


def test_a_person_logs_in_with_their_own_token(server: Server) -> None:
    import http.cookiejar
    import re
    import urllib.parse

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with opener.open(server.url + "login", timeout=30) as resp:
        page = resp.read().decode()
    xsrf = next(c.value for c in jar if c.name == "_xsrf")
    assert re.search(r'name="password"', page)
    form = urllib.parse.urlencode({"password": TOKENS["contributor"], "_xsrf": xsrf}).encode()
    with opener.open(urllib.request.Request(server.url + "login", data=form), timeout=30) as resp:
        assert resp.status == 200
    # The cookie now names carl: a contributor may create a run, and the run is his.
    req = urllib.request.Request(
        server.url + "aml/api/v1/runs",
        data=json.dumps({"experiment": "login"}).encode(),
        headers={"Content-Type": "application/json", "X-XSRFToken": xsrf},
        method="POST",
    )
    with opener.open(req, timeout=30) as resp:
        assert resp.status == 201 and json.loads(resp.read())["user"] == "carl"


def test_a_token_of_aml_tokens_is_a_login_here_too_until_revoked(server: Server) -> None:
    from aml_jupyter.services import access

    access.set_roles(server.ws, {"tess": "contributor"})
    secret, row = access.create_token(server.ws, "tess", "lab")
    status, run, _ = server.call("POST", "aml/api/v1/runs", secret, {"experiment": "tokens"})
    assert status == 201 and run["user"] == "tess"  # one set of users for aml server and Jupyter
    access.revoke_token(server.ws, row["id"])
    assert server.call("GET", "aml/api/v1/runs", secret)[0] in (401, 403)
