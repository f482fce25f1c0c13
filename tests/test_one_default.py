"""One lab whichever door: the Train page and `lab train` make the same config from the same choices.

The page starts from the quick preset and repairs what a new backbone rules out (strategy, weights, head, size);
`lab train --preset` with the choices a person made there as flags must give the config the page would launch,
for every backbone. Without a preset, a config that names no size trains at the backbone's native size.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from lab.cli import build_parser
from lab.cli.train import config_from_args
from lab.training.backbones import BACKBONES
from lab.training.config import FIELDS, TrainConfig
from lab.training.form import config_from_form
from lab.training.presets import PRESETS, STUDY_PRESETS
from tests.apptest import open_page
from tests.conftest import FILTERED, MOBILENET_V2, WEIGHTS, LabCli

QUICK = "mobilenet-v2-quick"  # the preset a new Train page starts from


def cli_config(*flags: str) -> TrainConfig:
    return config_from_args(build_parser().parse_args(["train", *flags]))


def page_config(app) -> TrainConfig:
    """The config the Train page's form holds, read as the page reads it (what Launch would start), a weights
    file named by its name as a preset names it: the picker lists a file by its path in the weights folder
    (`lab.training.form.listed_weights`), the same file the name finds there."""
    config = config_from_form({name: app.session_state[f"train_form_{name}"] for name in FIELDS})
    named = Path(config.weights).name
    return replace(config, weights=named) if (WEIGHTS / named).resolve() == Path(config.weights).resolve() else config


def chosen_flags(config: TrainConfig, start: TrainConfig) -> list[str]:
    """The flags a person types for what they changed from `start`, the image size left to the default."""
    flags = []
    for name, value in config.to_dict().items():
        if name != "image_size" and value != getattr(start, name) and FIELDS[name].kind not in ("flag", "overrides"):
            flags += [FIELDS[name].cli_flag, str(value)]
    return flags


@pytest.mark.slow  # the Train page opened once per backbone
def test_the_page_and_the_cli_make_the_same_config_for_every_backbone(workspace: Path) -> None:
    different = {}
    for backbone in BACKBONES:
        app = open_page("train", timeout=60)  # a new visitor each time, starting from the quick preset
        start = page_config(app)
        assert start == TrainConfig.from_dict({**PRESETS[QUICK].to_dict(), "data": start.data})
        app.selectbox(key="train_form_backbone").set_value(backbone).run()
        assert not app.exception, app.exception
        on_page = page_config(app)
        from_cli = cli_config("--preset", QUICK, "--data", on_page.data, *chosen_flags(on_page, start))
        if from_cli != on_page:
            different[backbone] = {name: (value, getattr(on_page, name)) for name, value in from_cli.to_dict().items()
                                   if value != getattr(on_page, name)}
        assert on_page.image_size == (160 if backbone == start.backbone else BACKBONES[backbone].native_size)
    assert different == {}  # field: (the CLI's value, the page's value)


@pytest.mark.parametrize("backbone", sorted(BACKBONES))
def test_a_config_that_names_no_size_gets_the_backbones_native_size(backbone: str) -> None:
    native = BACKBONES[backbone].native_size
    weights = "none"
    strategy = "scratch" if BACKBONES[backbone].from_scratch_only else "feature-extractor"
    assert cli_config("--data", "x", "--backbone", backbone, "--weights", weights, "--strategy", strategy).image_size \
        == native
    assert TrainConfig(data="x", backbone=backbone, weights=weights, strategy=strategy).image_size == native
    assert TrainConfig.from_dict({"data": "x", "backbone": backbone, "weights": weights,
                                  "strategy": strategy}).image_size == native


def test_a_size_that_is_named_stays_and_a_new_backbone_brings_its_own() -> None:
    assert cli_config("--preset", QUICK).image_size == 160  # the quick preset's size, on purpose
    assert cli_config("--preset", QUICK, "--backbone", "efficientnet_b1", "--weights", "none").image_size == 240
    assert cli_config("--preset", QUICK, "--backbone", "efficientnet_b1", "--weights", "none",
                      "--image-size", "200").image_size == 200
    assert cli_config("--preset", QUICK, "--image-size", "192").image_size == 192


def test_presets_and_studies_say_their_sizes_on_purpose() -> None:
    """Every preset and study either runs at its backbone's native size or names a size the tutorial used."""
    deliberate = {"basic-cnn": 150, "basic-cnn-dropout": 150, "basic-cnn-augmented": 150, "vgg16-features": 150,
                  "vgg16-frozen-augmented": 150, "vgg16-fine-tune": 150, QUICK: 160}
    for name, preset in PRESETS.items():
        assert preset.image_size == deliberate.get(name, BACKBONES[preset.backbone].native_size), name
    for name, study in STUDY_PRESETS.items():
        assert study.config.image_size == BACKBONES[study.config.backbone].native_size, name


@pytest.mark.slow  # a real training in a subprocess
def test_lab_train_without_a_size_trains_mobilenet_v2_at_224_px(lab_cli: LabCli) -> None:
    done = lab_cli("train", "--data", str(FILTERED), "--backbone", "mobilenet_v2", "--weights", str(MOBILENET_V2),
                   "--strategy", "feature-extractor", "--train-size", "20", "--validation-size", "10",
                   "--epochs", "1", "--batch-size", "10", "--json")
    assert done.returncode == 0, done.stderr
    run_dir = Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])
    assert json.loads((run_dir / "config.json").read_text())["image_size"] == 224
    from keras.saving import load_model

    assert load_model(run_dir / "model.keras").input_shape[1:3] == (224, 224)
