"""Heads and strategies on the real tiny MobileNet: what trains, BatchNorm in inference mode, raw images in."""

from __future__ import annotations

import numpy as np
import pytest

from lab.errors import LabError
from lab.training.backbone_factory import create_backbone
from lab.training.models import build_head, build_model, compile_model, trainable_layers_table, unfreeze_from
from tests.conftest import TINY_MOBILENET


@pytest.fixture
def tiny(workspace):
    return create_backbone("mobilenet", str(TINY_MOBILENET), 128)


def images(n: int = 4) -> np.ndarray:
    return np.random.default_rng(1).uniform(0, 255, (n, 128, 128, 3)).astype("float32")


def layer_types(model) -> list[str]:
    return [type(layer).__name__ for layer in model.layers[1:]]


def test_the_heads_are_the_tutorials():
    assert layer_types(build_head("keras_tutorial", 256, 2)) == ["BatchNormalization", "Dropout", "Dense"]
    five = build_head("five_model_tutorial", 8192, 2)
    assert layer_types(five) == ["Dense", "Dropout", "Dense", "Dropout", "Dense", "Dense"]
    assert [layer.rate for layer in five.layers if type(layer).__name__ == "Dropout"] == [0.3, 0.3]
    assert five.get_layer("sigmoid").units == 1
    assert layer_types(build_head("linear", 256, 3)) == ["Dense"]


def test_a_sigmoid_head_still_outputs_one_probability_per_class():
    head = build_head("five_model_tutorial", 16, 2)
    features = np.random.default_rng(0).normal(size=(5, 16)).astype("float32")
    p = head.predict(features, verbose=0)
    sigmoid = head.get_layer("sigmoid").output
    import keras

    inner = keras.Model(head.input, sigmoid).predict(features, verbose=0)[:, 0]
    np.testing.assert_allclose(p[:, 1], inner, rtol=1e-6)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-6)
    assert not head.get_layer("probabilities").trainable_weights


def test_frozen_model_trains_only_the_head_and_keeps_batchnorm_in_inference_mode(tiny):
    model = build_model(tiny, "keras_tutorial", 2, "frozen")
    compile_model(model, "adam", 1e-3)
    trainable = {id(w) for w in model.trainable_weights}
    assert trainable and trainable == {id(w) for w in model.get_layer("head").trainable_weights}
    bn = tiny.model.get_layer("conv1_bn")
    before = [w.copy() for w in bn.get_weights()]
    x = images()
    model.fit(x, np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    for old, new in zip(before, bn.get_weights()):
        np.testing.assert_array_equal(old, new)  # moving statistics untouched


def test_fine_tune_unfreezes_after_the_boundary_but_not_batchnorm(tiny):
    model = build_model(tiny, "keras_tutorial", 2, "fine-tune")
    opened = unfreeze_from(tiny, "conv_13")
    assert opened == 2  # conv_dw_13 and conv_pw_13
    rows = {row["layer"].split("/")[-1]: row for row in trainable_layers_table(model)}
    assert rows["conv_dw_13"]["trainable"] and rows["conv_pw_13"]["trainable"]
    assert not rows["conv_pw_13_bn"]["trainable"] and not rows["conv_pw_12"]["trainable"]
    bn = tiny.model.get_layer("conv_pw_13_bn")
    before = bn.get_weights()[2].copy()
    compile_model(model, "rmsprop", 1e-5)
    model.fit(images(), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    np.testing.assert_array_equal(before, bn.get_weights()[2])
    with pytest.raises(LabError, match="conv_12"):
        unfreeze_from(tiny, "block4")


@pytest.mark.slow  # builds the full network to train
def test_scratch_trains_everything_including_batchnorm(tiny):
    model = build_model(tiny, "linear", 2, "scratch")
    compile_model(model, "sgd", 1e-2)
    bn = tiny.model.get_layer("conv1_bn")
    before = bn.get_weights()[2].copy()
    model.fit(images(), np.array([0, 1, 0, 1]), epochs=1, verbose=0)
    assert not np.array_equal(before, bn.get_weights()[2])
    assert all(row["trainable"] for row in trainable_layers_table(model) if row["parameters"]
               and row["type"] != "Sequential")


def test_trainable_layers_table_has_the_tutorial_columns(tiny):
    rows = trainable_layers_table(build_model(tiny, "five_model_tutorial", 2, "frozen"))
    assert set(rows[0]) == {"layer", "type", "trainable", "parameters"}
    assert rows[0]["layer"] == "preprocess_tf"
    names = [row["layer"] for row in rows]
    assert "mobilenet_0.25_128/conv1" in names and "head/head_dense1" in names
    assert sum(row["parameters"] for row in rows) > 200_000


def test_the_saved_model_takes_raw_images(tiny, tmp_path):
    import keras

    model = build_model(tiny, "keras_tutorial", 2, "frozen")
    x = images(2)
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
