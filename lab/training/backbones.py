"""The registry of backbones: one row per network, one factory, timm-style.

Adding a backbone is one `BackboneSpec` row in `BACKBONES`, written with keyword fields; nothing else
changes. Each row knows its Keras constructor, native and minimum input size, its preprocessing
(built from stock Keras layers so a saved model takes raw 0..255 images and loads without custom
objects), its named fine-tune boundaries, the Keras file its ImageNet weights come in (and, for the
MobileNets, the sizes and width multipliers those files exist for), and its size: parameters and
FLOPs per image at the native size without the classifier top. FLOPs are 2 x the multiply-adds of the
convolution and dense layers counted from the built model's layer shapes by `count_flops` (BatchNorm,
activations and pooling are left out); the table was filled by running it, and a test re-counts a few
entries. The tutorial's own CNNs carry their layer sizes in their row (`CnnLayers`).

Where the weights come from is `lab.training.weights`: `build_backbone` takes an already-resolved
`WeightsSource`, so a run resolves its weights once; `create_backbone(name, weights, ...)` does both
for benches and tests.

This module does not import TensorFlow at load time: pages list backbones without paying for it.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lab.errors import LabError
from lab.settings import Settings

if TYPE_CHECKING:
    from lab.training.weights import WeightsSource


@dataclass(frozen=True)
class CnnLayers:
    """One of the tutorial's own CNNs up to (not including) its output layer: a conv block (3x3 ReLU
    convolution, 2x2 max pooling) per entry of `filters`, Flatten, then a ReLU Dense layer per entry of
    `dense`, each followed by Dropout at `dropout` when it is above 0."""

    filters: tuple[int, ...]
    dense: tuple[int, ...]
    dropout: float = 0.0


@dataclass(frozen=True, kw_only=True)
class BackboneSpec:
    """What the lab knows about one backbone without building it.

    constructor: the `keras.applications` attribute; "" for the tutorial's own CNNs, which have `cnn`.
    preprocessing: "caffe" (BGR, ImageNet means subtracted), "tf" (scaled to [-1, 1]), "torch"
        (scaled to [0, 1], ImageNet mean/std), "included" (the Keras model does it itself),
        "unit" (scaled to [0, 1], the tutorial's `rescale=1/255`).
    boundaries: fine-tune boundary name -> the layer after which every layer is unfrozen.
    imagenet_file: Keras's cache file name for the no-top ImageNet weights; "{rows}" and "{alpha}"
        are filled in for the MobileNets, which publish one file per input size in `imagenet_sizes`
        and per width multiplier in `alphas` (alpha -> how the file name spells it).
    file_pattern: regex matching local weight file names meant for this backbone.
    """

    name: str
    native_size: int
    preprocessing: str
    params: int
    gflops: float
    constructor: str = ""
    min_size: int = 32
    boundaries: dict[str, str] = field(default_factory=dict)
    imagenet_file: str = ""
    imagenet_sizes: tuple[int, ...] = ()
    alphas: dict[float, str] = field(default_factory=dict)
    file_pattern: str = ""
    cnn: CnnLayers | None = None

    @property
    def from_scratch_only(self) -> bool:
        """The tutorial's own CNNs have no pretrained weights: they only train from scratch."""
        return self.cnn is not None

    @property
    def width_multiplier(self) -> bool:
        """Whether the constructor takes a width multiplier `alpha` (the MobileNets, which list theirs)."""
        return bool(self.alphas)

    @property
    def default_boundary(self) -> str:
        return next(iter(self.boundaries), "")


def _keras_notop(name: str) -> str:
    return f"{name}_weights_tf_dim_ordering_tf_kernels_notop.h5"


BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        BackboneSpec(name="vgg16", constructor="VGG16", native_size=224, preprocessing="caffe", params=14_714_688,
                     gflops=30.69, boundaries={"block4": "block3_pool", "block5": "block4_pool"},
                     imagenet_file=_keras_notop("vgg16"), file_pattern=r"^vgg16"),
        BackboneSpec(name="vgg19", constructor="VGG19", native_size=224, preprocessing="caffe", params=20_024_384,
                     gflops=39.02, boundaries={"block4": "block3_pool", "block5": "block4_pool"},
                     imagenet_file=_keras_notop("vgg19"), file_pattern=r"^vgg19"),
        BackboneSpec(name="resnet50", constructor="ResNet50", native_size=224, preprocessing="caffe",
                     params=23_587_712, gflops=7.71,
                     boundaries={"conv4": "conv3_block4_out", "conv5": "conv4_block6_out"},
                     imagenet_file=_keras_notop("resnet50"), file_pattern=r"^resnet50(?!_?v2)"),
        BackboneSpec(name="resnet50_v2", constructor="ResNet50V2", native_size=224, preprocessing="tf",
                     params=23_564_800, gflops=6.96,
                     boundaries={"conv4": "conv3_block4_out", "conv5": "conv4_block6_out"},
                     imagenet_file=_keras_notop("resnet50v2"), file_pattern=r"^resnet50_?v2"),
        BackboneSpec(name="mobilenet", constructor="MobileNet", native_size=224, preprocessing="tf",
                     params=3_228_864, gflops=1.14,
                     boundaries={"conv_12": "conv_pw_11_relu", "conv_13": "conv_pw_12_relu"},
                     imagenet_file="mobilenet_{alpha}_{rows}_tf_no_top.h5", imagenet_sizes=(128, 160, 192, 224),
                     alphas={1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"},
                     file_pattern=r"^mobilenet_(?!v[23])"),
        BackboneSpec(name="mobilenet_v2", constructor="MobileNetV2", native_size=224, preprocessing="tf",
                     params=2_257_984, gflops=0.60,
                     boundaries={"block_13": "block_12_add", "block_16": "block_15_add"},
                     imagenet_file="mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}_no_top.h5",
                     imagenet_sizes=(96, 128, 160, 192, 224),
                     alphas={alpha: str(alpha) for alpha in (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)},
                     file_pattern=r"^mobilenet_?v2"),
        BackboneSpec(name="mobilenet_v3_small", constructor="MobileNetV3Small", native_size=224,
                     preprocessing="included", params=939_120, gflops=0.11,
                     boundaries={"block_9": "expanded_conv_8_project_bn", "block_10": "expanded_conv_9_add"},
                     imagenet_file="weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5",
                     file_pattern=r"mobilenet_?v3_?small"),
        BackboneSpec(name="mobilenet_v3_large", constructor="MobileNetV3Large", native_size=224,
                     preprocessing="included", params=2_996_352, gflops=0.43,
                     boundaries={"block_12": "expanded_conv_11_add", "block_14": "expanded_conv_13_add"},
                     imagenet_file="weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5",
                     file_pattern=r"mobilenet_?v3_?large"),
        BackboneSpec(name="efficientnet_b0", constructor="EfficientNetB0", native_size=224, preprocessing="included",
                     params=4_049_571, gflops=0.77, boundaries={"block6": "block5c_add", "block7": "block6d_add"},
                     imagenet_file="efficientnetb0_notop.h5", file_pattern=r"^efficientnet_?b0"),
        BackboneSpec(name="efficientnet_b1", constructor="EfficientNetB1", native_size=240, preprocessing="included",
                     params=6_575_239, gflops=1.37, boundaries={"block6": "block5d_add", "block7": "block6e_add"},
                     imagenet_file="efficientnetb1_notop.h5", file_pattern=r"^efficientnet_?b1"),
        BackboneSpec(name="efficientnet_b2", constructor="EfficientNetB2", native_size=260, preprocessing="included",
                     params=7_768_569, gflops=1.98, boundaries={"block6": "block5d_add", "block7": "block6e_add"},
                     imagenet_file="efficientnetb2_notop.h5", file_pattern=r"^efficientnet_?b2"),
        BackboneSpec(name="efficientnet_b3", constructor="EfficientNetB3", native_size=300, preprocessing="included",
                     params=10_783_535, gflops=3.65, boundaries={"block6": "block5e_add", "block7": "block6f_add"},
                     imagenet_file="efficientnetb3_notop.h5", file_pattern=r"^efficientnet_?b3"),
        BackboneSpec(name="efficientnet_v2_b0", constructor="EfficientNetV2B0", native_size=224,
                     preprocessing="included", params=5_919_312, gflops=1.43,
                     boundaries={"block5": "block4c_add", "block6": "block5e_add"},
                     imagenet_file="efficientnetv2-b0_notop.h5", file_pattern=r"^efficientnet_?v2[-_]?b0"),
        BackboneSpec(name="densenet121", constructor="DenseNet121", native_size=224, preprocessing="torch",
                     params=7_037_504, gflops=5.67, boundaries={"conv4": "pool3_pool", "conv5": "pool4_pool"},
                     imagenet_file=_keras_notop("densenet121"), file_pattern=r"^densenet_?121"),
        BackboneSpec(name="inception_v3", constructor="InceptionV3", native_size=299, min_size=75, preprocessing="tf",
                     params=21_802_784, gflops=11.42, boundaries={"mixed9": "mixed8", "mixed10": "mixed9"},
                     imagenet_file=_keras_notop("inception_v3"), file_pattern=r"^inception_?v3"),
        BackboneSpec(name="xception", constructor="Xception", native_size=299, min_size=71, preprocessing="tf",
                     params=20_861_480, gflops=16.71,
                     boundaries={"block13": "block12_sepconv3_bn", "block14": "block13_pool"},
                     imagenet_file=_keras_notop("xception"), file_pattern=r"^xception"),
        BackboneSpec(name="convnext_tiny", constructor="ConvNeXtTiny", native_size=224, preprocessing="included",
                     params=27_820_128, gflops=8.91,
                     boundaries={"stage_3": "convnext_tiny_stage_2_block_8_identity",
                                 "stage_3_block_2": "convnext_tiny_stage_3_block_1_identity"},
                     imagenet_file="convnext_tiny_notop.h5", file_pattern=r"^convnext_?tiny"),
        BackboneSpec(name="basic_cnn", native_size=150, preprocessing="unit", params=19_024_000, gflops=0.32,
                     cnn=CnnLayers(filters=(16, 64, 128), dense=(512,))),
        BackboneSpec(name="basic_cnn_dropout", native_size=150, preprocessing="unit", params=3_705_600, gflops=0.36,
                     cnn=CnnLayers(filters=(16, 64, 128, 128), dense=(512, 512), dropout=0.3)),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """The registry entry, or a `LabError` listing the known names."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise LabError(f"backbone={name!r} is unknown; choose one of: {', '.join(BACKBONES)}.") from None


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
    from lab.training.weights import resolve_weights

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
            from lab.training.weights import weights_mismatch

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
