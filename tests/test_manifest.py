"""Splits and subsets: deterministic, stratified, nested; manifests round-trip; training data resolves."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from lab.data import build_manifest, load_manifest, scan, training_splits
from lab.data.split_choices import (
    default_subset,
    manifest_row,
    own_split_images,
    split_sizes_text,
    training_images,
)
from lab.errors import LabError
from lab.settings import load_settings
from tests import corpus
from tests.conftest import FILTERED, FLAT_20K


def _paths(records) -> set[str]:
    return {r.path for r in records}


@pytest.mark.slow  # 20,000 files
def test_flat_20k_is_split_stratified_with_nested_subsets(workspace: Path) -> None:
    report = scan(FLAT_20K)
    manifest = build_manifest(report, name="kaggle", validation=0.2, test=1000, seed=7,
                              subsets={"train_1k": ("train", 1000), "train_5k": ("train", 5000),
                                       "validation_200": ("validation", 200)})
    counts = manifest.counts()
    assert counts["train_1k"] == {"cat": 500, "dog": 500}
    assert counts["validation_200"] == {"cat": 100, "dog": 100}
    assert counts["test"] == {"cat": 500, "dog": 500}
    splits = manifest.splits
    assert _paths(splits["train_1k"]) < _paths(splits["train_5k"]) < _paths(splits["train"])
    assert not _paths(splits["train"]) & _paths(splits["validation"])
    assert not _paths(splits["validation"]) & _paths(splits["test"])
    digests = Counter(r.digest for name in ("train", "validation", "test") for r in splits[name])
    assert max(digests.values()) == 1, "exact duplicates must not straddle splits"


def test_same_seed_same_files_other_seed_other_files(workspace: Path) -> None:
    report = scan(FILTERED)
    one = build_manifest(report, name="a", subsets={"small": ("train", 100)}, seed=1)
    again = build_manifest(report, name="b", subsets={"small": ("train", 100)}, seed=1)
    other = build_manifest(report, name="c", subsets={"small": ("train", 100)}, seed=2)
    assert _paths(one.splits["small"]) == _paths(again.splits["small"]) != _paths(other.splits["small"])
    assert one.content_hash == again.content_hash != other.content_hash


def test_split_folders_are_kept_and_missing_test_is_cut_from_train(workspace: Path) -> None:
    manifest = build_manifest(scan(FILTERED), name="filtered", validation=0.5, test=0.1)
    assert manifest.counts()["validation"] == {"cats": 500, "dogs": 500}
    assert manifest.counts()["test"] == {"cats": 100, "dogs": 100}
    assert manifest.counts()["train"] == {"cats": 900, "dogs": 900}


def test_manifest_round_trips_by_name(workspace: Path) -> None:
    settings = load_settings()
    manifest = build_manifest(scan(FILTERED), name="filtered-1k", subsets={"train_1k": ("train", 1000)})
    manifest.save(settings)
    loaded = load_manifest("filtered-1k", settings)
    assert loaded.splits == manifest.splits and loaded.content_hash == manifest.content_hash


def test_the_split_builder_keeps_a_datasets_own_folders_and_offers_nested_tutorial_subsets(
        tmp_path: Path, workspace: Path) -> None:
    filtered = scan(FILTERED)
    assert own_split_images(filtered, "validation") == 1000 and own_split_images(filtered, "test") is None
    assert training_images(filtered) == 2000
    assert [default_subset(2000, index) for index in range(3)] == [("train_1000", 1000), ("train_500", 500),
                                                                  ("train_333", 333)]
    unsplit = scan(corpus.class_folders(tmp_path / "data", per_class=10))
    assert own_split_images(unsplit, "validation") is None and training_images(unsplit) == 20
    assert default_subset(20, 0) == ("train_10", 10) and default_subset(1, 0) == ("train_0", 1)


def test_a_manifest_in_words_lists_the_base_splits_first_then_the_subsets(workspace: Path) -> None:
    manifest = build_manifest(scan(FILTERED), name="words", test=0.1, seed=3,
                              subsets={"train_500": ("train", 500), "a_few": ("validation", 10)})
    assert split_sizes_text(manifest) == "train 1,800 · validation 1,000 · test 200 · a_few 10 · train_500 500"
    row = manifest_row(manifest, "cats_and_dogs_filtered")
    assert row["splits"] == split_sizes_text(manifest) and row["classes"] == "cats, dogs"
    assert row["dataset"] == "cats_and_dogs_filtered" and row["content hash"] == manifest.content_hash[:12]
    assert "T" not in row["created"] and row["seed"] == 3


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "bad name!"}, "cannot be a manifest"),
    ({"name": "ok", "subsets": {"big": ("train", 5000)}}, "only 2,000 are available"),
    ({"name": "ok", "subsets": {"s": ("test", 10)}}, "does not have"),
    ({"name": "ok", "test": -0.5}, "fraction between 0 and 1"),
])
def test_impossible_splits_are_refused_clearly(workspace: Path, kwargs, message: str) -> None:
    with pytest.raises(LabError, match=message):
        build_manifest(scan(FILTERED), **kwargs)


def test_training_splits_from_a_folder_use_its_validation_folder(workspace: Path) -> None:
    data = training_splits(FILTERED, train_size=100, validation_size=40, seed=3)
    assert Counter(r.label for r in data.train) == {"cats": 50, "dogs": 50}
    assert {r.split for r in data.validation} == {"validation"} and len(data.validation) == 40
    bigger = training_splits(FILTERED, train_size=400, seed=3)
    assert _paths(data.train) < _paths(bigger.train)


def test_training_splits_without_split_folders_hold_out_a_fifth(tmp_path: Path, workspace: Path) -> None:
    data = training_splits(corpus.class_folders(tmp_path / "data", per_class=10), seed=0)
    assert len(data.train) == 16 and len(data.validation) == 4
    assert not _paths(data.train) & _paths(data.validation)


def test_training_splits_from_a_saved_manifest(workspace: Path) -> None:
    build_manifest(scan(FILTERED), name="saved", subsets={"train_1k": ("train", 1000)}).save(load_settings())
    data = training_splits("saved", train_size=200)
    assert len(data.train) == 200 and len(data.validation) == 1000
    with pytest.raises(LabError, match="No manifest 'nope'"):
        training_splits("nope")
    with pytest.raises(LabError, match="only 2,000 are available"):
        training_splits("saved", train_size=3000)


def test_cli_manifest_saves_subsets_and_exports_folders(tmp_path: Path, workspace: Path, lab_cli) -> None:
    result = lab_cli("manifest", str(FILTERED), "--name", "tut", "--subset", "train_1k=train:1000",
                  "--subset", "validation_200=validation:200", "--export", str(tmp_path / "out"), "--json")
    assert result.returncode == 0, result.stderr
    splits = json.loads(result.stdout)["splits"]
    assert splits["train_1k"] == {"cats": 500, "dogs": 500} and splits["validation_200"] == {"cats": 100, "dogs": 100}
    assert len(list((tmp_path / "out" / "train_1k" / "cats").iterdir())) == 500
    assert (workspace / "manifests" / "tut.json").exists()
    bad = lab_cli("manifest", str(FILTERED), "--name", "x", "--subset", "oops")
    assert bad.returncode == 2 and "NAME=SPLIT:COUNT" in bad.stderr


def test_a_bare_name_is_a_saved_manifest_or_a_folder_in_the_data_folders(workspace: Path) -> None:
    from lab.data.run_data import resolve_data_path

    settings = load_settings()
    assert resolve_data_path("cats_and_dogs_filtered", settings) == FILTERED
    assert resolve_data_path("my-manifest", settings) is None
    build_manifest(scan(FILTERED), name="cats_and_dogs_filtered").save(settings)
    assert resolve_data_path("cats_and_dogs_filtered", settings) is None, "a saved manifest of that name wins"
    assert len(training_splits("dogs-vs-cats-20k-160px", train_size=100).train) == 100


def _saved_manifest(tmp_path: Path) -> dict:
    report = scan(corpus.class_folders(tmp_path / "data", per_class=4))
    return build_manifest(report, name="good", validation=0.5).to_dict()


def _break(value: dict, how: str):
    splits = value["splits"]
    broken = {
        "a list": lambda: [value],
        "splits a list": lambda: {**value, "splits": [splits["train"]]},
        "missing key": lambda: {k: v for k, v in value.items() if k != "classes"},
        "files not a list": lambda: {**value, "splits": {**splits, "train": {"path": "x"}}},
        "file a string": lambda: {**value, "splits": {**splits, "train": ["cats/1.jpg"]}},
        "file lacks digest": lambda: {**value, "splits": {"train": [{k: v for k, v in splits["train"][0].items()
                                                                     if k != "digest"}]}},
        "width a string": lambda: {**value, "splits": {"train": [{**splits["train"][0], "width": "64"}]}},
        "unknown file key": lambda: {**value, "splits": {"train": [{**splits["train"][0], "colour": 1}]}},
        "seed a string": lambda: {**value, "seed": "7"},
    }
    return broken[how]()


WRONG_SHAPES = {
    "a list": "it must be a JSON object with name, root",
    "splits a list": "'splits' must map split names to lists of files; found a list",
    "missing key": "'classes' missing",
    "files not a list": "'splits' must map split names to lists of files; 'train' is an object",
    "file a string": "file 0 of split 'train': must be an object with path, label",
    "file lacks digest": "file 0 of split 'train': 'digest' missing",
    "width a string": "file 0 of split 'train': 'width' must be a whole number; found a string",
    "unknown file key": "file 0 of split 'train': unknown keys 'colour'",
    "seed a string": "'seed' must be a whole number; found a string",
}


@pytest.mark.parametrize("how", WRONG_SHAPES)
def test_a_manifest_of_the_wrong_shape_is_a_lab_error_naming_the_file(tmp_path: Path, workspace: Path,
                                                                      how: str) -> None:
    path = tmp_path / "kaggle.json"
    path.write_text(json.dumps(_break(_saved_manifest(tmp_path), how)))
    with pytest.raises(LabError, match="^manifest kaggle.json: ") as error:
        load_manifest(path, load_settings())
    assert WRONG_SHAPES[how] in str(error.value)


def test_a_manifest_that_is_not_json_is_a_lab_error(tmp_path: Path, workspace: Path) -> None:
    path = tmp_path / "kaggle.json"
    path.write_text('{"name": "kaggle", "splits": ')
    with pytest.raises(LabError, match="^manifest kaggle.json cannot be read as JSON"):
        load_manifest(path, load_settings())


@pytest.mark.parametrize("how", ["splits a list", "file lacks digest"])
def test_training_on_a_manifest_of_the_wrong_shape_is_one_line_and_no_run(tmp_path: Path, workspace: Path,
                                                                          lab_cli, how: str) -> None:
    path = tmp_path / "kaggle.json"
    path.write_text(json.dumps(_break(_saved_manifest(tmp_path), how)))
    done = lab_cli("train", "--data", str(path), "--backbone", "basic_cnn", "--strategy", "scratch",
                   "--weights", "none", "--epochs", "1")
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == done.stderr.strip().splitlines()[0] and "Traceback" not in done.stderr
    assert f"manifest kaggle.json: {WRONG_SHAPES[how]}" in done.stderr
    assert not (workspace / "runs").exists() or list((workspace / "runs").iterdir()) == []
