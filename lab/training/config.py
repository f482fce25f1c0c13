"""The training configuration: one frozen, validated dataclass that drives the UI, the CLI and the worker.

Everything that decides a run lives here, so `config.json` in a run folder is enough to repeat it.
`validate()` checks every value up front, scikit-learn style: the message names the field, the value
and what is allowed, and impossible combinations (fine-tuning a CNN that has no pretrained weights,
augmenting features that are computed once) are explained rather than silently ignored.

`PRESETS` reproduces the experiments of the two tutorials the lab teaches from: the Keras tutorial
(VGG16 on 20K and on 1K images) and the five models of the "hands-on transfer learning" tutorial
(basic CNN, with dropout, with augmentation, VGG16 bottleneck features, frozen VGG16 with
augmentation, fine-tuned VGG16). Edit one before launch with `dataclasses.replace(PRESETS[name], ...)`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.training.backbones import BACKBONES, get_spec
from lab.training.models import CHOOSABLE_HEADS, OUTPUT_ONLY

STRATEGIES = ("scratch", "feature-extractor", "frozen", "fine-tune")
HEADS = ("auto", *CHOOSABLE_HEADS)
OPTIMIZERS = ("adam", "rmsprop", "sgd")
WEIGHT_KINDS = ("imagenet", "none")  # anything else names a local weights file


@dataclass(frozen=True)
class TrainConfig:
    """One training run.

    data: a data folder, a .zip, a saved manifest name, or the name of a folder inside a data folder.
    weights: "imagenet" (Keras's download and cache), "none" (random initialisation), or a local
        weights file: a path, or a file name found in one of `settings.weights_dirs`.
    strategy: "scratch" (random weights, all trainable), "feature-extractor" (backbone features
        computed once and cached, only the head trains), "frozen" (frozen backbone inside the model,
        so augmentation applies), "fine-tune" (head first, then unfreeze from `fine_tune_at`).
    head: "auto" is the Keras tutorial's head on a pretrained backbone and the tutorial's own dense
        layers on `basic_cnn*`.
    fine_tune_at: a named boundary of the backbone ("" = its default); layers from there on train.
    train_size / validation_size: stratified subsets (None = all available).
    augment / augment_overrides: a preset of `lab.augment` and changes to it.
    early_stopping_patience: epochs without val_accuracy improvement before stopping (0 = off).
    class_weights: weight classes inversely to their frequency ("balanced").
    """

    data: str
    backbone: str = "mobilenet_v2"
    weights: str = "imagenet"
    strategy: str = "feature-extractor"
    head: str = "auto"
    image_size: int = 160
    epochs: int = 10
    batch_size: int = 32
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    fine_tune_at: str = ""
    fine_tune_learning_rate: float = 1e-5
    fine_tune_epochs: int = 10
    train_size: int | None = None
    validation_size: int | None = None
    augment: str = "none"
    augment_overrides: dict[str, Any] = field(default_factory=dict)
    early_stopping_patience: int = 0
    class_weights: bool = False
    seed: int = 0
    mixed_precision: bool = False

    def validate(self) -> TrainConfig:
        """Raise `LabError` for the first bad value or impossible combination; return self."""
        _check_values(self)
        _check_combinations(self)
        return self

    @property
    def resolved_head(self) -> str:
        """The head actually built: "auto" resolved for this backbone."""
        if self.head != "auto":
            return self.head
        return OUTPUT_ONLY if get_spec(self.backbone).from_scratch_only else "keras_tutorial"

    @property
    def resolved_fine_tune_at(self) -> str:
        """The fine-tune boundary actually used: "" resolved to the backbone's default."""
        return self.fine_tune_at or get_spec(self.backbone).default_boundary

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> TrainConfig:
        """Build from JSON-like data; unknown or missing keys raise `LabError` (typos must not be ignored)."""
        if not isinstance(value, dict):
            raise LabError(f"A training config must be a JSON object, got {type(value).__name__}.")
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(value) - set(known))
        if unknown:
            raise LabError(f"Unknown config field(s) {', '.join(unknown)}; allowed fields: {', '.join(known)}.")
        if "data" not in value:
            raise LabError("The config has no 'data' field: name a data folder, zip or manifest.")
        return cls(**value)

    def summary(self) -> str:
        """One line for run tables: backbone, weights, strategy, head, size, epochs, optimizer, data size."""
        weights = self.weights if self.weights in WEIGHT_KINDS else Path(self.weights).name
        epochs = f"{self.epochs} epochs"
        if self.strategy == "fine-tune":
            epochs += f" + {self.fine_tune_epochs} from {self.resolved_fine_tune_at or '?'}"
        train = f"{self.train_size} train" if self.train_size else "all train"
        parts = [
            f"{self.backbone} ({weights})",
            self.strategy,
            f"head {self.resolved_head}",
            f"{self.image_size}px",
            epochs,
            f"{self.optimizer} {self.learning_rate:g}",
            train,
            f"augment {self.augment}" + ("*" if self.augment_overrides else ""),
        ]
        return ", ".join(parts)


def _choice(name: str, value: Any, allowed: tuple[str, ...] | list[str]) -> None:
    if value not in allowed:
        raise LabError(f"{name}={value!r} is not allowed; choose one of: {', '.join(allowed)}.")


