"""Grad-CAM and feature maps on real runs trained here: a feature-extractor run (its saved model takes raw
images, the backbone nested inside), a frozen run, and a tutorial CNN trained from scratch."""

from __future__ import annotations

import dataclasses
import json
import os

import numpy as np
import pytest

from lab.cli.train import flags_from_config
from lab.data.pipeline import decode_image
from lab.errors import LabError
from lab.evaluation.gradcam import overlay
from lab.evaluation.predict import Predictor
from lab.training.config import TrainConfig
from tests.conftest import FILTERED, WEIGHTS, LabCli

CAT = FILTERED / "validation" / "cats" / "cat.2000.jpg"
DOG = FILTERED / "validation" / "dogs" / "dog.2000.jpg"
STRATEGIES = {
    "feature-extractor": {},
    "frozen": {"strategy": "frozen"},
    "scratch": {"backbone": "basic_cnn", "weights": "none", "strategy": "scratch", "image_size": 64},
}


# the feature extractor reads the session's tiny run; the others train in a subprocess each: the slow tier
TRAINED = ["feature-extractor", *(pytest.param(name, marks=pytest.mark.slow) for name in STRATEGIES
                                  if name != "feature-extractor")]


@pytest.fixture(scope="module", params=TRAINED)
def predictor(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig,
              lab_cli_env: LabCli) -> Predictor:
    """A finished run of each strategy, trained through `lab train` and loaded once; the feature extractor's is
    the session's tiny run (Grad-CAM writes nothing into the run folder)."""
    if request.param == "feature-extractor":
        return Predictor(request.getfixturevalue("tiny_run"))
    root = tmp_path_factory.mktemp("gradcam")
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(root), "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}
    config = dataclasses.replace(tiny_config, **STRATEGIES[request.param])
    done = lab_cli_env(env, "train", *flags_from_config(config), "--json")
    assert done.returncode == 0, done.stderr
    return Predictor(json.loads(done.stdout.splitlines()[-1])["run_dir"])


def test_heatmaps_have_the_image_size_and_values_in_unit_range_and_differ_between_classes(predictor) -> None:
    image = predictor.decode(CAT)
    for_cats, for_dogs = predictor.explain(image, "cats"), predictor.explain(image, "dogs")
    for explanation in (for_cats, for_dogs):
        assert explanation.heatmap.shape == image.shape[:2] == (predictor.image_size,) * 2
        assert 0.0 <= explanation.heatmap.min() and explanation.heatmap.max() <= 1.0
        # normalised by its peak; a class with no positive evidence anywhere gets an empty map, as in the paper
        assert explanation.heatmap.max() in (pytest.approx(1.0), 0.0)
    assert max(for_cats.heatmap.max(), for_dogs.heatmap.max()) == pytest.approx(1.0)
    assert np.abs(for_cats.heatmap - for_dogs.heatmap).mean() > 0.01
    assert for_cats.explained == "cats" and for_dogs.explained == "dogs"


def test_the_explanation_predicts_as_the_saved_model_does(predictor) -> None:
    images = np.stack([predictor.decode(CAT), predictor.decode(DOG)])
    raw = predictor.model.predict(images, verbose=0)
    expected = predictor.calibration.apply(raw)  # divided by the run's temperature, as every answer shown is
    assert np.array_equal(expected.argmax(axis=1), raw.argmax(axis=1))
    for image, row in zip(images, expected):
        explanation = predictor.explain(image)
        assert list(explanation.probabilities.values()) == pytest.approx(row.tolist(), abs=1e-5)
        assert explanation.explained == explanation.label == predictor.classes[int(np.argmax(row))]


def test_grad_cam_reads_the_backbones_last_convolutional_map(predictor) -> None:
    backbone = predictor.gradcam.parts.backbone
    layer = backbone.get_layer(predictor.gradcam.layer)
    assert len(layer.output.shape) == 4
    if predictor.model.name.startswith("basic_cnn"):
        conv = [candidate.name for candidate in backbone.layers if type(candidate).__name__ == "Conv2D"]
        assert predictor.gradcam.layer == conv[-1]
    else:
        assert predictor.gradcam.layer == predictor.feature_layers()[-1]


def test_overlay_is_uint8_rgb_over_the_photo_at_its_own_size(predictor) -> None:
    photo = decode_image(CAT.read_bytes(), "cat.jpg", None)
    blended = overlay(photo, predictor.explain(predictor.decode(CAT)).heatmap)
    assert blended.dtype == np.uint8 and blended.shape == photo.shape
    assert not np.array_equal(blended, photo.astype(np.uint8))


def test_feature_maps_are_a_grid_for_any_listed_layer_and_an_unknown_layer_is_named(predictor) -> None:
    layers = predictor.feature_layers()
    image = predictor.decode(DOG)
    grid = predictor.feature_maps(image, layers[0])
    assert grid.dtype == np.uint8 and grid.ndim == 3 and grid.shape[2] == 3
    assert grid.shape[0] >= predictor.model.get_layer(predictor.gradcam.parts.backbone.name).get_layer(
        layers[0]).output.shape[1]
    with pytest.raises(LabError, match="choose one of"):
        predictor.feature_maps(image, "no_such_layer")
