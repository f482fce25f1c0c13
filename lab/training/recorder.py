"""What a run writes and reports while it trains: events, history.csv, layers.csv, checkpoints, metrics.json,
and when it ends its predictions and the temperature fitted on its validation photos (calibration.json).

The training story (`lab.training.train`) says what happens; the `Recorder` keeps the record of it, so
a run folder is readable without the app and a page can follow a run through its events:

    {"type": "phase", "phase": str, "message": str}
    {"type": "batch", "phase", "epoch", "epochs", "batch", "batches", "loss", "accuracy",
     "images_per_second", "eta_seconds"}      (about 2 per second; loss/accuracy None while extracting features;
                                              eta_seconds from `EpochClock`, None until a pace is known)
    {"type": "epoch", "phase", "epoch", "epochs", "logs": {...}}

Every file is written atomically (history.csv is rewritten each epoch), so a crash or a reader never
sees half of one, and a failed save leaves the previous best checkpoint whole. A write error (a full disk)
is a `LabError` naming the file: the run fails with that reason. Keras is imported inside functions: the progress callback class is made on first use.
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

from lab.evaluation.calibration import fit_calibration, save_calibration
from lab.evaluation.novelty import NoveltyCheck
from lab.evaluation.predictions import Predictions
from lab.progress import Throttle
from lab.run_files import (
    BEST_MODEL,
    CALIBRATION,
    HISTORY,
    LAYERS,
    METRICS,
    MODEL,
    NOVELTY_ARRAYS,
    PREDICTIONS,
    RunFiles,
)
from lab.storage import temporary_model, write_bytes_atomic, write_json_atomic, writing
from lab.training.backbone_factory import Backbone
from lab.training.config import TrainConfig

Event = dict[str, Any]
BATCH_EVENT_INTERVAL = 0.5  # seconds: about two batch events per second
HISTORY_FIELDS = ("epoch", "phase", "loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds",
                  "images_per_second")
LAYER_FIELDS = ("phase", "layer", "type", "trainable", "parameters")


class Recorder:
    """Everything a run writes and reports: events, history.csv, layers.csv, checkpoints, metrics.json."""

    def __init__(self, run_dir: Path, on_event: Callable[[Event], None], should_stop: Callable[[], bool]) -> None:
        self.files = RunFiles(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.emit = on_event
        self.should_stop = should_stop
        self.started = time.monotonic()
        self.history: list[dict[str, Any]] = []
        self.layer_rows: list[dict[str, Any]] = []
        self.feature_stats: dict[str, Any] | None = None
        self.best: tuple[float, int] | None = None
        self.stopped = False
        self.batch_throttle = Throttle(BATCH_EVENT_INTERVAL)

    @property
    def epochs_done(self) -> int:
        """Whole epochs recorded so far, over every phase: the next `fit` numbers its epochs on from here."""
        return len(self.history)

    def phase(self, phase: str, message: str) -> None:
        self.emit({"type": "phase", "phase": phase, "message": message})

    def stop(self) -> bool:
        """Poll the stop request; once true it stays true."""
        self.stopped = self.stopped or bool(self.should_stop())
        return self.stopped

    def batch(self, event: Event, *, last: bool = False) -> None:
        """Emit a batch event, at most about twice a second (always the last of an epoch)."""
        if self.batch_throttle.due(force=last):
            self.emit({"type": "batch", **event})

    def feature_progress(self, batch_size: int) -> Callable[[int, int, str], None]:
        """An `on_progress` for feature extraction that emits batch events with images/s and ETA."""
        clock = EpochClock()
        clock.begin_epoch()

        def report(done: int, total: int, message: str) -> None:
            batch, batches = math.ceil(done / batch_size), math.ceil(total / batch_size)
            eta = clock.batch_done(batch, batches, epochs_after=0)
            self.batch({"phase": "features", "epoch": 0, "epochs": 0, "batch": batch, "batches": batches,
                        "loss": None, "accuracy": None, "images_per_second": done / clock.elapsed(),
                        "eta_seconds": eta}, last=done == total)

        return report

    def layers(self, phase: str, model) -> None:
        """Add `model`'s which-layers-train table for `phase` to layers.csv."""
        from lab.training.models import trainable_layers_table

        self.layer_rows += [{"phase": phase, **row} for row in trainable_layers_table(model)]
        with writing(f"writing {LAYERS}"):
            _write_csv(self.files.layers, LAYER_FIELDS, self.layer_rows)

    def callbacks(self, export, phase: str, *, total_epochs: int, batch_size: int) -> list:
        """Keras callbacks that record one `fit` call: batch events, the stop poll, per-epoch history and
        the best checkpoint of `export` (the model that is saved), and TensorBoard logs where installed."""
        import keras

        callbacks = [_progress_callback_class()(self, export, phase, total_epochs=total_epochs,
                                                batch_size=batch_size)]
        if tensorboard_available():
            callbacks.append(keras.callbacks.TensorBoard(log_dir=str(self.files.tensorboard), write_graph=False))
        return callbacks

    def epoch_done(self, export, phase: str, epochs: int, logs: dict[str, Any], seconds: float,
                   images_per_second: float) -> None:
        """Record a completed epoch: history row, epoch event, and the best checkpoint if it improved."""
        epoch = self.epochs_done + 1
        logs = {key: float(value) for key, value in logs.items() if np.isscalar(value)}
        row = {"epoch": epoch, "phase": phase, **logs, "seconds": round(seconds, 3),
               "images_per_second": round(images_per_second, 2)}
        self.history.append(row)
        with writing(f"writing the history ({HISTORY})"):
            _write_csv(self.files.history, HISTORY_FIELDS, self.history)
        accuracy = logs.get("val_accuracy")
        if accuracy is not None and (self.best is None or accuracy > self.best[0]):
            with writing(f"saving the best checkpoint ({BEST_MODEL})"):
                save_model(export, self.files.best_model)
            self.best = (accuracy, epoch)
        self.emit({"type": "epoch", "phase": phase, "epoch": epoch, "epochs": epochs, "logs": logs})

    def finish(self, config: TrainConfig, data, backbone: Backbone, export, predictions: Predictions | None = None,
               novelty: NoveltyCheck | None = None) -> dict[str, Any]:
        """Save the final model, its held-out predictions, its calibration, its out-of-distribution check and
        metrics.json; return the metrics."""
        if not tensorboard_available():
            self.phase("save", "No TensorBoard logs: the tensorboard package is not installed")
        if export is not None:
            self.phase("save", "Saving the final model")
            with writing(f"saving the final model ({MODEL})"):
                save_model(export, self.files.model)
        if predictions is not None:
            with writing(f"saving the predictions ({PREDICTIONS})"):
                predictions.save(self.files.predictions)
            self.calibrate(predictions.split("validation"))
        if novelty is not None:
            with writing(f"saving the out-of-distribution check ({NOVELTY_ARRAYS})"):
                novelty.save(self.files.root)
        metrics = {**self._metrics(config, data, backbone, export), **_test_metrics(predictions),
                   "novelty": novelty.summary() if novelty is not None else None}
        with writing(f"writing {METRICS}"):
            write_json_atomic(self.files.metrics, metrics)
        self.phase("done", "Stopped on request" if self.stopped else "Finished")
        return metrics

    def calibrate(self, validation: Predictions) -> None:
        """Fit the run's temperature on its validation predictions and keep it (`lab.evaluation.calibration`)."""
        calibration = fit_calibration(validation)
        with writing(f"saving the calibration ({CALIBRATION})"):
            save_calibration(self.files.root, calibration)
        self.phase("save", f"Confidence {calibration.words()}")

    def _metrics(self, config: TrainConfig, data, backbone: Backbone, export) -> dict[str, Any]:
        import keras

        rates = [row["images_per_second"] for row in self.history if row.get("images_per_second")]
        final = self.history[-1] if self.history else {}
        return {
            "best_val_accuracy": self.best[0] if self.best else None,
            "best_epoch": self.best[1] if self.best else None,
            "epochs_completed": self.epochs_done,
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


def _test_metrics(predictions: Predictions | None) -> dict[str, Any]:
    """Test accuracy and the test set's interpretation, when the run has test predictions."""
    from lab.evaluation.interpretation import Interpretation

    test = predictions.split("test") if predictions is not None else None
    if test is None or not len(test):
        return {"test_accuracy": None, "test_images": 0, "test": None}
    summary = Interpretation(test).summary()
    return {"test_accuracy": summary["accuracy"], "test_images": len(test), "test": summary}


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
            self.clock = EpochClock()

        def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
            self.epoch_started = self.clock.begin_epoch()
            self.batches = 0
            self.train_seconds = 0.0

        def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
            logs = logs or {}
            self.batches = batch + 1
            self.train_seconds = self.clock.elapsed()
            steps = self.params.get("steps") or self.batches
            eta = self.clock.batch_done(self.batches, steps, epochs_after=self.epochs - self._epoch_number())
            self.recorder.batch({
                "phase": self.phase, "epoch": self._epoch_number(), "epochs": self.epochs, "batch": self.batches,
                "batches": steps, "loss": _number(logs.get("loss")), "accuracy": _number(logs.get("accuracy")),
                "images_per_second": self.batches * self.batch_size / max(self.train_seconds, 1e-9),
                "eta_seconds": eta,
            }, last=self.batches == steps)
            if self.recorder.stop():
                self.model.stop_training = True

        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            steps = self.params.get("steps") or self.batches
            if self.recorder.stopped and self.batches < steps:
                return  # an interrupted epoch is not an epoch: keep history and checkpoints to whole ones
            self.clock.end_epoch()
            images = min(self.batches * self.batch_size, steps * self.batch_size)
            logs = {**(logs or {}), "learning_rate": float(self.model.optimizer.learning_rate)}
            self.recorder.epoch_done(self.export, self.phase, self.epochs, logs,
                                     time.monotonic() - self.epoch_started,
                                     images / max(self.train_seconds, 1e-9))

        def _epoch_number(self) -> int:
            return self.recorder.epochs_done + 1

    return Progress


class EpochClock:
    """Seconds left in a phase, from the phase's own pace, steady within an epoch.

    Once an epoch has finished, whole epochs set the pace (validation included; the first epoch, which
    carries graph tracing, only until a later one exists): the ETA then falls with the clock. Before that,
    the epoch's own batches after its first. A rate over all batches so far counted the first batch's
    tracing in every later one, so the ETA read 496 s and fell to 43 s within one epoch.
    """

    def __init__(self) -> None:
        self.epochs: list[float] = []
        self.epoch_began = self.first_batch_done = time.monotonic()

    def begin_epoch(self) -> float:
        self.epoch_began = time.monotonic()
        return self.epoch_began

    def elapsed(self) -> float:
        """Seconds since the epoch began (never 0, so rates can divide by it)."""
        return max(time.monotonic() - self.epoch_began, 1e-9)

    def end_epoch(self) -> None:
        self.epochs.append(time.monotonic() - self.epoch_began)

    def batch_done(self, batch: int, batches: int, *, epochs_after: int) -> float | None:
        """The ETA after batch `batch` (1-based) of `batches`, with `epochs_after` whole epochs still to come
        after this one; None while the first batch of the first epoch gives no pace yet."""
        now = time.monotonic()
        if batch <= 1:
            self.first_batch_done = now
        if self.epochs:
            epoch = statistics.median(self.epochs[1:] or self.epochs)
            return max(epoch - (now - self.epoch_began), 0.0) + epoch * epochs_after
        if batch <= 1:
            return None
        per_batch = (now - self.first_batch_done) / (batch - 1)
        return per_batch * (batches - batch) + per_batch * batches * epochs_after


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def save_model(model, path: Path) -> None:
    """Save a .keras file atomically: write beside it, then rename over it, so a failed save (a full disk)
    leaves the previous file whole. A killed save's temporary file is removed later (`lab.leftovers`)."""
    temporary = temporary_model(path, os.getpid())
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
