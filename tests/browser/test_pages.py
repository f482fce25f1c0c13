"""Every page of the real app opens in chromium without an error; the Dataset page scans real photos."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import FILTERED
from tests.corpus import make_pets


def test_every_page_in_the_navigation_renders(app) -> None:
    app.open()
    paths = app.nav_paths()
    assert {"dataset", "augment", "train"} <= set(paths), f"navigation lists {paths}"
    for path in paths:
        app.open(path)
        app.assert_ok()
        assert app.page.get_by_test_id("stHeading").count() > 0, f"/{path} rendered no heading"


def test_a_link_straight_to_a_page_gets_the_apps_navigation_on_a_fresh_server(fresh_app) -> None:
    """A folder named `pages/` beside the entry script would make Streamlit serve this link as an
    old-style multipage app (no sidebar, no wide layout): the pages live in `app_pages/` for that."""
    fresh_app.open("dataset")
    assert fresh_app.nav_paths() == ["", "dataset", "augment", "train", "compare", "predict", "replay"]
    expect(fresh_app.page.get_by_test_id("stSidebarUserContent")).to_contain_text("Workspace")


def test_home_page_explains_the_lab_and_links_the_workflow(app) -> None:
    app.open()
    app.assert_ok()
    text = app.main_text()
    assert "Transfer Lab" in text and "transfer learning" in text.lower()
    assert "Running now" in text
    app.page.get_by_test_id("stMain").get_by_role("link", name=re.compile("Dataset")).click()
    app.wait()
    assert app.page.url.endswith("/dataset")
    app.assert_ok()


def test_dataset_page_scans_a_real_folder(app) -> None:
    app.open("dataset")
    app.page.get_by_role("textbox", name=re.compile("type a folder")).fill(str(FILTERED))
    app.page.keyboard.press("Enter")
    app.wait()
    app.page.get_by_role("button", name=re.compile("Scan")).click()
    app.wait()
    app.assert_ok()
    text = app.main_text()
    assert "3,000 images of 2 classes: cats 1,500, dogs 1,500; 0 bad files." in text
    assert "validation/" not in text  # the folder tree waits in its tab
    app.page.get_by_role("tab", name="Folders").click()
    expect(app.page.get_by_text("validation/  1,000 images")).to_be_visible()


def test_a_zip_upload_is_unpacked_and_scanned(app, tmp_path: Path) -> None:
    pets = make_pets(tmp_path / "my_pets")
    archive = tmp_path / "my_pets.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for image in sorted(pets.rglob("*.jpg")):
            bundle.write(image, image.relative_to(tmp_path))
    app.open("dataset")
    app.page.get_by_text("Upload a zip").click()
    app.wait()
    app.page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(archive))
    app.wait()
    app.page.get_by_role("button", name=re.compile("Unpack and scan")).click()
    # On two cores shared with other work the rerun can start after `app.wait()`'s first look: wait for
    # the scan's result itself.
    expect(app.page.get_by_test_id("stMain")).to_contain_text("12 images of 2 classes: cats 6, dogs 6; 0 bad files.",
                                                              timeout=60_000)
    app.wait()
    app.assert_ok()


def test_the_harness_sees_an_error_message(app) -> None:
    app.open("dataset")
    app.page.get_by_role("textbox", name=re.compile("type a folder")).fill("/etc")
    app.page.keyboard.press("Enter")
    app.wait()
    app.page.get_by_role("button", name=re.compile("Scan")).click()
    app.wait()
    with pytest.raises(AssertionError, match="is not a dataset folder this lab can read"):
        app.assert_ok()
