"""The config form's rules in lab: what a backbone or strategy change rules out, and the overrides text box."""

from __future__ import annotations

from lab.training.config import TrainConfig
from lab.training.form import overrides_text, parse_overrides_text, repair, suggested_weights
from lab.training.presets import PRESETS

AVAILABLE = {"mobilenet": ["none", "imagenet", "/w/mobilenet_0.25_128.weights.h5"], "vgg16": ["none"]}


def form(config: TrainConfig, **changes) -> dict:
    names = ("backbone", "strategy", "head", "weights", "fine_tune_at", "image_size")
    return {**{name: getattr(config, name) for name in names}, **changes}


def test_suggested_weights_prefer_a_local_file_and_none_from_scratch():
    assert suggested_weights("mobilenet", "frozen", AVAILABLE) == "/w/mobilenet_0.25_128.weights.h5"
    assert suggested_weights("vgg16", "fine-tune", AVAILABLE) == "imagenet"
    assert suggested_weights("mobilenet", "scratch", AVAILABLE) == "none"
    assert suggested_weights("basic_cnn", "frozen", AVAILABLE) == "none"


def test_a_tutorial_cnn_is_trained_from_scratch_with_its_own_head():
    repaired = repair(form(PRESETS["vgg16-fine-tune"], backbone="basic_cnn"), AVAILABLE)
    assert (repaired["strategy"], repaired["head"], repaired["weights"]) == ("scratch", "auto", "none")
    assert repaired["fine_tune_at"] == ""
    TrainConfig(data="x", **repaired)  # launchable


def test_a_boundary_and_an_image_size_the_backbone_knows():
    repaired = repair(form(PRESETS["vgg16-fine-tune"], backbone="mobilenet", image_size=32), AVAILABLE)
    assert repaired["fine_tune_at"] == ""  # block4 is VGG16's
    assert repaired["weights"] == "/w/mobilenet_0.25_128.weights.h5"
    repaired = repair(form(PRESETS["vgg16-fine-tune"], backbone="inception_v3", image_size=64), AVAILABLE)
    assert repaired["image_size"] == 299


def test_leaving_fine_tuning_clears_the_boundary_visibly():
    fine = form(PRESETS["vgg16-fine-tune"])
    assert repair(fine, AVAILABLE)["fine_tune_at"] == "block4"  # kept while it applies
    assert repair({**fine, "strategy": "frozen"}, AVAILABLE)["fine_tune_at"] == ""


def test_the_overrides_text_round_trips_through_the_config():
    config = TrainConfig(data="x", backbone="mobilenet", weights="none", strategy="frozen", augment="light",
                         augment_overrides={"rotation_range": "12.5", "horizontal_flip": "no",
                                            "brightness_range": "0.8,1.2", "cval": 3})
    text = overrides_text(config.augment_overrides)
    assert text == "rotation_range=12.5, horizontal_flip=false, brightness_range=0.8:1.2, cval=3"
    again = TrainConfig.from_dict({**config.to_dict(), "augment_overrides": parse_overrides_text(text)})
    assert again == config
    assert parse_overrides_text("") == parse_overrides_text(None) == {}
