"""Rules for editing a config by hand: what a form does when one choice rules out others.

Pure functions over plain values (the field names of `TrainConfig`), so the Train page, the coming
pages and the CLI share them and tests need no Streamlit. `repair` is the form's side of a rule the
config enforces: when the backbone or strategy changes, values they rule out are replaced visibly
(weights this machine has, the tutorial CNNs only from scratch, a boundary and an image size the
backbone knows, no fine-tune boundary outside fine-tuning); a config that still holds one is refused
by `TrainConfig` itself, never silently corrected. A new backbone brings its native image size unless
the person chose a size; `size_note` says what another size costs. `matching_preset` tells a form which
tutorial experiment it holds. The augmentation overrides are a text box in a form: `overrides_text`
and `parse_overrides_text` convert both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.augment import parse_assignments
from lab.training.backbones import get_spec
from lab.training.config import WEIGHT_KINDS, TrainConfig
from lab.training.presets import MEASURED_SIZE_EFFECTS


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
    """The preset `config` is, whatever data it is pointed at; None for a config of one's own ("custom")."""
    settings = {**config.to_dict(), "data": ""}
    return next((name for name, preset in presets.items() if {**preset.to_dict(), "data": ""} == settings), None)


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
