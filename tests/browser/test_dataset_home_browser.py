"""The home page's first paint on a cold server, and the Dataset page on the real 20,000-photo set, in chromium."""

from __future__ import annotations

import re
import time

from playwright.sync_api import expect

SCAN_TIMEOUT_MS = 300_000


def test_a_cold_servers_home_page_draws_before_tensorflow_lists_the_devices(fresh_app) -> None:
    started = time.monotonic()
    fresh_app.open()  # returns once the script is idle
    painted = time.monotonic() - started
    main = fresh_app.page.get_by_test_id("stMain")
    expect(main.get_by_role("heading", name="Transfer Lab")).to_be_visible()
    # The script has finished while TensorFlow is still loading in the background: the placeholder shows.
    expect(main.get_by_text(re.compile("Looking for GPUs"))).to_be_visible(timeout=1)
    expect(main.get_by_text(re.compile(r"CPU: \d+ logical cores"))).to_be_visible(timeout=120_000)
    listed = time.monotonic() - started
    print(f"home page: drawn and idle after {painted:.1f} s, devices listed after {listed:.1f} s")
    expect(fresh_app.page.get_by_test_id("stSidebarUserContent")).to_contain_text("Compute: CPU only")
    fresh_app.assert_ok()


def test_the_20k_set_reads_as_one_size_with_its_duplicates_drawn_and_live_split_sizes(app) -> None:
    app.open("dataset")
    page = app.page
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name="dogs-vs-cats-20k-160px").click()  # a friendly name, not a path
    app.wait()
    page.get_by_role("button", name=re.compile("Scan")).click()
    main = page.get_by_test_id("stMain")
    # A first scan decodes 20,000 photos: on two busy cores that can take minutes, not the usual seconds.
    expect(main.get_by_text(re.compile("All images are 160 x 160"))).to_be_visible(timeout=SCAN_TIMEOUT_MS)
    app.wait()
    app.assert_ok()
    expect(main.get_by_test_id("stPlotlyChart")).to_have_count(1)  # class balance only
    page.get_by_role("tab", name="Duplicates and leakage (4 extra copies)").click()
    panel = page.get_by_role("tabpanel", name=re.compile("Duplicates"))
    expect(panel.get_by_text(re.compile("^4 extra copies: 3 images appear more than once"))).to_be_visible()
    expect(panel.get_by_test_id("stImage")).to_have_count(3)
    expect(main.get_by_text("train 15,997 · validation 3,999 images (4 extra copies left out)")).to_be_visible()
    saved = main.get_by_text(re.compile(r"^Saved manifests \(\d+\)$")).inner_text()  # the app is shared: others' too
    page.get_by_role("slider").first.focus()
    page.keyboard.press("ArrowRight")  # validation 20% -> 21%, nothing saved
    app.wait()
    expect(main.get_by_text(re.compile(r"train 15,797 · validation 4,199 images"))).to_be_visible()
    expect(main.get_by_text(saved, exact=True)).to_be_visible()
