"""A saved manifest's photos are checked against what it recorded before a run trains or a model is evaluated on
them (issue 26): a photo replaced, cut short, deleted, or (by hand) outside its dataset is named, in one message,
instead of a TensorFlow `InvalidArgumentError` naming no file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab.data import build_manifest, scan, training_splits
from lab.errors import LabError
from lab.evaluation.evaluate import evaluation_records
from lab.settings import load_settings
from tests import corpus
from tests.conftest import FILTERED, TINY_MOBILENET


@pytest.fixture
def saved(workspace: Path) -> Path:
    """A manifest `pets` of 12 small photos in the workspace's datasets, saved; its folder."""
    folder = corpus.copy_of_sample(workspace / "datasets" / "pets", per_class=12)
    build_manifest(scan(folder), name="pets", validation=0.25, test=0.25, seed=0).save(load_settings())
    return folder


def test_photos_as_recorded_pass_and_each_change_is_named(saved: Path) -> None:
    settings = load_settings()
    assert len(training_splits("pets", settings=settings, check_photos=True).train) == 12
    photos = sorted(saved.rglob("*.jpg"))
    photos[0].write_bytes((FILTERED / "validation" / "cats" / "cat.2000.jpg").read_bytes())  # replaced
    photos[1].write_bytes(photos[1].read_bytes()[:500])  # a copy cut short
    photos[2].unlink()
    with pytest.raises(LabError) as changed:
        training_splits("pets", settings=settings, check_photos=True)
    message = str(changed.value)
    assert message.startswith("3 of the 24 photos of manifest pets changed since it was saved: ")
    assert f"{photos[0]} (replaced: not the photo the manifest recorded)" in message
    assert re.search(rf"{re.escape(str(photos[1]))} \([^)]*(truncated|cannot be decoded|broken)", message), message
    assert f"{photos[2]} (missing)" in message
    assert message.endswith("Put the originals back, or save the manifest again on the Dataset page (its new scan "
                            "sees the photos as they are now).")
    training_splits("pets", settings=settings)  # an estimate does not check: it reads no photo


def test_an_evaluation_checks_the_split_it_reads(saved: Path) -> None:
    settings = load_settings()
    records, _ = evaluation_records("pets", "test", ["cats", "dogs"], settings)
    Path(records[0].path).unlink()
    with pytest.raises(LabError, match=r"^1 of the 6 photos of manifest pets changed since it was saved: .* \(missing\)"):
        evaluation_records("pets", "test", ["cats", "dogs"], settings)


def test_a_photo_outside_the_dataset_in_a_hand_edited_manifest_is_refused(saved: Path, tmp_path: Path) -> None:
    settings = load_settings()
    path = settings.manifests_dir / "pets.json"
    value = json.loads(path.read_text())
    outside = corpus.copy_of_sample(tmp_path / "elsewhere", per_class=1) / "cats"
    value["splits"]["test"][0]["path"] = str(next(outside.iterdir()))
    path.write_text(json.dumps(value))
    with pytest.raises(LabError, match=r"\(outside the dataset\)"):
        evaluation_records("pets", "test", ["cats", "dogs"], settings)


def test_lab_train_names_the_changed_photo_in_one_line(saved: Path, lab_cli) -> None:
    photo = sorted(saved.rglob("*.jpg"))[0]
    photo.unlink()
    done = lab_cli("train", "--data", "pets", "--backbone", "mobilenet", "--weights", str(TINY_MOBILENET),
                   "--image-size", "128", "--epochs", "1")
    assert done.returncode != 0 and "Traceback" not in done.stderr and "InvalidArgumentError" not in done.stderr
    assert f"{photo} (missing)" in done.stderr, done.stderr[-2000:]
