"""The tf.data pipeline: shapes, dtypes, ranges, labels, odd files decoded right, preview == training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lab.data import scan, training_splits
from lab.data.pipeline import image_dataset, load_image
from lab.errors import LabError
from tests import corpus
from tests.conftest import FILTERED


def test_batches_have_the_training_shape_dtype_and_range(workspace: Path) -> None:
    data = training_splits(FILTERED, train_size=40, seed=0)
    batches = list(image_dataset(data.train, data.classes, 96, 16, shuffle=True, seed=0))
    assert [len(x) for x, _ in batches] == [16, 16, 8]
    images, labels = batches[0]
    assert images.shape[1:] == (96, 96, 3) and images.dtype.name == "float32"
    assert 0 <= float(np.min(images)) and float(np.max(images)) <= 255 and float(np.max(images)) > 100
    assert labels.dtype.name == "int32"
    assert sorted(int(y) for _, ys in batches for y in ys) == [0] * 20 + [1] * 20


def test_labels_follow_the_class_order_and_stay_with_their_images(workspace: Path) -> None:
    """Unshuffled, every image and its label arrive in record order, the label being the class's position in
    `classes`. Classes interleaved and listed out of alphabetical order, so sorting the records, sorting the
    classes or pairing an image with a neighbour's label would all show."""
    train = training_splits(FILTERED, train_size=20, seed=0).train
    cats, dogs = ([r for r in train if r.label == label][:4] for label in ("cats", "dogs"))
    records = [dogs[0], cats[0], cats[1], dogs[1], cats[2], dogs[2], dogs[3], cats[3]]
    batches = list(image_dataset(records, ["dogs", "cats"], 32, 3))
    assert [len(labels) for _, labels in batches] == [3, 3, 2]
    labels = np.concatenate([labels.numpy() for _, labels in batches])
    assert labels.tolist() == [0, 1, 1, 0, 1, 0, 0, 1]
    images = np.concatenate([images.numpy() for images, _ in batches])
    np.testing.assert_array_equal(images, np.stack([load_image(record.path, 32) for record in records]))


def test_awkward_files_decode_like_pillow_reads_them(tmp_path: Path, workspace: Path) -> None:
    corpus.write(tmp_path / "data" / "odd", corpus.good_files())
    corpus.class_folders(tmp_path / "data", per_class=2, classes=("plain",))
    report = scan(tmp_path / "data")
    odd = [r for r in report.records if r.label == "odd"]
    (images, _), = image_dataset(odd, report.classes, 64, 64)
    by_name = {Path(r.path).name: image for r, image in zip(odd, images.numpy())}
    assert set(by_name) == set(corpus.good_files())
    rotated = load_image(tmp_path / "data" / "odd" / "rotated.jpg", None)
    assert rotated.shape == (80, 48, 3), "EXIF orientation 6 turns an 80x48 picture into 48 wide, 80 high"
    sixteen = by_name["sixteen-bit.png"]
    assert 20 < sixteen.mean() < 235, "16-bit values are scaled to 8 bits, not clipped to white"
    np.testing.assert_allclose(by_name["cmyk.jpg"].mean(), by_name["png-named.jpg"].mean(), rtol=0.5)


def test_load_image_equals_what_the_pipeline_feeds(workspace: Path) -> None:
    data = training_splits(FILTERED, train_size=4, seed=0)
    (images, _), = image_dataset(data.train, data.classes, 128, 4)
    for record, image in zip(data.train, images.numpy()):
        np.testing.assert_array_equal(load_image(record.path, 128), image)


def test_cached_dataset_yields_the_same_images_every_epoch(workspace: Path) -> None:
    data = training_splits(FILTERED, train_size=8, seed=0)
    dataset = image_dataset(data.train, data.classes, 64, 8, cache=True)
    first, second = (next(iter(dataset))[0].numpy() for _ in range(2))
    np.testing.assert_array_equal(first, second)


def test_an_unusable_upload_gets_its_reason(tmp_path: Path) -> None:
    (path,) = corpus.write(tmp_path, {"broken.jpg": corpus.bad_files()["truncated.jpg"]})
    with pytest.raises(LabError, match="truncated"):
        load_image(path, 224)


def test_augmented_batches_are_the_same_for_the_same_seed(workspace: Path) -> None:
    from lab.augment import PRESETS, build_augmenter

    data = training_splits(FILTERED, train_size=128, seed=0)

    def epoch(seed: int) -> np.ndarray:
        augmenter = build_augmenter(PRESETS["keras-tutorial"], seed=seed)
        dataset = image_dataset(data.train, data.classes, 128, 4, shuffle=True, seed=seed, augment=augmenter)
        return np.concatenate([x.numpy() for x, _ in dataset])

    first, again, other = epoch(1), epoch(1), epoch(2)
    np.testing.assert_array_equal(first, again)
    assert np.abs(first - other).mean() > 1


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="cannot be read"):
        load_image(tmp_path / "gone.jpg", 224)
