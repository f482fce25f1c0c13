"""A tutorial replayed from the home page in a real browser: the Keras tutorial's quick replay on the shared sample
photos, its table filling in until both rows have finished and the finding is said; and "Reproduce it" opening the
Tutorials page with its tutorial's card first, in view."""

from __future__ import annotations

import time
from pathlib import Path

from playwright.sync_api import expect

from lab.replays.catalog import FIVE_MODEL, KERAS

REPLAY_TIMEOUT_MS = 480_000  # two runs: features of ~3,000 photos once, then two heads, on two shared cores


def test_a_quick_replay_started_from_the_home_page_fills_its_table(fresh_app) -> None:
    app = fresh_app
    app.open()
    card = app.page.get_by_test_id("stColumn").filter(has_text=KERAS.title).first
    card.get_by_role("link", name="Reproduce it").click()
    app.wait()
    expect(app.page.get_by_role("heading", name="Reproduce a tutorial")).to_be_visible()

    card = app.page.get_by_test_id("stColumn").filter(has_text=KERAS.title).first
    card.get_by_role("combobox", name="Photos").click()
    app.page.get_by_role("option", name="cats_and_dogs_filtered", exact=True).click()
    app.wait()
    expect(card.get_by_text("Time:")).to_be_visible(timeout=120_000)  # estimated in a thread: a first scan of the photos
    started = time.monotonic()
    card.get_by_role("button", name="Start this replay").click()
    app.wait()

    main = app.page.get_by_test_id("stMain")
    expect(main.get_by_text(KERAS.title).nth(1)).to_be_visible()  # the replay's own table, under the card
    expect(main.get_by_text("What we found:")).to_be_visible()
    expect(main.get_by_text("wait for their rows", exact=False)).to_have_count(0, timeout=REPLAY_TIMEOUT_MS)
    print(f"quick Keras replay on cats_and_dogs_filtered: table complete {time.monotonic() - started:.0f} s "
          "after Start")
    finding = main.get_by_text("McNemar's exact test, two-sided, p =").first.inner_text()  # the 1K-vs-all verdict
    assert "test photos" in finding and any(verdict in finding.lower() for verdict in
                                            ("reproduced", "too close to call")), finding
    expect(main.get_by_test_id("stPlotlyChart")).to_have_count(1)
    app.assert_ok()


def test_reproduce_it_opens_the_tutorials_page_with_that_tutorial_in_view(app, tmp_path: Path) -> None:
    """The home page's second card, on a window narrow enough that the cards stack: the Tutorials page opens with
    that tutorial's card on top, in view and marked as chosen. Nothing is started."""
    app.page.set_viewport_size({"width": 600, "height": 900})
    app.open()
    app.page.get_by_test_id("stColumn").filter(has_text=FIVE_MODEL.title).first.get_by_role(
        "link", name="Reproduce it").click()
    app.wait()
    expect(app.page.get_by_role("heading", name="Reproduce a tutorial")).to_be_visible()
    assert f"replay={FIVE_MODEL.name}" in app.page.url
    chosen = app.page.locator(f".st-key-replay_card_{FIVE_MODEL.name}")
    expect(chosen.get_by_text(FIVE_MODEL.title, exact=True)).to_be_in_viewport()
    expect(chosen.get_by_text("The one you chose")).to_be_in_viewport()
    expect(app.page.get_by_text("The one you chose")).to_have_count(1)
    app.page.screenshot(path=str(tmp_path / "chosen.png"))  # to look at: pytest's basetemp keeps it
    app.assert_ok()
