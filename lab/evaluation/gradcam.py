"""Why a model decided: Grad-CAM heatmaps, and the activation maps of any backbone layer.

Every model the lab saves is one chain: raw 0..255 images -> preprocessing -> backbone (a nested Keras
model) -> pooling -> head (a nested model) -> probabilities (`lab.training.models.assemble`). Grad-CAM
(Selvaraju et al., as in keras-io's `examples/vision/grad_cam.py`) needs the backbone's last convolutional
feature map and the gradient of a class score with respect to it. Keras 3 cannot cut a nested functional
model in two, so the backbone is rebuilt once as a model with two outputs (the map and its usual output)
and the chain is run layer by layer under a `tf.GradientTape`, traced once into a graph.

The class score is the head's logit, taken before its softmax (or sigmoid): the gradient of a probability
vanishes when the model is sure, and a confident model would get an empty heatmap.

TensorFlow and Keras are imported inside functions. Must not import Streamlit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from lab.errors import LabError

POOLING_LAYERS = ("MaxPooling2D", "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D")
OVERLAY_ALPHA = 0.45
GRID_GAP = 2


@dataclass(frozen=True)
class ModelParts:
    """A saved model's chain around its backbone: the layers before it (preprocessing) and after it."""

    before: tuple[Any, ...]
    backbone: Any
    after: tuple[Any, ...]

    def preprocess(self, images):
        for layer in self.before:
            images = layer(images, training=False)
        return images


