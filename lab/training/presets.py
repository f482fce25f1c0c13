"""The experiments of the two tutorials the lab teaches from, as ready-made `TrainConfig`s (and studies).

The Keras tutorial (VGG16 on 20K and on 1K images) and the five models of the "hands-on transfer
learning" tutorial (basic CNN, with dropout, with augmentation, VGG16 bottleneck features, frozen
VGG16 with augmentation, fine-tuned VGG16), plus the lab's own quick start. Edit one before launch
with `dataclasses.replace(PRESETS[name], ...)`; the page and `lab train --preset` start from them.
`STUDY_PRESETS` are whole dataset-size studies (a config and its sizes), for `lab study --preset`.
`DESCRIPTIONS` says what each experiment is and where it comes from, for people choosing one.

Image sizes: the Keras tutorial's presets use VGG16's native 224 px and the tutorial CNNs their own
150 px. Two kinds deviate from the backbone's native size, on purpose: the five-model tutorial's VGG16
runs keep its 150 px (a reproduction keeps the tutorial's choices), and the quick start runs
MobileNetV2 at 160 px for speed; what that costs was measured and is in `MEASURED_SIZE_EFFECTS`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from lab.training.config import TrainConfig

# Both tutorials start from ImageNet VGG16 on the same 20K images, seed 42, so their subsets nest.
_VGG16_ON_20K: dict[str, Any] = {"data": "dogs-vs-cats-20k-160px", "backbone": "vgg16", "weights": "imagenet",
                                 "seed": 42}


def _five_model(**changes: Any) -> TrainConfig:
    """The five-model tutorial's common setup: 150px images, batch 30, RMSprop, 30 epochs, 3,000 + 1,000 images."""
    base = TrainConfig(
        **_VGG16_ON_20K,
        image_size=150,
        epochs=30,
        batch_size=30,
        optimizer="rmsprop",
        learning_rate=1e-4,
        train_size=3000,
        validation_size=1000,
    )
    return dataclasses.replace(base, **changes)


def _keras_tutorial(**changes: Any) -> TrainConfig:
    """The Keras tutorial: frozen VGG16, GAP -> BatchNorm -> Dropout 0.2 -> softmax, Adam, 224px, batch 64,
    its ImageDataGenerator augmentation; 10 epochs on the 20K images. Its 1K run (500 + 500 training,
    100 + 100 validation images, 20 epochs) draws from the same set, so the subset nests inside."""
    base = TrainConfig(
        **_VGG16_ON_20K,
        strategy="frozen",
        head="keras_tutorial",
        image_size=224,
        epochs=10,
        batch_size=64,
        optimizer="adam",
        learning_rate=1e-3,
        augment="keras-tutorial",
    )
    return dataclasses.replace(base, **changes)


MOBILENET_V2_WEIGHTS = "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"

PRESETS: dict[str, TrainConfig] = {
    "keras-tutorial-vgg16-20k": _keras_tutorial(),
    "keras-tutorial-vgg16-1k": _keras_tutorial(train_size=1000, validation_size=200, epochs=20),
    "basic-cnn": _five_model(backbone="basic_cnn", weights="none", strategy="scratch", learning_rate=1e-3),
    "basic-cnn-dropout": _five_model(
        backbone="basic_cnn_dropout", weights="none", strategy="scratch", learning_rate=1e-3
    ),
    "basic-cnn-augmented": _five_model(
        backbone="basic_cnn_dropout", weights="none", strategy="scratch", augment="five-model-tutorial", epochs=100
    ),
    "vgg16-features": _five_model(strategy="feature-extractor", head="five_model_tutorial"),
    "vgg16-frozen-augmented": _five_model(
        strategy="frozen", head="five_model_tutorial", augment="five-model-tutorial", learning_rate=2e-5, epochs=100
    ),
    "vgg16-fine-tune": _five_model(
        strategy="fine-tune",
        head="five_model_tutorial",
        augment="five-model-tutorial",
        learning_rate=2e-5,
        epochs=10,
        fine_tune_at="block4",
        fine_tune_learning_rate=1e-5,
        fine_tune_epochs=90,
    ),
    # The lab's own quick start: the defaults (MobileNetV2 feature extractor) with the shared weights, at 160 px
    # on purpose (about 2x less computation than its native 224 px; the cost is in MEASURED_SIZE_EFFECTS).
    "mobilenet-v2-quick": TrainConfig(data="cats_and_dogs_filtered", weights=MOBILENET_V2_WEIGHTS,
                                      head="keras_tutorial", image_size=160, epochs=5, train_size=1000),
}


DESCRIPTIONS: dict[str, str] = {
    "keras-tutorial-vgg16-20k": "Keras tutorial: frozen VGG16 with augmentation, on all 20,000 photos",
    "keras-tutorial-vgg16-1k": "Keras tutorial: the same on 1,000 photos (does data matter?)",
    "basic-cnn": "Hands-on tutorial: a small CNN trained from scratch",
    "basic-cnn-dropout": "Hands-on tutorial: the small CNN with dropout",
    "basic-cnn-augmented": "Hands-on tutorial: the small CNN with dropout and augmentation",
    "vgg16-features": "Hands-on tutorial: VGG16 features once, a dense head on top",
    "vgg16-frozen-augmented": "Hands-on tutorial: frozen VGG16 with augmentation",
    "vgg16-fine-tune": "Hands-on tutorial: VGG16 fine-tuned from block 4",
    "mobilenet-v2-quick": "Quick start (this lab): MobileNetV2 features, 1,000 photos, 5 epochs",
}

# What a smaller image costs in accuracy, where it was measured: (backbone, size) -> in words. A MobileNetV2
# feature extractor on 1,000 images of cats_and_dogs_filtered reached 0.968 best validation accuracy at 160 px
# and 0.990 at 224 px (more epochs there); a linear probe on the same features put the size alone at 1-1.5 points.
MEASURED_SIZE_EFFECTS: dict[tuple[str, int], str] = {
    ("mobilenet_v2", 160): "about 1-1.5 points lower accuracy, measured on cats_and_dogs_filtered",
}


@dataclass(frozen=True)
class StudyPreset:
    """A dataset-size study ready to launch: one config, the training-set sizes ("1000,all") and repeats."""

    config: TrainConfig
    sizes: str
    repeats: int = 1


# The Keras tutorial's question (does 20x more data help?) answered on a CPU: MobileNetV2 features stand in
# for VGG16's, extracted once for the whole training split of the 20K set (~16,000 images once 10% validation
# and 10% test are held out) and read from the cache by the 1,000-image run; 20 epochs, the tutorial's 1K count.
STUDY_PRESETS: dict[str, StudyPreset] = {
    "dataset-size-study": StudyPreset(
        TrainConfig(data="dogs-vs-cats-20k-160px", backbone="mobilenet_v2", weights=MOBILENET_V2_WEIGHTS,
                    strategy="feature-extractor", head="keras_tutorial", image_size=224, epochs=20, batch_size=64,
                    optimizer="adam", learning_rate=1e-3, seed=42),
        sizes="1000,all",
    ),
}
