"""Rules for editing a config by hand: what a form does when one choice rules out others.

Pure functions over plain values (the field names of `TrainConfig`), so the Train page, the coming
pages and the CLI share them and tests need no Streamlit. `repair` is the form's side of a rule the
config enforces: when the backbone or strategy changes, values they rule out are replaced visibly
(weights this machine has, the tutorial CNNs only from scratch, a boundary and an image size the
backbone knows, no fine-tune boundary outside fine-tuning); a config that still holds one is refused
by `TrainConfig` itself, never silently corrected. A new backbone brings its native image size unless
the person chose a size; `size_note` says what another size costs, `choices_note` what the strategy
does. `matching_preset` tells a form which tutorial experiment it holds; `starting_config` is the form
before anyone touches it. The augmentation overrides are a text box in a form: `overrides_text` and
`parse_overrides_text` convert both ways, and `config_from_form` reads a whole form. The labels
(`weights_label`, `backbone_label`, `manifest_label`, `split_label`) say a choice in the words a picker
shows, short enough for a narrow box.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.augment import parse_assignments
from lab.data.run_data import resolve_data_path
from lab.settings import Settings
from lab.training.backbones import get_spec
from lab.training.config import WEIGHT_KINDS, TrainConfig
from lab.training.presets import MEASURED_SIZE_EFFECTS, PRESETS

STARTING_PRESET = "mobilenet-v2-quick"  # fast enough that a newcomer's first run ends while they watch
SAMPLE_DATASET = "cats_and_dogs_filtered"
STRATEGY_HELP = {
    "scratch": "random weights, every layer trains (the tutorial's own CNNs)",
    "feature-extractor": "backbone features computed once and cached; only the head trains (fast, no augmentation)",
    "frozen": "frozen backbone inside the model, run on every augmented batch",
    "fine-tune": "train the head, then unfreeze from a boundary at a lower learning rate",
}
WEIGHTS_FILE_SUFFIX = re.compile(r"(_imagenet)?(_no_top)?(\.weights)?\.h5$")  # what every weights file name says


def suggested_weights(backbone: str, strategy: str, available: Mapping[str, list[str]]) -> str:
    """What a new backbone or strategy should start with: a local file if this machine has one.

    available: per backbone, the weights usable here (`weights_available`).
    """
    if strategy == "scratch" or get_spec(backbone).from_scratch_only:
        return "none"
    files = [w for w in available.get(backbone, []) if w not in WEIGHT_KINDS]
    return files[-1] if files else "imagenet"


def repair(values: Mapping[str, Any], available: Mapping[str, list[str]], *,
           native_size: bool = False) -> dict[str, Any]:
    """`values` after a backbone or strategy change, with what the two rule out replaced.

    native_size: the image size becomes the backbone's native one (a new backbone, and the size was not
        chosen by hand); otherwise only a size the backbone cannot take is replaced.
    """
    repaired = dict(values)
    spec = get_spec(repaired["backbone"])
    if spec.from_scratch_only:
        repaired["strategy"], repaired["head"] = "scratch", "auto"
    repaired["weights"] = suggested_weights(spec.name, repaired["strategy"], available)
    if repaired["strategy"] != "fine-tune" or repaired["fine_tune_at"] not in spec.boundaries:
        repaired["fine_tune_at"] = ""
    if native_size or (repaired["image_size"] or 0) < spec.min_size:
        repaired["image_size"] = spec.native_size
    return repaired


def size_note(backbone: str, image_size: int) -> str | None:
    """What an image size other than the backbone's native one costs, in words; None at the native size.

    Compute grows with the square of the side; the accuracy effect is said where it was measured
    (`MEASURED_SIZE_EFFECTS`), and said to be unmeasured elsewhere.
    """
    spec = get_spec(backbone)
    if image_size == spec.native_size:
        return None
    name, ratio = spec.constructor or spec.name, (spec.native_size / image_size) ** 2
    speed = (f"faster (about {ratio:.1f}x less computation per image)" if ratio > 1 else
             f"slower (about {1 / ratio:.1f}x more computation per image)")
    accuracy = MEASURED_SIZE_EFFECTS.get((spec.name, image_size), "the effect on accuracy is not measured here")
    return f"{image_size} px instead of {name}'s native {spec.native_size} px: {speed}; {accuracy}"


def matching_preset(config: TrainConfig, presets: Mapping[str, TrainConfig]) -> str | None:
    """The preset `config` is, whatever data it is pointed at and wherever its weights file lies (a preset names
    the file, a picker lists where it found it); None for a config of one's own ("custom")."""
    def compared(values: TrainConfig) -> dict[str, Any]:
        return {**values.to_dict(), "data": "", "weights": Path(values.weights).name}

    return next((name for name, preset in presets.items() if compared(preset) == compared(config)), None)


