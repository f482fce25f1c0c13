"""The Train page in a real browser: fill the form, launch a tiny run, watch it finish live; a launch the
form knows would fail is blocked with the field named; a manifest's subset is chosen and trained; a queued run
cancelled from its card, and a finished run kept on screen with its next steps."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lab.runs import labels
from lab.runs.jobs import process_identity
from lab.runs.store import RunStore
from lab.training.config import TrainConfig
from tests.conftest import FILTERED, SHARED, WEIGHTS

FINISH_TIMEOUT_MS = 240_000  # a worker process imports TensorFlow and trains on two shared cores
SERVER_MS = 30_000  # what the form says once the server has checked a change (data counted, weights looked up)
# True on a frame where the data check's spinner, the Experiment and Data fields and the Runs heading all show.
CHECKING_WITH_THE_FORM = """() => {
  const main = document.querySelector("[data-testid='stMain']");
  if (!main || !main.innerText.includes("Checking the data and the weights...")) return false;
  const labels = [...main.querySelectorAll("[data-testid='stWidgetLabel']")].map(label => label.innerText.trim());
  const headings = [...main.querySelectorAll("h2")].map(heading => heading.innerText.trim());
  return labels.includes("Experiment") && labels.includes("Data") && headings.some(h => h.startsWith("Runs"));
}"""
SUBSET_MANIFEST = "browser_subset"  # a manifest of FILTERED with a 40-image subset of its training split


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


def open_advanced(app) -> None:
    """Open the form's Advanced section (closed when the page opens)."""
    app.wait()
    app.page.get_by_test_id("stExpander").get_by_text("Advanced", exact=True).click()
    expect(app.page.get_by_label("Batch size", exact=True)).to_be_visible()


def technical_terms(app) -> None:
    """Open "In technical terms" under the estimate (closed when the page opens): the config's summary line."""
    app.page.get_by_test_id("stExpander").get_by_text("In technical terms", exact=True).click()


def finished(app) -> None:
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_text("Best validation accuracy")).to_be_visible(timeout=FINISH_TIMEOUT_MS)
    expect(main.get_by_text("finished", exact=True)).to_be_visible()


def test_launch_a_tiny_run_and_watch_it_finish(app) -> None:
    app.open("train")
    app.assert_ok()

    choose(app, "Data", FILTERED.name)
    choose(app, "Backbone", "mobilenet · ")  # switches the weights to the tiny local file
    expect(app.page.get_by_role("combobox", name="Weights", exact=True)).to_have_value(
        "mobilenet_0.25_128 · local file")
    open_advanced(app)
    for label, value in (("Image size (px)", 128), ("Epochs", 2), ("Batch size", 8), ("Training images", 40),
                         ("Validation images", 20)):
        type_number(app, label, value)
    app.assert_ok()
    technical_terms(app)
    expect(app.page.get_by_text("mobilenet (mobilenet_0.25_128_imagenet_no_top.weights.h5), feature-extractor")
           ).to_be_visible()

    app.page.get_by_role("button", name="Launch").click()
    app.wait()

    finished(app)
    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_test_id("stPlotlyChart")).to_have_count(2)
    app.open_expander("Technical details: the run's folder and log")  # the log, for whoever wants it
    expect(main.get_by_test_id("stCode").filter(has_text="epoch 2/2")).to_be_visible()
    app.assert_ok()


def test_a_launch_the_form_knows_would_fail_is_blocked_with_the_field_named(app, tmp_path: Path) -> None:
    app.open("train")
    expect(app.page.get_by_label("Batch size", exact=True)).to_be_hidden()  # Advanced starts closed
    launch = app.page.get_by_role("button", name="Launch")
    expect(launch).to_be_enabled()

    type_number(app, "Training images", 5000)

    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_text("Training images: asks for 5,000 images but only 2,000 are available")).to_be_visible(
        timeout=SERVER_MS)
    expect(launch).to_be_disabled()
    app.screenshot(tmp_path / "blocked.png")
    app.assert_ok()  # a warning to act on, not an error


