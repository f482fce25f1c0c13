"""One training run: check, load data, build, fit with callbacks, save. The story of both tutorials.

`train(config, run_dir, on_event=..., should_stop=..., settings=None) -> metrics` writes into
`run_dir`: `history.csv` (one row per epoch, rewritten atomically every epoch), `metrics.json`,
`model.keras` (final; raw 0..255 images in, class probabilities out), `best.keras` (best
val_accuracy so far, same interface), `tensorboard/`, and `layers.csv` (the trainable-layers table
for each phase: before training and again after unfreezing).

Events passed to `on_event`:
    {"type": "phase", "phase": str, "message": str}
    {"type": "batch", "phase", "epoch", "epochs", "batch", "batches", "loss", "accuracy",
     "images_per_second", "eta_seconds"}      (about 2 per second; loss/accuracy None while extracting features)
    {"type": "epoch", "phase", "epoch", "epochs", "logs": {...}}
Phases: "prepare", "data", "build", "features", "train", "fine-tune", "save", "done".
`should_stop()` is polled between batches (and between feature-extraction batches); when it returns
True the run stops gracefully: the interrupted epoch is dropped, history and the best checkpoint are
kept, the final model is saved, and metrics["stopped"] is True.

metrics.json / the returned dict: best_val_accuracy, best_epoch, epochs_completed, train_images,
validation_images, seconds, images_per_second (training images per second of training loop),
weights {kind, path, sha256, alpha}, stopped, classes, plus final logs, the feature-cache statistics
and enough about the config (backbone, strategy, image_size) for `estimate_cost` to learn speeds.
"""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import math
import os
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lab.settings import Settings, load_settings
from lab.storage import read_json, write_bytes_atomic, write_json_atomic
from lab.training.backbones import Backbone, create_backbone, get_spec, resolve_weights
from lab.training.config import TrainConfig

Event = dict[str, Any]
BATCH_EVENT_INTERVAL = 0.5  # seconds: about two batch events per second
MEMORY_CACHE_LIMIT = 1_500_000_000  # bytes of decoded uint8 images kept in RAM between epochs
HISTORY_FIELDS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds",
                  "images_per_second")
# Forward-pass equivalents per training image: a backward pass costs about two forward passes.
FORWARDS_PER_IMAGE = {"frozen": 1.0, "fine-tune": 2.0, "scratch": 3.0, "feature-extractor": 1.0}


def _ignore(event: Event) -> None:
    """The default event sink: report nothing."""


def _never() -> bool:
    """The default stop poll: never stop."""
    return False


