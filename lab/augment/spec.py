"""What an augmentation is: `ImageDataGenerator`'s parameters, validated, with presets and `--set` parsing.

Both tutorials augment with Keras 2's `ImageDataGenerator`, which Keras 3 no longer exports. People arrive with
its parameter names in their heads (`rotation_range=20`, `shear_range=0.2`, `fill_mode="nearest"`), so an
`AugmentSpec` speaks exactly that vocabulary, with the same meaning. `PARAMETERS` describes each field once:
its type, its allowed values and its help text, which validation, the page's controls and the CLI all read.

Plain values only: nothing here imports TensorFlow or Keras (`lab.augment.augmenter` turns a spec into layers).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from lab.errors import LabError

FILL_MODES = ("nearest", "reflect", "wrap", "constant")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class Parameter:
    """One spec field: its type, the values it accepts, and what it means (shown by the page and the CLI)."""

    name: str
    kind: str  # "number", "flag", "choice", "pair"
    label: str
    help: str
    low: float = 0.0
    high: float = math.inf
    high_open: bool = False

    def allowed(self) -> str:
        if self.kind == "flag":
            return "true or false"
        if self.kind == "choice":
            return "one of " + ", ".join(FILL_MODES)
        if self.kind == "pair":
            return "none or two factors 'low,high' (or 'low:high') with 0 <= low <= high (1.0 = unchanged)"
        closing = ")" if self.high_open else "]"
        return f"a number in [{self.low:g}, {self.high:g}{closing}"


PARAMETERS: dict[str, Parameter] = {p.name: p for p in (
    Parameter("rotation_range", "number", "Rotation (degrees)",
              "Rotate by a random angle in [-r, r] degrees, as ImageDataGenerator's rotation_range.", high=180),
    Parameter("width_shift_range", "number", "Width shift (fraction of width)",
              "Shift left or right by up to this fraction of the width (0.2 = 20%). "
              "ImageDataGenerator's pixel counts (values >= 1) are not supported.", high=1, high_open=True),
    Parameter("height_shift_range", "number", "Height shift (fraction of height)",
              "Shift up or down by up to this fraction of the height (0.2 = 20%).", high=1, high_open=True),
    Parameter("shear_range", "number", "Shear (degrees)",
              "Shear by a random angle in [-s, s] DEGREES, as ImageDataGenerator reads it: the tutorials' "
              "shear_range=0.2 is 0.2 degrees, almost nothing (under a pixel at 224x224). "
              "Try 10-20 degrees to see a visible shear.", high=90, high_open=True),
    Parameter("zoom_range", "number", "Zoom range",
              "Zoom each axis independently by a factor in [1 - z, 1 + z]: above 1 zooms out, below 1 zooms in, "
              "as ImageDataGenerator's zoom_range.", high=1, high_open=True),
    Parameter("horizontal_flip", "flag", "Horizontal flip", "Mirror left-right with probability 0.5."),
    Parameter("vertical_flip", "flag", "Vertical flip", "Mirror top-bottom with probability 0.5 (rarely "
              "sensible for photos of pets)."),
    Parameter("fill_mode", "choice", "Fill mode",
              "How pixels moved in from outside the image are filled by rotation, shifts, shear and zoom: "
              "nearest repeats the edge (ImageDataGenerator's default), reflect mirrors (Keras layers' "
              "default), wrap tiles, constant uses cval."),
    Parameter("cval", "number", "Constant fill value (cval)", "Grey level used when fill_mode is constant.",
              high=255),
    Parameter("brightness_range", "pair", "Brightness range (factors)",
              "Multiply brightness by a random factor in [low, high], as ImageDataGenerator's brightness_range "
              "(0.8,1.2 = up to 20% darker or brighter); none switches it off."),
    Parameter("contrast", "number", "Contrast",
              "Scale each image's contrast by a random factor in [1 - c, 1 + c] (Keras RandomContrast; "
              "not in ImageDataGenerator).", high=1),
    Parameter("random_erasing", "number", "Random erasing (probability)",
              "Probability of replacing a random rectangle of the image with noise (Keras RandomErasing; "
              "not in ImageDataGenerator).", high=1),
)}


def _invalid(parameter: Parameter, value: Any) -> LabError:
    return LabError(f"{parameter.name} must be {parameter.allowed()}; got {value!r}.")


def _parse(parameter: Parameter, value: Any) -> Any:
    """Turn a `--set` string into the field's type; non-strings (JSON values) pass through to validation."""
    if not isinstance(value, str):
        return value
    text = value.strip().lower()
    if parameter.kind == "flag":
        if text in _TRUE + _FALSE:
            return text in _TRUE
        raise _invalid(parameter, value)
    if parameter.kind == "choice":
        return text
    if parameter.kind == "pair":
        if text in ("none", "null", ""):
            return None
        text = text.strip("()[]")
    try:
        return [float(part) for part in re.split(r"[,:]", text)] if parameter.kind == "pair" else float(text)
    except ValueError:
        raise _invalid(parameter, value) from None