def test_a_manifest_subset_chosen_from_the_data_box_trains(app, lab_cli_env) -> None:
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(app.server.workspace),
           "TRANSFER_LAB_DATA_DIRS": str(SHARED / "data"), "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}
    saved = lab_cli_env(env, "manifest", str(FILTERED), "--name", SUBSET_MANIFEST, "--subset", "train_40=train:40")
    assert saved.returncode == 0, saved.stderr
    app.open("train")

    main = app.page.get_by_test_id("stMain")
    choose(app, "Data", f"{SUBSET_MANIFEST} · manifest: train 2,000 · validation 1,000 · train_40 40")
    choose(app, "Training split", "train_40 · 40 images")
    expect(main.get_by_text("Training images: asks for 1,000 images but only 40 are available")).to_be_visible(
        timeout=SERVER_MS)
    choose(app, "Backbone", "mobilenet · ")
    expect(app.page.get_by_role("combobox", name="Weights", exact=True)).to_have_value(
        "mobilenet_0.25_128 · local file", timeout=SERVER_MS)
    open_advanced(app)
    for label, value in (("Image size (px)", 128), ("Epochs", 1), ("Batch size", 10), ("Training images", 40),
                         ("Validation images", 20)):
        type_number(app, label, value)
    technical_terms(app)
    expect(main.get_by_text("128px, 1 epochs, adam 0.001, 40 train_40")).to_be_visible(timeout=SERVER_MS)
    app.assert_ok()
    app.page.get_by_role("button", name="Launch").click()
    app.wait()

    finished(app)
    configs = [json.loads(path.read_text()) for path in (app.server.workspace / "runs").glob("*/config.json")]
    [config] = [config for config in configs if config["data"] == SUBSET_MANIFEST]
    assert (config["train_split"], config["train_size"]) == ("train_40", 40)


CUT_CHOICES = ("inputs => inputs.filter(input => input.scrollWidth > input.clientWidth + 1)"
               ".map(input => input.value)")
WRAPPED_LABELS = """labels => labels
    .filter(p => p.getBoundingClientRect().height > 1.6 * parseFloat(getComputedStyle(p).lineHeight))
    .map(p => p.textContent)"""


def test_every_label_and_choice_reads_in_full_and_in_line_at_1100_px(app, tmp_path: Path) -> None:
    """Streamlit cuts a choice too long for its box ("...imagenet_no_tc") and wraps a long label onto a second
    line, which pushes its widget out of line with its neighbours: neither may happen at 1,100 px."""
    app.page.set_viewport_size({"width": 1100, "height": 1000})
    app.open("train")
    open_advanced(app)
    main = app.page.get_by_test_id("stMain")
    labels = main.locator("[data-testid='stWidgetLabel'] p")
    assert labels.count() >= 20  # every field of the form, Advanced included
    wrapped = labels.evaluate_all(WRAPPED_LABELS)
    cut = main.locator("[data-testid='stSelectbox'] input").evaluate_all(CUT_CHOICES)  # a choice shows in an input
    app.screenshot(tmp_path / "train-1100.png")
    assert (wrapped, cut) == ([], []), f"at 1,100 px, labels on two lines: {wrapped}; texts cut off: {cut}"


@pytest.fixture
def stand_ins() -> Iterator[list[subprocess.Popen]]:
    """Two live processes standing in for workers, so two runs stay "running" while the page looks."""
    processes = [subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) for _ in range(2)]
    yield processes
    for process in processes:
        process.kill()
        process.wait()


