"""The two ImageDataGenerator operations Keras 3 has no faithful layer for: angle shear and brightness factor.

Both are batched, seeded Keras layers like the built-in preprocessing layers, usable in `tf.data` and in a
model, and serialisable. Imported lazily by `lab.augment.build_augmenter` (this module imports Keras).
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lab")
class RandomShearDegrees(keras.layers.Layer):
    """ImageDataGenerator's shear: an angle in degrees drawn from `degrees_range`, about the image centre.

    ImageDataGenerator maps each output pixel (x, y), measured from the centre, to the input pixel
    (x - sin(a) * y, cos(a) * y): columns slide sideways in proportion to the row, rows are spread by
    1 / cos(a). `keras.layers.RandomShear` uses (x + k * y, y) about the top-left corner instead, which for
    the same look would need k = -sin(a), a cos(a) row scale and a recentring it cannot express.
    """

    def __init__(self, degrees_range: tuple[float, float], fill_mode: str = "nearest", fill_value: float = 0.0,
                 interpolation: str = "bilinear", seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.degrees_range = tuple(float(d) for d in degrees_range)
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        shape = ops.shape(images)
        low, high = self.degrees_range
        angle = keras.random.uniform((shape[0],), low, high, seed=self.generator) * (math.pi / 180)
        sin, cos = ops.sin(angle), ops.cos(angle)
        centre_y = (ops.cast(shape[1], "float32") - 1.0) / 2.0
        ones, zeros = ops.ones_like(angle), ops.zeros_like(angle)
        # Keras transforms map output (x, y) to input (a0 x + a1 y + a2, b0 x + b1 y + b2).
        transform = ops.stack([ones, -sin, sin * centre_y, zeros, cos, (1.0 - cos) * centre_y, zeros, zeros],
                              axis=1)
        return ops.image.affine_transform(images, transform, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "degrees_range": self.degrees_range, "fill_mode": self.fill_mode,
                "fill_value": self.fill_value, "interpolation": self.interpolation, "seed": self.seed}


@keras.saving.register_keras_serializable(package="lab")
class RandomBrightnessFactor(keras.layers.Layer):
    """ImageDataGenerator's brightness_range: multiply each image by a factor drawn from `factor_range`.

    ImageDataGenerator blends with black through PIL (`ImageEnhance.Brightness(img).enhance(f)`), i.e.
    `clip(x * f, 0, 255)`; `keras.layers.RandomBrightness` adds a delta instead, which lifts the blacks.
    """

    def __init__(self, factor_range: tuple[float, float], seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.factor_range = tuple(float(f) for f in factor_range)
        self.seed = seed
        self.generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        low, high = self.factor_range
        factor = keras.random.uniform((ops.shape(images)[0], 1, 1, 1), low, high, seed=self.generator)
        return ops.clip(images * factor, 0.0, 255.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "factor_range": self.factor_range, "seed": self.seed}
