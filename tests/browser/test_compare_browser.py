"""The Compare page in a real browser: tick two real runs in the table and see them compared."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import App, running_app
from tests.conftest import workspace_env

ROW_PX = 35  # the height of the table's header and of each row (Streamlit's default)


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory):
    """A server of its own: the runs made here would otherwise show up on other tests' Train page."""
    with running_app(tmp_path_factory.mktemp("compare-browser")) as server:
        yield server


@pytest.fixture(scope="module")
def pair_of_runs(compare_server, run_pair, lab_cli_env) -> list[str]:
    """The session's two finished tiny runs in the app's workspace, named so a search finds them, with test
    predictions."""
    runs_dir = compare_server.workspace / "runs"
    shutil.copytree(run_pair, runs_dir, dirs_exist_ok=True)
    ids = sorted(path.name for path in run_pair.iterdir() if not path.name.startswith("."))
    for run_id, name in zip(ids, ("browser pair small", "browser pair larger")):
        assert lab_cli_env(workspace_env(compare_server.workspace), "runs", "rename", run_id, name).returncode == 0
    return ids


def tick(app: App, search_for: str, *, rows: int, shown: str) -> None:
    """Search the runs table for `search_for` (once `shown` is in it) and tick its first `rows` rows."""
    search = app.page.get_by_role("textbox", name="Search")
    search.fill(search_for)
    search.press("Enter")
    app.wait()
    table = app.page.get_by_test_id("stDataFrame").first
    expect(table).to_contain_text(shown)
    box = table.bounding_box()
    for row in range(rows):  # the selection checkboxes sit at the left of each row
        app.page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * (row + 1.5))
        app.wait()
    app.assert_ok()


def test_two_ticked_runs_show_overlaid_curves_the_confusion_matrix_and_the_changed_photos(
    page, compare_server, pair_of_runs
) -> None:
    app = App(page=page, server=compare_server)
    app.open("compare")
    app.assert_ok()
    tick(app, "browser pair", rows=2, shown="browser pair larger")
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_text("browser pair small · validation").first).to_be_visible()  # the overlaid curves
    expect(main.get_by_text("browser pair larger · training").first).to_be_visible()
    expect(main.get_by_role("tab", name="Confusion matrix: counts").first).to_be_visible()
    expect(main.get_by_text("predicted").first).to_be_attached()
    expect(main.get_by_text("Paired comparison")).to_be_visible()
    expect(main.get_by_text("McNemar p =")).to_be_visible()
    changed = main.get_by_test_id("stImage").filter(has_text="browser pair small:")
    assert changed.count() > 0, "no changed-prediction gallery"
    app.screenshot(app.server.workspace.parent / "compare.png")


def test_one_ticked_run_shows_its_reliability_diagram_with_each_accuracys_interval(
    page, compare_server, pair_of_runs
) -> None:
    app = App(page=page, server=compare_server)
    app.open("compare")
    tick(app, "browser pair larger", rows=1, shown="test 95% interval")
    main = app.page.get_by_test_id("stMain")
    diagram = main.get_by_test_id("stPlotlyChart").filter(has_text="Is it as sure as it is right?")
    diagram.scroll_into_view_if_needed()
    expect(diagram).to_contain_text("as sure as it is right")  # the diagonal's legend entry
    expect(diagram).to_contain_text("the model's own")
    expect(main.get_by_text("Expected calibration error").first).to_be_visible()
    expect(main.get_by_text(re.compile(r"^95% interval \d+\.\d-\d+\.\d% on 30 photos$")).first).to_be_visible()
    diagram.screenshot(path=str(app.server.workspace.parent / "reliability.png"))
