"""The config form's rules in lab: what a backbone or strategy change rules out, and the overrides text box."""

from __future__ import annotations

import dataclasses

from lab.training.config import TrainConfig
from lab.training.form import (
    matching_preset,
    overrides_text,
    parse_overrides_text,
    repair,
    size_note,
    suggested_weights,
)
from lab.training.presets import DESCRIPTIONS, PRESETS

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


def test_a_new_backbone_brings_its_native_size_unless_one_was_chosen():
    quick = form(PRESETS["mobilenet-v2-quick"], backbone="efficientnet_b1")
    assert repair(quick, AVAILABLE, native_size=True)["image_size"] == 240
    assert repair(quick, AVAILABLE)["image_size"] == 160  # chosen (or a strategy change): kept while it fits


def test_a_size_other_than_the_native_one_says_what_it_costs():
    assert size_note("mobilenet_v2", 224) is None
    assert size_note("mobilenet_v2", 160) == ("160 px instead of MobileNetV2's native 224 px: faster (about 2.0x less "
                                              "computation per image); about 1-1.5 points lower accuracy, measured "
                                              "on cats_and_dogs_filtered")
    assert size_note("vgg16", 150).endswith("the effect on accuracy is not measured here")
    assert "slower (about 1.8x more computation" in size_note("inception_v3", 400)


def test_the_preset_a_config_is_whatever_its_data():
    assert matching_preset(PRESETS["vgg16-fine-tune"], PRESETS) == "vgg16-fine-tune"
    moved = dataclasses.replace(PRESETS["mobilenet-v2-quick"], data="/elsewhere/photos")
    assert matching_preset(moved, PRESETS) == "mobilenet-v2-quick"
    assert matching_preset(dataclasses.replace(moved, epochs=6), PRESETS) is None
    assert set(DESCRIPTIONS) == set(PRESETS)  # every preset is described for the picker
