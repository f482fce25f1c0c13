"""The config form's rules in lab: what a backbone or strategy change rules out, the overrides text box, the
form's start, and the words its pickers show."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.settings import load_settings
from lab.training.config import TrainConfig
from lab.training.form import (
    STARTING_PRESET,
    backbone_label,
    choices_note,
    config_from_form,
    data_choice,
    listed_weights,
    manifest_label,
    matching_preset,
    overrides_text,
    parse_overrides_text,
    repair,
    size_note,
    split_label,
    starting_config,
    suggested_weights,
    weights_label,
    with_current,
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


def test_the_strategy_is_explained_and_a_non_native_size_costed_on_a_second_line():
    assert choices_note("frozen", "mobilenet_v2", 224) == (
        "**frozen**: frozen backbone inside the model, run on every augmented batch.")
    note = choices_note("feature-extractor", "mobilenet_v2", 160)
    assert note.startswith("**feature-extractor**: backbone features computed once and cached")
    assert note.endswith("  \n160 px instead of MobileNetV2's native 224 px: faster (about 2.0x less computation "
                         "per image); about 1-1.5 points lower accuracy, measured on cats_and_dogs_filtered")


def test_a_new_form_starts_on_the_chosen_dataset_else_the_sample_else_the_first():
    datasets = {Path("/d/tiny-upload"): "tiny-upload (uploaded)", Path("/d/cats_and_dogs_filtered"): "cats_and_dogs_filtered"}
    quick = PRESETS[STARTING_PRESET]
    assert starting_config(datasets, "/d/mine") == dataclasses.replace(quick, data="/d/mine")
    assert starting_config(datasets).data == "/d/cats_and_dogs_filtered"  # not the upload that sorts first
    assert starting_config({Path("/d/pets"): "pets"}).data == "/d/pets"
    assert starting_config({}) == quick


def test_a_preset_is_told_by_its_weights_file_name_and_its_file_listed_once():
    quick = PRESETS[STARTING_PRESET]
    listed = ["imagenet", "none", f"/w/{quick.weights}"]
    assert listed_weights(quick.weights, listed) == f"/w/{quick.weights}"  # not a second option reading the same
    assert listed_weights("imagenet", listed) == "imagenet" and listed_weights("other.h5", listed) == "other.h5"
    assert matching_preset(dataclasses.replace(quick, weights=f"/w/{quick.weights}"), PRESETS) == STARTING_PRESET


def test_a_new_form_passes_over_a_dataset_its_experiment_cannot_run_on():
    datasets = {Path("/d/a-upload"): "a-upload (uploaded)", Path("/d/b-photos"): "b-photos",
                Path("/d/cats_and_dogs_filtered"): "cats_and_dogs_filtered"}
    asked = []

    def runs_on(config: TrainConfig) -> bool:
        asked.append(config.data)
        return config.data == "/d/b-photos"

    assert starting_config(datasets, "/d/a-upload", runs_on).data == "/d/cats_and_dogs_filtered"
    assert asked == ["/d/a-upload"]  # the sample it was made for is never scanned to be sure
    del datasets[Path("/d/cats_and_dogs_filtered")]
    assert starting_config(datasets, "/d/a-upload", runs_on).data == "/d/b-photos"
    assert starting_config(datasets, "/d/a-upload", lambda config: False).data == "/d/a-upload"  # none can: the choice


def test_a_presets_bare_folder_name_becomes_the_folder_the_data_box_lists(workspace):
    settings = load_settings()
    folder = data_choice("cats_and_dogs_filtered", settings)
    assert Path(folder).is_absolute() and Path(folder, "train").is_dir()
    assert data_choice("no-such-set", settings) == "no-such-set"  # left as typed: the form says what is wrong


def test_a_form_is_read_as_a_config_naming_its_first_bad_field():
    values = {**PRESETS["vgg16-frozen-augmented"].to_dict(), "augment_overrides": "rotation_range=30"}
    config = config_from_form(values)
    assert config.augment_overrides == {"rotation_range": 30.0}
    with pytest.raises(LabError, match="fine_tune_at"):
        config_from_form({**values, "fine_tune_at": "block4"})


def test_a_picker_keeps_the_value_it_holds():
    assert with_current(["a", "b"], "b") == ["a", "b"]
    assert with_current(["a", "b"], None) == ["a", "b"]
    assert with_current(["a", "b"], "typed") == ["typed", "a", "b"]


def test_pickers_say_choices_in_few_words():
    assert [weights_label(w) for w in ("imagenet", "none")] == ["imagenet", "none (random)"]
    assert weights_label("/w/mobilenet_v2_1.0_224_no_top.weights.h5") == "mobilenet_v2_1.0_224 · local file"
    assert weights_label("/w/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5") == (
        "vgg16_weights_tf_dim_ordering_tf_kernels_notop · local file")
    assert backbone_label("mobilenet", AVAILABLE) == "MobileNet · ImageNet weights ready"
    assert backbone_label("vgg16", AVAILABLE) == "VGG16 · no ImageNet weights here"
    assert backbone_label("basic_cnn_dropout", AVAILABLE) == "CNN with dropout · learns from scratch"
    sizes = {"train": 2000, "validation": 1000, "train_1000": 1000}
    assert manifest_label("cats", sizes) == "cats · manifest: train 2,000 · validation 1,000 · train_1000 1,000"
    assert split_label("train_1000", sizes) == "train_1000 · 1,000 images"
    assert split_label("train", {}) == "train"