def listed_weights(value: str, listed: Sequence[str]) -> str:
    """A weights file named by its name alone (a preset's) as the file a weights picker lists with that name: two
    options would read the same, and a browser sends back the one it shows, which is the listed one."""
    return next((option for option in listed if option != value and Path(option).name == value), value)


def overrides_text(overrides: Mapping[str, Any]) -> str:
    """`{"rotation_range": 30.0, "brightness_range": [0.8, 1.2]}` -> "rotation_range=30, brightness_range=0.8:1.2"."""
    return ", ".join(f"{name}={_text(value)}" for name, value in overrides.items())


def parse_overrides_text(text: str | None) -> dict[str, str]:
    """The inverse of `overrides_text`: comma-separated key=value pairs (values parsed by the config)."""
    return parse_assignments([part for part in (text or "").split(",") if part.strip()])


def _text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ":".join(_text(part) for part in value)
    if isinstance(value, bool) or value is None:
        return str(value).lower()
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def choices_note(strategy: str, backbone: str, image_size: int) -> str:
    """What the chosen strategy does, and (on a second line) what a non-native image size costs."""
    note = size_note(backbone, image_size)
    return f"**{strategy}**: {STRATEGY_HELP[strategy]}." + (f"  \n{note[0].upper()}{note[1:]}" if note else "")


def starting_config(datasets: Mapping[Path, str], chosen: str | None = None,
                    runs_on: Callable[[TrainConfig], bool] = lambda config: True) -> TrainConfig:
    """The form before anyone touches it: the quick preset on `chosen` (the dataset picked last) if the preset
    can run on it, else on the shared sample it was made for, else on the first dataset it can run on (never
    merely what sorts first, nor a tiny upload it would open blocked on).

    datasets: each dataset folder -> the name a person knows it by (`lab.workspace.dataset_names`).
    runs_on: whether the preset can run on a config's data (`lab.training.preflight.data_problems` finds
        nothing); asked of `chosen` and the other datasets, never of the sample.
    """
    preset = PRESETS[STARTING_PRESET]
    sample = [str(folder) for folder, name in datasets.items() if name == SAMPLE_DATASET]
    candidates = [TrainConfig.from_dict({**preset.to_dict(), "data": data})
                  for data in dict.fromkeys([*filter(None, [chosen]), *sample, *map(str, datasets)])]
    return next((config for config in candidates if config.data in sample or runs_on(config)),
                candidates[0] if candidates else preset)


def data_choice(source: str, settings: Settings) -> str:
    """A preset's bare folder name (`cats_and_dogs_filtered`) as the folder a data picker lists."""
    folder = resolve_data_path(source, settings)
    return str(folder) if folder is not None and folder.is_absolute() and folder.exists() else source


def config_from_form(values: Mapping[str, Any]) -> TrainConfig:
    """The config a form's raw values describe (the overrides as typed text); `LabError` names the first bad
    field, a stale fine-tune boundary included."""
    return TrainConfig.from_dict({**values, "augment_overrides": parse_overrides_text(values["augment_overrides"])})


def with_current(options: Sequence[Any], current: Any) -> list[Any]:
    """A picker's `options` plus the value it holds, so a preset's or a typed value is never dropped."""
    return list(options) if current in options or current is None else [current, *options]


def weights_label(value: str) -> str:
    """Short enough for a narrow box: "imagenet", "none (random)", "mobilenet_v2_1.0_224 · local file"."""
    if value in WEIGHT_KINDS:
        return {"imagenet": "imagenet", "none": "none (random)"}[value]
    return f"{WEIGHTS_FILE_SUFFIX.sub('', Path(value).name)} · local file"


def backbone_label(name: str, available: Mapping[str, list[str]]) -> str:
    """A backbone by the name people know, and whether it can start from what it learned on ImageNet here:
    "VGG16 · ImageNet weights ready", "VGG16 · no ImageNet weights here", "Basic CNN · learns from scratch"."""
    spec = get_spec(name)
    if spec.from_scratch_only:
        return f"{spec.display_name} · learns from scratch"
    ready = any(weights != "none" for weights in available.get(name, []))
    return f"{spec.display_name} · {'ImageNet weights ready' if ready else 'no ImageNet weights here'}"


def manifest_label(name: str, sizes: Mapping[str, int]) -> str:
    """A saved manifest with its splits and subsets: "cats · manifest: train 2,000 · validation 1,000"."""
    return f"{name} · manifest: " + " · ".join(f"{split} {count:,}" for split, count in sizes.items())


def split_label(name: str, sizes: Mapping[str, int]) -> str:
    """A split with its images, where they are known: "train_1000 · 1,000 images"."""
    return f"{name} · {sizes[name]:,} images" if name in sizes else name
