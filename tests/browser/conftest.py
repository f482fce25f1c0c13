"""Browser tests: the real app in a real `streamlit run` subprocess, driven by Debian's chromium.

Fixtures (reuse them in any test module under tests/browser/):

- `app_server` (session): the running app, an `AppServer` with `.url`, `.workspace` (its private
  TRANSFER_LAB_WORKSPACE, a tmp folder) and `.output()` (what the server printed so far).
  Data folders point at ../shared/data and weights at ../shared/weights, as in development.
  `running_app(tmp_path)` starts another one, for a test that needs a fresh server.
- `browser` (session): Playwright chromium launched from /usr/bin/chromium (never `playwright install`).
- `page` (function): a fresh Playwright tab (1440x1000), closed after the test.
- `app` (function): an `App` on that tab: `app.open("dataset")` opens a page by its URL path ("" is
  home) and waits until the script has run; `app.wait()` waits for the rerun a click or key press
  caused; `app.assert_ok()` fails if the page shows an exception or an `st.error`; `app.main_text()`,
  `app.nav_paths()`, `app.screenshot(path)`; `app.page` is the Playwright page for everything else.
- `fresh_app` (function): an `App` on a server of its own that no browser has visited yet.

Every test in this folder gets the `browser` and `slow` markers: `pytest -m "not browser"` leaves them out, and
so does the inner loop, `pytest -m "not slow"`.
A machine without /usr/bin/chromium skips them and says why.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import SHARED, WEIGHTS

APP_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60
RUN_TIMEOUT_MS = 60_000  # a script run on two shared cores (a cold scan, a TensorFlow import) can take a while
# How long an `expect` waits when a test states no time of its own: Playwright's 5 s was missed by a page opening
# while the other xdist worker trained (Predict's run picker after "Try it on photos"). Tests that assert a time
# ("stopping…" within 3 s) pass their own timeout.
expect.set_options(timeout=15_000)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@dataclass
class AppServer:
    """A `streamlit run streamlit_app.py` subprocess on a free port, with its own workspace."""

    url: str
    workspace: Path
    process: subprocess.Popen
    log: IO[str]

    def output(self) -> str:
        """Everything the server printed so far: attach it to failures to see server-side tracebacks."""
        self.log.flush()
        return Path(self.log.name).read_text()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
            return response.read().decode().strip() == "ok"
    except OSError:
        return False


@contextmanager
def running_app(root: Path, data_dirs: tuple[Path, ...] = (SHARED / "data",)) -> Iterator[AppServer]:
    """`streamlit run streamlit_app.py` with its workspace and log under `root`, stopped on exit.

    For a test that needs a server of its own (a fresh one, other settings, data folders of its own); most
    tests share the session's `app_server`.
    """
    workspace = root / "workspace"
    port = _free_port()
    env = {
        **os.environ,
        "TRANSFER_LAB_WORKSPACE": str(workspace),
        "TRANSFER_LAB_DATA_DIRS": os.pathsep.join(map(str, data_dirs)),
        "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS),
    }
    command = [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
               "--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(root / "server.log", "w+") as log:
        process = subprocess.Popen(command, cwd=APP_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        server = AppServer(url=f"http://127.0.0.1:{port}", workspace=workspace, process=process, log=log)
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _healthy(server.url):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"streamlit did not start (exit code {process.poll()}):\n{server.output()}")
                time.sleep(0.3)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    """The app, started once per test session and stopped at the end."""
    with running_app(tmp_path_factory.mktemp("browser-app")) as server:
        yield server


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium) to run browser tests")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(RUN_TIMEOUT_MS)
    yield tab
    context.close()


@dataclass
class App:
    """One browser tab on the running app, with the waits and checks every browser test needs."""

    page: Page
    server: AppServer

    def open(self, url_path: str = "") -> None:
        """Open a page by its URL path ("" for home, "dataset", ...) and wait until it has run."""
        response = self.page.goto(f"{self.server.url}/{url_path}")
        assert response is not None and response.ok, f"GET /{url_path}: {response and response.status}"
        self.wait()

    def wait(self, timeout_ms: int = RUN_TIMEOUT_MS) -> None:
        """Wait until Streamlit is connected and idle, as Streamlit's own e2e tests do.

        The app root carries the connection and script state as attributes; a script run goes
        "initial" -> "running" -> "notRunning". The short pause first lets a click's rerun begin.
        Call it after every click or key press that reruns the script.
        """
        self.page.wait_for_timeout(250)
        app = "[data-testid='stApp']"
        self.page.locator(f"{app}[data-test-connection-state='CONNECTED']").wait_for(
            state="attached", timeout=timeout_ms)
        self.page.locator(f"{app}[data-test-script-state='notRunning']").wait_for(
            state="attached", timeout=timeout_ms)
        expect(self.page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)

    def assert_ok(self) -> None:
        """The page rendered without an exception and without an `st.error` message."""
        exceptions = self.page.locator("[data-testid='stException']")
        assert exceptions.count() == 0, f"exception on the page:\n{exceptions.first.inner_text()}"
        errors = self.page.locator("[data-testid='stAlertContentError']")
        assert errors.count() == 0, f"error message on the page:\n{errors.first.inner_text()}"

    def open_expander(self, title: str, attempts: int = 3) -> None:
        """Open the main area's expander titled `title`. A page that reruns just as it is clicked (a run that
        finishes re-lays its card) can draw the expander anew, closed: then it is clicked again."""
        expander = self.page.get_by_test_id("stMain").get_by_test_id("stExpander").filter(has_text=title)
        opened = expander.locator("details[open]")
        for _ in range(attempts):
            self.wait()
            if opened.count() == 0:
                expander.get_by_text(title).click()
            try:
                expect(opened).to_have_count(1, timeout=3_000)
                return
            except AssertionError:
                continue
        raise AssertionError(f"the expander {title!r} did not stay open after {attempts} clicks")

    def main_text(self) -> str:
        """The visible text of the page's main area (not the sidebar)."""
        return self.page.get_by_test_id("stMain").inner_text()

    def nav_paths(self) -> list[str]:
        """The URL paths of every page in the sidebar navigation, in order ("" for the default page)."""
        links = self.page.locator("[data-testid='stSidebarNav'] a")
        hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
        return [href.removeprefix(self.server.url).strip("/") for href in hrefs]

    def screenshot(self, path: Path) -> Path:
        """A full-page PNG, for looking at a page with your own eyes."""
        self.page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def app(page: Page, app_server: AppServer) -> App:
    """A fresh tab on the running app: `app.open("dataset")`, `app.page.get_by_role(...)`, `app.assert_ok()`."""
    return App(page=page, server=app_server)


@pytest.fixture
def fresh_app(page: Page, tmp_path: Path) -> Iterator[App]:
    """Like `app`, on a server of its own that no browser has visited yet (slower: a new server per test)."""
    with running_app(tmp_path) as server:
        yield App(page=page, server=server)