def _checked(parameter: Parameter, value: Any) -> Any:
    """The value in its canonical type, or a LabError naming the parameter and what it accepts."""
    if parameter.kind == "flag":
        if not isinstance(value, (bool, np.bool_)):
            raise _invalid(parameter, value)
        return bool(value)
    if parameter.kind == "choice":
        if value not in FILL_MODES:
            raise _invalid(parameter, value)
        return value
    if parameter.kind == "pair":
        if value is None:
            return None
        if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_number(v) for v in value):
            raise _invalid(parameter, value)
        low, high = float(value[0]), float(value[1])
        if not 0 <= low <= high or not math.isfinite(high):
            raise _invalid(parameter, value)
        return (low, high)
    if not _is_number(value):
        raise _invalid(parameter, value)
    number = float(value)
    too_high = number >= parameter.high if parameter.high_open else number > parameter.high
    if not parameter.low <= number or too_high or math.isnan(number):
        raise _invalid(parameter, value)
    return number


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class AugmentSpec:
    """Random augmentation in `ImageDataGenerator` terms; all-default means no augmentation at all."""

    rotation_range: float = 0.0
    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    shear_range: float = 0.0
    zoom_range: float = 0.0
    horizontal_flip: bool = False
    vertical_flip: bool = False
    fill_mode: str = "nearest"
    cval: float = 0.0
    brightness_range: tuple[float, float] | None = None
    contrast: float = 0.0
    random_erasing: float = 0.0

    def __post_init__(self) -> None:
        for parameter in PARAMETERS.values():
            object.__setattr__(self, parameter.name, _checked(parameter, getattr(self, parameter.name)))

    @property
    def operations(self) -> tuple[str, ...]:
        """The operations this spec switches on, in the order they are applied."""
        return tuple(op for op, names in OPERATIONS.items() if any(_enabled(self, n) for n in names))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values (the brightness pair as a list)."""
        values = asdict(self)
        if self.brightness_range is not None:
            values["brightness_range"] = list(self.brightness_range)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> AugmentSpec:
        _check_names(values)
        return cls(**values)


# Operation name -> the spec fields it reads, in the order the layers apply them: ImageDataGenerator's own
# order (rotate, shift, shear, zoom, flips, brightness), then the two operations it does not have.
OPERATIONS: dict[str, tuple[str, ...]] = {
    "rotation": ("rotation_range",),
    "shift": ("width_shift_range", "height_shift_range"),
    "shear": ("shear_range",),
    "zoom": ("zoom_range",),
    "horizontal_flip": ("horizontal_flip",),
    "vertical_flip": ("vertical_flip",),
    "brightness": ("brightness_range",),
    "contrast": ("contrast",),
    "random_erasing": ("random_erasing",),
}

PRESETS: dict[str, AugmentSpec] = {
    "none": AugmentSpec(),
    # The Keras tutorial's ImageDataGenerator: rotation 20, shifts 0.2, shear 0.2 (degrees!), zoom 0.2,
    # horizontal flip, nearest fill.
    "keras-tutorial": AugmentSpec(rotation_range=20, width_shift_range=0.2, height_shift_range=0.2,
                                  shear_range=0.2, zoom_range=0.2, horizontal_flip=True, fill_mode="nearest"),
    # The five-model tutorial's generator: rotation 50, shifts 0.2, shear 0.2, zoom 0.3, horizontal flip.
    "five-model-tutorial": AugmentSpec(rotation_range=50, width_shift_range=0.2, height_shift_range=0.2,
                                       shear_range=0.2, zoom_range=0.3, horizontal_flip=True, fill_mode="nearest"),
    # keras.io "Transfer learning & fine-tuning": RandomFlip("horizontal"), RandomRotation(0.1) = 0.1 turn = 36
    # degrees, with the Keras layers' default fill ("reflect").
    "light": AugmentSpec(rotation_range=36, horizontal_flip=True, fill_mode="reflect"),
}
DEFAULT_PRESET = "keras-tutorial"  # what the CLI applies without --preset and the Augment page opens with


def spec_from(preset: str, overrides: Mapping[str, Any] | None = None) -> AugmentSpec:
    """A preset with some parameters changed: `--set key=value` strings from the CLI or JSON values from a config."""
    if preset not in PRESETS:
        raise LabError(f"Unknown augmentation preset {preset!r}; choose one of: {', '.join(PRESETS)}.")
    overrides = dict(overrides or {})
    _check_names(overrides)
    parsed = {name: _parse(PARAMETERS[name], value) for name, value in overrides.items()}
    return replace(PRESETS[preset], **parsed)


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """`["rotation_range=30", "horizontal_flip=false"]` -> a dict for `spec_from`."""
    pairs = {}
    for assignment in assignments:
        name, sep, value = assignment.partition("=")
        if not sep:
            raise LabError(f"--set {assignment!r} must look like key=value, e.g. rotation_range=30.")
        pairs[name.strip()] = value.strip()
    return pairs


def overrides_from(preset: str, spec: AugmentSpec) -> dict[str, Any]:
    """The parameters where `spec` differs from a preset: what a config or `--set` needs to say."""
    base = spec_from(preset).to_dict()
    return {name: value for name, value in spec.to_dict().items() if base[name] != value}


def only(spec: AugmentSpec, operation: str) -> AugmentSpec:
    """`spec` with every operation but one switched off (the fill settings kept): to see an operation alone."""
    if operation not in OPERATIONS:
        raise LabError(f"Unknown augmentation operation {operation!r}; choose one of: {', '.join(OPERATIONS)}.")
    kept = {name: getattr(spec, name) for name in OPERATIONS[operation]}
    return AugmentSpec(fill_mode=spec.fill_mode, cval=spec.cval, **kept)


def single_operations(spec: AugmentSpec) -> dict[str, AugmentSpec]:
    """One spec per operation `spec` switches on, each with only that operation."""
    return {operation: only(spec, operation) for operation in spec.operations}


def _enabled(spec: AugmentSpec, name: str) -> bool:
    value = getattr(spec, name)
    if name == "brightness_range":
        return value is not None and value != (1.0, 1.0)
    return bool(value)


def _check_names(values: Mapping[str, Any]) -> None:
    unknown = sorted(set(values) - set(PARAMETERS))
    if unknown:
        raise LabError(f"Unknown augmentation parameter(s) {', '.join(unknown)}; valid parameters: "
                       f"{', '.join(PARAMETERS)}.")
