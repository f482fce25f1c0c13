"""The registry of backbones: one row per network, timm-style (`timm/models/_registry.py`). Data only.

Adding a backbone is one `BackboneSpec` row in `BACKBONES`, written with keyword fields; nothing else
changes. Each row knows its Keras constructor, native and minimum input size, its preprocessing
(built from stock Keras layers so a saved model takes raw 0..255 images and loads without custom
objects), its named fine-tune boundaries, the Keras file its ImageNet weights come in (and, for the
MobileNets, the sizes and width multipliers those files exist for), and its size: parameters and
FLOPs per image at the native size without the classifier top. FLOPs are 2 x the multiply-adds of the
convolution and dense layers counted from the built model's layer shapes by
`lab.training.backbone_factory.count_flops` (BatchNorm, activations and pooling are left out); the table was
filled by running it, and a test re-counts a few entries. The tutorial's own CNNs carry their layer sizes in
their row (`CnnLayers`).

Nothing here builds: `lab.training.backbone_factory` builds a row into a model, and `lab.training.weights`
decides where its weights come from; both read this table, which imports neither. No TensorFlow either:
pages list backbones without paying for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from lab.errors import LabError


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
    title: what people call a backbone that has no constructor name (the tutorial's own CNNs).
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
    title: str = ""

    @property
    def display_name(self) -> str:
        """"MobileNetV2", "Basic CNN": the name a backbone's authors gave it, for names people read."""
        return self.title or self.constructor or self.name

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
                     cnn=CnnLayers(filters=(16, 64, 128), dense=(512,)), title="Basic CNN"),
        BackboneSpec(name="basic_cnn_dropout", native_size=150, preprocessing="unit", params=3_705_600, gflops=0.36,
                     cnn=CnnLayers(filters=(16, 64, 128, 128), dense=(512, 512), dropout=0.3),
                     title="CNN with dropout"),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """The registry entry, or a `LabError` listing the known names."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise LabError(f"backbone={name!r} is unknown; choose one of: {', '.join(BACKBONES)}.") from None


PREPROCESSING_WORDS = {
    "caffe": "RGB is flipped to BGR and the ImageNet channel means are subtracted (Keras's 'caffe' mode)",
    "tf": "pixels are scaled from 0..255 to -1..1 (Keras's 'tf' mode)",
    "torch": "pixels are scaled to 0..1 and normalised with the ImageNet mean and standard deviation",
    "included": "the backbone's own first layers rescale and normalise the pixels",
    "unit": "pixels are scaled from 0..255 to 0..1",
}


def preprocessing_words(config: Mapping[str, Any]) -> str:
    """What a model trained with `config` (a run's config.json) does to its raw pixels, in words: an export's
    model card states it (a config naming no backbone reads as "unit")."""
    backbone = config.get("backbone", "")
    mode = get_spec(backbone).preprocessing if backbone else "unit"
    return PREPROCESSING_WORDS.get(mode, mode)
