"""Augmentation in `ImageDataGenerator`'s vocabulary, run by Keras 3 preprocessing layers.

Owns the augmentation spec and its presets (`spec`), a spec as a form's values and back (`form`), the layers
it becomes and how a preview or a training batch is augmented (`augmenter`, with the custom layers in `layers`;
an `Augmenter` keeps one spec's layers built and reseeds them per call), the equivalent `python -m lab augment`
command line (`command`), and the legacy `ImageDataGenerator` kept for comparison (`legacy`).

Must not import Streamlit, nor TensorFlow or Keras at load time: pages import this package, and only
`build_augmenter` and the functions that call it load Keras. It may use `lab.data` (records, the pipeline).
"""

from lab.augment.augmenter import (
    Augmenter,
    augment_batch,
    build_augmenter,
    operation_seeds,
    preview,
    reseed,
    to_uint8,
    training_batch,
    training_records,
)
from lab.augment.command import cli_command, cli_value
from lab.augment.form import BRIGHTNESS_ON, FORM_FIELDS, control_bounds, form_values, spec_from_form
from lab.augment.spec import (
    DEFAULT_PRESET,
    FILL_MODES,
    OPERATIONS,
    PARAMETERS,
    PRESETS,
    AugmentSpec,
    Parameter,
    only,
    overrides_from,
    parse_assignments,
    single_operations,
    spec_from,
)

__all__ = [
    "BRIGHTNESS_ON",
    "DEFAULT_PRESET",
    "FILL_MODES",
    "FORM_FIELDS",
    "OPERATIONS",
    "PARAMETERS",
    "PRESETS",
    "AugmentSpec",
    "Augmenter",
    "Parameter",
    "augment_batch",
    "build_augmenter",
    "cli_command",
    "cli_value",
    "control_bounds",
    "form_values",
    "only",
    "operation_seeds",
    "overrides_from",
    "parse_assignments",
    "preview",
    "reseed",
    "single_operations",
    "spec_from",
    "spec_from_form",
    "to_uint8",
    "training_batch",
    "training_records",
]
