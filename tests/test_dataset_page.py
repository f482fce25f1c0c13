"""The Dataset page, run by Streamlit's AppTest on real folders: what a user sees after each step."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.data import load_manifest
from lab.settings import load_settings
from tests.apptest import open_page as open_app
from tests.conftest import FILTERED
from tests.corpus import make_pets


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


def test_first_visit_offers_the_data_folders_and_says_nothing_is_scanned(workspace: Path) -> None:
    app = open_page()
    shared_data = FILTERED.parent  # shown as the settings name it, links kept
    assert app.selectbox[0].options == [
        f"cats_and_dogs_filtered  ({shared_data})",
        f"dogs-vs-cats-20k-160px  ({shared_data})",
    ]
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
    assert "outside the data folders" in app.error[0].value
    assert not app.metric


def test_a_failed_scan_says_why_and_keeps_the_dataset_scanned_before(data_dir: Path) -> None:
    make_pets(data_dir / "pets")
    app = scan_typed(open_page(), "pets")
    scan_typed(app, "no_such_folder")
    assert "no_such_folder was not found in the data folders" in app.error[0].value
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


def test_the_sample_button_unpacks_a_downloaded_zip_and_scans_it(data_dir: Path) -> None:
    settings = load_settings()
    archive = settings.datasets_dir / "cats_and_dogs_filtered.zip"  # already downloaded once
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
