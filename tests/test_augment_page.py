"""The Augment page through Streamlit's AppTest, on a small real dataset of cats and dogs.

Images are compared by their media URLs: Streamlit names each image file by a hash of its bytes, so equal
URLs mean equal pixels and different URLs different pixels.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.apptest import open_page as open_app
from tests.conftest import FILTERED


@pytest.fixture
def pets(tmp_path: Path, workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder holding one small class-folder dataset: 4 cats and 4 dogs from cats_and_dogs_filtered."""
    data = tmp_path / "data"
    for label in ("cats", "dogs"):
        (data / "pets" / label).mkdir(parents=True)
        for source in sorted((FILTERED / "train" / label).glob("*.jpg"))[:4]:
            shutil.copy(source, data / "pets" / label / source.name)
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(data))
    return data / "pets"


def _page() -> AppTest:
    return open_app("augment", timeout=180)


def _images(at: AppTest) -> list[str]:
    return [url for image in at.get("image") for url in image.value]


def _grid(at: AppTest) -> tuple[str, list[str]]:
    """(the original's URL, the URLs of the N variants beside it)."""
    images = _images(at)
    return images[0], images[1:1 + at.slider(key="augment_n").value]


def test_page_shows_the_original_and_nine_different_variants(pets: Path) -> None:
    at = _page()
    assert not at.error
    assert at.selectbox[0].value == str(pets)
    assert at.selectbox(key="augment_preset").value == "keras-tutorial"
    original, variants = _grid(at)
    assert len(variants) == 9 and len(set(variants)) == 9 and original not in variants
    assert "--preset keras-tutorial --n 9 --seed 0" in at.code[0].value
    assert "0.2 degrees" in at.number_input(key="augment_shear_range").help
    alone = [m.value for m in at.markdown if m.value.startswith("**")]
    assert alone == ["**rotation**", "**shift**", "**shear**", "**zoom**", "**horizontal flip**"]


def test_reroll_draws_new_variants_and_a_seed_brings_them_back(pets: Path) -> None:
    at = _page()
    _, first = _grid(at)
    next(b for b in at.button if b.label == "Re-roll").click().run()
    assert at.number_input(key="augment_seed").value == 1
    _, rerolled = _grid(at)
    assert len(rerolled) == 9 and not set(rerolled) & set(first)
    at.number_input(key="augment_seed").set_value(0).run()
    assert _grid(at)[1] == first


def test_presets_and_controls_change_what_training_would_see(pets: Path) -> None:
    at = _page()
    at.selectbox(key="augment_preset").set_value("none").run()
    assert at.slider(key="augment_rotation_range").value == 0
    original, variants = _grid(at)
    assert set(variants) == {original}  # no augmentation: every variant is the resized photo itself
    assert any("No operation is switched on" in info.value for info in at.info)
    at.slider(key="augment_rotation_range").set_value(90.0).run()
    assert "--preset none --set rotation_range=90" in at.code[0].value
    original, variants = _grid(at)
    assert original not in variants and len(set(variants)) == 9
    at.selectbox(key="augment_preset").set_value("five-model-tutorial").run()
    assert at.slider(key="augment_rotation_range").value == 50
    assert at.slider(key="augment_zoom_range").value == pytest.approx(0.3)


def test_training_batch_and_image_data_generator_side_by_side(pets: Path) -> None:
    at = _page()
    before = len(_images(at))
    at.toggle(key="augment_show_batch").set_value(True).run()
    batch = at.get("image")[-8:]  # the batch comes after the grid and the single operations: 8 photos in all
    assert {caption for image in batch for caption in image.captions} == {"cats", "dogs"}
    assert len(_images(at)) == before + 8
    at.toggle(key="augment_show_legacy").set_value(True).run()
    assert not at.exception
    assert len(_images(at)) == before + 8 + 2 * 9
    assert any("random numbers differ" in caption.value for caption in at.caption)
    assert any("training images of pets," in caption.value for caption in at.caption)  # its name, not its path


def test_datasets_by_name_and_a_command_line_that_wraps(pets: Path) -> None:
    at = _page()
    assert at.selectbox(key="augment_dataset").options == ["pets"]  # not the folder's full path
    assert str(pets) not in " ".join(element.value for element in at.markdown)
    assert at.code[0].proto.wrap_lines


def test_each_operation_alone_shows_every_variant_of_the_grid(pets: Path) -> None:
    at = _page()
    at.slider(key="augment_n").set_value(12).run()
    assert len(_images(at)) == 1 + 12 + 5 * 12  # the original, the grid, five operations of the preset
    at.selectbox(key="augment_preset").set_value("none").run()
    at.slider(key="augment_rotation_range").set_value(90.0).run()
    _, variants = _grid(at)
    assert _images(at)[1 + 12:] == variants  # the one operation alone is the grid itself, variant for variant


def test_an_empty_upload_box_invites_and_the_settings_come_back(pets: Path) -> None:
    at = _page()
    at.selectbox(key="augment_class").set_value("dogs").run()
    at.number_input(key="augment_photo").set_value(3).run()
    at.selectbox(key="augment_preset").set_value("light").run()
    at.number_input(key="augment_seed").set_value(5).run()
    at.radio(key="augment_source").set_value("Upload a photo").run()
    assert not at.error and not at.exception
    assert "Drop a photo" in at.info[0].value
    at.radio(key="augment_source").set_value("A photo from a dataset").run()
    assert at.selectbox(key="augment_dataset").value == str(pets)
    assert at.selectbox(key="augment_class").value == "dogs"
    assert at.number_input(key="augment_photo").value == 3
    assert at.selectbox(key="augment_preset").value == "light"
    assert at.number_input(key="augment_seed").value == 5
    assert at.slider(key="augment_rotation_range").value == 36


def test_no_dataset_says_what_to_do(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(tmp_path / "empty"))
    at = _page()
    assert "No image folders found" in at.error[0].value
