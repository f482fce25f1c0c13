"""Hostile names in demo mode, in a real browser (issue 26): class folders and a run name made of HTML, Markdown
image syntax and spreadsheet formulas read as the characters they are on every page a visitor opens, no browser
fetches the address in them, and the downloads hold no live formula and no server path."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect

from lab.runs import labels
from tests.browser.conftest import RUN_TIMEOUT_MS, App, AppServer, running_app
from tests.conftest import FILTERED, SHARED, TINY_MOBILENET, workspace_env

CLASSES = ("<u>cats", "=2+3 dogs")  # rendered as HTML, "<u>" would vanish; in a spreadsheet, a live formula
PHOTOS_PER_CLASS = 40
FORMULA_START = ("=", "+", "-", "@")


@dataclass
class Fetches:
    """A web server on a free port that only notes which paths were asked for: the address in the names."""

    paths: list[str] = field(default_factory=list)
    port: int = 0


@pytest.fixture(scope="module")
def fetches() -> Iterator[Fetches]:
    seen = Fetches()

    class Note(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            seen.paths.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Note)
    seen.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield seen
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory, fetches: Fetches, lab_cli_env) -> Iterator[tuple[AppServer, str]]:
    """A demo-mode server whose one run was trained on class folders named `CLASSES` and renamed to a name with
    a formula, a Markdown image and an HTML image, both images pointing at `fetches`."""
    root = tmp_path_factory.mktemp("hostile-names")
    data = root / "data"
    for name, source in zip(CLASSES, ("cats", "dogs")):
        (data / "pets" / name).mkdir(parents=True)
        for photo in sorted((FILTERED / "train" / source).iterdir())[:PHOTOS_PER_CLASS]:
            shutil.copy(photo, data / "pets" / name / photo.name)
    env = {**workspace_env(root / "workspace"), "TRANSFER_LAB_DATA_DIRS": str(data)}
    done = lab_cli_env(env, "train", "--data", str(data / "pets"), "--backbone", "mobilenet", "--weights",
                       str(TINY_MOBILENET), "--strategy", "feature-extractor", "--image-size", "128", "--epochs",
                       "1", "--batch-size", "10", "--train-size", "40", "--validation-size", "10", "--seed", "1",
                       "--json")
    assert done.returncode == 0, done.stderr
    run = Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])
    address = f"http://127.0.0.1:{fetches.port}"
    name = f"=1+1 ![m]({address}/m.png) <img src={address}/h.png>"  # at most 80 characters
    labels.rename(run, name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_DEMO", "1")
        with running_app(root, data_dirs=(data,)) as server:
            yield server, name


def assert_shown_as_text(app: App, fetches: Fetches, *names: str) -> None:
    """Each name's characters are on the page, and none became an element (an underline, an image of the
    address in a name)."""
    body = app.page.inner_text("body")
    for name in names:
        assert name in body, f"{name!r} not shown as text:\n{body}"
    main = app.page.get_by_test_id("stMain")
    expect(main.locator("u")).to_have_count(0)
    expect(main.locator(f"img[src*='127.0.0.1:{fetches.port}']")).to_have_count(0)
    for path in (str(app.server.workspace.parent), str(SHARED), "/tmp/"):
        assert path not in body, f"{path} shown in demo mode:\n{body}"


def assert_safe_download(app: App, button: str, root: Path) -> list[dict[str, str]]:
    """The CSV a download button gives: no cell a spreadsheet would run, no server path anywhere in it."""
    with app.page.expect_download() as download:
        app.page.get_by_test_id("stMain").get_by_test_id("stDownloadButton").filter(has_text=button).click()
    text = Path(download.value.path()).read_text()
    for path in (str(root), str(SHARED), "/tmp/"):
        assert path not in text, f"{path} in the download:\n{text}"
    rows = list(csv.DictReader(io.StringIO(text)))
    cells = [cell for row in rows for cell in row.values() if cell]
    assert cells and not [cell for cell in cells if cell.startswith(FORMULA_START)], text
    return rows


def answer_heading(app: App):
    return app.page.get_by_test_id("stMain").get_by_role("heading", name=re.compile(r"<u>cat|=2\+3 dog"))


def test_hostile_class_and_run_names_are_text_on_every_page_and_in_every_download(
    page, hostile_server: tuple[AppServer, str], fetches: Fetches
) -> None:
    server, run_name = hostile_server
    app = App(page=page, server=server)
    app.open("compare")
    main = page.get_by_test_id("stMain")
    page.get_by_test_id("stMultiSelect").filter(has_text="Runs to compare").click()
    page.get_by_role("option").first.click()
    app.wait()
    page.keyboard.press("Escape")
    expect(main.get_by_role("heading", name="Learning curves")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    app.assert_ok()
    assert_shown_as_text(app, fetches, run_name)
    expect(main.get_by_test_id("stDataFrame").first).to_be_visible()
    expect(main.get_by_test_id("stDataFrame").get_by_role("button", name="Download as CSV")).to_have_count(0)
    [row] = assert_safe_download(app, "Download the table as CSV", server.workspace.parent)
    assert row["name"] == "'" + run_name  # kept whole, as data

    app.open("predict")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        str(min((FILTERED / "validation" / "cats").iterdir())))
    expect(answer_heading(app)).to_be_visible(timeout=RUN_TIMEOUT_MS)
    app.wait()
    app.assert_ok()
    assert_shown_as_text(app, fetches, *CLASSES)  # the probability bars name both classes (Plotly draws <u>)
    assert main.get_by_role("combobox", name="Run").input_value().startswith(run_name + " (")

    main.get_by_role("tab", name="A folder or zip").click()
    main.get_by_role("combobox", name="A folder from the data folders").click()
    page.get_by_role("option", name="pets", exact=True).click()
    app.wait()
    main.get_by_role("button", name="Predict them all").click()
    expect(main.get_by_text(f"{2 * PHOTOS_PER_CLASS} photos predicted")).to_be_visible(timeout=RUN_TIMEOUT_MS)
    app.wait()
    rows = assert_safe_download(app, "Download as CSV", server.workspace.parent)
    assert len(rows) == 2 * PHOTOS_PER_CLASS and {row["predicted"] for row in rows} <= {CLASSES[0], "'" + CLASSES[1]}
    assert {tuple(row["file"].split("/")[:2]) for row in rows} == {("pets", CLASSES[0]), ("pets", "=2+3 dogs")}, rows[0]

    app.open("predict?demo=1")
    page.get_by_test_id("stFileUploaderDropzoneInput").first.set_input_files(
        str(min((FILTERED / "validation" / "dogs").iterdir())))
    expect(main.get_by_text(re.compile(r"<u>cat|=2\+3 dog")).first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    app.wait()
    app.assert_ok()
    assert_shown_as_text(app, fetches, f"Model: {run_name}")
    assert fetches.paths == [], f"a browser fetched the address in a name: {fetches.paths}"
