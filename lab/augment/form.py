"""An augmentation as the values of a form, and a form's values as an augmentation.

A form cannot hold `brightness_range=None`: it shows a switch (`brightness_on`) beside a range slider that
keeps its range while switched off. `form_values` spreads a spec (a preset, say) over such a form and
`spec_from_form` reads one back, so a page's controls, a preset and the spec they describe stay one thing.
`control_bounds` is the range a control may offer for a parameter: an open bound the spec refuses (a shift of
a whole width) lies one step inside.

Plain values only, like `lab.augment.spec`: nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lab.augment.spec import PARAMETERS, AugmentSpec, Parameter

BRIGHTNESS_ON = "brightness_on"
DEFAULT_BRIGHTNESS = (0.8, 1.2)  # the range offered when brightness is switched on: up to 20% either way
FORM_FIELDS = (*PARAMETERS, BRIGHTNESS_ON)  # every value a form of an AugmentSpec holds


def form_values(spec: AugmentSpec) -> dict[str, Any]:
    """Each of `FORM_FIELDS` set to show `spec`; with brightness off, the range shows `DEFAULT_BRIGHTNESS`."""
    return {**spec.to_dict(), BRIGHTNESS_ON: spec.brightness_range is not None,
            "brightness_range": spec.brightness_range or DEFAULT_BRIGHTNESS}


def spec_from_form(values: Mapping[str, Any]) -> AugmentSpec:
    """The spec a form's `FORM_FIELDS` values describe: its brightness range only when switched on."""
    fields = {name: values[name] for name in PARAMETERS if name != "brightness_range"}
    return AugmentSpec(**fields, brightness_range=values["brightness_range"] if values[BRIGHTNESS_ON] else None)


def control_bounds(parameter: Parameter, step: float) -> tuple[float, float]:
    """The lowest and highest value a control moving by `step` may offer for a number `parameter`."""
    high = parameter.high - step if parameter.high_open else parameter.high
    return float(parameter.low), float(high)
