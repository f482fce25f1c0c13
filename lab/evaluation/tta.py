"""Test-time augmentation (TTA): each photo predicted as it is and as a few altered views, the answers averaged.

A mirror image of a dog is still a dog, so the model's answers to a photo and to its mirror image are two looks
at the same evidence; averaging them smooths over what one look got by chance. Two sets of views (`VIEWS`):

- "flip": the photo and its horizontal mirror image (2 forward passes per photo);
- "crops": those two and the photo's four corners, each `CROP` of its sides, resized back to the model's
  input (6 passes), as the ImageNet papers' multi-crop evaluation does on a small scale.

The views are made from decoded batches of raw 0..255 pixels, the model's own input, so each goes through the
model (preprocessing included) exactly as a photo does. Each photo is decoded once: a batch of b photos becomes
one batch of v * b views, and the answers are taken apart again by view. View 0 is the photo itself, so the
plain answers come from the same pass. The gain is measured photo by photo against the plain answers on the same
photos (`tta_gain`): its interval is for paired proportions, as only the photos TTA changed say anything. The
probabilities averaged are the model's own; the run's temperature (`lab.evaluation.calibration`) applies after,
as to any answer.

TensorFlow is imported inside the functions that need it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.evaluation.accuracy_text import accuracy_text, interval_bounds
from lab.evaluation.paired import pair
from lab.evaluation.predictions import Predictions, batch_progress
from lab.progress import Progress, no_progress

VIEWS = {"flip": ("the photo", "its mirror image"),
         "crops": ("the photo", "its mirror image", "top-left crop", "top-right crop", "bottom-left crop",
                   "bottom-right crop")}
CROP = 0.875  # a corner crop keeps this share of each side (the central 87.5% is the usual single crop)


def check_views(views: str) -> str:
    """`views` if it names a set of views, else a `LabError` naming the choices."""
    if views not in VIEWS:
        raise LabError(f"tta={views!r} is not a set of test-time views; choose one of: {', '.join(VIEWS)}.")
    return views


def view_batch(images, views: str):
    """A batch of images (b, h, w, 3) as its views, view after view: (len(VIEWS[views]) * b, h, w, 3)."""
    import tensorflow as tf

    images = tf.convert_to_tensor(images, dtype=tf.float32)
    shown = [images, tf.image.flip_left_right(images)]
    if views == "crops":
        height, width = int(images.shape[1]), int(images.shape[2])
        tall, wide = round(height * CROP), round(width * CROP)
        for top, left in ((0, 0), (0, width - wide), (height - tall, 0), (height - tall, width - wide)):
            shown.append(tf.image.resize(images[:, top:top + tall, left:left + wide], (height, width)))
    return tf.concat(shown, axis=0)


def split_views(probabilities: np.ndarray, views: str, batch: int) -> np.ndarray:
    """The model's answers to one `view_batch` of `batch` photos, taken apart: (views, batch, classes)."""
    return np.asarray(probabilities).reshape(len(VIEWS[views]), batch, -1)


def predict_views(model, images: np.ndarray, views: str) -> np.ndarray:
    """The model's probabilities for a batch of decoded images (b, h, w, 3), averaged over `views`: (b, classes)."""
    batch = np.asarray(images, dtype=np.float32)
    answers = model.predict_on_batch(view_batch(batch, check_views(views)))
    return split_views(answers, views, len(batch)).mean(axis=0)


def predict_records_tta(model, records: Sequence[ImageRecord], classes: Sequence[str], *, split: str, views: str,
                        image_size: int, batch_size: int = 32,
                        on_progress: Progress = no_progress) -> tuple[Predictions, Predictions]:
    """`predict_records` with test-time views: (the plain predictions, the predictions averaged over `views`),
    from one decode of each photo through the training pipeline."""
    from lab.data.pipeline import image_dataset

    check_views(views)
    images = image_dataset(records, classes, image_size, batch_size).map(lambda batch, _: view_batch(batch, views))
    callbacks = [] if on_progress is no_progress else [batch_progress(on_progress, len(records), batch_size, split)]
    answers = np.asarray(model.predict(images, verbose=0, callbacks=callbacks))
    parts, start = [], 0
    for first in range(0, len(records), batch_size):
        batch = min(batch_size, len(records) - first)
        parts.append(split_views(answers[start:start + len(VIEWS[views]) * batch], views, batch))
        start += len(VIEWS[views]) * batch
    every = np.concatenate(parts, axis=1)
    return (Predictions.of(records, classes, split, every[0]),
            Predictions.of(records, classes, split, every.mean(axis=0)))


def tta_gain(plain: Predictions, viewed: Predictions, views: str) -> dict[str, Any]:
    """What TTA changed on one evaluation set, paired photo by photo: its accuracy with its interval, the plain
    accuracy, the gain with its 95% interval (Newcombe's, for paired proportions), and the photos it fixed and
    broke."""
    counts = pair(viewed, plain).counts()
    return {"views": views, "images": len(viewed), "accuracy": viewed.accuracy,
            "accuracy_interval": interval_bounds(viewed.accuracy, len(viewed)), "plain_accuracy": plain.accuracy,
            "gain": counts.difference, "gain_interval": list(counts.interval()),
            "fixed": counts.only_first, "broken": counts.only_second}


def gain_words(gain: dict[str, Any]) -> str:
    """"With TTA (flip): 97.5% (95.6-98.6%), +0.5 points over the plain answers (-0.8 to +1.8); 3 photos fixed,
    1 broken"."""
    low, high = (100 * bound for bound in gain["gain_interval"])
    return (f"With TTA ({gain['views']}): {accuracy_text(gain['accuracy'], gain['images'])}, "
            f"{100 * gain['gain']:+.1f} points over the plain answers ({low:+.1f} to {high:+.1f}); "
            f"{gain['fixed']} photos fixed, {gain['broken']} broken")
