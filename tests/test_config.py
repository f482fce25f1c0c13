"""TrainConfig: every bad value and impossible combination gets a message naming the field and the way out."""

from __future__ import annotations

import dataclasses
import json

import pytest

from lab.errors import LabError
from lab.training.backbones import BACKBONES
from lab.training.config import FIELDS, HEADS, OPTIMIZERS, STRATEGIES, TrainConfig
from lab.training.presets import PRESETS

GOOD = TrainConfig(data="cats_and_dogs_filtered", backbone="mobilenet", weights="none", image_size=128)


def bad(**changes) -> str:
    with pytest.raises(LabError) as caught:
        dataclasses.replace(GOOD, **changes)
    return str(caught.value)


def test_a_config_is_checked_when_it_is_made_so_every_config_is_valid():
    assert not hasattr(TrainConfig, "validate")  # nothing downstream re-validates
    with pytest.raises(LabError, match="epochs=0"):
        TrainConfig(data="cats_and_dogs_filtered", epochs=0)
    with pytest.raises(LabError, match="epochs=0"):
        TrainConfig.from_dict({**GOOD.to_dict(), "epochs": 0})


def test_the_table_describes_every_field_in_order():
    assert list(FIELDS) == [f.name for f in dataclasses.fields(TrainConfig)]
    for spec in FIELDS.values():
        assert spec.label and spec.help and spec.cli_flag.startswith("--"), spec.name
    assert FIELDS["strategy"].choices == STRATEGIES and FIELDS["head"].choices == HEADS


@pytest.mark.parametrize("field, value, allowed", [
    ("backbone", "resnet9000", "vgg16"),
    ("strategy", "transfer", "feature-extractor"),
    ("head", "mlp", "five_model_tutorial"),
    ("optimizer", "adagrad", "rmsprop"),
    ("augment", "heavy", "five-model-tutorial"),
    ("early_stopping_monitor", "val_auc", "val_loss"),
])
def test_unknown_choices_name_the_field_and_the_allowed_values(field, value, allowed):
    message = bad(**{field: value})
    assert field in message and repr(value) in message and allowed in message


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("epochs", 2.5), ("batch_size", 0), ("learning_rate", 0), ("learning_rate", 5.0),
    ("learning_rate", "fast"), ("fine_tune_learning_rate", -1e-5), ("fine_tune_epochs", 0), ("train_size", 1),
    ("validation_size", 0), ("early_stopping_patience", -1), ("seed", -3), ("class_weights", "yes"),
    ("mixed_precision", 1), ("epochs", True), ("restore_best_weights", "yes"),
])
def test_out_of_range_numbers_and_wrong_types_are_refused(field, value):
    message = bad(**{field: value})
    assert message.startswith(f"{field}={value!r}")


def test_empty_data_and_weights_are_refused():
    assert "data" in bad(data=" ")
    assert "weights" in bad(weights="")


def test_image_size_below_the_backbone_minimum_says_the_minimum():
    message = bad(backbone="inception_v3", image_size=64)
    assert "image_size=64" in message and "75" in message


def test_fine_tuning_the_tutorial_cnn_is_refused_because_it_has_no_pretrained_weights():
    message = bad(backbone="basic_cnn", strategy="fine-tune")
    assert "basic_cnn" in message and "scratch" in message


def test_scratch_with_pretrained_weights_is_refused():
    message = bad(strategy="scratch", weights="imagenet")
    assert "scratch" in message and "'none'" in message


def test_feature_extractor_with_augmentation_explains_why():
    message = bad(strategy="feature-extractor", augment="light")
    assert "computes each image's backbone features once" in message and "frozen" in message
    assert "computes" in bad(strategy="feature-extractor", augment_overrides={"horizontal_flip": True})


def test_augment_overrides_are_checked_by_the_augmentation_module():
    with pytest.raises(LabError, match="rotation"):
        dataclasses.replace(GOOD, strategy="frozen", augment="light", augment_overrides={"rotation_range": -5})


def test_fine_tune_boundary_must_be_one_of_the_backbones():
    message = bad(strategy="fine-tune", fine_tune_at="block4")
    assert "fine_tune_at" in message and "conv_12" in message
    assert "only applies" in bad(strategy="frozen", fine_tune_at="conv_12")
    fine = dataclasses.replace(GOOD, strategy="fine-tune")
    assert fine.resolved_fine_tune_at == "conv_12"


def test_the_tutorial_cnn_takes_only_its_own_head():
    assert "head" in bad(backbone="basic_cnn", strategy="scratch", head="linear")
    scratch = dataclasses.replace(GOOD, backbone="basic_cnn", strategy="scratch")
    assert scratch.resolved_head == "output_only"
    assert GOOD.resolved_head == "keras_tutorial"


def test_json_round_trip_is_exact():
    config = dataclasses.replace(GOOD, strategy="frozen", augment="light", augment_overrides={"rotation_range": 10},
                                 train_size=100, class_weights=True)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config


def test_augmentation_overrides_are_stored_parsed_so_a_saved_config_reads_back_equal():
    typed = {"rotation_range": "10", "horizontal_flip": "false", "brightness_range": "0.8:1.2", "fill_mode": "Wrap"}
    config = dataclasses.replace(GOOD, strategy="frozen", augment="light", augment_overrides=typed)
    assert config.augment_overrides == {"rotation_range": 10.0, "horizontal_flip": False,
                                        "brightness_range": [0.8, 1.2], "fill_mode": "wrap"}
    saved = json.loads(json.dumps(config.to_dict()))
    assert saved["augment_overrides"] == config.augment_overrides
    assert TrainConfig.from_dict(saved) == config


