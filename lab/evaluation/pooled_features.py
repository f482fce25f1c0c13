"""A run's pooled backbone features: what the out-of-distribution check (`lab.evaluation.novelty`) scores.

The features are the backbone's output averaged over the image (global average pooling), whatever the run's
head pools: the Keras tutorial's head sees exactly these; the five-model tutorial's flattens the same map (its
cached rows are averaged back here, `pool_cached`); a CNN from scratch ends in its own dense layers, whose
output is used as it is. One size per backbone (MobileNetV2: 1,280 numbers), small enough to fit statistics on.

`with_features` rebuilds a lab model (raw images -> preprocessing -> backbone -> pooling -> head) with a second
output, the pooled features, from the same layers and weights: one pass over the photos gives both the
answer and what the check needs. TensorFlow and Keras are imported inside the functions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from lab.data.records import ImageRecord
from lab.evaluation.gradcam import model_parts
from lab.evaluation.predictions import Predictions, batch_progress
from lab.progress import Progress, no_progress


def with_features(model):
    """`model` with two outputs: its probabilities and the backbone's pooled features (same weights)."""
    import keras

    parts = model_parts(model)
    inputs = keras.Input(model.input_shape[1:], name="image")
    x = inputs
    for layer in parts.before:
        x = layer(x)
    mapped = parts.backbone(x, training=False)
    probabilities = mapped
    for layer in parts.after:
        probabilities = layer(probabilities)
    pooled = keras.layers.GlobalAveragePooling2D(name="novelty_pool")(mapped) if len(mapped.shape) == 4 else mapped
    return keras.Model(inputs, [probabilities, pooled], name=f"{model.name}_with_features")


def predict_with_features(two_outputs, records: Sequence[ImageRecord], classes: Sequence[str], *, split: str,
                          image_size: int, batch_size: int = 32,
                          on_progress: Progress = no_progress) -> tuple[Predictions, np.ndarray]:
    """`records` through `with_features(model)` and the training pipeline: their predictions and pooled features."""
    from lab.data.pipeline import image_dataset

    images = image_dataset(records, classes, image_size, batch_size).map(lambda batch, _: batch)
    callbacks = [] if on_progress is no_progress else [batch_progress(on_progress, len(records), batch_size, split)]
    probabilities, features = two_outputs.predict(images, verbose=0, callbacks=callbacks)
    return Predictions.of(records, classes, split, probabilities), np.asarray(features, dtype=np.float32)


def pool_cached(features: np.ndarray, map_shape: Sequence[int]) -> np.ndarray:
    """Cached feature rows (`lab.training.features`) as pooled features: rows of a flattened (h, w, c) map are
    averaged over h and w; rows already average-pooled, or of a backbone that ends in a vector, stay as they are."""
    rows = np.asarray(features, dtype=np.float32)
    if len(map_shape) == 3 and rows.shape[1] == math.prod(map_shape) and rows.shape[1] != map_shape[-1]:
        return rows.reshape(len(rows), *map_shape).mean(axis=(1, 2))
    return rows
