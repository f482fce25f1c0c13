"""Open the app's pages in Streamlit's AppTest, the one way every page test does it."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

from tests.conftest import REPO


def page_script(name: str) -> str:
    """The script of page `name` ("dataset", "train", ...), or the app's entry point for "home"."""
    return str(REPO / "streamlit_app.py") if name == "home" else str(REPO / "app_pages" / f"{name}.py")


def open_page(name: str, *, timeout: float = 120, run: bool = True) -> AppTest:
    """Page `name` in AppTest, run once and checked to have raised nothing (unless `run=False`, for tests
    that set session state before the first run)."""
    app = AppTest.from_file(page_script(name), default_timeout=timeout)
    if run:
        app.run()
        assert not app.exception, app.exception
    return app


def train_run_picker(app: AppTest):
    """The Train page's run picker (its key changes with its labels, so it is found by its label)."""
    [found] = [box for box in app.selectbox if box.label == "Run"]
    return found


def shown(markdown: str) -> str:
    """What a visitor reads of Markdown a page escaped (`app_pages.plain_text`): its backslashes taken off."""
    return re.sub(r"\\(.)", r"\1", markdown)
