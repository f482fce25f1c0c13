"""Turning an `AugmentSpec` into Keras preprocessing layers, and applying them as training does.

`build_augmenter` makes a `keras.Sequential` of batched preprocessing layers that runs inside `tf.data` (or a
model), never per image. One code path: training passes `build_augmenter(spec, seed)` as `augment=` to
`lab.data.pipeline.image_dataset`; the page and the CLI call `augment_batch` / `preview` / `training_batch`,
which call the very same `build_augmenter`. Every operation draws from its own seed derived from
`(seed, operation)`, so a seed reproduces a grid exactly, and an operation shown alone with the same seed
receives the same random draws it receives inside the full spec.

An `Augmenter` holds the layers of one spec built once and rewinds their random state to a seed before each
call: what a page keeps between reruns, so a re-roll or another photo costs one pass through the layers, not
a rebuild of them.

TensorFlow and Keras are imported inside the functions that need them, so importing this module stays light.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from lab.augment.spec import OPERATIONS, AugmentSpec
from lab.errors import LabError

if TYPE_CHECKING:
    import keras

    from lab.data.records import ImageRecord


def operation_seeds(seed: int) -> dict[str, int]:
    """An independent seed per operation, derived from one seed.

    Keyed by operation rather than by layer position, so switching another operation on or off does not
    change the draws of this one: "each operation alone" shows what that operation did inside the full grid.
    """
    states = np.random.SeedSequence(seed % 2**32).generate_state(len(OPERATIONS))
    return {op: int(state % 2**31) for op, state in zip(OPERATIONS, states)}


AFFINE = ("rotation", "shift", "shear", "zoom")  # the operations the one `RandomAffine` layer draws


def build_augmenter(spec: AugmentSpec, seed: int = 0) -> keras.Sequential:
    """The Keras layers for `spec`: float32 batches (N, H, W, 3) in [0, 255] in, same shape, dtype, range out.

    Conversions from ImageDataGenerator (checked pixel for pixel against it in tests/test_augment.py):

    - rotation_range, width/height_shift_range, shear_range, zoom_range -> one `RandomAffine` layer that
      composes them into ImageDataGenerator's own matrix and resamples once, with the spec's fill_mode and
      cval (Keras layers default to "reflect", ImageDataGenerator to "nearest"). Angles stay in degrees
      (`RandomRotation` would want r / 360 of a turn); shear is an ANGLE about the centre, as
      ImageDataGenerator reads it (`RandomShear` takes a displacement fraction about the top-left corner);
      zoom_range z draws a sampling scale in [1 - z, 1 + z] for each axis independently, above 1 zooming
      out (`RandomZoom(height_factor=(-z, z), width_factor=(-z, z))` would be the same draw). One fused
      layer instead of four stock ones: each stock layer resamples the batch, which made augmentation 2.6x
      slower than ImageDataGenerator on these CPUs and blurred the image four times.
    - horizontal_flip / vertical_flip -> one `RandomFlip` each: `RandomFlip("horizontal_and_vertical")`
      tosses a single coin for both axes (flips both or neither), ImageDataGenerator one per axis.
    - brightness_range (lo, hi) -> `RandomBrightnessFactor`: ImageDataGenerator multiplies by a factor in
      [lo, hi] (PIL's ImageEnhance.Brightness), while `keras.layers.RandomBrightness` ADDS a delta.
    - contrast c -> `RandomContrast(c, value_range=(0, 255))`; random_erasing p -> `RandomErasing(factor=(p, p))`
      (a single float would draw the probability itself from [0, p]). Neither exists in ImageDataGenerator.

    Each layer is named after its operation ("affine" for the four in `RandomAffine`), so `reseed` finds
    every operation's random state.

    Pinned to the same parameters, the result equals ImageDataGenerator's pixel for pixel with fill_mode
    nearest or reflect; with constant they differ along the fill boundary (SciPy does not blend cval into the
    edge pixels) and with wrap SciPy repeats the image with a period one pixel short.
    """
    import keras

    from lab.augment.layers import RandomAffine, RandomBrightnessFactor

    seeds = operation_seeds(seed)
    on = set(spec.operations)
    layers: list[keras.layers.Layer] = []
    if on & set(AFFINE):
        layers.append(RandomAffine(
            rotation=(-spec.rotation_range, spec.rotation_range),
            width_shift=(-spec.width_shift_range, spec.width_shift_range),
            height_shift=(-spec.height_shift_range, spec.height_shift_range),
            shear=(-spec.shear_range, spec.shear_range),
            zoom=(1 - spec.zoom_range, 1 + spec.zoom_range),
            fill_mode=spec.fill_mode, fill_value=spec.cval,
            seeds={op: seeds[op] for op in AFFINE}, name="affine"))
    if "horizontal_flip" in on:
        layers.append(keras.layers.RandomFlip("horizontal", seed=seeds["horizontal_flip"], name="horizontal_flip"))
    if "vertical_flip" in on:
        layers.append(keras.layers.RandomFlip("vertical", seed=seeds["vertical_flip"], name="vertical_flip"))
    if "brightness" in on:
        layers.append(RandomBrightnessFactor(spec.brightness_range, seed=seeds["brightness"], name="brightness"))
    if "contrast" in on:
        layers.append(keras.layers.RandomContrast(spec.contrast, value_range=(0, 255), seed=seeds["contrast"],
                                                 name="contrast"))
    if "random_erasing" in on:
        layers.append(keras.layers.RandomErasing(factor=(spec.random_erasing, spec.random_erasing),
                                                 value_range=(0, 255), seed=seeds["random_erasing"],
                                                 name="random_erasing"))
    return keras.Sequential(layers or [keras.layers.Identity()], name="augment")


def reseed(augmenter: keras.Sequential, seed: int) -> None:
    """Rewind the random state of a `build_augmenter` result to where `build_augmenter(spec, seed)` starts."""
    seeds = operation_seeds(seed)
    for layer in augmenter.layers:
        generators = layer.generators if layer.name == "affine" else {layer.name: getattr(layer, "generator", None)}
        for operation, generator in generators.items():
            if generator is not None:
                generator.state.assign([seeds[operation], 0])


class Augmenter:
    """The layers of one spec, built once; each call draws as a fresh `build_augmenter(spec, seed)` would.

    Building the Keras layers costs more than running them on a few photos, so a page keeps one per spec and
    calls it with any seed. Calls are serialised: the random state is shared, and pages run in threads.
    """

    def __init__(self, spec: AugmentSpec) -> None:
        self.spec = spec
        self.layers = build_augmenter(spec)
        self._lock = threading.Lock()

    def __call__(self, images: np.ndarray, seed: int) -> np.ndarray:
        """Augment a batch (N, H, W, 3) in [0, 255] exactly as training would with this spec and seed."""
        batch = np.asarray(images, dtype=np.float32)
        if batch.ndim != 4 or batch.shape[-1] != 3:
            raise LabError(f"Expected a batch of RGB images shaped (N, H, W, 3); got shape {batch.shape}.")
        with self._lock:
            reseed(self.layers, seed)
            return np.asarray(self.layers(batch, training=True), dtype=np.float32)


def augment_batch(images: np.ndarray, spec: AugmentSpec | Augmenter, seed: int) -> np.ndarray:
    """Augment a batch (N, H, W, 3) in [0, 255] exactly as training would with this spec and seed.

    Give an `Augmenter` instead of a spec to reuse layers already built.
    """
    return (spec if isinstance(spec, Augmenter) else Augmenter(spec))(images, seed)


def preview(image: np.ndarray, spec: AugmentSpec | Augmenter, n: int, seed: int) -> np.ndarray:
    """`n` augmented variants of one image (H, W, 3) in [0, 255], as a batch (n, H, W, 3)."""
    if n < 1:
        raise LabError(f"The number of variants must be at least 1; got {n}.")
    return augment_batch(np.repeat(np.asarray(image, dtype=np.float32)[None], n, axis=0), spec, seed)


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Augmented float pixels in [0, 255] as 8-bit ones, rounded and clipped: for showing or saving as PNG."""
    return np.clip(np.round(images), 0, 255).astype(np.uint8)


def training_records(records: Sequence[ImageRecord]) -> list[ImageRecord]:
    """The records a training batch is drawn from: the training split, or every record when none is marked so.

    Unsplit records (class folders, Kaggle names) count as training images, as a manifest cuts its training
    split from them; a dataset with only validation or test folders still has something to show.
    """
    return [record for record in records if record.split in (None, "train")] or list(records)


def training_batch(records: Sequence[ImageRecord], classes: Sequence[str], spec: AugmentSpec, *,
                   image_size: int = 224, n: int = 9, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """`n` of a dataset's `records` as a model receives them in training, with their labels.

    They are drawn from `training_records(records)` and go through `image_dataset` with
    `augment=build_augmenter(spec, seed)`, the very pipeline training uses: decoded, squashed to `image_size`,
    batched, augmented. Images stay float32 in [0, 255]; each
    backbone scales them itself inside the model.
    """
    from lab.data.pipeline import image_dataset

    candidates = training_records(records)
    if not candidates:
        raise LabError("This dataset has no images to show: scan a folder that holds some.")
    chosen = random.Random(seed).sample(candidates, min(n, len(candidates)))
    dataset = image_dataset(chosen, classes, image_size, batch_size=len(chosen), augment=build_augmenter(spec, seed))
    images, labels = next(iter(dataset))
    return images.numpy(), [classes[label] for label in labels.numpy()]