def model_parts(model) -> ModelParts:
    """Split a lab model at its backbone: the nested model that is neither preprocessing nor the head."""
    import keras

    layers = [layer for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    for index, layer in enumerate(layers):
        if isinstance(layer, keras.Model) and layer.name != "head" and not layer.name.startswith("preprocess_"):
            return ModelParts(tuple(layers[:index]), layer, tuple(layers[index + 1:]))
    raise LabError(f"Model {model.name} has no nested backbone, so Grad-CAM cannot find its feature maps; "
                   "use a model trained by the lab.")


def feature_layers(backbone) -> list[str]:
    """The backbone's layers that output image-shaped maps (4-D), input to output: what a user may look at."""
    return [layer.name for layer in backbone.layers if len(layer.output.shape) == 4
            and type(layer).__name__ != "InputLayer"]


def last_conv_layer(backbone) -> str:
    """The last layer whose output is a 4-D map, pooling excepted: MobileNetV2's `out_relu`, VGG16's
    `block5_conv3`, a tutorial CNN's last Conv2D."""
    for layer in reversed(backbone.layers):
        if len(layer.output.shape) == 4 and type(layer).__name__ not in POOLING_LAYERS + ("InputLayer",):
            return layer.name
    raise LabError(f"Backbone {backbone.name} has no convolutional feature map for Grad-CAM.")


class GradCam:
    """Probabilities and Grad-CAM heatmaps for a batch of raw images, in one traced pass."""

    def __init__(self, model) -> None:
        import keras
        import tensorflow as tf

        self.parts = model_parts(model)
        backbone = self.parts.backbone
        self.layer = last_conv_layer(backbone)
        self._tap = keras.Model(backbone.inputs, [backbone.get_layer(self.layer).output, backbone.output])
        size = tuple(model.input_shape[1:3])
        self._run = tf.function(self._explain, input_signature=[
            tf.TensorSpec((None, *size, 3), tf.float32), tf.TensorSpec((None,), tf.int32)])

    def __call__(self, images: np.ndarray, class_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(probabilities (n, classes), heatmaps (n, height, width) in [0, 1]) for images (n, h, w, 3).

        `class_index` picks each image's class (-1 or None: the predicted one).
        """
        probabilities, heatmaps, _ = self.with_features(images, class_index)
        return probabilities, heatmaps

    def with_features(self, images: np.ndarray,
                      class_index: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """`self(images, class_index)` and each image's pooled backbone features (what the out-of-distribution
        check scores, `lab.evaluation.pooled_features`), from the same pass."""
        chosen = np.full(len(images), -1) if class_index is None else np.asarray(class_index)
        outputs = self._run(np.asarray(images, dtype=np.float32), chosen.astype(np.int32))
        return tuple(output.numpy() for output in outputs)

    def _explain(self, images, class_index):
        import tensorflow as tf

        with tf.GradientTape() as tape:
            maps, features = self._tap(self.parts.preprocess(images), training=False)
            scores, probabilities = _scores_and_probabilities(self.parts.after, features)
            predicted = tf.argmax(probabilities, axis=-1, output_type=tf.int32)
            chosen = tf.where(class_index < 0, predicted, class_index)
            score = tf.gather(scores, chosen, batch_dims=1)
        gradients = tape.gradient(score, maps)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(maps * weights, axis=-1, keepdims=True))
        cam = tf.image.resize(cam, tf.shape(images)[1:3], method="bilinear")[..., 0]
        peak = tf.reduce_max(cam, axis=(1, 2), keepdims=True)
        pooled = tf.reduce_mean(features, axis=(1, 2)) if len(features.shape) == 4 else features
        return probabilities, tf.math.divide_no_nan(cam, peak), pooled


def _scores_and_probabilities(after, x):
    """Run pooling and head from the backbone's output: (class logits, the model's own probabilities).

    A softmax layer's logits are its pre-activation; a sigmoid unit widened to [1 - p, p] (the tutorials'
    heads) scores the two classes -z and z, whose sigmoids are exactly those probabilities.
    """
    import keras
    import tensorflow as tf

    for layer in _chain(after):
        activation = getattr(getattr(layer, "activation", None), "__name__", "")
        if activation in ("softmax", "sigmoid"):
            logits = tf.matmul(x, layer.kernel) + layer.bias
            probabilities = layer(x, training=False)
            for rest in _chain(after, after=layer):
                probabilities = rest(probabilities, training=False)
            return (logits if activation == "softmax" else tf.concat([-logits, logits], -1)), probabilities
        if not isinstance(layer, keras.layers.InputLayer):
            x = layer(x, training=False)
    raise LabError("The model's head ends in neither softmax nor sigmoid, so it has no class scores.")


def _chain(layers, after=None) -> list:
    """The layers in order with nested models (the head) flattened; those after `after` when it is given."""
    import keras

    flat = []
    for layer in layers:
        flat.extend(layer.layers if isinstance(layer, keras.Model) else [layer])
    return flat[flat.index(after) + 1:] if after is not None else flat


def feature_maps(model, image: np.ndarray, layer: str, *, limit: int = 64) -> np.ndarray:
    """A backbone layer's activation maps for one raw image, each scaled to [0, 1], as one uint8 RGB grid.

    The first `limit` channels are tiled in a near-square grid, as the five-model tutorial shows VGG16's
    bottleneck maps: what the network "sees" at that depth.
    """
    import keras

    parts = model_parts(model)
    if layer not in feature_layers(parts.backbone):
        raise LabError(f"layer={layer!r} is not a feature-map layer of {parts.backbone.name}; choose one of: "
                       f"{', '.join(feature_layers(parts.backbone))}.")
    tap = keras.Model(parts.backbone.inputs, parts.backbone.get_layer(layer).output)
    maps = np.asarray(tap(parts.preprocess(np.asarray(image, np.float32)[None]), training=False))[0]
    return colorize(_tile(_unit_scale(maps[..., :limit])))


def _unit_scale(maps: np.ndarray) -> np.ndarray:
    low = maps.min(axis=(0, 1), keepdims=True)
    span = maps.max(axis=(0, 1), keepdims=True) - low
    return np.divide(maps - low, span, out=np.zeros_like(maps, dtype=np.float32), where=span > 0)


def _tile(maps: np.ndarray) -> np.ndarray:
    """(h, w, n) maps -> one (rows*h, cols*w) image with a gap between the tiles."""
    height, width, count = maps.shape
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.zeros((rows * (height + GRID_GAP) - GRID_GAP, columns * (width + GRID_GAP) - GRID_GAP), np.float32)
    for index in range(count):
        top, left = (index // columns) * (height + GRID_GAP), (index % columns) * (width + GRID_GAP)
        grid[top:top + height, left:left + width] = maps[..., index]
    return grid


def colorize(values: np.ndarray) -> np.ndarray:
    """Values in [0, 1] -> uint8 RGB through the "jet" colour map (blue low, red high), as keras-io shows it."""
    v = np.clip(values, 0.0, 1.0)[..., None]
    rgb = np.clip(1.5 - np.abs(4.0 * v - np.array([3.0, 2.0, 1.0])), 0.0, 1.0)
    return (rgb * 255).round().astype(np.uint8)


def overlay(image: np.ndarray, heatmap: np.ndarray, alpha: float = OVERLAY_ALPHA) -> np.ndarray:
    """The heatmap in colour over the photo, uint8 RGB of the photo's size (the heatmap is resized to it)."""
    from PIL import Image

    photo = np.asarray(image, dtype=np.float32)
    if heatmap.shape != photo.shape[:2]:
        resized = Image.fromarray(np.asarray(heatmap, np.float32), mode="F").resize(
            (photo.shape[1], photo.shape[0]), Image.BILINEAR)
        heatmap = np.asarray(resized)
    blended = (1 - alpha) * photo + alpha * colorize(heatmap).astype(np.float32)
    return np.clip(blended.round(), 0, 255).astype(np.uint8)
