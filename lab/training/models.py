"""Heads and the training strategies, read top to bottom like the keras-io transfer-learning guide.

Every model the lab saves takes raw 0..255 images and returns one probability per class: the
backbone's preprocessing is a layer inside it, and a sigmoid output is widened to [1 - p, p] by a
fixed Dense layer. Only stock Keras layers are used, so `keras.saving.load_model` opens any saved
model without custom objects.

- scratch: every weight trains from random initialisation; BatchNorm trains normally.
- frozen: the backbone is frozen and called with `training=False`, so its BatchNorm layers stay in
  inference mode (their moving statistics are never updated by a small new dataset).
- fine-tune: the same model; `unfreeze_from` opens the layers after a named boundary, BatchNorm
  layers excepted, and the backbone still runs with `training=False`.
- feature-extractor: the head trains alone on cached features (`lab.training.features`); `assemble` then
  puts preprocessing, backbone, pooling and the trained head into one end-to-end model.
"""

from __future__ import annotations

from typing import Any

from lab.errors import LabError
from lab.training.backbone_factory import Backbone

# Head name -> how the backbone's feature map is pooled before it. A user chooses among the first three;
# "output_only" is what head "auto" means for the tutorial's own CNNs, which end in their own dense
# layers: only the output layer is added.
POOLING = {"keras_tutorial": "avg", "five_model_tutorial": "flatten", "linear": "avg", "output_only": "none"}
CHOOSABLE_HEADS = ("keras_tutorial", "five_model_tutorial", "linear")
OUTPUT_ONLY = "output_only"


def pooling_layer(pooling: str):
    """The layer that turns the backbone's feature map into what a head sees: "avg" (global average),
    "flatten", or "none" (the map as it is). Models and the feature cache both pool through it, so cached
    features are exactly what the assembled model computes."""
    from keras import layers

    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name="pool")
    if pooling == "flatten":
        return layers.Flatten(name="pool")
    return layers.Identity(name="pool")


def build_head(head: str, feature_dim: int, num_classes: int):
    """The head after pooling, as its own model: pooled features (feature_dim,) -> class probabilities.

    keras_tutorial: BatchNorm -> Dropout 0.2 -> Dense softmax (after GlobalAveragePooling).
    five_model_tutorial: Dense 512 -> Dropout 0.3 -> Dense 512 -> Dropout 0.3 -> sigmoid (after Flatten).
    linear: Dense softmax (after GlobalAveragePooling): logistic regression on the features.
    output_only: the output layer only, for the tutorial's CNNs that end in their own dense layers (sigmoid).
    """
    import keras
    from keras import layers

    if head not in POOLING:
        raise LabError(f"head={head!r} is unknown; choose one of: {', '.join(POOLING)}.")
    inputs = keras.Input((feature_dim,), name="features")
    x = inputs
    if head == "keras_tutorial":
        x = layers.BatchNormalization(name="head_bn")(x)
        x = layers.Dropout(0.2, name="head_dropout")(x)
        outputs = _softmax(x, num_classes)
    elif head == "five_model_tutorial":
        for index in (1, 2):
            x = layers.Dense(512, activation="relu", name=f"head_dense{index}")(x)
            x = layers.Dropout(0.3, name=f"head_dropout{index}")(x)
        outputs = _sigmoid_or_softmax(x, num_classes)
    elif head == "linear":
        outputs = _softmax(x, num_classes)
    else:
        outputs = _sigmoid_or_softmax(x, num_classes)
    return keras.Model(inputs, outputs, name="head")


def _softmax(x, num_classes: int):
    from keras import layers

    return layers.Dense(num_classes, activation="softmax", dtype="float32", name="probabilities")(x)


def _sigmoid_or_softmax(x, num_classes: int):
    """The tutorials' single sigmoid unit for two classes, widened to [1 - p, p] so every model outputs
    one probability per class; softmax for more classes."""
    import numpy as np
    from keras import layers

    if num_classes != 2:
        return _softmax(x, num_classes)
    p = layers.Dense(1, activation="sigmoid", dtype="float32", name="sigmoid")(x)
    widen = layers.Dense(2, trainable=False, dtype="float32", name="probabilities")
    widen.build((None, 1))
    widen.set_weights([np.array([[-1.0, 1.0]], dtype="float32"), np.array([1.0, 0.0], dtype="float32")])
    return widen(p)


