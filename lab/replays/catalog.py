"""The two tutorials as replays: their experiments, the figures they published, and a quick variant of each.

A replay row is a training preset (`lab.training.presets`) with the accuracy its tutorial reported beside
it. The variant decides the shared splits (validation and test images held out once for every row) and
what it changes to fit a machine: "published" runs each experiment as the tutorial did; "quick" keeps
what each experiment is (its strategy, head and augmentation; the Keras tutorial's 1K against 20K; the
fine-tuned row starting from the bottleneck-features row's head) and trims images and epochs, never so far that
a row cannot learn what its finding needs, so a whole replay fits in about a quarter of an hour on two CPU cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.training.references import FIVE_MODEL_TUTORIAL, KERAS_TUTORIAL

EVERY_ROW = "*"  # a variant's change for every row
# Train until the validation loss stops improving: stop 3 epochs past its lowest (the history keeps them, so the
# basic CNN's overfitting stays visible at the last epoch) and keep the best epoch's weights as the final model.
_UNTIL_LEARNT = {"early_stopping_monitor": "val_loss", "early_stopping_patience": 3, "restore_best_weights": True}


@dataclass(frozen=True)
class Experiment:
    """One row: which preset it runs, what the tutorial reported (None where it gave no figure). `method` is
    what a pretrained row does with its backbone, so that a stand-in's row can say what ran ("MobileNetV2,
    standing in for VGG16: bottleneck features")."""

    key: str
    label: str
    preset: str
    published: float | None
    changes: dict[str, Any] = field(default_factory=dict)  # from the preset, e.g. another backbone
    method: str = ""
    start_from: str = ""  # the key of an earlier row whose trained head this row's head starts from


@dataclass(frozen=True)
class Variant:
    """How a replay is run here: the shared held-out images, changes per row, and what it says about them."""

    name: str
    validation: int | float  # images held out for validation (a count, or a share under 1)
    test: int | float
    changes: dict[str, dict[str, Any]]  # experiment key (or EVERY_ROW) -> TrainConfig changes
    note: str  # how this variant differs from the tutorial, shown in the table's heading

    def changes_for(self, key: str) -> dict[str, Any]:
        return {**self.changes.get(EVERY_ROW, {}), **self.changes.get(key, {})}


@dataclass(frozen=True)
class Replay:
    """A tutorial to reproduce: its experiments in the tutorial's order, and the variants it can run as."""

    name: str
    short: str  # what a teacher calls it in a queue: "five-model replay"
    title: str
    source: str
    data: str
    seed: int
    experiments: tuple[Experiment, ...]
    variants: dict[str, Variant]  # the first is offered first: the quick one, which fits a lesson
    try_backbones: tuple[str, ...] = ()  # "try these too": extra rows for those with weights on the machine


KERAS = Replay(
    name="keras-tutorial",
    short="Keras replay",
    title="Does 20x more data help? VGG16 on 20K images against 1K",
    source=KERAS_TUTORIAL,
    data="dogs-vs-cats-20k-160px",
    seed=42,
    experiments=(
        Experiment("20k", "VGG16 frozen, all training images (the tutorial's 20K)", "keras-tutorial-vgg16-20k", 0.93,
                   method="frozen, all training images (the tutorial's 20K)"),
        Experiment("1k", "VGG16 frozen, 1K images (500 per class)", "keras-tutorial-vgg16-1k", 0.93,
                   method="frozen, 1K images (500 per class)"),
    ),
    variants={
        # Features computed once for all ~16,000 training images, then read from the cache by every other row.
        "quick": Variant("quick", validation=0.1, test=0.1,
                         changes={EVERY_ROW: {"strategy": "feature-extractor", "augment": "none", "image_size": 160}},
                         note="quick: backbone features computed once at 160 px, without augmentation"),
        "published": Variant("published", validation=0.1, test=0.1, changes={},
                             note="as published: frozen backbone on every augmented batch, 224 px"),
    },
    try_backbones=("resnet50", "mobilenet_v2", "efficientnet_b0"),
)

FIVE_MODEL = Replay(
    name="five-model-tutorial",
    short="five-model replay",
    title="Five ways to classify cats and dogs: from a small CNN to fine-tuned VGG16",
    source=FIVE_MODEL_TUTORIAL,
    data="dogs-vs-cats-20k-160px",
    seed=42,
    experiments=(
        Experiment("basic-cnn", "Basic CNN from scratch", "basic-cnn", 0.72),
        Experiment("dropout", "CNN with dropout", "basic-cnn-dropout", None),
        Experiment("augmented", "CNN with dropout and augmentation", "basic-cnn-augmented", 0.82),
        Experiment("features", "VGG16 bottleneck features", "vgg16-features", 0.88, method="bottleneck features"),
        Experiment("frozen", "VGG16 frozen, with augmentation", "vgg16-frozen-augmented", 0.90,
                   method="frozen, with augmentation"),
        # As the tutorial (after Chollet) does: the top model trained on bottleneck features, then the top blocks.
        Experiment("fine-tune", "VGG16 fine-tuned (blocks 4 and 5)", "vgg16-fine-tune", 0.96,
                   method="fine-tuned (the top blocks)", start_from="features"),
    ),
    variants={
        # A faithful miniature: rows trimmed, never starved. The caps are here, in one place (measured on two
        # cores: an epoch of a tutorial CNN on 1,000 photos at 150 px takes about 15 s, augmented or not).
        # - The CNNs from scratch train until their validation loss stops improving, within a cap (`_UNTIL_
        #   LEARNT`). The augmented CNN learns at the other CNNs' RMSprop 1e-3, not its own 1e-4: the tutorial
        #   pairs 1e-4 with 100 epochs on 3,000 photos, and at 1e-4 twenty epochs left it underfit (training 62%).
        # - The fine-tuned row starts from the bottleneck-features row's trained head, as the tutorial does, so
        #   one frozen epoch suffices before the top blocks open at the low rate. Both keep their best epoch on
        #   the validation photos: after 30 epochs the features head had overfit (training 100%, validation loss
        #   0.11 at epoch 3, 0.34 at 30), and fine-tuning from it ended 2 points below it (94.0% against 96.0% on
        #   500 test photos, bench/replays.py 2026-12-05); from its best epoch, fine-tuning scored 95.0% against
        #   its 94.8%. The features head stops 8 epochs past its best (11 epochs then, 2.4 s each).
        "quick": Variant("quick", validation=500, test=500, changes={
            EVERY_ROW: {"train_size": 1000, "validation_size": 500},
            "basic-cnn": {**_UNTIL_LEARNT, "epochs": 12}, "dropout": {**_UNTIL_LEARNT, "epochs": 12},
            "augmented": {**_UNTIL_LEARNT, "epochs": 24, "early_stopping_patience": 4, "learning_rate": 1e-3},
            "features": {**_UNTIL_LEARNT, "epochs": 30, "early_stopping_patience": 8}, "frozen": {"epochs": 8},
            "fine-tune": {**_UNTIL_LEARNT, "epochs": 1, "fine_tune_epochs": 8, "early_stopping_patience": 4},
        }, note="quick: 1,000 / 500 / 500 images at 150 px, the CNNs until their validation loss stops improving"),
        "published": Variant("published", validation=1000, test=1000, changes={},
                             note="as published: 3,000 / 1,000 / 1,000 images at 150 px"),
    },
)

REPLAYS: dict[str, Replay] = {replay.name: replay for replay in (KERAS, FIVE_MODEL)}