def train(
    config: TrainConfig,
    run_dir: Path,
    *,
    on_event: Callable[[Event], None] = _ignore,
    should_stop: Callable[[], bool] = _never,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Train one run into `run_dir` and return its metrics (see the module docstring)."""
    settings = settings or load_settings()
    recorder = Recorder(Path(run_dir), on_event, should_stop)
    recorder.phase("prepare", config.summary())
    resolve_weights(config.backbone, config.weights, image_size=config.image_size, settings=settings)
    data = _load_data(config, settings, recorder)
    backbone = _prepare_backbone(config, settings, recorder)
    if config.strategy == "feature-extractor":
        export = _train_on_features(config, data, backbone, recorder, settings)
    else:
        export = _train_on_images(config, data, backbone, recorder)
    return recorder.finish(config, data, backbone, export)


def _load_data(config: TrainConfig, settings: Settings, recorder: Recorder):
    from lab.data import training_splits

    recorder.phase("data", f"Reading {config.data}")
    data = training_splits(config.data, train_size=config.train_size,
                           validation_size=config.validation_size, seed=config.seed, settings=settings)
    recorder.phase("data", f"{len(data.train)} training and {len(data.validation)} validation images; "
                           f"classes {', '.join(data.classes)}")
    return data


def _prepare_backbone(config: TrainConfig, settings: Settings, recorder: Recorder) -> Backbone:
    import keras

    from lab.training.devices import distribution_strategy, set_mixed_precision

    keras.utils.set_random_seed(config.seed)
    recorder.phase("build", set_mixed_precision(config.mixed_precision))
    recorder.strategy = distribution_strategy()
    with recorder.strategy.scope():
        backbone = create_backbone(config.backbone, config.weights, config.image_size, settings=settings)
    weights = backbone.weights
    described = {"none": "random initialisation (no pretrained weights)", "imagenet": f"ImageNet ({weights.path})",
                 "file": f"local file {weights.path}"}[weights.kind]
    recorder.phase("build", f"{config.backbone} at {config.image_size}px, weights: {described}")
    return backbone


def _train_on_features(config: TrainConfig, data, backbone: Backbone, recorder: Recorder, settings: Settings):
    """Backbone once per image (cached), then only the head trains; the saved model is end to end."""
    import keras

    from lab.training.features import extract_features
    from lab.training.models import POOLING, assemble, build_head, compile_model

    head = config.resolved_head
    records = [*data.train, *data.validation]  # one pass: one progress bar, one traced forward function
    recorder.phase("features", f"Backbone features for {len(data.train)} training and {len(data.validation)} "
                               "validation images")
    matrix, stats = extract_features(
        records, backbone, pooling=POOLING[head], batch_size=config.batch_size, settings=settings, seed=config.seed,
        on_progress=recorder.feature_progress(config.batch_size), should_stop=recorder.stop)
    recorder.feature_stats = stats.to_dict()
    recorder.phase("features", f"{stats.hits} from the cache, {stats.computed} computed"
                   + (f" at {stats.images_per_second:.1f} images/s" if stats.images_per_second else ""))
    if matrix is None:
        return None
    train_features, validation_features = matrix[:len(data.train)], matrix[len(data.train):]
    backbone.model.trainable = False
    with recorder.strategy.scope():
        head_model = build_head(head, matrix.shape[1], len(data.classes))
        trainer = keras.Model(head_model.input, head_model.output, name="head_trainer")  # holds the optimizer,
        compile_model(trainer, config.optimizer, config.learning_rate)  # so saved models carry none of its state
        export = assemble(backbone, head_model, head)
    recorder.layers("train", export)
    recorder.phase("train", f"Training the {head} head on cached features")
    fit = dict(x=train_features, y=_labels(data.train, data.classes), batch_size=config.batch_size, shuffle=True,
               validation_data=(validation_features, _labels(data.validation, data.classes)))
    recorder.fit(trainer, export, fit, config, phase="train", epochs=config.epochs,
                 class_weight=_class_weights(config, data))
    return export


def _train_on_images(config: TrainConfig, data, backbone: Backbone, recorder: Recorder):
    """Scratch, frozen, or fine-tune: images (augmented on the fly) through the whole model."""
    from lab.training.models import build_model, compile_model, unfreeze_from

    with recorder.strategy.scope():
        model = build_model(backbone, config.resolved_head, len(data.classes), config.strategy)
        compile_model(model, config.optimizer, config.learning_rate)
    train_data, validation_data = _datasets(config, data)
    fine_tune = config.strategy == "fine-tune"
    phase = "train"
    recorder.layers(phase, model)
    recorder.phase(phase, "Training the head on the frozen backbone" if fine_tune else f"Training ({config.strategy})")
    fit = dict(x=train_data, validation_data=validation_data, shuffle=False)  # the dataset shuffles itself
    later = config.fine_tune_epochs if fine_tune else 0
    recorder.fit(model, model, fit, config, phase=phase, epochs=config.epochs, later_epochs=later,
                 class_weight=_class_weights(config, data))
    if fine_tune and not recorder.stop():
        boundary = config.resolved_fine_tune_at
        with recorder.strategy.scope():
            opened = unfreeze_from(backbone, boundary)
            compile_model(model, config.optimizer, config.fine_tune_learning_rate)
        recorder.layers("fine-tune", model)
        recorder.phase("fine-tune", f"Unfroze {opened} layers from {boundary} (BatchNorm kept frozen); learning "
                                    f"rate {config.fine_tune_learning_rate:g}")
        recorder.fit(model, model, fit, config, phase="fine-tune", epochs=config.fine_tune_epochs,
                     class_weight=_class_weights(config, data))
    return model


def _datasets(config: TrainConfig, data):
    from lab.augment import build_augmenter, spec_from
    from lab.data.pipeline import image_dataset

    spec = spec_from(config.augment, config.augment_overrides)
    augment = _random_augmentation(build_augmenter(spec, config.seed)) if spec.operations else None
    decoded = (len(data.train) + len(data.validation)) * config.image_size ** 2 * 3
    cache = decoded <= MEMORY_CACHE_LIMIT
    train_data = image_dataset(data.train, data.classes, config.image_size, config.batch_size, shuffle=True,
                               seed=config.seed, augment=augment, cache=cache)
    validation_data = image_dataset(data.validation, data.classes, config.image_size, config.batch_size, cache=cache)
    return train_data, validation_data


def _random_augmentation(augmenter) -> Callable:
    """The augmentation layers in training mode (random), as `image_dataset` applies them to each batch."""

    def augment(images):
        return augmenter(images, training=True)

    return augment


def _labels(records, classes: Sequence[str]) -> np.ndarray:
    index = {name: i for i, name in enumerate(classes)}
    return np.array([index[record.label] for record in records], dtype=np.int32)


def _class_weights(config: TrainConfig, data) -> dict[int, float] | None:
    """"Balanced" weights n / (k * count): each class contributes equally to the loss."""
    if not config.class_weights:
        return None
    counts = np.bincount(_labels(data.train, data.classes), minlength=len(data.classes))
    return {i: len(data.train) / (len(data.classes) * count) for i, count in enumerate(counts) if count}


class Recorder:
    """Everything a run writes and reports: events, history.csv, layers.csv, checkpoints, metrics.json."""

    def __init__(self, run_dir: Path, on_event: Callable[[Event], None], should_stop: Callable[[], bool]) -> None:
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.emit = on_event
        self.should_stop = should_stop
        self.started = time.monotonic()
        self.history: list[dict[str, Any]] = []
        self.layer_rows: list[dict[str, Any]] = []
        self.feature_stats: dict[str, Any] | None = None
        self.best: tuple[float, int] | None = None
        self.stopped = False
        self.strategy = None
        self.last_batch_event = 0.0

    def phase(self, phase: str, message: str) -> None:
        self.emit({"type": "phase", "phase": phase, "message": message})

    def stop(self) -> bool:
        """Poll the stop request; once true it stays true."""
        self.stopped = self.stopped or bool(self.should_stop())
        return self.stopped

    def batch(self, event: Event, *, last: bool = False) -> None:
        """Emit a batch event, at most about twice a second (always the last of an epoch)."""
        now = time.monotonic()
        if last or now - self.last_batch_event >= BATCH_EVENT_INTERVAL:
            self.last_batch_event = now
            self.emit({"type": "batch", **event})

    def feature_progress(self, batch_size: int) -> Callable[[int, int, str], None]:
        """An `on_progress` for feature extraction that emits batch events with images/s and ETA."""
        began = time.monotonic()

        def report(done: int, total: int, message: str) -> None:
            rate = done / max(time.monotonic() - began, 1e-9)
            self.batch({"phase": "features", "epoch": 0, "epochs": 0, "batch": math.ceil(done / batch_size),
                        "batches": math.ceil(total / batch_size), "loss": None, "accuracy": None,
                        "images_per_second": rate, "eta_seconds": (total - done) / rate if rate else None},
                       last=done == total)

        return report

    def layers(self, phase: str, model) -> None:
        from lab.training.models import trainable_layers_table

        self.layer_rows += [{"phase": phase, **row} for row in trainable_layers_table(model)]
        _write_csv(self.run_dir / "layers.csv", ("phase", "layer", "type", "trainable", "parameters"),
                   self.layer_rows)

    def fit(self, model, export, fit: dict[str, Any], config: TrainConfig, *, phase: str, epochs: int,
            later_epochs: int = 0, class_weight: dict[int, float] | None = None) -> None:
        """`model.fit` for `epochs` more epochs, numbered on from the epochs already done; `later_epochs`
        are planned in a following phase (they count in the events' "epochs" and the ETA)."""
        import keras

        done = len(self.history)
        callbacks = [_progress_callback_class()(self, export, phase, total_epochs=done + epochs + later_epochs,
                                                batch_size=config.batch_size)]
        if tensorboard_available():
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(self.run_dir / "tensorboard"), write_graph=False))
        if config.early_stopping_patience:
            callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", mode="max",
                                                           patience=config.early_stopping_patience))
        model.fit(**fit, epochs=done + epochs, initial_epoch=done, callbacks=callbacks, verbose=0,
                  class_weight=class_weight)

    def epoch_done(self, export, phase: str, epochs: int, logs: dict[str, Any], seconds: float,
                   images_per_second: float) -> None:
        """Record a completed epoch: history row, epoch event, and the best checkpoint if it improved."""
        epoch = len(self.history) + 1
        logs = {key: float(value) for key, value in logs.items() if np.isscalar(value)}
        row = {"epoch": epoch, "phase": phase, **logs, "seconds": round(seconds, 3),
               "images_per_second": round(images_per_second, 2)}
        self.history.append(row)
        _write_csv(self.run_dir / "history.csv", HISTORY_FIELDS, self.history)
        accuracy = logs.get("val_accuracy")
        if accuracy is not None and (self.best is None or accuracy > self.best[0]):
            self.best = (accuracy, epoch)
            save_model(export, self.run_dir / "best.keras")
        self.emit({"type": "epoch", "phase": phase, "epoch": epoch, "epochs": epochs, "logs": logs})

    def finish(self, config: TrainConfig, data, backbone: Backbone, export) -> dict[str, Any]:
        """Save the final model and write metrics.json; return the metrics."""
        if not tensorboard_available():
            self.phase("save", "No TensorBoard logs: the tensorboard package is not installed")
        if export is not None:
            self.phase("save", "Saving the final model")
            save_model(export, self.run_dir / "model.keras")
        metrics = self._metrics(config, data, backbone, export)
        write_json_atomic(self.run_dir / "metrics.json", metrics)
        self.phase("done", "Stopped on request" if self.stopped else "Finished")
        return metrics

    def _metrics(self, config: TrainConfig, data, backbone: Backbone, export) -> dict[str, Any]:
        import keras

        rates = [row["images_per_second"] for row in self.history if row.get("images_per_second")]
        final = self.history[-1] if self.history else {}
        return {
            "best_val_accuracy": self.best[0] if self.best else None,
            "best_epoch": self.best[1] if self.best else None,
            "epochs_completed": len(self.history),
            "train_images": len(data.train),
            "validation_images": len(data.validation),
            "seconds": round(time.monotonic() - self.started, 3),
            "images_per_second": round(statistics.median(rates), 2) if rates else None,
            "weights": backbone.weights.to_dict(),
            "stopped": self.stopped,
            "classes": list(data.classes),
            "final": {key: final.get(key) for key in ("loss", "accuracy", "val_loss", "val_accuracy")},
            "features": self.feature_stats,
            "backbone": config.backbone,
            "strategy": config.strategy,
            "head": config.resolved_head,
            "image_size": config.image_size,
            "batch_size": config.batch_size,
            "parameters": int(export.count_params()) if export is not None else None,
            "trainable_parameters": _trainable_parameters(export),
            "manifest_hash": data.manifest_hash,
            "keras": keras.__version__,
        }


