"""The aml sidebar where things are not as they should be: a store of 100,000 runs, a reader's
role, the events websocket dropping, a server without the aml extension and one without a
workspace. Each against a real `jupyter lab` in a headless Chromium."""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import aml_jupyter as aml
from tests.conftest import REPO, eventually

from .lab import OUTPUT, Lab, jupyter_lab, running_lab

pytestmark = pytest.mark.slow
ROWS = ".aml-RunsTable-row[data-run-id]"
RUNS = 100_000


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big") / "ws"
    ws = aml.Workspace.init(folder, name="big")
    sys.path.insert(0, str(REPO / "benchmarks"))
    try:
        from workloads import bulk_fill  # the benchmarks' filler: rows straight into the tables
    finally:
        sys.path.remove(str(REPO / "benchmarks"))
    bulk_fill(ws, RUNS, lean=True)
    ws.close()
    return folder


def _config(home: Path, text: str) -> Path:
    path = home / f"config-{uuid.uuid4().hex[:6]}.py"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def owner_lab(big: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    home = tmp_path_factory.mktemp("owner-home")
    with running_lab(lambda port: jupyter_lab(big, port, "owner-token"), big, home, "owner-token") as lab:
        yield lab


@pytest.fixture
def page(browser) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.aml_calls = []  # type: ignore[attr-defined]
    page.on("request", lambda r: page.aml_calls.append(r.url) if "/aml/api/" in r.url else None)  # type: ignore[attr-defined]
    yield page
    context.close()


def open_lab(page, lab: Lab, rows: bool = True) -> None:  # type: ignore[no-untyped-def]
    page.goto(lab.page_url(f"lab/workspaces/t{uuid.uuid4().hex[:8]}", "reset"))
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    page.locator('.jp-SideBar [data-id="aml-sidebar"]').click()
    if rows:
        page.wait_for_selector(ROWS, timeout=30_000)


def test_100000_runs_scroll_to_the_end_a_page_at_a_time(page, owner_lab: Lab) -> None:  # type: ignore[no-untyped-def]
    open_lab(page, owner_lab)
    count = page.locator(".aml-RunsSection-count")
    eventually(lambda: "100000" in count.inner_text().replace(",", "") or None, 10, "the total")
    assert page.locator(".aml-RunsTable").get_attribute("aria-rowcount") == str(RUNS + 1)
    page.locator(ROWS).first.click()
    page.keyboard.press("End")
    page.wait_for_selector(f'{ROWS}[aria-rowindex="{RUNS + 1}"]', timeout=15_000)
    assert page.locator(".aml-RunsTable-row").count() < 150  # only the rows in view are in the page
    searches = [u for u in page.aml_calls if "/aml/api/v1/runs?" in u]
    assert 2 <= len(searches) <= 6 and all("max_results=200" in u for u in searches), searches
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "lab-100k.png"))


def test_the_websocket_dropping_reconnects_without_duplicate_rows(page, owner_lab: Lab, big: Path) -> None:  # type: ignore[no-untyped-def]
    sockets: list[object] = []

    def relay(ws) -> None:  # type: ignore[no-untyped-def]
        sockets.append(ws)
        ws.connect_to_server()

    page.route_web_socket("**/aml/api/v1/events*", relay)
    open_lab(page, owner_lab)
    live = page.locator(".aml-RunsSection-live")
    eventually(lambda: live.get_attribute("data-live") == "true" or None, 10, "live")
    sockets[0].close()  # type: ignore[attr-defined]  # the connection drops under the panel
    eventually(lambda: live.get_attribute("data-live") == "false" or None, 10, "the drop noticed")
    with aml.start_run("after-drop", name="after-drop", workspace=big) as run:
        # (playwright's sync API hands over the route's events only while it is called)
        eventually(lambda: page.wait_for_timeout(100) or len(sockets) >= 2 or None, 30, "a second socket")
        page.wait_for_selector(f'{ROWS}[data-run-id="{run.id}"]', timeout=15_000)
    eventually(lambda: live.get_attribute("data-live") == "true" or None, 10, "live again")
    ids = page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.runId)")
    assert ids.count(run.id) == 1 and len(ids) == len(set(ids))


def test_a_reader_sees_write_actions_disabled_with_the_reason(page, big: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _config(
        tmp_path,
        "c.ServerApp.authorizer_class = 'aml_jupyter.server.AmlAuthorizer'\nc.AmlAuthorizer.default_role = 'reader'\n",
    )
    argv = lambda port: jupyter_lab(big, port, "reader-token", f"--config={config}")  # noqa: E731
    with running_lab(argv, big, tmp_path / "home", "reader-token") as lab:
        open_lab(page, lab)
        assert page.locator("#aml-sidebar").get_attribute("data-actions") == "read"
        page.locator(ROWS).first.click(button="right")
        cancel = page.locator(".lm-Menu-item", has_text="Rerun with Edited Params")
        cancel.wait_for()
        assert "lm-mod-disabled" in (cancel.get_attribute("class") or "")
        assert "your role does not allow execute" in cancel.inner_text()
        page.keyboard.press("Escape")
        page.locator(".jp-LauncherCard", has_text="New aml Project").click()
        refusal = page.locator(".jp-Dialog", has_text="your role does not allow write")
        refusal.wait_for(timeout=10_000)
        refusal.locator(".jp-Dialog-button.jp-mod-accept").click()
        # Were the panel told otherwise, the server's 403 becomes a message, never a silent failure.
        page.route(
            "**/aml/api/v1/me*",
            lambda route: route.fulfill(json={"user": "x", "actions": ["read", "write", "execute"]}),
        )
        open_lab(page, lab)
        assert page.locator("#aml-sidebar").get_attribute("data-actions") == "execute read write"
        page.locator(ROWS).first.click(button="right")
        page.locator(".lm-Menu-item", has_text="Rerun with Edited Params").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        message = page.locator(".jp-Dialog", has_text="needs a role")
        message.wait_for(timeout=10_000)
        assert "Not allowed" in message.inner_text()


def test_a_server_without_the_aml_extension_says_how_to_enable_it(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = _config(tmp_path, "c.ServerApp.jpserver_extensions = {'aml_jupyter.server': False}\n")
    argv = lambda port: jupyter_lab(tmp_path, port, "t", f"--config={config}")  # noqa: E731
    with running_lab(argv, tmp_path, tmp_path / "home", "t") as lab:
        open_lab(page, lab, rows=False)
        notice = page.locator(".aml-Sidebar-notice")
        notice.wait_for()
        assert "no aml extension" in notice.inner_text() and "jupyter server extension enable" in notice.inner_text()
        time.sleep(3)  # no retry storm: one question, then silence
        assert len(page.aml_calls) <= 2, page.aml_calls


def test_a_missing_workspace_is_said_in_the_servers_words(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = lambda port: jupyter_lab(empty, port, "t")  # noqa: E731
    with running_lab(argv, empty, tmp_path / "home", "t", {"AML_WORKSPACE": str(tmp_path / "missing")}) as lab:
        open_lab(page, lab, rows=False)
        notice = page.locator(".aml-Sidebar-notice")
        notice.wait_for()
        assert "aml init" in notice.inner_text()
        assert page.locator("#aml-sidebar").get_attribute("data-state") == "unavailable"
