"""The Compare page in a real browser: tick two real runs in the table and see them compared."""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from playwright.sync_api import expect

from lab.cli.train import flags_from_config
from tests.browser.conftest import App, running_app
from tests.conftest import FILTERED, SHARED, WEIGHTS

ROW_PX = 35  # the height of the table's header and of each row (Streamlit's default)


@pytest.fixture(scope="module")
def compare_server(tmp_path_factory):
    """A server of its own: the runs made here would otherwise show up on other tests' Train page."""
    with running_app(tmp_path_factory.mktemp("compare-browser")) as server:
        yield server


@pytest.fixture(scope="module")
def pair_of_runs(compare_server, tiny_config, lab_cli_env) -> list[str]:
    """Two finished tiny runs in the app's workspace, named so a search finds them, with test predictions."""
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(compare_server.workspace),
           "TRANSFER_LAB_DATA_DIRS": str(SHARED / "data"), "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}
    made = lab_cli_env(env, "manifest", str(FILTERED), "--name", "browser-pair", "--test", "30", "--seed", "1")
    assert made.returncode == 0, made.stderr
    ids = []
    for name, train_size in (("browser pair small", 40), ("browser pair larger", 80)):
        config = dataclasses.replace(tiny_config, data="browser-pair", train_size=train_size, epochs=2)
        done = lab_cli_env(env, "train", *flags_from_config(config), "--json")
        assert done.returncode == 0, done.stderr
        ids.append(json.loads(done.stdout.splitlines()[-1])["id"])
        assert lab_cli_env(env, "runs", "rename", ids[-1], name).returncode == 0
    return ids


def test_two_ticked_runs_show_overlaid_curves_the_confusion_matrix_and_the_changed_photos(
    page, compare_server, pair_of_runs
) -> None:
    app = App(page=page, server=compare_server)
    app.open("compare")
    app.assert_ok()
    search = app.page.get_by_role("textbox", name="Search")
    search.fill("browser pair")
    search.press("Enter")
    app.wait()
    table = app.page.get_by_test_id("stDataFrame").first
    expect(table).to_contain_text("browser pair larger")
    box = table.bounding_box()
    for row in range(2):  # the selection checkboxes sit at the left of each row
        app.page.mouse.click(box["x"] + 18, box["y"] + ROW_PX * (row + 1.5))
        app.wait()
    app.assert_ok()
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
