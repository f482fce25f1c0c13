"""The Train page in a real browser: fill the form, launch a tiny run, watch it finish live."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.conftest import FILTERED

FINISH_TIMEOUT_MS = 240_000  # a worker process imports TensorFlow and trains on two shared cores


def choose(app, label: str, option_text: str) -> None:
    """Pick an option of a Streamlit selectbox by typing part of it."""
    app.page.get_by_role("combobox", name=label, exact=True).click()
    app.page.keyboard.type(option_text)
    app.page.get_by_role("option").filter(has_text=option_text).first.click()
    app.wait()


def type_number(app, label: str, value: int) -> None:
    field = app.page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    app.wait()


def test_launch_a_tiny_run_and_watch_it_finish(app) -> None:
    app.open("train")
    app.assert_ok()

    choose(app, "Data", str(FILTERED))
    choose(app, "Backbone", "mobilenet — ")  # switches the weights to the tiny local file
    expect(app.page.get_by_role("combobox", name="Weights", exact=True)).to_have_value(
        "mobilenet_0.25_128_imagenet_no_top.weights.h5 (local file)")
    for label, value in (("Image size (px)", 128), ("Epochs", 2), ("Batch size", 8), ("Training images", 40),
                         ("Validation images", 20)):
        type_number(app, label, value)
    app.assert_ok()
    expect(app.page.get_by_text("mobilenet (mobilenet_0.25_128_imagenet_no_top.weights.h5), feature-extractor")
           ).to_be_visible()

    app.page.get_by_role("button", name="Launch").click()
    app.wait()

    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_text("Best validation accuracy")).to_be_visible(timeout=FINISH_TIMEOUT_MS)
    expect(main.get_by_text("finished", exact=True)).to_be_visible()
    expect(main.get_by_test_id("stPlotlyChart")).to_have_count(2)
    assert "epoch 2/2" in main.get_by_test_id("stCode").inner_text()
    app.assert_ok()
