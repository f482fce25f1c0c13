"""The training configuration: one frozen dataclass that is valid from the moment it exists.

Everything that decides a run lives here, so `config.json` in a run folder is enough to repeat it.
`FIELDS` is the one table of what each field accepts (its kind, bounds or choices) and how it is
presented (label, help, CLI flag), in the spirit of scikit-learn's `_parameter_constraints`:
`TrainConfig` checks itself against it on construction, `lab train` builds its flags from it and the
Train page its widgets' labels, help and bounds, so a new field is one row here. Checks that span
fields follow as combination checks that explain the way out: the image size and fine-tune boundary
a backbone knows, fine-tuning a CNN that has no pretrained weights, augmenting features that are
computed once. Messages name the field, the value and what is allowed.

Augmentation overrides are stored parsed, in their canonical types (`"10"` becomes `10.0`), so a saved
config reads back equal. The tutorials' presets are in `lab.training.presets`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.augment import PRESETS as AUGMENT_PRESETS
from lab.augment import spec_from
from lab.errors import LabError
from lab.training.backbones import BACKBONES, get_spec
from lab.training.models import CHOOSABLE_HEADS, OUTPUT_ONLY

STRATEGIES = ("scratch", "feature-extractor", "frozen", "fine-tune")
HEADS = ("auto", *CHOOSABLE_HEADS)
OPTIMIZERS = ("adam", "rmsprop", "sgd")
WEIGHT_KINDS = ("imagenet", "none")  # anything else names a local weights file
HELD_OUT = ("validation", "test")  # splits a run judges itself on, never trains on
MONITORS = ("val_accuracy", "val_loss")  # what early stopping watches


@dataclass(frozen=True)
class FieldSpec:
    """One `TrainConfig` field: what it accepts, and how the page and the CLI present it.

    kind: "text", "choice" (one of `choices`), "integer" or "number" (within `low` and `high`; no `high` =
        unbounded), "flag" (true or false) or "overrides" (augmentation parameter -> value).
    optional: an integer may be None ("all") and a text may be empty ("the default").
    flag: the CLI flag, when it is not the field's name with dashes (`--lr` for learning_rate).
    """

    name: str
    kind: str
    label: str
    help: str
    choices: tuple[str, ...] = ()
    low: float | None = None
    high: float | None = None
    optional: bool = False
    flag: str = ""

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")

    def check(self, value: Any) -> None:
        """Raise `LabError` naming the field, the value and what is allowed, unless `value` fits."""
        if not self._accepts(value):
            raise LabError(f"{self.name}={value!r} is not allowed; {self.allowed()}.")

    def allowed(self) -> str:
        if self.kind == "choice":
            return "choose one of: " + ", ".join(self.choices)
        if self.kind == "flag":
            return "it must be true or false"
        if self.kind == "text":
            return f"it must not be empty: {self.help}"
        if self.kind == "overrides":
            return "it must map augmentation parameter names to values"
        what = "an integer" if self.kind == "integer" else "a number"
        bounds = f"between {self.low:g} and {self.high:g}" if self.high is not None else f">= {self.low:g}"
        return f"it must be {what} {bounds}"

    def _accepts(self, value: Any) -> bool:
        if value is None:
            return self.optional and self.kind == "integer"
        if self.kind == "choice":
            return value in self.choices
        if self.kind == "flag":
            return isinstance(value, bool)
        if self.kind == "text":
            return isinstance(value, str) and (self.optional or bool(value.strip()))
        if self.kind == "overrides":
            return isinstance(value, Mapping)
        return _is_number(value, self.kind) and self.low <= value and (self.high is None or value <= self.high)


def _is_number(value: Any, kind: str) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) if kind == "integer" else isinstance(value, (int, float)) and math.isfinite(value)


FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in (
    FieldSpec("data", "text", "Data",
              "a data folder, a .zip, a saved manifest name, or the name of a folder inside one of the data folders"),
    FieldSpec("train_split", "text", "Training split",
              "the split the run trains on: train, or a subset of it saved in a manifest (e.g. train_1000, made "
              "on the Dataset page); validation and test are held out"),
    FieldSpec("backbone", "choice", "Backbone",
              "the network under the head: a pretrained one, or the tutorial's own CNN (basic_cnn*)",
              choices=tuple(BACKBONES)),
    FieldSpec("weights", "text", "Weights",
              "imagenet (Keras's download or cache), none (random initialisation), or a local weights file: "
              "a path, or a file name in one of the weights folders"),
    FieldSpec("strategy", "choice", "Strategy",
              "what trains: everything from random weights, only the head on cached features, the head over a "
              "frozen backbone, or the head then the backbone's top layers", choices=STRATEGIES),
    FieldSpec("head", "choice", "Head",
              "auto: the Keras tutorial's head (GAP, BatchNorm, Dropout 0.2, softmax) or the CNN's own layers",
              choices=HEADS),
    FieldSpec("start_from", "text", "Start the head from",
              "a run id whose trained head starts this run's head (same backbone, head and image size), as the "
              "tutorial fine-tunes the top model it trained on bottleneck features; empty = a new head",
              optional=True),
    FieldSpec("image_size", "integer", "Image size (px)",
              "square input size in pixels; empty = the backbone's native size", optional=True,
              low=min(spec.min_size for spec in BACKBONES.values()), high=1024),
    FieldSpec("epochs", "integer", "Epochs", "passes over the training images (before unfreezing, when fine-tuning)",
              low=1, high=10_000),
    FieldSpec("batch_size", "integer", "Batch size", "images per training step", low=1, high=4096),
    FieldSpec("optimizer", "choice", "Optimizer", "sgd uses momentum 0.9", choices=OPTIMIZERS),
    FieldSpec("learning_rate", "number", "Learning rate", "the optimizer's step size, e.g. 1e-4",
              low=1e-8, high=1.0, flag="--lr"),
    FieldSpec("fine_tune_at", "text", "Fine-tune from",
              "a named boundary of the backbone to unfreeze from (fine-tune); empty = the backbone's default",
              optional=True),
    FieldSpec("fine_tune_learning_rate", "number", "Fine-tune learning rate",
              "learning rate after unfreezing (fine-tune), usually 10-100x lower, e.g. 1e-5",
              low=1e-8, high=1.0, flag="--fine-tune-lr"),
    FieldSpec("fine_tune_epochs", "integer", "Fine-tune epochs", "epochs after unfreezing (fine-tune)",
              low=1, high=10_000),
    FieldSpec("train_size", "integer", "Training images", "training images in total, stratified; empty = all",
              low=2, optional=True),
    FieldSpec("validation_size", "integer", "Validation images", "validation images in total, stratified; empty = all",
              low=2, optional=True),
    FieldSpec("augment", "choice", "Augmentation preset", "a preset of the Augment page, or none",
              choices=tuple(AUGMENT_PRESETS)),
    FieldSpec("augment_overrides", "overrides", "Augmentation changes",
              "key=value pairs changing the preset, e.g. rotation_range=30 (the Augment page previews them)",
              flag="--augment-set"),
    FieldSpec("early_stopping_patience", "integer", "Early stopping patience",
              "epochs without a better watched value (next field) before stopping; 0 = off", low=0,
              flag="--early-stopping"),
    FieldSpec("early_stopping_monitor", "choice", "Early stopping watches",
              "val_loss stops when the model stops learning, a few epochs past the best (the history shows "
              "them); val_accuracy waits for a better score", choices=MONITORS),
    FieldSpec("restore_best_weights", "flag", "Keep the best epoch",
              "with early stopping, the final model is the epoch with the best watched value, not the last"),
    FieldSpec("class_weights", "flag", "Balance class weights", "weight classes inversely to their frequency"),
    FieldSpec("seed", "integer", "Seed", "seeds the subsets, the split, the weights and augmentation", low=0),
    FieldSpec("mixed_precision", "flag", "Mixed precision (GPU)", "float16 compute where a GPU supports it"),
)}  # fmt: skip


@dataclass(frozen=True)
class TrainConfig:
    """One training run, checked against `FIELDS` and the combination rules when it is made.

    data: a data folder, a .zip, a saved manifest name, or the name of a folder inside a data folder.
    train_split: the split to train on: "train", or a subset a manifest holds ("train_1000"); a plain
        folder has "train" only. Checked against the data by `lab.data.run_data.training_splits`.
    weights: "imagenet" (Keras's download and cache), "none" (random initialisation), or a local
        weights file: a path, or a file name found in one of `settings.weights_dirs`.
    strategy: "scratch" (random weights, all trainable), "feature-extractor" (backbone features
        computed once and cached, only the head trains), "frozen" (frozen backbone inside the model,
        so augmentation applies), "fine-tune" (head first, then unfreeze from `fine_tune_at`).
    head: "auto" is the Keras tutorial's head on a pretrained backbone and the tutorial's own dense
        layers on `basic_cnn*`.
    image_size: None = the backbone's native size, resolved on construction (a config always holds a number).
    fine_tune_at: a named boundary of the backbone ("" = its default); layers from there on train.
    train_size / validation_size: stratified subsets (None = all available).
    augment / augment_overrides: a preset of `lab.augment` and changes to it (stored parsed).
    start_from: a run id ("" = none) whose trained head initialises this run's head, layer by layer; the run
        must have the same backbone, head and image size (checked when training starts, `lab.training.start_from`).
    early_stopping_patience: epochs without improvement of `early_stopping_monitor` before stopping (0 = off);
        `restore_best_weights` makes the final model the best epoch's (the history keeps the epochs after it).
    class_weights: weight classes inversely to their frequency ("balanced").
    """

    data: str
    train_split: str = "train"
    backbone: str = "mobilenet_v2"
    weights: str = "imagenet"
    strategy: str = "feature-extractor"
    head: str = "auto"
    start_from: str = ""
    image_size: int | None = None
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
    early_stopping_monitor: str = "val_accuracy"
    restore_best_weights: bool = False
    class_weights: bool = False
    seed: int = 0
    mixed_precision: bool = False

    def __post_init__(self) -> None:
        """Refuse the first bad value or impossible combination (`LabError`): a config is always valid. A config
        that names no image size gets its backbone's native one, whichever door it came through."""
        FIELDS["backbone"].check(self.backbone)
        if self.image_size is None:
            object.__setattr__(self, "image_size", get_spec(self.backbone).native_size)
        for spec in FIELDS.values():
            spec.check(getattr(self, spec.name))
        object.__setattr__(self, "augment_overrides", _parsed_overrides(self.augment, self.augment_overrides))
        _check_combinations(self)

    @property
    def resolved_head(self) -> str:
        """The head actually built: "auto" resolved for this backbone."""
        if self.head != "auto":
            return self.head
        return OUTPUT_ONLY if BACKBONES[self.backbone].from_scratch_only else "keras_tutorial"

    @property
    def resolved_fine_tune_at(self) -> str:
        """The fine-tune boundary actually used: "" resolved to the backbone's default."""
        return self.fine_tune_at or BACKBONES[self.backbone].default_boundary

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> TrainConfig:
        """Build from JSON-like data; unknown or missing keys raise `LabError` (typos must not be ignored)."""
        if not isinstance(value, dict):
            raise LabError(f"A training config must be a JSON object, got {type(value).__name__}.")
        unknown = sorted(set(value) - set(FIELDS))
        if unknown:
            raise LabError(f"Unknown config field(s) {', '.join(unknown)}; allowed fields: {', '.join(FIELDS)}.")
        if "data" not in value:
            raise LabError("The config has no 'data' field: name a data folder, zip or manifest.")
        return cls(**value)

    def summary(self) -> str:
        """One line for run tables: backbone, weights, strategy, head, size, epochs, optimizer, data size."""
        weights = self.weights if self.weights in WEIGHT_KINDS else Path(self.weights).name
        epochs = f"{self.epochs} epochs"
        if self.strategy == "fine-tune":
            epochs += f" + {self.fine_tune_epochs} from {self.resolved_fine_tune_at or '?'}"
        train = f"{self.train_size} {self.train_split}" if self.train_size else f"all {self.train_split}"
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


def _parsed_overrides(preset: str, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The overrides in the types `lab.augment` gives them (JSON-ready), each checked against its parameter."""
    parsed = spec_from(preset, overrides).to_dict()
    return {name: parsed[name] for name in overrides}


def _check_combinations(config: TrainConfig) -> None:
    _check_backbone(config)
    _check_split(config)
    _check_strategy(config)


def _check_backbone(config: TrainConfig) -> None:
    """What the backbone rules out: images smaller than it takes; for the tutorial's CNNs, anything but scratch."""
    spec = get_spec(config.backbone)
    if config.image_size < spec.min_size:
        raise LabError(f"image_size={config.image_size!r} is too small for {config.backbone}; it must be an "
                       f"integer between {spec.min_size} and {FIELDS['image_size'].high:g}.")
    if not spec.from_scratch_only:
        return
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


def _check_split(config: TrainConfig) -> None:
    """Training on a held-out split would grade the model on what it learnt from."""
    if config.train_split in HELD_OUT:
        raise LabError(f"train_split={config.train_split!r} is held out to judge the model, so it cannot be trained "
                       "on; choose train, or a subset of it (e.g. train_1000).")


def _check_strategy(config: TrainConfig) -> None:
    """What the strategy rules out: pretrained weights from scratch, augmenting cached features, and a
    fine-tune boundary outside fine-tuning or unknown to the backbone (never silently cleared)."""
    if config.strategy == "scratch" and config.weights != "none":
        raise LabError(
            f"strategy 'scratch' trains from random initialisation, but weights={config.weights!r}; set weights "
            "to 'none', or use strategy 'frozen' or 'fine-tune' to start from pretrained weights."
        )
    if config.strategy == "feature-extractor" and (config.augment != "none" or config.augment_overrides):
        raise LabError(
            "strategy 'feature-extractor' computes each image's backbone features once and caches them, so "
            f"augmentation (augment={config.augment!r}) cannot apply; set augment to 'none', or use strategy "
            "'frozen', which runs the frozen backbone on every augmented batch."
        )
    if not config.fine_tune_at:
        return
    if config.strategy != "fine-tune":
        raise LabError(f"fine_tune_at={config.fine_tune_at!r} only applies to strategy 'fine-tune'; clear it.")
    boundaries = get_spec(config.backbone).boundaries
    if config.fine_tune_at not in boundaries:
        raise LabError(f"fine_tune_at={config.fine_tune_at!r} is not a boundary of {config.backbone}; choose "
                       f"one of: {', '.join(boundaries)}.")
