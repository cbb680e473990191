"""`make lab` in a real headless Chromium: the aml sidebar on the demo's runs, a filter answered
and refused inline, a run logged meanwhile appearing by itself, details with a chart and an
artifact preview, compare, submitting a notebook with an edited parameter, a deleted run's tab
after a reload, the dark theme and keyboard-only use. Screenshots go to test-output/."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import aml_jupyter as aml
from tests.conftest import REPO, eventually

from .lab import OUTPUT, Lab, running_lab

pytestmark = pytest.mark.slow
XSS = "<img src=x onerror=alert(1)>"
ROWS = ".aml-RunsTable-row[data-run-id]"


@pytest.fixture(scope="module")
def workspace(demo: tuple[Path, subprocess.CompletedProcess[str]], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder, proc = demo
    assert proc.returncode == 0, proc.stderr
    own = tmp_path_factory.mktemp("lab") / "demo"
    shutil.copytree(folder, own)  # this module submits and deletes runs: the shared demo stays as it is
    with aml.start_run("hostile", name=XSS, workspace=own) as run:
        for step in range(200):
            run.log("loss", 1.0 / (step + 1), step=step)
        (own / "report.txt").write_text("<script>alert(1)</script>\nall good\n")
        run.log_artifact(own / "report.txt")
        (own / "weights.json").write_text("{}")
        run.log_artifact(own / "weights.json", "model/weights.json")
        run.log_table(pd.DataFrame({"row": range(300), "score": [299 - i for i in range(300)]}), "predictions")
        run.log_artifact(REPO / "docs" / "lab-system.png", "figures/curve.png")
    with aml.start_run("hostile", name="plain-figure", workspace=own) as other:  # the same figure, to compare
        other.log("loss", 0.5)
        other.log_artifact(REPO / "docs" / "lab-details.png", "figures/curve.png")
    aml.register_model("lab-out", run=run, artifact="model", flavor="python", workspace=own)
    return own


@pytest.fixture(scope="module")
def lab(workspace: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    token = "lab-test-token"
    home = tmp_path_factory.mktemp("lab-home")

    def argv(port: int) -> list[str]:
        return ["make", "-s", "--no-print-directory", "lab", f"DEMO={workspace}", f"LAB_PORT={port}"]

    with running_lab(argv, REPO, home, token, {"LAB_TOKEN": token}) as server:
        printed = server.log.read_text()
        assert f"{server.url}lab?token={token}" in printed, printed[-2000:]
        yield server


@pytest.fixture
def page(browser, lab: Lab) -> Iterator[object]:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.dialogs = []  # type: ignore[attr-defined]
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))  # type: ignore[attr-defined]
    page.errors = []  # type: ignore[attr-defined]
    page.on("pageerror", lambda e: page.errors.append(str(e)))  # type: ignore[attr-defined]
    yield page
    context.close()
    assert page.dialogs == []  # type: ignore[attr-defined]  # nothing a run holds ever ran


def open_sidebar(page, lab: Lab) -> str:  # type: ignore[no-untyped-def]
    """Opens Lab in a layout of its own (no tab left over from another test), then the sidebar."""
    layout = f"lab/workspaces/t{uuid.uuid4().hex[:8]}"
    page.goto(lab.page_url(layout, "reset"))
    page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
    tab = page.locator('.jp-SideBar [data-id="aml-sidebar"]')
    tab.click()
    page.wait_for_selector(ROWS, timeout=30_000)
    return layout


def row_ids(page) -> list[str]:  # type: ignore[no-untyped-def]
    return page.eval_on_selector_all(ROWS, "rows => rows.map(r => r.dataset.runId)")  # type: ignore[no-any-return]


def shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / f"lab-{name}.png"))


def test_the_sidebar_shows_the_demos_runs_names_as_text(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/aml/api/v1/runs?" in r.url else None)
    open_sidebar(page, lab)
    # A page at a time by offset, never the whole store.
    assert asked and all("max_results=" in u and "offset=" in u for u in asked), asked
    assert page.locator("#aml-sidebar").count() == 1
    expected = aml.search_runs(workspace=workspace)["run_id"].tolist()
    eventually(lambda: set(row_ids(page)) == set(expected) or None, 15, "every demo run in the table")
    assert len(row_ids(page)) == len(set(row_ids(page)))
    hostile = page.locator(f"{ROWS} .aml-RunsTable-cell", has_text=XSS)
    assert hostile.count() == 1 and page.locator(".aml-RunsTable img").count() == 0
    assert page.locator("#aml-sidebar").get_attribute("data-actions") == "admin execute read write"
    shot(page, "sidebar")


def test_a_filter_answers_and_a_wrong_one_says_where(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    box = page.locator(".aml-RunsSection-filter")
    box.fill("metrics.acc > 0.9")
    box.press("Enter")
    wanted = set(aml.search_runs(filter="metrics.acc > 0.9", workspace=workspace)["run_id"])
    eventually(lambda: set(row_ids(page)) == wanted or None, 10, "the filtered runs")
    box.fill("metrics.acc >> 0.9")
    box.press("Enter")
    error = page.locator(".aml-RunsSection-error")
    error.wait_for(state="visible")
    assert "clause 1, at character 1" in error.inner_text() and box.get_attribute("aria-invalid") == "true"
    assert row_ids(page) == []
    shot(page, "filter-error")
    box.fill("")
    box.press("Enter")
    error.wait_for(state="hidden")
    # Words alone search names, tags and ids
    box.fill("onerror")
    box.press("Enter")
    wanted = set(aml.search_runs("onerror", workspace=workspace)["run_id"])
    assert len(wanted) == 1
    shown: list[list[str]] = []  # what the table showed last, said if it never matches

    def only_the_word() -> bool:
        shown[:] = [row_ids(page), [box.input_value()]]
        return set(shown[0]) == wanted

    try:
        eventually(only_the_word, 10, "the run whose name holds the word")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; wanted {wanted}, the table showed {shown}") from None


def test_a_ticked_column_is_there_in_another_window(browser, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    import json

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    layout = f"lab/workspaces/cols{uuid.uuid4().hex[:8]}"
    header = '.aml-RunsTable [data-column="metrics.loss"]'
    first = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = first.new_page()
        page.goto(lab.page_url(layout))
        page.locator('.jp-SideBar [data-id="aml-sidebar"]').click()
        page.wait_for_selector(ROWS, timeout=30_000)
        assert page.locator(header).count() == 0
        page.locator(".aml-RunsSection-columnsButton").click()
        page.locator(".aml-ColumnChooser-item", has_text="metrics.loss").locator("input").check()
        page.locator(header).wait_for()

        def kept() -> bool:  # the Lab's state database, which the server keeps with the workspace
            status, body = lab.api(f"lab/api/workspaces/{layout.rsplit('/', 1)[1]}")
            return status == 200 and "metrics.loss" in json.dumps(json.loads(body).get("data", {}))

        eventually(kept, 15, "the columns kept with the workspace")
    finally:
        first.close()
    second = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        page = second.new_page()
        page.goto(lab.page_url(layout))
        page.wait_for_selector("#jp-main-dock-panel", timeout=60_000)
        try:  # the layout brings the sidebar back open as it was left
            page.locator(ROWS).first.wait_for(timeout=15_000)
        except PlaywrightTimeout:
            page.locator('.jp-SideBar [data-id="aml-sidebar"]').click()
            page.locator(ROWS).first.wait_for(timeout=30_000)
        page.locator(header).wait_for(timeout=15_000)
    finally:
        second.close()


def test_a_run_logged_meanwhile_appears_and_ends_by_itself(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    run = aml.start_run("live", name="arrives-live", workspace=workspace)
    try:
        row = page.locator(f'{ROWS}[data-run-id="{run.id}"]')
        row.wait_for(timeout=10_000)
        assert row.get_attribute("data-status") == "running"
    finally:
        run.end()
    page.wait_for_selector(f'{ROWS}[data-run-id="{run.id}"][data-status="completed"]', timeout=10_000)
    assert len(row_ids(page)) == len(set(row_ids(page)))


def test_details_draw_a_chart_and_preview_an_artifact_as_text(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    page.locator(f"{ROWS}", has_text=XSS).dblclick()
    details = page.locator(".aml-RunDetails[data-state=completed]")
    details.wait_for(timeout=15_000)
    page.wait_for_selector('.aml-Chart[data-metric="loss"][data-drawn="true"] canvas', timeout=15_000)
    page.locator(".aml-RunDetails-artifact", has_text="report.txt").click()
    preview = page.locator(".aml-RunDetails-preview pre")
    preview.wait_for()
    assert "<script>alert(1)</script>" in preview.inner_text()
    assert "lab-out:1" in details.locator(".aml-RunDetails-models").inner_text()  # its lineage out
    # A Parquet table as a grid of its first rows, sorted by a click on a column
    page.locator(".aml-RunDetails-artifact", has_text="predictions.parquet").click()
    grid = page.locator(".aml-RunDetails-preview table.aml-Csv")
    grid.wait_for()
    assert "200 of 300 rows" in page.locator(".aml-RunDetails-preview").inner_text()
    grid.locator("th", has_text="score").click()
    assert grid.locator("tbody tr").first.locator("td").nth(1).inner_text() == "100"  # of the 200 shown
    grid.locator("th", has_text="score").click()
    assert grid.locator("tbody tr").first.locator("td").nth(1).inner_text() == "299"
    shot(page, "details")


def test_details_of_a_running_run_show_what_it_adds_by_its_end(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    from aml_jupyter import dataprep as dp

    open_sidebar(page, lab)
    run = aml.start_run("live-details", name="adds-by-its-end", workspace=workspace)
    try:
        page.locator(f'{ROWS}[data-run-id="{run.id}"]').dblclick()
        details = page.locator(f'.aml-RunDetails[data-run-id="{run.id}"][data-state=running]')
        details.wait_for(timeout=15_000)
        assert "No artifacts." in details.inner_text()
        dataset = dp.get_dataset("iris", workspace=workspace)
        dataset.to_pandas()  # read inside the run: its input
        (workspace / "summary.txt").write_text("done\n")
        run.log_artifact(workspace / "summary.txt")
    finally:
        run.end()
    # Its end reaches the open tab by itself (a status event): the artifact and the dataset show.
    ended = page.locator(f'.aml-RunDetails[data-run-id="{run.id}"][data-state=completed]')
    ended.wait_for(timeout=15_000)
    ended.locator(".aml-RunDetails-artifact", has_text="summary.txt").wait_for(timeout=15_000)
    assert f"iris:{dataset.version}" in ended.inner_text()
    # What the machine did while it ran, in words (sampled at its end too)
    assert "Process memory peak (MB)" in ended.locator('section[aria-label="System"]').inner_text()


def test_a_new_project_from_the_launchers_aml_card(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    card = page.locator(".jp-LauncherCard", has_text="New aml Project")
    card.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    dialog.locator('select[name="template"]').select_option("tabular-classification")
    assert dialog.locator('input[name="folder"]').input_value() == "my-tabular-classification"
    dialog.locator('input[name="folder"]').fill("from-launcher")
    shot(page, "new-project")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    page.locator(".lm-TabBar-tab", has_text="README.md").wait_for(timeout=30_000)  # the new project's README opens
    # A folder of this workspace, not a second one inside it: its runs show in this sidebar.
    assert not (workspace / "from-launcher" / ".aml").exists() and (workspace / "from-launcher" / "train.py").is_file()


def test_compare_two_selected_runs(page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    rows = page.locator(ROWS)
    # Two of the demo's sweep runs: jobs long enough to have system metrics
    rows.filter(has_text="sweep-2").first.click(modifiers=["Control"])
    rows.filter(has_text="sweep-3").first.click(modifiers=["Control"])
    eventually(lambda: page.locator(f'{ROWS}[aria-selected="true"]').count() == 2 or None, 5, "two runs selected")
    page.keyboard.press("Shift+Enter")
    view = page.locator(".aml-Compare[data-ready=true]")
    view.wait_for(timeout=15_000)
    assert view.locator(".aml-Compare-table").count() == 2 and view.locator("canvas.aml-Parcoords").count() == 1
    shot(page, "compare")
    # The machine's metrics join the comparison when asked, in words, the peaks first
    metrics = view.locator(".aml-Compare-table").nth(1)
    assert "Process memory peak (MB)" not in metrics.inner_text()
    view.locator(".aml-Compare-system").check()
    first_system = view.locator(".aml-Compare-table").nth(1).locator("tbody th", has_text="(MB)").first
    assert "peak" in first_system.inner_text()


def test_compare_shows_the_runs_figures_side_by_side(page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    rows = page.locator(ROWS)
    rows.filter(has_text=XSS).first.click(modifiers=["Control"])
    rows.filter(has_text="plain-figure").first.click(modifiers=["Control"])
    eventually(lambda: page.locator(f'{ROWS}[aria-selected="true"]').count() == 2 or None, 5, "two runs selected")
    page.keyboard.press("Shift+Enter")
    view = page.locator(".aml-Compare[data-ready=true]")
    view.wait_for(timeout=15_000)
    figures = view.locator('.aml-Compare-figures[data-artifact="figures/curve.png"] img')
    assert figures.count() == 2
    eventually(
        lambda: all(figures.nth(i).evaluate("i => i.naturalWidth > 0") for i in range(2)) or None, 10, "both drawn"
    )
    assert view.locator(".aml-Compare-figures figcaption").first.inner_text() == XSS  # a name as text


def test_submit_a_notebook_with_an_edited_parameter(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    page.goto(lab.page_url("lab/tree/iris_sweep.ipynb"))
    page.wait_for_selector(".jp-Notebook", timeout=60_000)
    page.locator(".aml-SubmitButton").first.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for()
    epochs = dialog.locator('input[name="epochs"]')
    assert epochs.input_value() == "60"
    epochs.fill("7")
    dialog.locator('input[name="experiment"]').fill("from-lab")
    shot(page, "submit")
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    done = page.locator(".aml-RunDetails[data-state=completed]")
    done.wait_for(timeout=120_000)
    runs = aml.search_runs(experiments="from-lab", workspace=workspace)
    assert len(runs) == 1 and runs["params.epochs"].iloc[0] == "7"


def test_submit_the_templates_script_with_its_flag_ticked_and_unticked(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    from aml_jupyter.templates import new_project

    new_project(workspace / "tabular", "tabular-classification")
    page.goto(lab.page_url("lab/tree/tabular"))
    for ticked in (True, False):
        page.locator('.jp-DirListing-item[data-file-type="python"]', has_text="train.py").click(button="right")
        page.locator(".lm-Menu-item", has_text="Submit as aml Run").click()
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        smoke = dialog.locator('input[name="smoke"]')  # store_true: a checkbox, not a required text field
        assert smoke.get_attribute("type") == "checkbox" and not smoke.is_checked()
        if ticked:
            smoke.check()
            shot(page, "submit-script")
        dialog.locator('input[name="experiment"]').fill("flags")
        dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
        dialog.wait_for(state="detached")

    def both_done() -> list[dict[str, object]] | None:
        runs = aml.search_runs(experiments="flags", workspace=workspace)
        jobs = runs[runs["parent_id"].isna()]  # the jobs, not the models each one trains in a child run
        ended = len(jobs) == 2 and set(jobs["status"]) <= {"completed", "failed"}
        return jobs[["status", "params.smoke"]].to_dict("records") if ended else None

    jobs = eventually(both_done, 120, "both runs of train.py ending")
    assert {j["status"] for j in jobs} == {"completed"}, jobs
    assert sorted(str(j["params.smoke"]) for j in jobs) == ["False", "True"]  # recorded either way, typed alike


def test_a_deleted_runs_tab_says_so_after_a_reload(page, lab: Lab, workspace: Path) -> None:  # type: ignore[no-untyped-def]
    with aml.start_run("doomed", name="doomed", workspace=workspace) as run:
        pass
    layout = open_sidebar(page, lab)

    def saves_the_tab(request) -> bool:  # type: ignore[no-untyped-def]
        # The Lab saves its layout a moment after it changes: a PUT of the workspace naming the tab.
        return request.method == "PUT" and "/api/workspaces" in request.url and run.id in (request.post_data or "")

    with page.expect_request(saves_the_tab, timeout=30_000):
        page.locator(f'{ROWS}[data-run-id="{run.id}"]').dblclick()
        page.wait_for_selector(f'.aml-RunDetails[data-run-id="{run.id}"][data-state=completed]', timeout=15_000)
    from aml_jupyter.services import runs as service

    service.delete(aml.Workspace.open(workspace), [run.id])
    page.goto(lab.page_url(layout))
    gone = page.locator(f'.aml-RunDetails[data-run-id="{run.id}"][data-state=gone]')
    gone.wait_for(timeout=30_000)  # the tab came back by itself (ILayoutRestorer) and says why it is empty
    assert "deleted" in gone.inner_text()


def test_keyboard_only(page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    page.locator(".aml-RunsSection-filter").focus()
    page.keyboard.press("ArrowDown")  # from the filter into the table
    page.keyboard.press("ArrowDown")
    focused = page.evaluate("document.activeElement.dataset.runId || ''")
    assert focused and page.evaluate("document.activeElement.getAttribute('aria-rowindex')") == "3"
    page.keyboard.press(" ")
    page.wait_for_selector(f'{ROWS}[data-run-id="{focused}"][aria-selected="true"]', timeout=5_000)
    page.keyboard.press("Enter")
    page.wait_for_selector(f'.aml-RunDetails[data-run-id="{focused}"]', timeout=15_000)
    assert page.locator(".aml-RunsTable").get_attribute("role") == "grid"


# The WCAG contrast ratio of an element's text against the first opaque background under it.
CONTRAST = """el => {
  const rgb = c => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => [r, g, b].map(v => (v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
    .reduce((s, v, i) => s + v * [0.2126, 0.7152, 0.0722][i], 0);
  let node = el, back = null;
  while (node && !back) {
    const c = rgb(getComputedStyle(node).backgroundColor);
    back = c.length === 3 || (c.length === 4 && c[3] > 0.9) ? c : null;
    node = node.parentElement;
  }
  const [a, b] = [lum(rgb(getComputedStyle(el).color)), lum(back || [255, 255, 255])];
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""
READABLE = [
    ".aml-RunsTable-row .aml-RunsTable-cell",
    ".aml-RunsTable-headerCell",
    "input.aml-RunsSection-filter",
    ".aml-RunDetails-section th",
]


def pick_theme(page, name: str, light: bool) -> None:  # type: ignore[no-untyped-def]
    page.locator(".lm-MenuBar-itemLabel", has_text="Settings").click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Theme$")).hover()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{name}$")).click()
    page.wait_for_function(
        f"document.body.dataset.jpThemeName === {name!r}"
        f" && document.body.dataset.jpThemeLight === {str(light).lower()!r}",
        timeout=15_000,
    )
    # Lab shows its splash while the new theme's CSS loads; the charts redraw in its colours after.
    page.wait_for_function("document.querySelector('#jupyterlab-splash') === null", timeout=15_000)
    page.wait_for_selector('.aml-Chart[data-drawn="true"]', timeout=15_000)


def contrast_of(page) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return {sel: round(page.locator(sel).first.evaluate(CONTRAST), 2) for sel in READABLE}


def test_the_dark_and_high_contrast_themes(page, lab: Lab) -> None:  # type: ignore[no-untyped-def]
    open_sidebar(page, lab)
    page.locator(ROWS, has_text=XSS).dblclick()  # a run with a chart, whichever runs other tests made since
    page.wait_for_selector('.aml-Chart[data-drawn="true"]', timeout=15_000)
    light = contrast_of(page)
    pick_theme(page, "JupyterLab Dark", light=False)
    background = page.evaluate("getComputedStyle(document.querySelector('.aml-RunsTable-row')).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    dark = contrast_of(page)
    shot(page, "dark")
    pick_theme(page, "JupyterLab Dark High Contrast", light=False)
    high = contrast_of(page)
    shot(page, "high-contrast")
    # Text readable in every theme (WCAG AA asks 4.5 for body text), and high contrast at least as
    # readable as dark: the panels take every colour from the theme's --jp-* variables.
    assert all(v >= 4.5 for v in [*light.values(), *dark.values(), *high.values()]), (light, dark, high)
    assert all(high[k] >= dark[k] - 0.01 for k in READABLE), (dark, high)
    pick_theme(page, "JupyterLab Light", light=True)
