"""The backbone factory: a registry row built into a Keras model, timm-style (`timm/models/_factory.py`).

`build_backbone` takes a row of `lab.training.backbones` and an already-resolved `WeightsSource`
(`lab.training.weights`), so a run resolves its weights once; `create_backbone(name, weights, ...)` does
both for benches and tests. Each backbone's preprocessing is built from stock Keras layers
(`preprocessing_layer`), so a saved model takes raw 0..255 images and loads without custom objects.
`count_flops` is how the registry's FLOPs were counted.

TensorFlow and Keras are imported inside the functions that build.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from lab.errors import LabError
from lab.settings import Settings
from lab.training.backbones import BackboneSpec, CnnLayers, get_spec
from lab.training.weights import WeightsSource, resolve_weights, weights_mismatch


@dataclass
class Backbone:
    """A built backbone: `model` maps preprocessed images to features; `preprocess` maps raw 0..255
    images to what `model` expects (None when the Keras model preprocesses itself)."""

    spec: BackboneSpec
    model: Any
    preprocess: Any
    image_size: int
    weights: WeightsSource

    def __call__(self, images, training: bool = False):
        """Raw 0..255 images -> features. `training=False` keeps BatchNorm in inference mode."""
        x = self.preprocess(images) if self.preprocess is not None else images
        return self.model(x, training=training)


def create_backbone(name: str, weights: str = "none", image_size: int | None = None, *,
                    alpha: float | None = None, settings: Settings | None = None) -> Backbone:
    """Build backbone `name` for square `image_size` images (default: its native size), without a top.

    The factory for callers that start from a name (benches, tests): it checks the name and size,
    resolves the weights, then builds. weights: "imagenet", "none", or a weights file path / name (see
    `lab.training.weights.resolve_weights`). alpha: MobileNet width multiplier; by default read from
    the weights file name, else 1.0.
    """
    spec = get_spec(name)
    size = image_size or spec.native_size
    if size < spec.min_size:
        raise LabError(f"image_size={size} is too small for {name}; it needs at least {spec.min_size} pixels.")
    return build_backbone(spec, resolve_weights(spec, weights, image_size=size, alpha=alpha, settings=settings), size)


def build_backbone(spec: BackboneSpec, weights: WeightsSource, image_size: int) -> Backbone:
    """Build `spec` for square `image_size` images with weights already resolved (a valid size for it)."""
    model = _build(spec, image_size, weights)
    return Backbone(spec, model, preprocessing_layer(spec.preprocessing), image_size, weights.with_digest())


def _build(spec: BackboneSpec, size: int, source: WeightsSource):
    if spec.cnn is not None:
        return _tutorial_cnn(spec.name, spec.cnn, size)
    import keras

    constructor = getattr(keras.applications, spec.constructor)
    options: dict[str, Any] = {"include_top": False, "input_shape": (size, size, 3)}
    if spec.width_multiplier:
        options["alpha"] = source.alpha or 1.0
    try:
        model = constructor(weights="imagenet" if source.kind == "imagenet" else None, **options)
    except (ValueError, OSError) as error:
        what = f"weights file {source.path}" if source.kind == "file" else f"{source.kind} weights"
        raise LabError(
            f"Could not load {what} into {spec.name} ({_describe(options)}): {error}. Check that the file is "
            "meant for this backbone (and, for MobileNets, its width multiplier alpha)."
        ) from error
    if source.kind == "file":
        try:
            with warnings.catch_warnings():  # a mismatched file warns once per layer before it fails
                warnings.filterwarnings("ignore", message="Skipping nested container")
                model.load_weights(source.path)
        except (ValueError, OSError) as error:  # Keras's message holds the tensors' values: kilobytes
            raise LabError(f"Could not load weights file {source.path} into {spec.name} ({_describe(options)}): "
                           f"{weights_mismatch(model, source.path, spec)}") from error
    return model


def _describe(options: dict[str, Any]) -> str:
    size = options["input_shape"][0]
    return f"{size}px" + (f", alpha {options['alpha']}" if "alpha" in options else "")


def _tutorial_cnn(name: str, cnn: CnnLayers, size: int):
    """The five-model tutorial's own CNN as its row describes it, up to (not including) the output layer."""
    import keras
    from keras import layers

    inputs = keras.Input((size, size, 3))
    x = inputs
    for index, count in enumerate(cnn.filters, start=1):
        x = layers.Conv2D(count, 3, activation="relu", name=f"conv{index}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    for index, units in enumerate(cnn.dense, start=1):
        x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        if cnn.dropout:
            x = layers.Dropout(cnn.dropout, name=f"dropout{index}")(x)
    return keras.Model(inputs, x, name=name)


_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocessing_layer(mode: str):
    """The backbone's `keras.applications` preprocess_input as stock Keras layers (so saved models load
    anywhere without custom objects), or None when the model preprocesses itself."""
    import keras
    import numpy as np
    from keras import layers

    if mode == "included":
        return None
    if mode == "tf":
        steps = [layers.Rescaling(1 / 127.5, offset=-1.0)]
    elif mode == "unit":
        steps = [layers.Rescaling(1 / 255.0)]
    elif mode == "torch":
        steps = [layers.Rescaling(1 / 255.0),
                 layers.Normalization(mean=_TORCH_MEAN, variance=[s * s for s in _TORCH_STD])]
    elif mode == "caffe":
        swap = layers.Dense(3, trainable=False, name="rgb_to_bgr_minus_mean")
        swap.build((None, 3))
        swap.set_weights([np.eye(3, dtype="float32")[::-1], -np.array(_CAFFE_MEAN_BGR, dtype="float32")])
        steps = [swap]
    else:
        raise ValueError(f"unknown preprocessing mode {mode!r}")
    return keras.Sequential(steps, name=f"preprocess_{mode}")


def count_flops(model) -> int:
    """FLOPs per image: 2 x multiply-adds of Conv2D, DepthwiseConv2D, SeparableConv2D and Dense layers,
    from the layers' input and output shapes (nested models included)."""
    total = 0
    for layer in _leaf_layers(model):
        total += _layer_macs(layer)
    return 2 * total


def _leaf_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _leaf_layers(layer)
        else:
            yield layer


def _layer_macs(layer) -> int:
    import math

    from keras import layers

    if not isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.SeparableConv2D, layers.Dense)):
        return 0
    in_shape, out_shape = layer.input.shape, layer.output.shape
    out_pixels = math.prod(d for d in out_shape[1:-1])
    if isinstance(layer, layers.Dense):
        return math.prod(in_shape[1:]) * layer.units
    kernel = math.prod(layer.kernel_size)
    if isinstance(layer, layers.DepthwiseConv2D):
        return out_pixels * out_shape[-1] * kernel
    if isinstance(layer, layers.SeparableConv2D):
        return out_pixels * (in_shape[-1] * layer.depth_multiplier * kernel + in_shape[-1] * layer.depth_multiplier
                             * out_shape[-1])
    return out_pixels * out_shape[-1] * kernel * in_shape[-1] // layer.groups
