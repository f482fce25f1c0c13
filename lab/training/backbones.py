"""The registry of backbones: one entry per network, one factory, timm-style.

Adding a backbone is one `BackboneSpec` in `BACKBONES`; nothing else changes. Each entry knows its
Keras constructor, native and minimum input size, its preprocessing (built from stock Keras layers so
a saved model takes raw 0..255 images and loads without custom objects), its named fine-tune
boundaries, the Keras file its ImageNet weights come in, and its size: parameters and FLOPs per image
at the native size without the classifier top. FLOPs are 2 x the multiply-adds of the convolution and
dense layers counted from the built model's layer shapes by `count_flops` (BatchNorm, activations and
pooling are left out); the table was filled by running it, and a test re-counts a few entries.

Where weights come from: "imagenet" (Keras's own download and cache; offline, fail at once naming
the file and the folder to put it in), a local weights file (a path, or a file name found in
`settings.weights_dirs`; the MobileNet width multiplier is read from names like
`mobilenet_0.25_128...`), or "none" (random initialisation, marked so in the run).

This module does not import TensorFlow at load time: pages list backbones without paying for it.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.settings import Settings, load_settings
from lab.storage import file_digest

WEIGHTS_HOST = ("storage.googleapis.com", 443)
WEIGHT_SUFFIXES = (".h5", ".keras")


@dataclass(frozen=True)
class BackboneSpec:
    """What the lab knows about one backbone without building it.

    constructor: the `keras.applications` attribute, or "" for the tutorial's own CNNs.
    preprocessing: "caffe" (BGR, ImageNet means subtracted), "tf" (scaled to [-1, 1]), "torch"
        (scaled to [0, 1], ImageNet mean/std), "included" (the Keras model does it itself),
        "unit" (scaled to [0, 1], the tutorial's `rescale=1/255`).
    boundaries: fine-tune boundary name -> the layer after which every layer is unfrozen.
    imagenet_file: Keras's cache file name for the no-top ImageNet weights ("{alpha}" / "{rows}"
        filled in for the MobileNets).
    file_pattern: regex matching local weight file names meant for this backbone.
    """

    name: str
    constructor: str
    native_size: int
    min_size: int
    preprocessing: str
    params: int
    gflops: float
    boundaries: dict[str, str] = field(default_factory=dict)
    imagenet_file: str = ""
    file_pattern: str = ""
    width_multiplier: bool = False

    @property
    def from_scratch_only(self) -> bool:
        """The tutorial's own CNNs have no pretrained weights: they only train from scratch."""
        return not self.constructor

    @property
    def default_boundary(self) -> str:
        return next(iter(self.boundaries), "")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _spec(name: str, constructor: str, native: int, preprocessing: str, params: int, gflops: float,
          boundaries: dict[str, str], imagenet_file: str, file_pattern: str, *, min_size: int = 32,
          width_multiplier: bool = False) -> BackboneSpec:
    return BackboneSpec(name, constructor, native, min_size, preprocessing, params, gflops, boundaries,
                        imagenet_file, file_pattern, width_multiplier)


_KERAS_NOTOP = "{}_weights_tf_dim_ordering_tf_kernels_notop.h5"

