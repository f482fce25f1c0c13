"""The Dataset page, run by Streamlit's AppTest on real folders: what a user sees after each step."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.data import list_manifests, load_manifest
from lab.settings import load_settings
from tests.apptest import open_page as open_app
from tests.apptest import shown
from tests.conftest import FILTERED
from tests.corpus import make_pets, photo, png_bytes, write


@pytest.fixture
def data_dir(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private data folder the page may read, instead of ../shared/data."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(folder))
    return folder


def open_page() -> AppTest:
    return open_app("dataset")


def scan_typed(app: AppTest, path: str | Path) -> AppTest:
    app.text_input[0].input(str(path)).run()
    _button(app, "Scan").click().run()
    assert not app.exception, app.exception
    return app


def _button(app: AppTest, label: str):
    matches = [button for button in app.button if button.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in app.button]}"
    return matches[0]


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def tab(app: AppTest, label: str):
    matches = [tab for tab in app.tabs if tab.label.startswith(label)]
    assert matches, f"no tab {label!r}; tabs: {[t.label for t in app.tabs]}"
    return matches[0]


def captions(element_list) -> list[str]:
    return [caption for image in element_list.image for caption in image.captions]


def test_first_visit_offers_the_data_folders_and_says_nothing_is_scanned(workspace: Path) -> None:
    make_pets(load_settings().datasets_dir / "pets")  # an upload: its folder sorts before ../shared/data
    app = open_page()
    assert app.selectbox[0].options == ["cats_and_dogs_filtered", "dogs-vs-cats-20k-160px", "pets (uploaded)"]
    assert "No dataset scanned yet" in app.info[0].value
    assert not app.metric


def test_scanning_the_tutorial_folder_shows_what_it_holds(workspace: Path) -> None:
    app = open_page()
    _button(app, "Scan").click().run()  # the selectbox's first folder: cats_and_dogs_filtered
    assert not app.exception and not app.error
    assert app.subheader[0].value == "3,000 images of 2 classes: cats 1,500, dogs 1,500; 0 bad files."
    assert metrics(app) == {"Images": "3,000", "Valid": "3,000", "Bad": "0", "Classes": "2", "Duplicates": "0"}
    tree = app.code[0].value.splitlines()
    assert tree[0] == "cats_and_dogs_filtered/  3,000 images"
    assert "    train/  2,000 images" in tree and "        dogs/  500 images" in tree
    assert app.session_state["dataset_path"] == str(FILTERED)
    assert any("No bad files" in box.value for box in app.success)
    # The validation folder is kept as it is, so the page offers no validation share to cut.
    assert [slider.label for slider in app.slider] == ["Test share"]


def test_a_truncated_jpeg_is_listed_with_its_reason_and_left_out(data_dir: Path) -> None:
    make_pets(data_dir / "pets", truncated=True)
    app = scan_typed(open_page(), "pets")  # relative to the data folder
    assert metrics(app)["Images"] == "13" and metrics(app)["Valid"] == "12" and metrics(app)["Bad"] == "1"
    assert app.subheader[0].value == "12 images of 2 classes: cats 6, dogs 6; 1 bad file."
    table = app.dataframe[0].value
    assert table["file"].tolist() == ["cats/cat.broken.jpg"]
    assert table["reason"].iloc[0].startswith("truncated")
    assert "cats/  7 images  (1 bad)" in app.code[0].value


def test_a_path_outside_the_data_folders_is_refused(data_dir: Path, tmp_path: Path) -> None:
    outside = make_pets(tmp_path / "elsewhere")
    app = scan_typed(open_page(), outside)
    assert f"{outside} is not a dataset folder this lab can read" in shown(app.error[0].value)
    assert not app.metric


def test_a_failed_scan_says_why_and_keeps_the_dataset_scanned_before(data_dir: Path) -> None:
    make_pets(data_dir / "pets")
    app = scan_typed(open_page(), "pets")
    scan_typed(app, "no_such_folder")
    assert "no_such_folder is not a dataset folder this lab can read" in shown(app.error[0].value)
    assert app.subheader[0].value == "12 images of 2 classes: cats 6, dogs 6; 0 bad files."


def test_another_pages_dataset_is_scanned_on_arrival(data_dir: Path) -> None:
    pets = make_pets(data_dir / "pets")
    app = open_app("dataset", run=False)
    app.session_state["dataset_path"] = str(pets)
    app.run()
    assert metrics(app)["Valid"] == "12"
    assert app.session_state["dataset_path"] == str(pets)


def test_saving_a_split_with_a_nested_subset_writes_a_manifest(data_dir: Path) -> None:
    make_pets(data_dir / "pets", per_class=10)
    app = scan_typed(open_page(), data_dir / "pets")
    app.slider[0].set_value(20)  # validation share
    app.number_input[1].set_value(1).run()  # one subset
    app.text_input(key="subset_name_0").input("train_4")
    app.number_input(key="subset_size_0").set_value(4)
    app.text_input[1].input("pets-split")  # manifest name
    _button(app, "Save manifest").click().run()
    assert not app.exception and not app.error, app.error
    assert any("Saved manifest **pets-split**: train 16 · validation 4 · train_4 4" in box.value
               for box in app.success)
    manifest = load_manifest("pets-split", load_settings())
    assert {r.path for r in manifest.splits["train_4"]} <= {r.path for r in manifest.splits["train"]}
    assert sorted(r.label for r in manifest.splits["train_4"]) == ["cats", "cats", "dogs", "dogs"]
    saved = app.dataframe[-1].value
    assert saved["name"].tolist() == ["pets-split"]
    assert saved["splits"].iloc[0] == "train 16 · validation 4 · train_4 4"


def test_the_sample_button_unpacks_a_downloaded_zip_and_scans_it(data_dir: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_SAMPLE_URL", "http://sample.invalid/cats_and_dogs_filtered.zip")  # a classroom's
    settings = load_settings()
    archive = settings.cache_dir / "downloads" / "cats_and_dogs_filtered.zip"  # already downloaded once
    archive.parent.mkdir(parents=True, exist_ok=True)
    pets = make_pets(data_dir.parent / "zipped" / "cats_and_dogs_filtered" / "train")
    with zipfile.ZipFile(archive, "w") as bundle:
        for image in sorted(pets.rglob("*.jpg")):
            bundle.write(image, image.relative_to(pets.parent.parent))
    app = open_page()
    app.radio[0].set_value("Download the sample").run()
    _button(app, "Download the sample dataset").click().run()
    assert not app.exception and not app.error, app.error
    assert app.subheader[0].value == "12 images of 2 classes: cats 6, dogs 6; 0 bad files."
    assert Path(app.session_state["dataset_path"]).is_relative_to(settings.datasets_dir)


def test_images_of_one_size_are_said_in_words_and_varied_sizes_are_charted(data_dir: Path) -> None:
    make_pets(data_dir / "pets")  # every photo 64 x 64
    app = scan_typed(open_page(), "pets")
    assert any(box.value.startswith("All images are 64 x 64.") for box in app.info)
    assert len(app.get("plotly_chart")) == 1  # the class balance only: no chart of one dot
    varied = data_dir / "varied"
    for label in ("cats", "dogs"):
        write(varied / label, {f"{label}.{n}.png": png_bytes(photo(n, size=(40 + 30 * n, 50 + 20 * n)))
                               for n in range(4)})
    scan_typed(app, "varied")
    assert len(app.get("plotly_chart")) == 2
    assert not any("All images are" in box.value for box in app.info)
    assert any(caption.value.startswith("Median ") for caption in app.caption)


def test_bad_files_and_duplicates_are_shown_as_thumbnails_with_one_count_wording(data_dir: Path) -> None:
    pets = make_pets(data_dir / "pets", truncated=True, duplicate=True)
    write(pets / "dogs", {"dog.tiny.png": png_bytes(photo(3, size=(4, 4)))})  # too small, but it decodes
    app = scan_typed(open_page(), "pets")
    bad = tab(app, "Bad files")
    assert bad.label == "Bad files (2)"
    assert captions(bad) == ["dogs/dog.tiny.png"]  # the one that decodes is drawn ...
    assert any("cats/cat.broken.jpg: no preview" in caption.value for caption in bad.caption)  # ... not this
    copies = tab(app, "Duplicates")
    assert copies.label == "Duplicates and leakage (1 extra copy)"
    assert copies.warning[0].value.startswith("1 extra copy: 1 image appears more than once")
    assert captions(copies) == ["2 copies: cat.0.jpg, cat.copy.jpg"]
    assert metrics(app)["Duplicates"] == "1"


def test_split_sizes_follow_the_fields_before_save(data_dir: Path) -> None:
    make_pets(data_dir / "pets", per_class=10)
    app = scan_typed(open_page(), "pets")

    def sizes() -> str:
        return next(block.value for block in app.markdown if block.value.startswith("**This split:**"))

    assert sizes() == "**This split:** train 16 · validation 4 images"
    app.slider[0].set_value(30).run()  # validation share
    assert sizes() == "**This split:** train 14 · validation 6 images"
    app.number_input[1].set_value(1).run()  # one subset
    app.number_input(key="subset_size_0").set_value(6).run()
    assert sizes() == "**This split:** train 14 · validation 6 · train_10 6 images"
    assert list_manifests(load_settings()) == []  # nothing saved yet
    app.number_input(key="subset_size_0").set_value(99).run()
    assert "asks for 99 images but only 14 are available" in shown(app.error[0].value)
    assert _button(app, "Save manifest").disabled


def test_each_class_shows_its_own_sample_of_files(data_dir: Path) -> None:
    make_pets(data_dir / "pets", per_class=30)  # cat.0 ... cat.29 and dog.0 ... dog.29
    app = scan_typed(open_page(), "pets")
    shown = captions(tab(app, "Sample images"))
    numbers = {label: {re.sub(r"\D", "", name) for name in shown if name.startswith(label)} for label in ("cat", "dog")}
    assert len(numbers["cat"]) == len(numbers["dog"]) == 8
    assert numbers["cat"] != numbers["dog"], numbers


def test_offline_the_sample_download_says_so_and_offers_the_copy_on_this_server(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRANSFER_LAB_SAMPLE_URL", "http://sample.invalid/cats_and_dogs_filtered.zip")  # never resolves
    app = open_page()
    app.radio[0].set_value("Download the sample").run()
    _button(app, "Download the sample dataset").click().run()
    message = shown(app.error[0].value)
    assert message.startswith("No internet connection") and "Errno" not in message
    assert f"already has a copy (cats_and_dogs_filtered in {FILTERED.parent})" in message
    _button(app, "Use cats_and_dogs_filtered from this server").click().run()
    assert not app.error
    assert app.subheader[0].value == "3,000 images of 2 classes: cats 1,500, dogs 1,500; 0 bad files."
