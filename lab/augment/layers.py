"""The ImageDataGenerator operations Keras 3 has no fast, faithful layer for: its composed affine
transform (rotation, shifts, angle shear, zoom) and its multiplicative brightness.

Both are batched, seeded Keras layers like the built-in preprocessing layers, usable in `tf.data` and in a
model, and serialisable. Imported lazily by `lab.augment.augmenter.build_augmenter` (this module imports Keras).
"""

from __future__ import annotations

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="lab")
class RandomAffine(keras.layers.Layer):
    """ImageDataGenerator's rotation, shifts, shear and zoom, composed into one matrix and resampled once.

    Per image it draws what `ImageDataGenerator.get_random_transform` draws: an angle (degrees), a shift
    of each axis as a fraction of its size, a shear angle (degrees), and a zoom factor per axis (above 1
    zooms out). Like `apply_affine_transform` it maps each output pixel p to the input pixel
    c + R (Sh Z (p - c) + t) around the centre c, with R = [[cos r, -sin r], [sin r, cos r]],
    Sh = [[1, -sin s], [0, cos s]] (columns slide with the row, rows spread by 1 / cos s), Z = diag(zx, zy)
    and t the shift, then interpolates bilinearly. The shift goes where ImageDataGenerator's documentation
    says (width_shift_range sideways); its code moves the other axis, a bug invisible on square images.

    Why not `RandomRotation`, `RandomTranslation`, `RandomShear` and `RandomZoom` in a row: each resamples
    the whole batch, which made augmentation 2.6x slower than ImageDataGenerator here and blurred the image
    four times; and `RandomShear` shears by a displacement about the top-left corner, not by an angle about
    the centre. Each range is a (low, high) pair; every component draws from its own seed, so a component
    shown alone gets the same draws it gets together with the others.
    """

    def __init__(self, rotation=(0.0, 0.0), width_shift=(0.0, 0.0), height_shift=(0.0, 0.0), shear=(0.0, 0.0),
                 zoom=(1.0, 1.0), fill_mode: str = "nearest", fill_value: float = 0.0,
                 interpolation: str = "bilinear", seeds: dict[str, int | None] | None = None, **kwargs):
        super().__init__(**kwargs)
        given = {"rotation": rotation, "width_shift": width_shift, "height_shift": height_shift, "shear": shear,
                 "zoom": zoom}
        self.ranges = {name: tuple(float(v) for v in bounds) for name, bounds in given.items()}
        self.fill_mode = fill_mode
        self.fill_value = fill_value
        self.interpolation = interpolation
        self.seeds = dict(seeds or {})
        self.generators = {name: keras.random.SeedGenerator(self.seeds.get(name))
                           for name in ("rotation", "shift", "shear", "zoom")}

    def _draw(self, shape, name: str, generator: str):
        low, high = self.ranges[name]
        return keras.random.uniform(shape, low, high, seed=self.generators[generator])

    def call(self, images, training=True):
        if not training:
            return images
        shape = ops.shape(images)
        batch = shape[0]
        height, width = ops.cast(shape[1], "float32"), ops.cast(shape[2], "float32")
        rotation = self._draw((batch,), "rotation", "rotation") * (math.pi / 180)
        shift_y = self._draw((batch,), "height_shift", "shift") * height
        shift_x = self._draw((batch,), "width_shift", "shift") * width
        shear = self._draw((batch,), "shear", "shear") * (math.pi / 180)
        zoom = self._draw((batch, 2), "zoom", "zoom")
        zoom_x, zoom_y = zoom[:, 0], zoom[:, 1]
        cos_r, sin_r, cos_s, sin_s = ops.cos(rotation), ops.sin(rotation), ops.cos(shear), ops.sin(shear)
        # A = R Sh Z, and the offset that keeps the centre c in place before the rotated shift R t.
        a00, a01 = cos_r * zoom_x, -(cos_r * sin_s + sin_r * cos_s) * zoom_y
        a10, a11 = sin_r * zoom_x, (cos_r * cos_s - sin_r * sin_s) * zoom_y
        centre_x, centre_y = (width - 1.0) / 2.0, (height - 1.0) / 2.0
        b0 = centre_x - a00 * centre_x - a01 * centre_y + cos_r * shift_x - sin_r * shift_y
        b1 = centre_y - a10 * centre_x - a11 * centre_y + sin_r * shift_x + cos_r * shift_y
        zeros = ops.zeros_like(rotation)
        # Keras transforms map output (x, y) to input (a0 x + a1 y + a2, b0 x + b1 y + b2).
        transform = ops.stack([a00, a01, b0, a10, a11, b1, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation=self.interpolation,
                                          fill_mode=self.fill_mode, fill_value=self.fill_value)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), **self.ranges, "fill_mode": self.fill_mode, "fill_value": self.fill_value,
                "interpolation": self.interpolation, "seeds": self.seeds}


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
