"""The Dataset page's photo map in chromium: a 64-photo set through the tiny MobileNet with PCA, the Plotly chart
drawn, and a point's hover label naming its photo and its class as text."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.conftest import App, running_app
from tests.test_network_views import small_dataset

MAP_TIMEOUT_MS = 120_000
TITLE = "See the photos as the network sees them"

POINT_ON_SCREEN = """() => {
  const plot = [...document.querySelectorAll('.js-plotly-plot')].find((div) => div._fullData &&
    div._fullData.some((trace) => trace.type === 'scattergl'));
  const trace = plot._fullData[0], xaxis = plot._fullLayout.xaxis, yaxis = plot._fullLayout.yaxis;
  const box = plot.getBoundingClientRect();
  return [box.left + xaxis._offset + xaxis.l2p(trace.x[0]), box.top + yaxis._offset + yaxis.l2p(trace.y[0])];
}"""


def test_the_map_draws_and_a_point_names_its_photo_on_hover(page: Page, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    small_dataset(data)
    with running_app(tmp_path, data_dirs=(data,)) as server:
        app = App(page=page, server=server)
        app.open("dataset")
        page.get_by_role("button", name=re.compile("Scan")).click()  # the one folder: pets
        app.wait()
        app.open_expander(TITLE)
        expander = page.get_by_test_id("stExpander").filter(has_text=TITLE)
        expander.get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name=re.compile("0.25_128")).click()
        app.open_expander(TITLE)  # a rerun may draw it again, closed
        expander.get_by_text(re.compile("^PCA")).click()
        app.open_expander(TITLE)
        expander.get_by_role("button", name=re.compile("Draw the map")).click()
        expect(expander.get_by_text(re.compile("^64 photos"))).to_be_visible(timeout=MAP_TIMEOUT_MS)
        app.wait()
        app.assert_ok()
        chart = expander.get_by_test_id("stPlotlyChart")
        expect(chart).to_have_count(1)
        expect(chart.locator(".legendtext")).to_have_text(["<u>cats", "dogs"])  # as text, not underlined
        chart.scroll_into_view_if_needed()
        x, y = page.evaluate(POINT_ON_SCREEN)
        page.mouse.move(x - 3, y - 3)
        page.mouse.move(x, y)
        hover = page.locator(".hoverlayer .hovertext")
        expect(hover).to_contain_text(re.compile(r"\.jpg"))
        expect(hover).to_contain_text("label: <u>cats")
        shots = os.environ.get("PAGES_SHOTS")  # a folder to keep a screenshot in, when set
        if shots:
            shutil.copy(app.screenshot(tmp_path / "photo_map.png"), Path(shots) / "photo_map.png")