@functools.cache
def tensorboard_available() -> bool:
    """Keras's TensorBoard callback needs the `tensorboard` package; without it runs skip those logs."""
    return importlib.util.find_spec("tensorboard") is not None


def _trainable_parameters(model) -> int | None:
    if model is None:
        return None
    return int(sum(math.prod(weight.shape) for weight in model.trainable_weights))


@functools.cache
def _progress_callback_class():
    """Made on first use so that importing this module does not import Keras."""
    import keras

    class Progress(keras.callbacks.Callback):
        """Batch events, the stop poll, per-epoch history and checkpoints for one `fit` call."""

        def __init__(self, recorder: Recorder, export, phase: str, *, total_epochs: int, batch_size: int) -> None:
            super().__init__()
            self.recorder, self.export, self.phase = recorder, export, phase
            self.epochs = total_epochs  # planned over all phases, so "epoch 6/8" reads right while fine-tuning
            self.batch_size = batch_size
            self.fit_started = time.monotonic()
            self.batches_seen = 0

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_started = time.monotonic()
            self.batches = 0
            self.train_seconds = 0.0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            self.batches = batch + 1
            self.batches_seen += 1
            self.train_seconds = time.monotonic() - self.epoch_started
            steps = self.params.get("steps") or self.batches
            per_batch = (time.monotonic() - self.fit_started) / self.batches_seen
            remaining = (steps - self.batches) + steps * (self.epochs - self._epoch_number())
            self.recorder.batch({
                "phase": self.phase, "epoch": self._epoch_number(), "epochs": self.epochs, "batch": self.batches,
                "batches": steps, "loss": _number(logs.get("loss")), "accuracy": _number(logs.get("accuracy")),
                "images_per_second": self.batches * self.batch_size / max(self.train_seconds, 1e-9),
                "eta_seconds": remaining * per_batch,
            }, last=self.batches == steps)
            if self.recorder.stop():
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            steps = self.params.get("steps") or self.batches
            if self.recorder.stopped and self.batches < steps:
                return  # an interrupted epoch is not an epoch: keep history and checkpoints to whole ones
            images = min(self.batches * self.batch_size, steps * self.batch_size)
            logs = {**(logs or {}), "learning_rate": float(self.model.optimizer.learning_rate)}
            self.recorder.epoch_done(self.export, self.phase, self.epochs, logs,
                                     time.monotonic() - self.epoch_started,
                                     images / max(self.train_seconds, 1e-9))

        def _epoch_number(self) -> int:
            return len(self.recorder.history) + 1

    return Progress


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def save_model(model, path: Path) -> None:
    """Save a .keras file atomically: write beside it, then rename over it."""
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp.keras")
    try:
        model.save(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _write_csv(path: Path, fields: Sequence[str], rows: list[dict[str, Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fields), extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    write_bytes_atomic(path, buffer.getvalue().encode())


def estimate_cost(config: TrainConfig, settings: Settings | None = None, *, runs_dir: Path | None = None,
                  measure: bool = True) -> dict[str, Any]:
    """What a run will cost before it starts: images x epochs x FLOPs, and a time estimate.

    The speed is the backbone's forward rate (images/s) on this machine, from earlier runs with the
    same backbone and image size (their measured training or extraction speed, converted to forward
    passes), else measured now on a small random batch (`measure=True`, a few seconds), else unknown.
    Work is counted in forward-pass equivalents: a frozen backbone costs one per image per epoch, a
    fine-tuned or scratch one about two or three (the backward pass), features only once.
    """
    settings = settings or load_settings()
    spec = get_spec(config.backbone)
    flops = spec.gflops * 1e9 * (config.image_size / spec.native_size) ** 2
    train_images, validation_images = _planned_sizes(config, settings)
    forwards = _forward_passes(config, train_images, validation_images)
    rate, source = _rate_from_runs(config, runs_dir or settings.runs_dir)
    if rate is None and measure:
        rate, source = measure_forward_rate(config.backbone, config.image_size, settings), "measured forward pass"
    return {
        "train_images": train_images,
        "validation_images": validation_images,
        "epochs": config.epochs + (config.fine_tune_epochs if config.strategy == "fine-tune" else 0),
        "flops_per_image": flops,
        "forward_passes": forwards,
        "total_flops": forwards * flops,
        "images_per_second": rate,
        "rate_source": source,
        "seconds": forwards / rate if rate else None,
    }


def _planned_sizes(config: TrainConfig, settings: Settings) -> tuple[int, int]:
    if config.train_size and config.validation_size:
        return config.train_size, config.validation_size
    from lab.data import training_splits

    data = training_splits(config.data, train_size=config.train_size,
                           validation_size=config.validation_size, seed=config.seed, settings=settings)
    return len(data.train), len(data.validation)


def _forward_passes(config: TrainConfig, train_images: int, validation_images: int) -> float:
    if config.strategy == "feature-extractor":
        return float(train_images + validation_images)
    first_phase = FORWARDS_PER_IMAGE["scratch" if config.strategy == "scratch" else "frozen"]
    total = config.epochs * (first_phase * train_images + validation_images)
    if config.strategy == "fine-tune":
        total += config.fine_tune_epochs * (FORWARDS_PER_IMAGE["fine-tune"] * train_images + validation_images)
    return total


def _rate_from_runs(config: TrainConfig, runs_dir: Path) -> tuple[float | None, str | None]:
    """Median forward rate implied by earlier runs with the same backbone and image size."""
    rates = []
    for path in runs_dir.glob("*/metrics.json") if runs_dir.is_dir() else []:
        metrics = read_json(path, {}) or {}
        if metrics.get("backbone") != config.backbone or metrics.get("image_size") != config.image_size:
            continue
        extraction = (metrics.get("features") or {}).get("images_per_second")
        if extraction:
            rates.append(extraction)
        elif metrics.get("images_per_second") and metrics.get("strategy") in FORWARDS_PER_IMAGE:
            rates.append(metrics["images_per_second"] * FORWARDS_PER_IMAGE[metrics["strategy"]])
    if not rates:
        return None, None
    return statistics.median(rates), f"{len(rates)} earlier run(s)"


def measure_forward_rate(backbone: str, image_size: int, settings: Settings | None = None, *,
                         batch_size: int = 8, repeats: int = 2) -> float:
    """Images/s of the backbone's forward pass on in-memory random images (weights do not change speed)."""
    from lab.training.features import feature_extractor

    model = feature_extractor(create_backbone(backbone, "none", image_size, settings=settings), "none")
    images = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3)).astype("float32")
    model.predict_on_batch(images)  # build and warm up
    began = time.perf_counter()
    for _ in range(repeats):
        model.predict_on_batch(images)
    return batch_size * repeats / (time.perf_counter() - began)