def test_a_queued_run_is_cancelled_from_its_card_and_a_finished_run_stays_chosen(
    app, tiny_run: Path, tiny_config: TrainConfig, stand_ins: list[subprocess.Popen]
) -> None:
    """Done when of issue 28: a queued run's place and expected start, cancelled from the page; the run picker
    keeps a finished run with its card and both next steps (Predict and Compare open with it chosen)."""
    store = RunStore(app.server.workspace / "runs")
    mine = store.get(shutil.copytree(tiny_run, store.runs_dir / f"{tiny_run.name}-mine").name)
    mine.update(state="running")
    theirs = store.create(tiny_config)  # someone else's, newer: the picker's first option
    for run, worker in zip((mine, theirs), stand_ins):
        run.mark_running(*process_identity(worker.pid))
        run.update(progress={"eta_seconds": 2400})  # 40 minutes left each
    waiting = store.create(tiny_config)
    for run, name in ((mine, "My lesson run"), (theirs, "Their run"), (waiting, "A waiting run")):
        labels.rename(run.path, name)  # runs go by their names in the pickers
    main = app.page.get_by_test_id("stMain")

    app.open("train")
    choose(app, "Run", "A waiting run")
    # 40 minutes left on the run ahead: "about 41" when the seconds around it round up on a loaded machine
    expect(main.get_by_text(re.compile(r"Queued: next in line, starts in about 4[01] minutes"))).to_be_visible()
    main.get_by_role("button", name="Cancel this run").click()
    app.wait()
    expect(main.get_by_text("stopped: cancelled (never started)")).to_be_visible()
    assert waiting.status().state == "stopped" and waiting.status().started is None

    choose(app, "Run", "My lesson run")
    expect(main.get_by_role("button", name="Stop training")).to_be_visible()
    mine.update(state="finished")  # its worker ended; someone else's still runs
    expect(main.get_by_text("finished", exact=True)).to_be_visible(timeout=10_000)
    app.page.wait_for_timeout(3_000)  # a few more polls: the picker must not move
    expect(app.page.get_by_role("combobox", name="Run", exact=True)).to_have_value("My lesson run · finished")
    expect(main.get_by_role("button", name="Stop training")).to_have_count(0)
    expect(main.get_by_role("button", name="Compare")).to_be_visible()
    main.get_by_role("button", name="Try it on photos").click()
    app.wait()
    expect(app.page).to_have_url(re.compile(r"/predict$"))
    expect(app.page.get_by_role("combobox", name="Run", exact=True)).to_have_value(
        re.compile(r"^My lesson run \("))  # its name, then its accuracies

    app.open("train")  # a new session: nothing chosen yet
    choose(app, "Run", "My lesson run")
    main.get_by_role("button", name="Compare").click()
    app.wait()
    expect(app.page).to_have_url(re.compile(r"/compare$"))
    picked = app.page.get_by_test_id("stMultiSelect").filter(has_text="Runs to compare")
    expect(picked).to_contain_text("My lesson run")
    app.assert_ok()


def test_a_first_open_draws_the_form_and_the_runs_while_the_data_is_checked(fresh_app, tmp_path: Path) -> None:
    """A fresh server and workspace: the first check of the sample decodes its 3,000 photos, which takes seconds.
    The form and the runs are on screen meanwhile; what the run costs and Launch fill in once it is done.

    The page is looked at on every frame the browser paints (a cold server's first page can take longer than
    the check on a busy machine, and an `expect` polls only every second): the test fails only if no frame
    ever showed the check under way together with the form and the runs."""
    fresh_app.page.goto(f"{fresh_app.server.url}/train")
    fresh_app.page.wait_for_function(CHECKING_WITH_THE_FORM, polling="raf", timeout=SERVER_MS * 3)
    fresh_app.screenshot(tmp_path / "first-open-checking.png")
    main = fresh_app.page.get_by_test_id("stMain")
    fresh_app.wait()
    expect(main.get_by_role("button", name="Launch")).to_be_enabled()
    expect(main.get_by_text("Time:", exact=False).first).to_be_visible()
    expect(main.get_by_text("Time unknown until this machine has measured its speed")).to_be_visible()  # worked out
    fresh_app.assert_ok()
