"""The feature cache on real photographs and the real tiny MobileNet: computed once, read back exactly."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from lab.data import training_splits
from lab.data.pipeline import image_dataset
from lab.settings import load_settings
from lab.training.backbone_factory import create_backbone
from lab.training.features import FeatureCache, cache_key, cache_size, clear_cache, extract_features, feature_extractor
from tests.conftest import FILTERED, TINY_MOBILENET


@pytest.fixture
def setup(workspace):
    settings = load_settings()
    data = training_splits(FILTERED, train_size=16, validation_size=8, seed=3, settings=settings)
    backbone = create_backbone("mobilenet", str(TINY_MOBILENET), 128, settings=settings)
    return settings, data, backbone


def test_a_second_extraction_reads_the_cache_and_never_runs_the_backbone(setup):
    settings, data, backbone = setup
    first, stats = extract_features(data.train, backbone, pooling="avg", batch_size=8, settings=settings)
    assert first.shape == (16, 256) and (stats.hits, stats.computed) == (0, 16) and stats.images_per_second > 0
    again, stats = extract_features(data.train, backbone, pooling="avg", batch_size=5, settings=settings)
    assert (stats.hits, stats.computed) == (16, 0)
    np.testing.assert_array_equal(first, again)
    mixed = data.train[:4] + data.validation
    _, stats = extract_features(mixed, backbone, pooling="avg", batch_size=8, settings=settings)
    assert (stats.hits, stats.computed) == (4, 8)


def test_cached_features_are_the_backbone_outputs_in_record_order(setup):
    settings, data, backbone = setup
    records = list(reversed(data.train[:6]))
    features, _ = extract_features(records, backbone, pooling="flatten", batch_size=4, settings=settings)
    direct = feature_extractor(backbone, "flatten").predict(
        image_dataset(records, data.classes, 128, 6).map(lambda x, y: x), verbose=0)
    assert features.shape == (6, 4 * 4 * 256)
    np.testing.assert_allclose(features, direct, rtol=1e-4, atol=1e-4)


def test_a_renamed_copy_hits_the_cache_by_content(setup, tmp_path):
    settings, data, backbone = setup
    extract_features(data.train[:2], backbone, pooling="avg", batch_size=2, settings=settings)
    copy = tmp_path / "renamed.jpg"
    shutil.copy(data.train[0].path, copy)
    renamed = dataclasses.replace(data.train[0], path=str(copy))
    _, stats = extract_features([renamed], backbone, pooling="avg", batch_size=2, settings=settings)
    assert (stats.hits, stats.computed) == (1, 0)


def test_the_key_separates_what_changes_features(setup):
    settings, data, backbone = setup
    key = cache_key(backbone, "avg")
    assert key["weights"] == backbone.weights.sha256 and key["image_size"] == 128
    assert cache_key(backbone, "flatten") != key
    random = create_backbone("mobilenet", "none", 128, alpha=0.25, settings=settings)
    assert cache_key(random, "avg", seed=1)["weights"] == "random-seed-1"
    assert FeatureCache(settings, key).folder != FeatureCache(settings, cache_key(random, "avg")).folder


def test_a_stop_keeps_finished_shards_and_leaves_no_partial_file(setup, monkeypatch):
    settings, data, backbone = setup
    monkeypatch.setattr("lab.training.features.SHARD_ROWS", 8)
    polls = iter(range(100))
    stop_after_first_shard = lambda: next(polls) >= 2  # noqa: E731  (shard 1 = batches 0 and 1)
    features, stats = extract_features(data.train, backbone, pooling="avg", batch_size=4, settings=settings,
                                       should_stop=stop_after_first_shard)
    assert features is None and stats.stopped and stats.computed == 8
    folder = FeatureCache(settings, cache_key(backbone, "avg")).folder
    assert len(list(folder.glob("*.npy"))) == 1 and not list(folder.glob("*.partial"))
    _, stats = extract_features(data.train, backbone, pooling="avg", batch_size=4, settings=settings)
    assert (stats.hits, stats.computed) == (8, 8)


def test_cache_size_and_clear(setup):
    settings, data, backbone = setup
    extract_features(data.train[:3], backbone, pooling="avg", batch_size=3, settings=settings)
    used = cache_size(settings)
    assert used >= 3 * 256 * 4
    assert clear_cache(settings) == used and cache_size(settings) == 0
