"""One training run: validate, load data, build, fit with callbacks, save. (Contract first; body landing.)

`train(config, run_dir, on_event=..., should_stop=..., settings=None) -> metrics dict` writes into
`run_dir`: `history.csv` (one row per epoch, rewritten atomically every epoch), `metrics.json`,
`model.keras` (final; raw 0..255 images in, class probabilities out), `best.keras` (best
val_accuracy), `tensorboard/`, `layers.csv` (the trainable-layers table per phase).

Events passed to `on_event`:
    {"type": "phase", "phase": str, "message": str}
    {"type": "batch", "phase", "epoch", "epochs", "batch", "batches", "loss", "accuracy",
     "images_per_second", "eta_seconds"}      (throttled to about 2 per second)
    {"type": "epoch", "phase", "epoch", "epochs", "logs": {...}}
`should_stop()` is polled between batches; when it returns True the run stops gracefully, keeps its
history and best checkpoint, and metrics["stopped"] is True.

metrics.json / the returned dict: best_val_accuracy, best_epoch, epochs_completed, train_images,
validation_images, seconds, images_per_second, weights {kind, path, sha256}, stopped, classes.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.config import TrainConfig
from lab.settings import Settings

Event = dict[str, Any]


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
    raise NotImplementedError("lab.train.train is landing shortly")


def estimate_cost(config: TrainConfig, settings: Settings | None = None) -> dict[str, Any]:
    """Images x epochs x FLOPs, and a time estimate from measured speed, for the Train page."""
    raise NotImplementedError("lab.train.estimate_cost is landing shortly")
