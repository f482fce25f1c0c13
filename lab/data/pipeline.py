"""tf.data pipelines from image records: the one way images reach a model, in training and preview.

Files are decoded in parallel by TensorFlow's native decoders; the few that they would read wrongly
(WebP, CMYK, 16-bit, EXIF-rotated, palette GIFs: `ImageRecord.needs_pil`) go through Pillow instead.
A JPEG at least twice the input size is decoded at 1/2, 1/4 or 1/8 scale in libjpeg's DCT (the scan
recorded each image's size), which is several times cheaper than a full decode and averages pixels
rather than dropping them: on two cores that leaves the CPU to the backbone.
Images are squashed to the input size, as the tutorials' generators did, and kept as uint8 until they
leave the optional cache so a cached dataset takes a quarter of the memory. Nothing holds a whole
dataset in one array. One file is `load_image`; an upload's bytes are decoded by the same decoders in
memory (`decode_image`, and `decode_photo` for the photo and the model's image from one decode).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, ImageOps

from lab.data.check import check_bytes, check_file
from lab.data.records import FileCheck, ImageRecord
from lab.errors import LabError

SHUFFLE_BUFFER_AFTER_CACHE = 2048
JPEG_SCALES = (1, 2, 4, 8)


def _size(image_size: int | tuple[int, int]) -> tuple[int, int]:
    return (image_size, image_size) if isinstance(image_size, int) else tuple(image_size)


def _pil_decode(path: np.ndarray | bytes) -> np.ndarray:
    with Image.open(np.asarray(path).item().decode()) as image:
        return _pil_pixels(image)


def _pil_pixels(image: Image.Image) -> np.ndarray:
    """Decode with Pillow: first frame, EXIF orientation applied, 16-bit scaled (not clipped) to 8."""
    image.seek(0)
    upright = ImageOps.exif_transpose(image)
    if upright.mode.startswith("I"):
        wide = np.asarray(upright, dtype=np.uint32)
        scale = 257 if wide.max() > 255 else 1
        return np.repeat((wide // scale).astype(np.uint8)[..., None], 3, axis=-1)
    return np.asarray(upright.convert("RGB"), dtype=np.uint8)


def _jpeg_scale(shape: tf.Tensor, size: tuple[int, int] | None) -> tf.Tensor:
    """Index into JPEG_SCALES of the coarsest DCT scale that still leaves at least `size` pixels."""
    if size is None:
        return tf.constant(0)
    height, width = shape[0], shape[1]
    index = tf.constant(0)
    for i, scale in enumerate(JPEG_SCALES):
        index = tf.where((height >= size[0] * scale) & (width >= size[1] * scale), i, index)
    return index


def _native_decode(data: tf.Tensor, shape: tf.Tensor, size: tuple[int, int] | None) -> tf.Tensor:
    """A file's bytes through TensorFlow's decoders; a JPEG at the coarsest DCT scale that still fits `size`."""
    def jpeg() -> tf.Tensor:
        branches = [lambda s=s: tf.io.decode_jpeg(data, channels=3, ratio=s) for s in JPEG_SCALES]
        return tf.switch_case(_jpeg_scale(shape, size), branches)

    def other() -> tf.Tensor:
        return tf.io.decode_image(data, channels=3, expand_animations=False)

    return tf.cond(tf.io.is_jpeg(data), jpeg, other)


def _decode(path: tf.Tensor, needs_pil: tf.Tensor, shape: tf.Tensor, size: tuple[int, int] | None) -> tf.Tensor:
    def native() -> tf.Tensor:
        return _native_decode(tf.io.read_file(path), shape, size)

    def pillow() -> tf.Tensor:
        return tf.numpy_function(_pil_decode, [path], tf.uint8, stateful=False)

    image = tf.cond(needs_pil, pillow, native)
    image.set_shape([None, None, 3])
    return image


def _resize(image: tf.Tensor, size: tuple[int, int]) -> tf.Tensor:
    resized = tf.image.resize(image, size, method="bilinear")
    return tf.cast(tf.clip_by_value(tf.round(resized), 0, 255), tf.uint8)


def _decode_and_resize(path: tf.Tensor, needs_pil: tf.Tensor, shape: tf.Tensor,
                       size: tuple[int, int] | None) -> tf.Tensor:
    image = _decode(path, needs_pil, shape, size)
    return image if size is None else _resize(image, size)


def image_dataset(
    records: Sequence[ImageRecord],
    classes: Sequence[str],
    image_size: int | tuple[int, int],
    batch_size: int,
    *,
    shuffle: bool = False,
    seed: int = 0,
    augment: Callable[[tf.Tensor], tf.Tensor] | None = None,
    cache: bool | str = False,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches of (float32 images in [0, 255], int32 labels). `augment` runs on whole batches.

    `cache=True` keeps decoded images in memory (small datasets, many epochs), a string caches them in
    files with that prefix. Without a cache the file list is shuffled before decoding, so shuffling
    costs nothing; with one, decoded images are shuffled in a bounded buffer.
    """
    if not records:
        raise LabError("No images to build a dataset from: check the data source and the split sizes.")
    index = {label: i for i, label in enumerate(classes)}
    missing = sorted({r.label for r in records} - index.keys())
    if missing:
        raise LabError(f"Images labelled {missing} are not among the classes {list(classes)}.")
    size = _size(image_size)
    files = tf.data.Dataset.from_tensor_slices((
        [r.path for r in records],
        np.array([index[r.label] for r in records], dtype=np.int32),
        np.array([r.needs_pil for r in records], dtype=bool),
        np.array([(r.height, r.width) for r in records], dtype=np.int32),
    ))
    if shuffle and not cache:
        files = files.shuffle(len(records), seed=seed, reshuffle_each_iteration=True)
    images = files.map(lambda path, label, pil, shape: (_decode_and_resize(path, pil, shape, size), label),
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if cache:
        images = images.cache("" if cache is True else str(cache))
        if shuffle:
            images = images.shuffle(min(len(records), SHUFFLE_BUFFER_AFTER_CACHE), seed=seed)
    batches = images.batch(batch_size, drop_remainder=drop_remainder)
    batches = batches.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        # One batch at a time: the layers draw from one random state, so parallel calls would race and
        # the same seed would give different images. Each call is already multi-threaded inside.
        batches = batches.map(lambda x, y: (augment(x), y))
    return batches.prefetch(tf.data.AUTOTUNE)


def load_image(path: str | Path, image_size: int | tuple[int, int] | None) -> np.ndarray:
    """One image as float32 HxWx3 in [0, 255], decoded and resized exactly as `image_dataset` does it.

    The file is checked first, so an upload that is not a usable image gets a `LabError` with the reason.
    """
    check = _usable(check_file(path), path)
    size = None if image_size is None else _size(image_size)
    image = _decode_and_resize(tf.constant(str(path)), tf.constant(check.needs_pil), _shape(check), size)
    return image.numpy().astype(np.float32)


def decode_image(data: bytes, name: str, image_size: int | tuple[int, int] | None) -> np.ndarray:
    """`load_image` for a file's content in memory (an upload, named `name`), never written to a file."""
    check = _usable(check_bytes(data), name)
    size = None if image_size is None else _size(image_size)
    image = _decode_content(tf.constant(data), check, size)
    return (image if size is None else _resize(image, size)).numpy().astype(np.float32)


def decode_photo(data: bytes, name: str, image_size: int | tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """An upload decoded once for both its uses: the photo at its own size and the image the model sees at
    `image_size`, exactly what `decode_image` gives with `None` and with `image_size`.

    The image is the photo resized, except for a JPEG at least twice `image_size` a side: training reads
    that at a reduced DCT scale, so its image comes from that decode (a quarter of the pixels or fewer).
    """
    check = _usable(check_bytes(data), name)
    size, content = _size(image_size), tf.constant(data)
    photo = _decode_content(content, check, None)
    scaled = not check.needs_pil and bool(tf.io.is_jpeg(content)) and int(_jpeg_scale(_shape(check), size)) > 0
    image = _resize(_decode_content(content, check, size) if scaled else photo, size)
    return photo.numpy().astype(np.float32), image.numpy().astype(np.float32)


def _decode_content(content: tf.Tensor, check: FileCheck, size: tuple[int, int] | None) -> tf.Tensor:
    """`_decode`, run eagerly on a checked file's content in memory."""
    if check.needs_pil:
        with Image.open(io.BytesIO(content.numpy())) as image:
            return tf.constant(_pil_pixels(image))
    return _native_decode(content, _shape(check), size)


def _shape(check: FileCheck) -> tf.Tensor:
    return tf.constant([check.height, check.width])


def _usable(check: FileCheck, name: str | Path) -> FileCheck:
    """The check of a usable file; else a `LabError` naming the file (its last part: an upload's name may
    carry folders) and why it is not usable."""
    if not check.ok:
        raise LabError(f"{Path(name).name or 'upload'} cannot be used: {check.reason}.")
    return check