BACKBONES: dict[str, BackboneSpec] = {
    spec.name: spec
    for spec in (
        _spec("vgg16", "VGG16", 224, "caffe", 14_714_688, 30.69,
              {"block4": "block3_pool", "block5": "block4_pool"}, _KERAS_NOTOP.format("vgg16"), r"^vgg16"),
        _spec("vgg19", "VGG19", 224, "caffe", 20_024_384, 39.02,
              {"block4": "block3_pool", "block5": "block4_pool"}, _KERAS_NOTOP.format("vgg19"), r"^vgg19"),
        _spec("resnet50", "ResNet50", 224, "caffe", 23_587_712, 7.71,
              {"conv4": "conv3_block4_out", "conv5": "conv4_block6_out"},
              _KERAS_NOTOP.format("resnet50"), r"^resnet50(?!_?v2)"),
        _spec("resnet50_v2", "ResNet50V2", 224, "tf", 23_564_800, 6.96,
              {"conv4": "conv3_block4_out", "conv5": "conv4_block6_out"},
              _KERAS_NOTOP.format("resnet50v2"), r"^resnet50_?v2"),
        _spec("mobilenet", "MobileNet", 224, "tf", 3_228_864, 1.14,
              {"conv_12": "conv_pw_11_relu", "conv_13": "conv_pw_12_relu"},
              "mobilenet_{alpha_text}_{rows}_tf_no_top.h5", r"^mobilenet_(?!v[23])", width_multiplier=True),
        _spec("mobilenet_v2", "MobileNetV2", 224, "tf", 2_257_984, 0.60,
              {"block_13": "block_12_add", "block_16": "block_15_add"},
              "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}_no_top.h5", r"^mobilenet_?v2",
              width_multiplier=True),
        _spec("mobilenet_v3_small", "MobileNetV3Small", 224, "included", 939_120, 0.11,
              {"block_9": "expanded_conv_8_project_bn", "block_10": "expanded_conv_9_add"},
              "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5", r"mobilenet_?v3_?small"),
        _spec("mobilenet_v3_large", "MobileNetV3Large", 224, "included", 2_996_352, 0.43,
              {"block_12": "expanded_conv_11_add", "block_14": "expanded_conv_13_add"},
              "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5", r"mobilenet_?v3_?large"),
        _spec("efficientnet_b0", "EfficientNetB0", 224, "included", 4_049_571, 0.77,
              {"block6": "block5c_add", "block7": "block6d_add"}, "efficientnetb0_notop.h5",
              r"^efficientnet_?b0"),
        _spec("efficientnet_b1", "EfficientNetB1", 240, "included", 6_575_239, 1.37,
              {"block6": "block5d_add", "block7": "block6e_add"}, "efficientnetb1_notop.h5",
              r"^efficientnet_?b1"),
        _spec("efficientnet_b2", "EfficientNetB2", 260, "included", 7_768_569, 1.98,
              {"block6": "block5d_add", "block7": "block6e_add"}, "efficientnetb2_notop.h5",
              r"^efficientnet_?b2"),
        _spec("efficientnet_b3", "EfficientNetB3", 300, "included", 10_783_535, 3.65,
              {"block6": "block5e_add", "block7": "block6f_add"}, "efficientnetb3_notop.h5",
              r"^efficientnet_?b3"),
        _spec("efficientnet_v2_b0", "EfficientNetV2B0", 224, "included", 5_919_312, 1.43,
              {"block5": "block4c_add", "block6": "block5e_add"}, "efficientnetv2-b0_notop.h5",
              r"^efficientnet_?v2[-_]?b0"),
        _spec("densenet121", "DenseNet121", 224, "torch", 7_037_504, 5.67,
              {"conv4": "pool3_pool", "conv5": "pool4_pool"}, _KERAS_NOTOP.format("densenet121"),
              r"^densenet_?121"),
        _spec("inception_v3", "InceptionV3", 299, "tf", 21_802_784, 11.42,
              {"mixed9": "mixed8", "mixed10": "mixed9"}, _KERAS_NOTOP.format("inception_v3"),
              r"^inception_?v3", min_size=75),
        _spec("xception", "Xception", 299, "tf", 20_861_480, 16.71,
              {"block13": "block12_sepconv3_bn", "block14": "block13_pool"}, _KERAS_NOTOP.format("xception"),
              r"^xception", min_size=71),
        _spec("convnext_tiny", "ConvNeXtTiny", 224, "included", 27_820_128, 8.91,
              {"stage_3": "convnext_tiny_stage_2_block_8_identity",
               "stage_3_block_2": "convnext_tiny_stage_3_block_1_identity"},
              "convnext_tiny_notop.h5", r"^convnext_?tiny"),
        _spec("basic_cnn", "", 150, "unit", 19_024_000, 0.32, {}, "", ""),
        _spec("basic_cnn_dropout", "", 150, "unit", 3_705_600, 0.36, {}, "", ""),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """The registry entry, or a `LabError` listing the known names."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise LabError(f"backbone={name!r} is unknown; choose one of: {', '.join(BACKBONES)}.") from None


@dataclass(frozen=True)
class WeightsSource:
    """Which weights a backbone got: recorded in every run so a result can be traced to its weights.

    kind: "imagenet" (Keras's download/cache), "file" (a local weights file) or "none" (random).
    """

    kind: str
    path: str | None = None
    sha256: str | None = None
    alpha: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def keras_cache_dir() -> Path:
    """Where Keras caches downloaded weights (`$KERAS_HOME/models`, default `~/.keras/models`)."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def imagenet_file_name(name: str, image_size: int | None = None, alpha: float = 1.0) -> str:
    """The file Keras downloads for `name`'s no-top ImageNet weights (the MobileNets' depend on size and alpha)."""
    spec = get_spec(name)
    if not spec.imagenet_file:
        raise LabError(f"{name} is the tutorial's own CNN: it has no ImageNet weights; use weights 'none'.")
    rows = image_size or spec.native_size
    if spec.name == "mobilenet":
        rows = rows if rows in (128, 160, 192, 224) else 224
        alpha_text = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0"}.get(alpha, "2_5")
        return spec.imagenet_file.format(alpha_text=alpha_text, rows=rows)
    if spec.name == "mobilenet_v2":
        rows = rows if rows in (96, 128, 160, 192, 224) else 224
        return spec.imagenet_file.format(alpha=float(alpha), rows=rows)
    return spec.imagenet_file


def alpha_from_file_name(file_name: str) -> float | None:
    """The MobileNet width multiplier a weights file name states: `mobilenet_0.25_128...` -> 0.25,
    Keras's `mobilenet_2_5_128_tf_no_top.h5` -> 0.25; None when the name states none."""
    decimal = re.search(r"(?<![\d.])(\d\.\d+)_\d+", file_name)
    if decimal:
        return float(decimal.group(1))
    keras_style = re.search(r"_(\d)_(\d)_\d+_tf", file_name)
    if keras_style:
        return {"1_0": 1.0}.get(f"{keras_style.group(1)}_{keras_style.group(2)}",
                                float(f"0.{keras_style.group(1)}{keras_style.group(2)}"))
    return None


@functools.lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    return file_digest(path)


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, remembered per (path, size, mtime) so large weight files hash once per process."""
    stat = os.stat(path)
    return _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=1)
def online() -> bool:
    """Whether Keras's weights host answers (checked once per process, 3-second timeout)."""
    try:
        socket.create_connection(WEIGHTS_HOST, timeout=3).close()
        return True
    except OSError:
        return False


def resolve_weights(name: str, weights: str, *, image_size: int | None = None, alpha: float | None = None,
                    settings: Settings | None = None) -> WeightsSource:
    """Decide where `name`'s weights come from, before anything is built or loaded.

    Fails at once, with what to do, when the weights cannot be had: ImageNet weights neither cached
    nor downloadable, a file that does not exist in any weights folder, pretrained weights for the
    tutorial's own CNNs.
    """
    spec = get_spec(name)
    if weights == "none":
        return WeightsSource("none", alpha=alpha if spec.width_multiplier else None)
    if spec.from_scratch_only:
        raise LabError(f"{name} is the tutorial's own CNN and has no pretrained weights; use weights 'none'.")
    settings = settings or load_settings()
    if weights == "imagenet":
        return _imagenet(spec, image_size, alpha if alpha is not None else 1.0, settings)
    path = find_weights_file(weights, settings)
    if spec.width_multiplier and alpha is None:
        alpha = alpha_from_file_name(path.name) or 1.0
    return WeightsSource("file", str(path), file_sha256(path), alpha if spec.width_multiplier else None)


def _imagenet(spec: BackboneSpec, image_size: int | None, alpha: float, settings: Settings) -> WeightsSource:
    file_name = imagenet_file_name(spec.name, image_size, alpha)
    cached = keras_cache_dir() / file_name
    keep_alpha = alpha if spec.width_multiplier else None
    if cached.exists():
        return WeightsSource("imagenet", str(cached), file_sha256(cached), keep_alpha)
    if online():
        return WeightsSource("imagenet", str(cached), None, keep_alpha)  # Keras downloads it when built
    local = weights_available(settings).get(spec.name, [])
    hint = f" This machine has local weights for {spec.name}: use weights {Path(local[-1]).name!r}." if (
        local and local[-1] not in ("none", "imagenet")) else ""
    folders = ", ".join(map(str, settings.weights_dirs)) or "a weights folder"
    raise LabError(
        f"ImageNet weights for {spec.name} are not in Keras's cache and there is no network to download them: "
        f"place the file {file_name!r} in {keras_cache_dir()} (or run once where there is internet), or use a "
        f"local weights file (a path, or a file name in {folders}), or weights 'none'.{hint}"
    )


def find_weights_file(weights: str, settings: Settings) -> Path:
    """A weights value that is a path to an existing file, or a file name inside one of the weights folders."""
    candidate = Path(weights).expanduser()
    if candidate.is_file():
        return candidate.resolve()
    for folder in settings.weights_dirs:
        if (folder / weights).is_file():
            return (folder / weights).resolve()
    folders = ", ".join(map(str, settings.weights_dirs)) or "none configured (set TRANSFER_LAB_WEIGHTS_DIR)"
    raise LabError(
        f"weights={weights!r} is neither 'imagenet', 'none', an existing file, nor a file in the weights "
        f"folders ({folders}); check the name or put the file in one of those folders."
    )


def weights_available(settings: Settings | None = None) -> dict[str, list[str]]:
    """Per backbone, the `weights` values usable on this machine: "none", "imagenet" when Keras's file
    is cached (or the network is up), and every matching local file (full paths)."""
    settings = settings or load_settings()
    files = sorted({p.resolve() for folder in settings.weights_dirs if folder.is_dir()
                    for p in folder.iterdir() if p.is_file() and p.name.endswith(".h5")})
    available: dict[str, list[str]] = {}
    for spec in BACKBONES.values():
        choices = ["none"]
        if spec.imagenet_file and (online() or _any_imagenet_cached(spec)):
            choices.append("imagenet")
        if spec.file_pattern:
            choices += [str(p) for p in files if re.search(spec.file_pattern, p.name)]
        available[spec.name] = choices
    return available


def _any_imagenet_cached(spec: BackboneSpec) -> bool:
    pattern = re.escape(spec.imagenet_file).replace(r"\{alpha_text\}", ".+").replace(r"\{alpha\}", ".+")
    pattern = pattern.replace(r"\{rows\}", r"\d+")
    folder = keras_cache_dir()
    return folder.is_dir() and any(re.fullmatch(pattern, p.name) for p in folder.iterdir())


def create_backbone(name: str, weights: str = "none", image_size: int | None = None, *,
                    alpha: float | None = None, settings: Settings | None = None) -> Backbone:
    """Build backbone `name` for square `image_size` images (default: its native size), without a top.

    weights: "imagenet", "none", or a weights file path / name (see `resolve_weights`).
    alpha: MobileNet width multiplier; by default read from the weights file name, else 1.0.
    """
    spec = get_spec(name)
    size = image_size or spec.native_size
    if size < spec.min_size:
        raise LabError(f"image_size={size} is too small for {name}; it needs at least {spec.min_size} pixels.")
    source = resolve_weights(name, weights, image_size=size, alpha=alpha, settings=settings)
    model = _build(spec, size, source)
    if source.kind == "imagenet" and source.sha256 is None:
        source = WeightsSource("imagenet", source.path, file_sha256(source.path), source.alpha)
    return Backbone(spec, model, preprocessing_layer(spec.preprocessing), size, source)


def _build(spec: BackboneSpec, size: int, source: WeightsSource):
    if spec.from_scratch_only:
        return _basic_cnn(spec.name, size)
    import keras

    constructor = getattr(keras.applications, spec.constructor)
    options: dict[str, Any] = {"include_top": False, "input_shape": (size, size, 3)}
    if spec.width_multiplier:
        options["alpha"] = source.alpha or 1.0
    try:
        model = constructor(weights="imagenet" if source.kind == "imagenet" else None, **options)
        if source.kind == "file":
            with warnings.catch_warnings():  # a mismatched file warns once per layer before it fails
                warnings.filterwarnings("ignore", message="Skipping nested container")
                model.load_weights(source.path)
    except (ValueError, OSError) as error:
        what = f"weights file {source.path}" if source.kind == "file" else f"{source.kind} weights"
        raise LabError(
            f"Could not load {what} into {spec.name} ({_describe(options)}): {error}. Check that the file is "
            "meant for this backbone (and, for MobileNets, its width multiplier alpha)."
        ) from error
    return model


def _describe(options: dict[str, Any]) -> str:
    size = options["input_shape"][0]
    return f"{size}px" + (f", alpha {options['alpha']}" if "alpha" in options else "")


def _basic_cnn(name: str, size: int):
    """The five-model tutorial's own CNNs, up to (not including) the output layer.

    basic_cnn: 3 conv blocks (16, 64, 128 filters), Flatten, Dense 512.
    basic_cnn_dropout: 4 conv blocks (16, 64, 128, 128), Flatten, Dense 512, Dropout 0.3, Dense 512, Dropout 0.3.
    """
    import keras
    from keras import layers

    filters = (16, 64, 128) if name == "basic_cnn" else (16, 64, 128, 128)
    inputs = keras.Input((size, size, 3))
    x = inputs
    for index, count in enumerate(filters, start=1):
        x = layers.Conv2D(count, 3, activation="relu", name=f"conv{index}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{index}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(512, activation="relu", name="dense1")(x)
    if name == "basic_cnn_dropout":
        x = layers.Dropout(0.3, name="dropout1")(x)
        x = layers.Dense(512, activation="relu", name="dense2")(x)
        x = layers.Dropout(0.3, name="dropout2")(x)
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
