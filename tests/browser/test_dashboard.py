"""`make dashboard` in a real headless Chromium: the demo's workspace rendered by Voila, a hostile
run name shown as text, a widget answering a click, the page refreshing itself; a screenshot goes
to test-output/."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

import aml_jupyter as aml
from tests.conftest import REPO, free_port

from .lab import ARGS, CHROMIUM, OUTPUT

pytestmark = pytest.mark.slow
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def dashboard(demo: tuple[Path, subprocess.CompletedProcess[str]]) -> Iterator[tuple[str, Path]]:
    folder, proc = demo
    assert proc.returncode == 0, proc.stderr
    with aml.start_run("hostile", name=XSS, workspace=folder) as run:  # a name that is also markup
        run.log("acc", 0.5)
    port = free_port()
    out = open(folder.parent / "dashboard.log", "w+")  # noqa: SIM115 (closed below)
    make = subprocess.Popen(
        ["make", "-s", "--no-print-directory", "dashboard", f"DEMO={folder}", f"DASHBOARD_PORT={port}"],
        cwd=REPO,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "AML_DASHBOARD_REFRESH": "1"},
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except (urllib.error.URLError, ConnectionError):
                out.seek(0)
                assert make.poll() is None and time.monotonic() < deadline, out.read()[-3000:]
                time.sleep(0.3)
        out.seek(0)
        printed = out.read()
        assert f"dashboard: {url}" in printed  # make dashboard says where to look
        yield url, folder
    finally:
        os.killpg(make.pid, signal.SIGTERM)
        make.wait(timeout=30)
        out.close()


def test_the_dashboard_in_a_browser(dashboard: tuple[str, Path]) -> None:
    from playwright.sync_api import expect, sync_playwright

    url, folder = dashboard
    OUTPUT.mkdir(parents=True, exist_ok=True)
    dialogs: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(url, timeout=120_000)
            # The demo's runs, as Voila rendered them from the kernel: the sweep and its children.
            expect(page.get_by_text("sweep", exact=True).first).to_be_visible(timeout=120_000)
            expect(page.get_by_text(XSS, exact=True)).to_be_visible()  # shown as text...
            assert page.locator("img[src='x']").count() == 0 and not dialogs  # ...and never run
            # Ticking runs draws their metric in the chart.
            boxes = page.locator(".widget-gridbox input[type=checkbox]")
            boxes.nth(1).check()
            boxes.nth(2).check()
            expect(page.get_by_text("acc of the ticked runs")).to_be_visible(timeout=30_000)
            page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
            # A widget that answers a click: the filter narrows the table to the hostile run.
            page.get_by_placeholder(re.compile("metrics.acc")).fill("attributes.experiment = 'hostile'")
            page.get_by_role("button", name="Apply").click()
            expect(page.get_by_text("1 run(s)")).to_be_visible(timeout=30_000)
            expect(page.get_by_text("sweep", exact=True)).to_have_count(0)
            # It refreshes itself: a run logged now appears without a reload.
            with aml.start_run("hostile", name="late-arrival", workspace=folder):
                pass
            expect(page.get_by_text("late-arrival", exact=True)).to_be_visible(timeout=30_000)
            page.get_by_role("tab", name="Models").click()
            expect(page.get_by_text("iris-softmax", exact=True)).to_be_visible(timeout=30_000)
            page.screenshot(path=str(OUTPUT / "dashboard-models.png"), full_page=True)
        finally:
            browser.close()
    assert (OUTPUT / "dashboard.png").stat().st_size > 10_000 and not dialogs
