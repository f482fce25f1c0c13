"""The tutorials' own `ImageDataGenerator`, where this TensorFlow still ships it, for side-by-side comparisons.

Keras 3 dropped it from `keras.preprocessing`; `tf.keras.preprocessing.image.ImageDataGenerator` (a legacy copy)
remains in TF 2.x. It works one image at a time in NumPy/SciPy and draws from NumPy's global random state,
so this module saves and restores that state: a comparison must not change anyone else's random numbers.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lab.augment.spec import AugmentSpec
from lab.errors import LabError

# Operations of an AugmentSpec that ImageDataGenerator has no parameter for.
NOT_IN_LEGACY = ("contrast", "random_erasing")


def legacy_generator_class() -> type | None:
    """`ImageDataGenerator`, or None where this TensorFlow no longer has it."""
    import tensorflow as tf

    try:
        return tf.keras.preprocessing.image.ImageDataGenerator
    except AttributeError:
        return None


def missing_operations(spec: AugmentSpec) -> list[str]:
    """The operations `spec` switches on that ImageDataGenerator lacks: left out on its side of a comparison."""
    return [operation for operation in spec.operations if operation in NOT_IN_LEGACY]


def legacy_kwargs(spec: AugmentSpec) -> dict[str, Any]:
    """The `ImageDataGenerator(...)` arguments for `spec`: the same names, the same values."""
    return {
        "rotation_range": spec.rotation_range,
        "width_shift_range": spec.width_shift_range,
        "height_shift_range": spec.height_shift_range,
        "shear_range": spec.shear_range,
        "zoom_range": spec.zoom_range,
        "horizontal_flip": spec.horizontal_flip,
        "vertical_flip": spec.vertical_flip,
        "fill_mode": spec.fill_mode,
        "cval": spec.cval,
        "brightness_range": None if spec.brightness_range is None else list(spec.brightness_range),
    }


def legacy_augment_batch(images: np.ndarray, spec: AugmentSpec, seed: int) -> np.ndarray:
    """Augment each image of (N, H, W, 3) in [0, 255] with ImageDataGenerator, seeded, image by image."""
    generator_class = legacy_generator_class()
    if generator_class is None:
        raise LabError("This TensorFlow has no legacy ImageDataGenerator to compare with (it needs TF 2.x).")
    generator = generator_class(**legacy_kwargs(spec))
    saved = np.random.get_state()
    try:
        np.random.seed(seed % 2**32)
        variants = [generator.random_transform(np.asarray(image, dtype=np.float32)) for image in images]
        return np.stack(variants).astype(np.float32)
    finally:
        np.random.set_state(saved)


def legacy_preview(image: np.ndarray, spec: AugmentSpec, n: int, seed: int) -> np.ndarray:
    """`n` ImageDataGenerator variants of one image, as a batch (n, H, W, 3)."""
    return legacy_augment_batch(np.repeat(np.asarray(image, dtype=np.float32)[None], n, axis=0), spec, seed)
