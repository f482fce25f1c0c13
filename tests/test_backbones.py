"""The backbone registry: weights from the real shared files, offline ImageNet errors, preprocessing, FLOPs."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from lab.errors import LabError
from lab.settings import load_settings
from lab.training.backbone_factory import count_flops, create_backbone, preprocessing_layer
from lab.training.backbones import BACKBONES
from lab.training.weights import alpha_from_file_name, imagenet_file_name, online, weights_available
from tests.conftest import MOBILENET_V2, TINY_MOBILENET


def test_every_entry_is_complete():
    for name, spec in BACKBONES.items():
        assert spec.name == name and spec.native_size >= spec.min_size >= 32
        assert spec.params > 0 and spec.gflops > 0
        if spec.from_scratch_only:
            assert not spec.boundaries and not spec.imagenet_file
        else:
            assert len(spec.boundaries) >= 2 and spec.imagenet_file and spec.file_pattern
            assert spec.default_boundary == next(iter(spec.boundaries))


def test_a_weights_file_found_by_name_loads_with_its_width_multiplier(workspace):
    backbone = create_backbone("mobilenet", TINY_MOBILENET.name, 128)
    assert backbone.weights.kind == "file" and backbone.weights.alpha == 0.25
    assert backbone.weights.path == str(TINY_MOBILENET)
    assert backbone.weights.sha256 == hashlib.sha256(TINY_MOBILENET.read_bytes()).hexdigest()
    assert backbone.model.output.shape[1:] == (4, 4, 256)  # 1024 channels x 0.25
    first_kernel = backbone.model.get_layer("conv1").get_weights()[0]
    random = create_backbone("mobilenet", "none", 128, alpha=0.25)
    assert random.weights.kind == "none"
    assert not np.allclose(first_kernel, random.model.get_layer("conv1").get_weights()[0])


def test_a_file_that_does_not_fit_the_backbone_is_a_lab_error(workspace):
    with pytest.raises(LabError, match="does not fit|Could not load"):
        create_backbone("mobilenet_v2", str(TINY_MOBILENET), 128)


def test_a_missing_weights_file_names_the_weights_folders(workspace):
    with pytest.raises(LabError) as caught:
        create_backbone("mobilenet_v2", "no_such_weights.h5", 96)
    assert "no_such_weights.h5" in str(caught.value) and str(MOBILENET_V2.parent) in str(caught.value)


def test_imagenet_offline_fails_at_once_naming_the_file_and_the_folder(workspace, tmp_path, monkeypatch):
    if online():
        pytest.skip("this machine can reach Keras's weights host")
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(LabError) as caught:
        create_backbone("vgg16", "imagenet", 150)
    message = str(caught.value)
    assert "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5" in message
    assert str(tmp_path / "keras" / "models") in message
    with pytest.raises(LabError) as caught:
        create_backbone("mobilenet_v2", "imagenet", 160)
    assert MOBILENET_V2.name in str(caught.value)  # points at the local file this machine has


def test_imagenet_file_names_follow_keras():
    assert imagenet_file_name(BACKBONES["mobilenet"], 128, 0.25) == "mobilenet_2_5_128_tf_no_top.h5"
    keras_v2 = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{}_no_top.h5"
    assert imagenet_file_name(BACKBONES["mobilenet_v2"], 160) == keras_v2.format(160)
    assert imagenet_file_name(BACKBONES["mobilenet_v2"], 150) == keras_v2.format(224)  # Keras falls back to 224
    assert imagenet_file_name(BACKBONES["efficientnet_b0"]) == "efficientnetb0_notop.h5"
    with pytest.raises(LabError):
        imagenet_file_name(BACKBONES["basic_cnn"])
    with pytest.raises(LabError, match="0.25, 0.5, 0.75"):  # Keras publishes MobileNet files for these only
        imagenet_file_name(BACKBONES["mobilenet"], 224, 0.35)


def test_alpha_is_read_from_file_names():
    assert alpha_from_file_name(TINY_MOBILENET.name) == 0.25
    assert alpha_from_file_name(MOBILENET_V2.name) == 1.0
    assert alpha_from_file_name("mobilenet_7_5_224_tf_no_top.h5") == 0.75
    assert alpha_from_file_name("vgg16_weights.h5") is None


def test_weights_available_lists_the_shared_files_per_backbone(workspace):
    available = weights_available(load_settings())
    assert str(TINY_MOBILENET) in available["mobilenet"]
    assert str(MOBILENET_V2) in available["mobilenet_v2"]
    assert str(TINY_MOBILENET) not in available["mobilenet_v2"]
    assert "none" in available["vgg16"] and set(available) == set(BACKBONES)


@pytest.mark.parametrize("mode, module", [("caffe", "vgg16"), ("tf", "mobilenet_v2"), ("torch", "densenet")])
def test_preprocessing_layers_match_keras_preprocess_input(mode, module):
    import keras

    images = np.random.default_rng(0).uniform(0, 255, (2, 9, 9, 3)).astype("float32")
    expected = getattr(keras.applications, module).preprocess_input(images.copy())
    np.testing.assert_allclose(np.asarray(preprocessing_layer(mode)(images)), expected, atol=1e-4)


def test_flops_table_matches_counting_from_layer_shapes():
    for name in ("mobilenet_v3_small", "basic_cnn_dropout"):
        spec = BACKBONES[name]
        model = create_backbone(name, "none").model
        assert model.count_params() == spec.params
        assert count_flops(model) / 1e9 == pytest.approx(spec.gflops, abs=0.006)


def test_basic_cnn_is_the_tutorials_network():
    model = create_backbone("basic_cnn", "none", 150).model
    convs = [layer.filters for layer in model.layers if type(layer).__name__ == "Conv2D"]
    assert convs == [16, 64, 128] and model.output.shape[-1] == 512
    dropout = create_backbone("basic_cnn_dropout", "none", 150).model
    assert [layer.rate for layer in dropout.layers if type(layer).__name__ == "Dropout"] == [0.3, 0.3]
    with pytest.raises(LabError, match="no pretrained weights"):
        create_backbone("basic_cnn", "imagenet")