def _integer(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f">= {low}"
        raise LabError(f"{name}={value!r} is not allowed; it must be an integer {bounds}.")


def _optional_integer(name: str, value: Any, low: int) -> None:
    if value is not None:
        _integer(name, value, low)


def _rate(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
        raise LabError(f"{name}={value!r} is not allowed; it must be a number > 0 and <= 1 (e.g. 1e-4).")


def _flag(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise LabError(f"{name}={value!r} is not allowed; it must be true or false.")


def _check_values(config: TrainConfig) -> None:
    if not isinstance(config.data, str) or not config.data.strip():
        raise LabError("data is empty: name a data folder, a .zip or a saved manifest.")
    _choice("backbone", config.backbone, list(BACKBONES))
    if not isinstance(config.weights, str) or not config.weights.strip():
        raise LabError("weights is empty: use 'imagenet', 'none', or a weights file path or name.")
    _choice("strategy", config.strategy, STRATEGIES)
    _choice("head", config.head, HEADS)
    _choice("optimizer", config.optimizer, OPTIMIZERS)
    spec = get_spec(config.backbone)
    _integer("image_size", config.image_size, spec.min_size, 1024)
    _integer("epochs", config.epochs, 1, 10_000)
    _integer("batch_size", config.batch_size, 1, 4096)
    _rate("learning_rate", config.learning_rate)
    _rate("fine_tune_learning_rate", config.fine_tune_learning_rate)
    _integer("fine_tune_epochs", config.fine_tune_epochs, 1, 10_000)
    _optional_integer("train_size", config.train_size, 2)
    _optional_integer("validation_size", config.validation_size, 2)
    _integer("early_stopping_patience", config.early_stopping_patience, 0)
    _integer("seed", config.seed, 0)
    _flag("class_weights", config.class_weights)
    _flag("mixed_precision", config.mixed_precision)
    _check_augment(config)


def _check_augment(config: TrainConfig) -> None:
    from lab.augment import PRESETS as AUGMENT_PRESETS
    from lab.augment import spec_from

    _choice("augment", config.augment, list(AUGMENT_PRESETS))
    if not isinstance(config.augment_overrides, dict):
        raise LabError("augment_overrides must be a mapping of augmentation parameter names to values.")
    spec_from(config.augment, config.augment_overrides)


def _check_combinations(config: TrainConfig) -> None:
    spec = get_spec(config.backbone)
    if spec.from_scratch_only:
        if config.strategy != "scratch":
            raise LabError(
                f"strategy={config.strategy!r} needs pretrained weights, but {config.backbone} is the tutorial's "
                "own CNN with none; use strategy 'scratch', or pick a pretrained backbone such as vgg16."
            )
        if config.head != "auto":
            raise LabError(
                f"head={config.head!r} does not apply to {config.backbone}: it has the tutorial's own dense "
                "layers; use head 'auto'."
            )
    if config.strategy == "scratch" and config.weights != "none":
        raise LabError(
            f"strategy 'scratch' trains from random initialisation, but weights={config.weights!r}; set weights "
            "to 'none', or use strategy 'frozen' or 'fine-tune' to start from pretrained weights."
        )
    if config.strategy == "feature-extractor" and _augments(config):
        raise LabError(
            "strategy 'feature-extractor' computes each image's backbone features once and caches them, so "
            f"augmentation (augment={config.augment!r}) cannot apply; set augment to 'none', or use strategy "
            "'frozen', which runs the frozen backbone on every augmented batch."
        )
    if config.fine_tune_at:
        if config.strategy != "fine-tune":
            raise LabError(f"fine_tune_at={config.fine_tune_at!r} only applies to strategy 'fine-tune'; clear it.")
        _choice(f"fine_tune_at for {config.backbone}", config.fine_tune_at, list(spec.boundaries))


def _augments(config: TrainConfig) -> bool:
    return config.augment != "none" or bool(config.augment_overrides)


def _five_model(**changes: Any) -> TrainConfig:
    """The five-model tutorial's common setup: 150px images, batch 30, RMSprop, 30 epochs, 3,000 + 1,000 images."""
    base = TrainConfig(
        data="dogs-vs-cats-20k-160px",
        backbone="vgg16",
        weights="imagenet",
        image_size=150,
        epochs=30,
        batch_size=30,
        optimizer="rmsprop",
        learning_rate=1e-4,
        train_size=3000,
        validation_size=1000,
        seed=42,
    )
    return dataclasses.replace(base, **changes)


def _keras_tutorial(**changes: Any) -> TrainConfig:
    """The Keras tutorial: frozen VGG16, GAP -> BatchNorm -> Dropout 0.2 -> softmax, Adam, 224px, batch 64,
    its ImageDataGenerator augmentation; 10 epochs on the 20K images. Its 1K run (500 + 500 training,
    100 + 100 validation images, 20 epochs) draws from the same set, so the subset nests inside."""
    base = TrainConfig(
        data="dogs-vs-cats-20k-160px",
        backbone="vgg16",
        weights="imagenet",
        strategy="frozen",
        head="keras_tutorial",
        image_size=224,
        epochs=10,
        batch_size=64,
        optimizer="adam",
        learning_rate=1e-3,
        augment="keras-tutorial",
        seed=42,
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
    # The lab's own quick start: the defaults (MobileNetV2 feature extractor) with the shared weights.
    "mobilenet-v2-quick": TrainConfig(data="cats_and_dogs_filtered", weights=MOBILENET_V2_WEIGHTS,
                                      head="keras_tutorial", epochs=5, train_size=1000),
}
