"""Weights of the wrong architecture: one line saying how the file differs and what it seems to be for,
never Keras's kilobytes of tensor values (6.8 KB once stored as a run's failure reason)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.training.backbone_factory import create_backbone
from lab.training.backbones import get_spec
from lab.training.weights import read_layout, weights_mismatch
from tests.conftest import MOBILENET_V2, TINY_MOBILENET


def _refusal(backbone: str, weights: Path, **options) -> str:
    with pytest.raises(LabError) as caught:
        create_backbone(backbone, str(weights), 96, **options)
    message = str(caught.value)
    assert "\n" not in message and len(message) < 700 and "[[" not in message, message
    return message


def test_mobilenet_weights_given_to_mobilenet_v2_name_the_backbone_they_are_for(workspace) -> None:
    message = _refusal("mobilenet_v2", TINY_MOBILENET)
    assert message.startswith(f"Could not load weights file {TINY_MOBILENET} into mobilenet_v2")
    assert "the file has 54 layers with weights (27 batch_normalization, 14 conv2d, 13 depthwise_conv2d)" in message
    assert "where mobilenet_v2 has 104 layers" in message
    assert "by its name the file is for mobilenet: choose that backbone" in message


def test_another_width_multiplier_names_the_first_shape_that_differs(workspace) -> None:
    message = _refusal("mobilenet", TINY_MOBILENET, alpha=0.5)
    assert "the same layers, but batch_normalization's weights are 8 in the file and 16 in the model" in message


def test_the_layout_is_read_without_building_a_model() -> None:
    layout, legacy = read_layout(MOBILENET_V2)
    assert not legacy and len(layout) == 104
    assert layout[0] == ("batch_normalization", [(32,)] * 4)  # gamma, beta, moving mean and variance


def test_a_file_that_is_not_hdf5_says_so(tmp_path: Path) -> None:
    fake = tmp_path / "mobilenet_v2_fake.weights.h5"
    fake.write_bytes(b"not weights")
    assert weights_mismatch(None, fake, get_spec("mobilenet_v2")).startswith("the file cannot be read as Keras weights")
