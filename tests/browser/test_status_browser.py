"""Status you can trust, in a real browser: a tab opened while nothing trained follows a run started after it
(the sidebar and the Train page), and the training's own Stop says "stopping…" at once."""

from __future__ import annotations

import dataclasses
import time

import pytest
from playwright.sync_api import expect

from lab.runs import jobs
from lab.runs.store import RunStore
from lab.settings import load_settings
from lab.training.config import TrainConfig
from tests.conftest import SHARED, WEIGHTS

START_TIMEOUT_MS = 120_000  # the worker imports TensorFlow and builds the model on two shared cores
STOPPING_SHOWN_WITHIN_S = 3.0  # generous: the click's own rerun; the stop itself waits for the current batch


@pytest.fixture
def long_config(tiny_config: TrainConfig) -> TrainConfig:
    """The tiny run made long: the frozen backbone on every augmented batch, many epochs, no early stop."""
    return dataclasses.replace(tiny_config, strategy="frozen", epochs=1000, early_stopping_patience=0)


def launch_elsewhere(app, config: TrainConfig, monkeypatch: pytest.MonkeyPatch) -> str:
    """Queue `config` in the app's workspace from this process, as another tab or the CLI would."""
    monkeypatch.setenv("TRANSFER_LAB_WORKSPACE", str(app.server.workspace))
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(SHARED / "data"))
    monkeypatch.setenv("TRANSFER_LAB_WEIGHTS_DIR", str(WEIGHTS))
    return jobs.launch(config, load_settings()).id


def test_a_tab_follows_a_run_started_after_it_opened_and_stop_answers_at_once(
        fresh_app, long_config: TrainConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    app = fresh_app  # a workspace of its own: runs other tests left in the shared app would be followed too
    app.open("train")
    sidebar = app.page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Training: nothing running")).to_be_visible()

    run_id = launch_elsewhere(app, long_config, monkeypatch)
    name = RunStore(load_settings().runs_dir).get(run_id).name()  # the sidebar names it, never by its id
    expect(sidebar.get_by_text(f"Training: {name}")).to_be_visible(timeout=START_TIMEOUT_MS)

    main = app.page.get_by_test_id("stMain")
    stop = main.get_by_role("button", name="Stop training")
    expect(stop).to_be_enabled(timeout=START_TIMEOUT_MS)
    clicked = time.monotonic()
    stop.click()
    expect(main.get_by_text("stopping…", exact=False)).to_be_visible(timeout=STOPPING_SHOWN_WITHIN_S * 1000)
    shown_after = time.monotonic() - clicked
    print(f"'stopping…' shown {shown_after:.2f} s after the click")
    expect(stop).to_be_disabled()

    expect(sidebar.get_by_text("Training: nothing running")).to_be_visible(timeout=START_TIMEOUT_MS)
    assert RunStore(load_settings().runs_dir).get(run_id).status().state == "stopped"
    app.assert_ok()
