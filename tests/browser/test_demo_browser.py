"""Demo mode in a real browser: a visitor walks Home -> Compare -> Predict, compares and predicts, and no
page shows a server path; the demo view answers a photo of neither class with "neither"."""

from __future__ import annotations

import os
import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import RUN_TIMEOUT_MS, App, running_app
from tests.conftest import FILTERED, SHARED

CAT = min((FILTERED / "validation" / "cats").iterdir())
SHOTS = os.environ.get("TRANSFER_LAB_SHOTS")  # a folder to keep the screenshots in, for looking at them


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory, tiny_run):
    """A demo-mode server of its own, holding one finished tiny run (demo mode trains none itself)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_DEMO", "1")
        with running_app(tmp_path_factory.mktemp("demo-browser")) as server:
            shutil.copytree(tiny_run, server.workspace / "runs" / tiny_run.name)
            yield server


def assert_no_server_path(app: App) -> None:
    body = app.page.inner_text("body")
    for path in (str(app.server.workspace), str(SHARED), "/work", "/tmp/"):
        assert path not in body, f"{path} shown in demo mode:\n{body}"


def shot(app: App, name: str) -> None:
    folder = SHOTS or app.server.workspace.parent
    app.page.screenshot(path=f"{folder}/demo-{name}.png")


def go(app: App, title: str) -> None:
    """Follow the sidebar's link to a page, as a visitor does."""
    app.page.get_by_test_id("stSidebarNav").get_by_role("link", name=title).click()
    app.wait()
    app.assert_ok()


def test_a_visitor_walks_home_compare_predict_and_sees_no_server_path(page, demo_server) -> None:
    app = App(page=page, server=demo_server)
    app.open("")
    app.assert_ok()
    expect(app.page.get_by_test_id("stSidebar")).to_contain_text("Demo mode: prediction and comparison only.")
    assert_no_server_path(app)
    shot(app, "home")

    go(app, "Compare")
    runs = app.page.get_by_test_id("stMultiSelect").filter(has_text="Runs to compare")
    runs.click()
    app.page.get_by_role("option").first.click()
    app.wait()
    app.page.keyboard.press("Escape")
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Learning curves")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(main).to_contain_text("Demo mode: renaming, tagging and deleting runs is switched off")
    assert_no_server_path(app)
    main.get_by_role("heading", name="Evaluation").scroll_into_view_if_needed()
    shot(app, "compare")

    go(app, "Predict")
    app.page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(CAT))
    expect(main.get_by_role("heading", name=re.compile(r"^(Cat|Dog)"))).to_be_visible(timeout=RUN_TIMEOUT_MS)
    app.wait()
    app.assert_ok()
    assert_no_server_path(app)
    shot(app, "predict")
    main.get_by_role("tab", name="Export").click()
    expect(main).to_contain_text("Demo mode: making exports is switched off on this server")
    assert_no_server_path(app)


def test_the_demo_view_says_neither_for_a_photo_that_is_no_cat_or_dog(page, demo_server, tmp_path) -> None:
    from PIL import Image

    square = tmp_path / "blue-square.png"
    Image.new("RGB", (400, 400), (30, 90, 200)).save(square)
    app = App(page=page, server=demo_server)
    app.open("predict?demo=1")
    app.page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(square))
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_text("This doesn't look like a cat or a dog")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(main).to_contain_text("If it had to choose:")
    app.wait()
    app.assert_ok()
    assert "Dog" not in [line.strip() for line in app.main_text().splitlines()]  # no confident answer
    shot(app, "neither")
