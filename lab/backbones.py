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
import hashlib
import os
import re
import socket
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.settings import Settings, load_settings

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
        _spec("vgg16", "VGG16", 224, "caffe", 14_714_688, 30.70,
              {"block4": "block3_pool", "block5": "block4_pool"}, _KERAS_NOTOP.format("vgg16"), r"^vgg16"),
        _spec("vgg19", "VGG19", 224, "caffe", 20_024_384, 39.03,
              {"block4": "block3_pool", "block5": "block4_pool"}, _KERAS_NOTOP.format("vgg19"), r"^vgg19"),
        _spec("resnet50", "ResNet50", 224, "caffe", 23_587_712, 7.72,
              {"conv4": "conv3_block4_out", "conv5": "conv4_block6_out"},
              _KERAS_NOTOP.format("resnet50"), r"^resnet50(?!_?v2)"),
        _spec("resnet50_v2", "ResNet50V2", 224, "tf", 23_564_800, 6.97,
              {"conv4": "conv3_block4_out", "conv5": "conv4_block6_out"},
              _KERAS_NOTOP.format("resnet50v2"), r"^resnet50_?v2"),
        _spec("mobilenet", "MobileNet", 224, "tf", 3_228_864, 1.14,
              {"conv_12": "conv_pw_11_relu", "conv_13": "conv_pw_12_relu"},
              "mobilenet_{alpha_text}_{rows}_tf_no_top.h5", r"^mobilenet_(?!v[23])", width_multiplier=True),
        _spec("mobilenet_v2", "MobileNetV2", 224, "tf", 2_257_984, 0.61,
              {"block_13": "block_12_add", "block_16": "block_15_add"},
              "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{alpha}_{rows}_no_top.h5", r"^mobilenet_?v2",
              width_multiplier=True),
        _spec("mobilenet_v3_small", "MobileNetV3Small", 224, "included", 939_120, 0.11,
              {"block_9": "expanded_conv_8_project_bn", "block_10": "expanded_conv_9_add"},
              "weights_mobilenet_v3_small_224_1.0_float_no_top_v2.h5", r"mobilenet_?v3_?small"),
        _spec("mobilenet_v3_large", "MobileNetV3Large", 224, "included", 2_996_352, 0.43,
              {"block_12": "expanded_conv_11_add", "block_14": "expanded_conv_13_add"},
              "weights_mobilenet_v3_large_224_1.0_float_no_top_v2.h5", r"mobilenet_?v3_?large"),
        _spec("efficientnet_b0", "EfficientNetB0", 224, "included", 4_049_571, 0.78,
              {"block6": "block5c_add", "block7": "block6d_add"}, "efficientnetb0_notop.h5",
              r"^efficientnet_?b0"),
        _spec("efficientnet_b1", "EfficientNetB1", 240, "included", 6_575_239, 1.38,
              {"block6": "block5d_add", "block7": "block6e_add"}, "efficientnetb1_notop.h5",
              r"^efficientnet_?b1"),
        _spec("efficientnet_b2", "EfficientNetB2", 260, "included", 7_768_569, 1.98,
              {"block6": "block5d_add", "block7": "block6e_add"}, "efficientnetb2_notop.h5",
              r"^efficientnet_?b2"),
        _spec("efficientnet_b3", "EfficientNetB3", 300, "included", 10_783_535, 3.63,
              {"block6": "block5e_add", "block7": "block6f_add"}, "efficientnetb3_notop.h5",
              r"^efficientnet_?b3"),
        _spec("efficientnet_v2_b0", "EfficientNetV2B0", 224, "included", 5_919_312, 1.41,
              {"block5": "block4c_add", "block6": "block5h_add"}, "efficientnetv2-b0_notop.h5",
              r"^efficientnet_?v2[-_]?b0"),
        _spec("densenet121", "DenseNet121", 224, "torch", 7_037_504, 5.70,
              {"conv4": "pool3_pool", "conv5": "pool4_pool"}, _KERAS_NOTOP.format("densenet121"),
              r"^densenet_?121"),
        _spec("inception_v3", "InceptionV3", 299, "tf", 21_802_784, 11.45,
              {"mixed9": "mixed8", "mixed10": "mixed9"}, _KERAS_NOTOP.format("inception_v3"),
              r"^inception_?v3", min_size=75),
        _spec("xception", "Xception", 299, "tf", 20_861_480, 16.71,
              {"block13": "block12_sepconv3_bn", "block14": "block13_pool"}, _KERAS_NOTOP.format("xception"),
              r"^xception", min_size=71),
        _spec("convnext_tiny", "ConvNeXtTiny", 224, "included", 27_820_128, 8.92,
              {"stage_3": "convnext_tiny_stage_2_block_8_identity",
               "stage_3_block_2": "convnext_tiny_stage_3_block_1_identity"},
              "convnext_tiny_notop.h5", r"^convnext_?tiny"),
        _spec("basic_cnn", "", 150, "unit", 9_521_088, 0.27, {}, "", ""),
        _spec("basic_cnn_dropout", "", 150, "unit", 3_584_576, 0.27, {}, "", ""),
    )
}


def get_spec(name: str) -> BackboneSpec:
    """The registry entry, or a `LabError` listing the known names."""
    try:
        return BACKBONES[name]
    except KeyError:
        raise LabError(f"backbone={name!r} is unknown; choose one of: {', '.join(BACKBONES)}.") from None
