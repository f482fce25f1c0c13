"""The Predict page in a real browser: upload a real photo and see the answer and its heatmap; open the demo
view from the page and see the big answer."""

from __future__ import annotations

import re
import shutil
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import RUN_TIMEOUT_MS, App, running_app
from tests.conftest import FILTERED

DOG = min((FILTERED / "validation" / "dogs").iterdir())
CAT = min((FILTERED / "validation" / "cats").iterdir())


@pytest.fixture(scope="module")
def predict_server(tmp_path_factory, tiny_run):
    """A server of its own with one finished tiny run (its run would otherwise show on other tests' pages)."""
    with running_app(tmp_path_factory.mktemp("predict-browser")) as server:
        shutil.copytree(tiny_run, server.workspace / "runs" / tiny_run.name)
        yield server


def upload(app: App, path, answer) -> float:
    """Upload `path` to the first uploader and wait until `answer` (a locator) shows; returns the seconds."""
    started = time.monotonic()
    app.page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(str(path))
    expect(answer).to_be_visible(timeout=RUN_TIMEOUT_MS)  # expect's own default is 5 s: too short on a busy CPU
    seconds = time.monotonic() - started
    app.wait()
    return seconds


def wait_for_images(app: App) -> None:
    """Every image on the page has arrived and decoded (an image element shows before its pixels do)."""
    app.page.wait_for_function("[...document.querySelectorAll(\"[data-testid='stImage'] img\")]"
                               ".every(image => image.complete && image.naturalWidth > 0)")


def test_an_uploaded_photo_gets_an_answer_and_a_heatmap(page, predict_server) -> None:
    app = App(page=page, server=predict_server)
    app.open("predict")
    app.assert_ok()
    main = app.page.get_by_test_id("stMain")
    seconds = upload(app, DOG, main.get_by_role("heading", name=re.compile(r"^(Cat|Dog)")))
    app.assert_ok()
    expect(main.get_by_test_id("stImage").filter(has_text="Grad-CAM for")).to_be_visible()
    expect(main.get_by_test_id("stImage").filter(has_text=DOG.name)).to_be_visible()
    wait_for_images(app)
    app.screenshot(predict_server.workspace.parent / "predict.png")
    print(f"single-photo answer in the browser: {seconds:.2f} s "
          "(upload to answer shown, first photo, model loaded cold)")


def test_the_demo_view_opens_from_the_page_and_gives_a_big_answer(page, predict_server) -> None:
    app = App(page=page, server=predict_server)
    app.open("predict")
    app.page.get_by_role("button", name=re.compile("Open the demo view")).click()
    app.wait()
    assert "demo=1" in app.page.url
    expect(app.page.get_by_text("Cat or dog? Show the computer a photo.")).to_be_visible()
    main = app.page.get_by_test_id("stMain")
    seconds = upload(app, CAT, main.get_by_text(re.compile(r"^(Dog|Cat|Maybe (dog|cat)\?)$")))
    app.assert_ok()
    expect(main.get_by_test_id("stImage").filter(has_text="Where it looked")).to_be_visible()
    expect(main.get_by_text("This model knows cats and dogs, and says so when a photo looks like none of them.")
           ).to_be_visible()  # the tiny run has its out-of-distribution check
    wait_for_images(app)
    widths = [box["width"] for box in (image.bounding_box() for image in main.locator("[data-testid='stImage'] img").all())]
    assert len(widths) == 2 and min(widths) >= 550, widths  # for the back of a room (they were ~290 px); this cat
    # photo is tall (459 x 499), so it is narrowed to 640 px high: 589 px wide
    app.screenshot(predict_server.workspace.parent / "demo.png")
    print(f"single-photo answer in the demo view: {seconds:.2f} s (upload to answer shown, model warm, a new photo)")


def test_leaving_the_demo_view_opens_the_sidebar_again(page, predict_server) -> None:
    app = App(page=page, server=predict_server)
    app.open("predict")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    app.page.get_by_role("button", name=re.compile("Open the demo view")).click()
    app.wait()
    expect(sidebar).to_have_attribute("data-collapsed", "true")  # the demo view closes it for the audience
    app.page.get_by_role("button", name="Leave the demo view").click()
    app.wait()
    assert "demo=1" not in app.page.url
    expect(app.page.get_by_role("heading", name="Predict")).to_be_visible()
    expect(sidebar).to_have_attribute("data-collapsed", "false")
    expect(sidebar.get_by_role("link", name="Predict")).to_be_in_viewport()
    app.assert_ok()


def test_an_export_shows_each_step_with_its_time_and_then_its_card(page, predict_server) -> None:
    app = App(page=page, server=predict_server)
    app.open("predict")
    main = app.page.get_by_test_id("stMain")
    main.get_by_role("tab", name="Export").click()
    main.get_by_role("button", name="Make the export").click()
    done = main.get_by_text(re.compile(r"Keras \(\.keras\): made and checked in \d+ s"))
    expect(done).to_be_visible(timeout=RUN_TIMEOUT_MS)
    app.wait()
    app.assert_ok()
    for step in (re.escape("Load the run's model and decode the sample photos"), re.escape("Save the .keras file"),
                 r"Check it against the run's model on \d+ photos", re.escape("Write its model card")):
        expect(main.get_by_text(re.compile(rf"{step}: \d+\.\d s$"))).to_be_visible()
    app.screenshot(predict_server.workspace.parent / "export.png")
    card = main.get_by_test_id("stDataFrame").last  # the newest export's card, open on the page
    card.scroll_into_view_if_needed()
    expect(card).to_be_visible()
    app.screenshot(predict_server.workspace.parent / "export-card.png")