def feature_dim(backbone: Backbone, head: str) -> int:
    """How many numbers per image the head sees after pooling the backbone's output."""
    import math

    shape = backbone.model.output.shape[1:]
    return shape[-1] if POOLING[head] == "avg" else math.prod(shape)


def assemble(backbone: Backbone, head_model, head: str, *, training_backbone: bool = False):
    """Raw images -> preprocessing -> backbone -> pooling -> head: the model that is trained and saved.

    `training_backbone=False` fixes the backbone's call to `training=False` (BatchNorm in inference
    mode even while fine-tuning); scratch models pass True so BatchNorm learns its statistics.
    """
    import keras

    size = backbone.image_size
    inputs = keras.Input((size, size, 3), name="image")
    x = backbone.preprocess(inputs) if backbone.preprocess is not None else inputs
    x = backbone.model(x, training=None if training_backbone else False)
    x = pooling_layer(POOLING[head])(x)
    outputs = head_model(x)
    return keras.Model(inputs, outputs, name=f"{backbone.spec.name}_{head}")


def build_model(backbone: Backbone, head: str, num_classes: int, strategy: str):
    """The end-to-end model for scratch, frozen and fine-tune (before unfreezing: the backbone frozen)."""
    head_model = build_head(head, feature_dim(backbone, head), num_classes)
    scratch = strategy == "scratch"
    backbone.model.trainable = scratch
    if backbone.preprocess is not None:
        backbone.preprocess.trainable = False
    return assemble(backbone, head_model, head, training_backbone=scratch)


def unfreeze_from(backbone: Backbone, boundary: str) -> int:
    """Unfreeze every layer after the boundary's anchor layer, BatchNorm excepted; return how many.

    BatchNorm stays frozen as the keras-io guide advises: with `training=False` it already uses its
    moving statistics, and keeping its scale and offset fixed protects what pretraining learned.
    """
    from keras import layers

    anchor = backbone.spec.boundaries.get(boundary)
    if anchor is None:
        raise LabError(f"fine_tune_at={boundary!r} is not a boundary of {backbone.spec.name}; choose one of: "
                       f"{', '.join(backbone.spec.boundaries)}.")
    model = backbone.model
    names = [layer.name for layer in model.layers]
    start = names.index(anchor) + 1
    model.trainable = True
    opened = 0
    for index, layer in enumerate(model.layers):
        layer.trainable = index >= start and not isinstance(layer, layers.BatchNormalization)
        opened += int(layer.trainable and bool(layer.weights))
    return opened


def make_optimizer(name: str, learning_rate: float):
    """Adam, RMSprop, or SGD with momentum 0.9 (plain SGD crawls on these problems)."""
    import keras

    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    raise LabError(f"optimizer={name!r} is unknown; choose one of: adam, rmsprop, sgd.")


def compile_model(model, optimizer: str, learning_rate: float) -> None:
    """Sparse labels against per-class probabilities, for every head (the sigmoid heads included)."""
    import keras

    model.compile(
        optimizer=make_optimizer(optimizer, learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")],
    )


def trainable_layers_table(model) -> list[dict[str, Any]]:
    """The tutorials' "which layers train" table: one row per layer, nested models expanded with a
    `model/layer` name, so the backbone's blocks show which side of the boundary they are on."""
    rows: list[dict[str, Any]] = []
    _table_rows(model, "", rows)
    return rows


def _table_rows(model, prefix: str, rows: list[dict[str, Any]]) -> None:
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        name = f"{prefix}{layer.name}"
        if isinstance(layer, keras.Model) and not layer.name.startswith("preprocess_"):
            _table_rows(layer, f"{name}/", rows)
            continue
        rows.append({
            "layer": name,
            "type": type(layer).__name__,
            "trainable": bool(layer.trainable and layer.trainable_weights),
            "parameters": int(layer.count_params()) if layer.built else 0,
        })