def test_unknown_keys_in_json_are_refused_with_the_known_ones_listed():
    with pytest.raises(LabError) as caught:
        TrainConfig.from_dict({**GOOD.to_dict(), "learning_rat": 0.1})
    assert "learning_rat" in str(caught.value) and "learning_rate" in str(caught.value)
    with pytest.raises(LabError, match="data"):
        TrainConfig.from_dict({"backbone": "vgg16"})


def test_summary_is_one_line_with_the_essentials():
    text = PRESETS["vgg16-fine-tune"].summary()
    assert "\n" not in text
    for part in ("vgg16", "fine-tune", "150px", "from block4", "rmsprop", "3000 train"):
        assert part in text


def test_every_preset_is_valid_and_the_tutorial_experiments_are_there():
    for name, preset in PRESETS.items():
        assert TrainConfig.from_dict(preset.to_dict()) == preset, name
    assert {"keras-tutorial-vgg16-20k", "keras-tutorial-vgg16-1k", "basic-cnn", "basic-cnn-dropout",
            "basic-cnn-augmented", "vgg16-features", "vgg16-frozen-augmented", "vgg16-fine-tune",
            "mobilenet-v2-quick"} <= set(PRESETS)
    augmented = PRESETS["basic-cnn-augmented"]
    assert (augmented.optimizer, augmented.learning_rate, augmented.augment) == ("rmsprop", 1e-4, "five-model-tutorial")
    features = PRESETS["vgg16-features"]
    assert (features.strategy, features.head) == ("feature-extractor", "five_model_tutorial")
    fine = PRESETS["vgg16-fine-tune"]
    assert (fine.fine_tune_at, fine.fine_tune_learning_rate) == ("block4", 1e-5)
    assert PRESETS["mobilenet-v2-quick"].weights == "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"


def test_keras_tutorial_presets_match_the_tutorial():
    full, small = PRESETS["keras-tutorial-vgg16-20k"], PRESETS["keras-tutorial-vgg16-1k"]
    for preset in (full, small):
        assert (preset.backbone, preset.strategy, preset.head) == ("vgg16", "frozen", "keras_tutorial")
        assert (preset.image_size, preset.batch_size, preset.optimizer) == (224, 64, "adam")
        assert preset.augment == "keras-tutorial"
    assert (full.epochs, full.train_size) == (10, None)
    assert (small.epochs, small.train_size, small.validation_size) == (20, 1000, 200)
    assert small.data == full.data and small.seed == full.seed, "the 1K subset nests inside the 20K run's data"


def test_choice_lists_match_what_validation_accepts():
    for strategy in STRATEGIES:
        weights = "none" if strategy == "scratch" else "imagenet"
        dataclasses.replace(GOOD, strategy=strategy, weights=weights)
    for head in HEADS:
        dataclasses.replace(GOOD, head=head)
    for optimizer in OPTIMIZERS:
        dataclasses.replace(GOOD, optimizer=optimizer)
    assert set(BACKBONES) >= {"vgg16", "mobilenet_v2", "efficientnet_b0", "basic_cnn", "basic_cnn_dropout"}


def test_the_training_split_is_a_field_with_a_flag_and_never_a_held_out_split():
    assert GOOD.train_split == "train" and FIELDS["train_split"].cli_flag == "--train-split"
    assert dataclasses.replace(GOOD, train_split="train_1000").summary().endswith("all train_1000, augment none")
    for held_out in ("validation", "test"):
        assert bad(train_split=held_out).startswith(f"train_split={held_out!r} is held out")
    assert "train_split=''" in bad(train_split="")


def test_a_run_trains_on_the_manifest_subset_its_config_names(workspace):
    from lab.data import build_manifest, scan, training_splits
    from lab.settings import load_settings
    from lab.training.preflight import preflight
    from tests.conftest import FILTERED, TINY_MOBILENET

    settings = load_settings()
    manifest = build_manifest(scan(FILTERED), name="subsets", subsets={"train_40": ("train", 40)})
    manifest.save(settings)
    data = training_splits("subsets", train_split="train_40", validation_size=20, settings=settings)
    assert {r.digest for r in data.train} == {r.digest for r in manifest.splits["train_40"]}
    assert len(data.validation) == 20

    config = TrainConfig(data="subsets", train_split="train_1k", backbone="mobilenet", weights=str(TINY_MOBILENET),
                         image_size=128)
    with pytest.raises(LabError, match="--train-split: this dataset has no split 'train_1k'; it has train, "
                                       "validation, train_40"):
        preflight(config, settings)
    with pytest.raises(LabError, match="--train-size: asks for 41 images but only 40 are available for training"):
        preflight(dataclasses.replace(config, train_split="train_40", train_size=41), settings)
    with pytest.raises(LabError, match="--train-split: .* is a folder, which has the split train only"):
        preflight(dataclasses.replace(config, data=str(FILTERED), train_split="train_40"), settings)
    preflight(dataclasses.replace(config, train_split="train_40", train_size=40), settings)
