"""Near-duplicates: copies of real photos (resized, recompressed, mirrored, the same bytes) are paired with their
originals through the tiny MobileNet's features, leakage across splits is flagged, and different photos are not
paired; the blockwise search finds what the whole similarity matrix would."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from lab.data.records import ImageRecord
from lab.data.scan import scan
from lab.errors import LabError
from lab.inspection import near_duplicates as module
from lab.inspection.near_duplicates import near_duplicates, summary
from lab.inspection.photo_features import photo_features
from lab.settings import load_settings
from tests import corpus
from tests.conftest import SHARED, TINY_MOBILENET, WEIGHTS


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory):
    """The planted dataset, an exact copy added, its records and their tiny-MobileNet features."""
    root = tmp_path_factory.mktemp("planted")
    copies = corpus.planted_copies(root / "pets")
    exact = root / "pets" / "validation" / "cats" / "copy-exact.jpg"
    shutil.copy(root / "pets" / "train" / "cats" / "cat.0.jpg", exact)
    copies[str(exact)] = (str(root / "pets" / "train" / "cats" / "cat.0.jpg"), True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_WORKSPACE", str(root / "workspace"))
        patch.setenv("TRANSFER_LAB_DATA_DIRS", str(SHARED / "data"))
        patch.setenv("TRANSFER_LAB_WEIGHTS_DIR", str(WEIGHTS))
        settings = load_settings()
        records = scan(root / "pets", settings=settings).records
        features = photo_features(records, "mobilenet", weights=str(TINY_MOBILENET), settings=settings,
                                  image_size=128)
    return root / "pets", copies, records, features


def test_planted_copies_pair_with_their_originals_and_nothing_else_pairs(planted) -> None:
    _, copies, records, features = planted
    pairs = near_duplicates(records, features)
    found = {frozenset((pair.first, pair.second)): pair for pair in pairs}
    expected = {frozenset((copy, original)) for copy, (original, _) in copies.items()}
    assert set(found) == expected  # every copy found; no two different photos paired
    for copy, (original, crosses) in copies.items():
        assert found[frozenset((copy, original))].crosses_splits is crosses, copy


def test_an_exact_copy_is_flagged_as_the_same_bytes_at_similarity_one(planted) -> None:
    root, _, records, features = planted
    exact = [pair for pair in near_duplicates(records, features) if pair.exact]
    assert [(Path(pair.first).name, Path(pair.second).name, pair.similarity) for pair in exact] == [
        ("cat.0.jpg", "copy-exact.jpg", 1.0)]
    assert summary(near_duplicates(records, features)) == {"pairs": 4, "across_splits": 3, "exact": 1}


def test_a_pair_crosses_splits_only_when_both_photos_have_a_split_and_they_differ() -> None:
    def pair(first: str | None, second: str | None) -> module.DuplicatePair:
        return module.DuplicatePair("a.jpg", "b.jpg", first, second, "cats", "cats", 0.99, False)

    assert pair("train", "validation").crosses_splits and pair("train", "test").crosses_splits
    assert not pair("train", "train").crosses_splits and not pair(None, "validation").crosses_splits


def test_the_blockwise_search_finds_what_the_whole_matrix_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(3)
    features = np.abs(rng.normal(size=(60, 16))).astype(np.float32)
    features[41] = features[2] * 1.5 + 0.01  # a near copy, in another block
    features[13] = features[12]
    records = [ImageRecord(f"{i}.jpg", "cats", "train" if i < 30 else "validation", f"d{i}", 1, 1) for i in range(60)]
    unit = module.unit_rows(features)
    whole = unit @ unit.T
    expected = {(i, j) for i in range(60) for j in range(i + 1, 60) if whole[i, j] >= 0.97}
    monkeypatch.setattr(module, "BLOCK", 7)
    pairs = near_duplicates(records, features, threshold=0.97)
    assert {(int(p.first[:-4]), int(p.second[:-4])) for p in pairs} == expected
    assert {(2, 41), (12, 13)} <= expected


def test_a_threshold_that_is_not_a_similarity_is_refused(planted) -> None:
    _, _, records, features = planted
    with pytest.raises(LabError, match="--threshold"):
        near_duplicates(records, features, threshold=1.5)


@pytest.mark.slow
def test_the_command_lists_the_planted_pairs_as_json(planted, lab_cli) -> None:
    root, copies, _, _ = planted
    done = lab_cli("near-duplicates", str(root), "--backbone", "mobilenet", "--weights", str(TINY_MOBILENET),
                   "--image-size", "128", "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert (result["photos"], result["pairs"], result["across_splits"], result["exact"]) == (104, 4, 3, 1)
    assert {frozenset((row["first"], row["second"])) for row in result["duplicates"]} == {
        frozenset((copy, original)) for copy, (original, _) in copies.items()}


def test_the_command_says_in_one_line_what_is_missing(lab_cli, tmp_path: Path) -> None:
    no_backbone = lab_cli("near-duplicates", str(corpus.make_pets(tmp_path / "pets")))
    missing = lab_cli("near-duplicates", str(tmp_path / "nowhere"), "--backbone", "mobilenet")
    for done, words in ((no_backbone, "--backbone"), (missing, "does not exist")):
        assert done.returncode == 2 and words in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
