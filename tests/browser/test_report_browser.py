"""A replay's report opened from disk (`file://`) in Chromium: the table and a drawn chart are there, and opening
it asks nothing of the network (every request the page makes is the file itself or an inline `data:` image)."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect

from lab.replays.report import replay_report, write_report
from lab.replays.table import replay_table


def test_the_report_opens_offline_with_its_table_and_a_drawn_chart(page: Page, keras_replay_tiny,
                                                                   tmp_path: Path) -> None:
    table = replay_table(keras_replay_tiny.planned, keras_replay_tiny.workspace / "runs")
    path = write_report(replay_report(table), tmp_path / "replay.html")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(path.as_uri())
    expect(page.locator("table").first).to_contain_text(table["rows"][0]["experiment"])
    expect(page.locator("table tbody tr")).to_have_count(len(table["rows"]))
    line = page.locator("svg[aria-label='test accuracy against training photos'] polyline").first  # the fit
    expect(line).to_be_visible()
    box = line.bounding_box()
    assert box and box["width"] > 50 and box["height"] > 0  # drawn across the plot, not an empty element
    photos = page.locator(".photos img")
    for index in range(photos.count()):  # every thumbnail decoded from its inline data
        assert photos.nth(index).evaluate("image => image.complete && image.naturalWidth") == 96
    assert all(url.startswith(("file://", "data:")) for url in requests), requests
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
