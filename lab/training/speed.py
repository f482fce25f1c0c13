"""How fast this machine runs each part of a run, per strategy: learned from earlier runs, else measured.

A run's wall time is start-up + feature extraction + epochs + the final evaluation (`lab.training.cost`),
and each part has its own speed. A frozen backbone costs a forward pass plus decoding and augmenting each
image; fine-tuning and scratch add backward passes; a head on cached features is nearly free. So speeds
are kept per part (`Speeds`), and learned from the finished runs with the same backbone, image size and
strategy (their metrics.json and history.csv). Without such runs they come from the backbone's forward
rate (images/s on random in-memory batches: one earlier run of any strategy implies it, or
`measure_forward_rate` times it now), scaled by `FACTORS`, the cost of each part in forward passes as
measured on the development machine (see `FACTORS`).
"""

from __future__ import annotations

import csv
import statistics
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from lab.run_files import RunFiles
from lab.storage import read_json
from lab.training.backbone_factory import build_backbone
from lab.training.backbones import BackboneSpec
from lab.training.config import TrainConfig
from lab.training.features import feature_extractor
from lab.training.weights import WeightsSource

# Seconds per part in units of one in-memory forward pass (1 / `measure_forward_rate` at the run's batch size, at
# most 32), measured with bench/estimate.py on the 2-core development machine shared by four engineers (load 6 to
# 10), 2026-11-30: MobileNetV2 at 160px (feature extractor on 2,000 images, frozen + "light" augmentation and
# fine-tune from block_13 on 400 + 200 images) and the basic CNN at 150px (600 + 200 images), two rounds; each a
# median epoch after the first, whose graph tracing counts as start-up. Measured (two runs each): extract 0.89 and
# 1.55, frozen 0.51 and 0.60, fine-tune 2.09 and 2.28, scratch 4.29 and 4.76, evaluate 0.57 to 1.04.
#   extract    decode + forward when extracting features, per image
#   frozen     one training image through a frozen backbone: decode, augment, forward, the head's backward pass
#   fine-tune  one training image once the top of the backbone trains (backward through the opened layers)
#   scratch    one training image of a from-scratch CNN (full backward pass)
#   evaluate   one validation or test image through the whole model
# Set between two rounds at load 7-15 and one quiet round (bench/estimate.py, session 3: frozen 1.24, fine-tune
# 3.23, scratch 5.14, evaluate 1.2-2.4 forward passes when quiet), so a first estimate holds under either.
# Extraction: bench/replays.py, quiet, 2026-12-05: the quick Keras replay's 19,996 photos extracted at 194 images/s
# against a forward rate measured at 224 (1.16 forward passes); an earlier round read 0.78 against a forward rate
# timed on two batches only, which `measure_forward_rate` no longer does.
FACTORS = {"extract": 1.15, "frozen": 0.9, "fine-tune": 2.7, "scratch": 4.8, "evaluate": 1.2}
# A head trained on cached features, per training image per epoch: the same replay's heads trained at 13,400 to
# 27,500 images/s (16,000 and 1,000 images, batch 64, quiet); 0.0002 before overestimated them 3x.
HEAD_SECONDS_PER_IMAGE = 0.0001
EPOCH_SECONDS = 0.3  # each epoch's fixed cost: Keras's epoch loop, callbacks, the history file
# Seconds from launch to the end that are not the parts above, measured the same way (wall time less the parts):
# the process, TensorFlow's import, building the model, reading the (already scanned) data, the first epoch's
# graph tracing, checkpoints and the final save. Measured at load 7-15: feature extractor 15 and 21, frozen 47
# (tracing an augmentation pipeline), fine-tune 31 (two tracings), scratch 4 to 39 (saves of a 19M-parameter
# model); on a quiet machine: 9, 13, 9 and 6. Set between the two: start-up follows the machine's load.
STARTUP_SECONDS = {"feature-extractor": 15.0, "frozen": 22.0, "fine-tune": 20.0, "scratch": 15.0}
PROCESS_SECONDS = 2.7  # before a run's own clock starts (metrics.json "seconds"): the process, `import lab` (1.8-3.4)


@dataclass(frozen=True)
class Speeds:
    """Seconds for each part of one kind of run (backbone, image size, strategy) on this machine."""

    startup: float  # once per run
    extract: float  # per image whose features are not cached yet (feature-extractor runs)
    train: float  # per training image per epoch (before unfreezing, when fine-tuning)
    fine_tune: float  # per training image per fine-tune epoch
    evaluate: float  # per validation image each epoch, and per held-out image at the end
    epoch: float  # per epoch, whatever its size
    source: str  # where they come from, in words: "3 earlier runs", "a speed measurement just now"

    @classmethod
    def from_forward_rate(cls, strategy: str, rate: float, source: str) -> Speeds:
        """Speeds implied by the backbone's forward rate (images/s), scaled by the measured `FACTORS`."""
        forward = 1.0 / rate
        head_only = strategy == "feature-extractor"
        first = HEAD_SECONDS_PER_IMAGE if head_only else FACTORS[_first_phase(strategy)] * forward
        return cls(startup=STARTUP_SECONDS[strategy], extract=FACTORS["extract"] * forward, train=first,
                   fine_tune=FACTORS["fine-tune"] * forward,
                   evaluate=HEAD_SECONDS_PER_IMAGE if head_only else FACTORS["evaluate"] * forward,
                   epoch=EPOCH_SECONDS, source=source)


@dataclass(frozen=True)
class Workload:
    """How much a run does: images, epochs, and how many images still need their features computed."""

    train_images: int
    validation_images: int
    test_images: int
    epochs: int
    fine_tune_epochs: int
    to_extract: int  # 0 unless a feature-extractor run whose features are not all cached
    cached: int = 0  # the run's images whose features the cache already holds

    def breakdown(self, speeds: Speeds) -> dict[str, float]:
        """Seconds of each part of the run: start-up, extraction, training (validation included), evaluation."""
        validation = self.validation_images * speeds.evaluate + speeds.epoch
        return {
            "startup": speeds.startup,
            "extraction": self.to_extract * speeds.extract,
            "training": self.epochs * (self.train_images * speeds.train + validation)
            + self.fine_tune_epochs * (self.train_images * speeds.fine_tune + validation),
            "evaluation": (self.validation_images + self.test_images) * speeds.evaluate,
        }


@dataclass(frozen=True)
class FinishedRun:
    """What a finished run tells about speed: its metrics.json and history.csv."""

    metrics: dict[str, Any]
    history: list[dict[str, str]]

    @classmethod
    def read(cls, folder: Path) -> FinishedRun | None:
        """The run in `folder`, or None when it did not finish or its files are missing or damaged."""
        files = RunFiles(folder)
        try:
            metrics = read_json(files.metrics, None)
        except (OSError, ValueError):
            return None
        if not isinstance(metrics, dict) or metrics.get("stopped") or not metrics.get("seconds"):
            return None
        if not files.history.exists():
            return None
        with open(files.history, newline="") as handle:
            return cls(metrics, list(csv.DictReader(handle)))

    def matches(self, config: TrainConfig, *, strategy: bool = True) -> bool:
        same = self.metrics.get("backbone") == config.backbone and self.metrics.get("image_size") == config.image_size
        return same and (not strategy or self.metrics.get("strategy") == config.strategy)

    def workload(self) -> Workload:
        phases = [row.get("phase") for row in self.history]
        return Workload(self.metrics.get("train_images") or 0, self.metrics.get("validation_images") or 0,
                        self.metrics.get("test_images") or 0, phases.count("train"), phases.count("fine-tune"),
                        (self.metrics.get("features") or {}).get("computed") or 0)

    def parts(self) -> dict[str, float]:
        """Seconds per image of each part this run measured: training and validation from history.csv (the
        median epoch after a phase's first, whose graph tracing is start-up, not a per-image cost), extraction
        from its feature stats."""
        parts: dict[str, float] = {}
        for phase, name in (("train", "train"), ("fine-tune", "fine_tune")):
            rates = self._column(phase, "images_per_second")
            if rates:
                parts[name] = 1.0 / statistics.median(rates)
        seconds = self._column("train", "seconds")
        validation, train_images = self.metrics.get("validation_images"), self.metrics.get("train_images") or 0
        if seconds and "train" in parts and validation:
            epoch = statistics.median(seconds) - EPOCH_SECONDS - parts["train"] * train_images
            parts["evaluate"] = max(epoch, 0.0) / validation
        features = self.metrics.get("features") or {}
        if features.get("computed"):
            parts["extract"] = features["seconds"] / features["computed"]
        return parts

    def _column(self, phase: str, column: str) -> list[float]:
        """`column` of `phase`'s epochs after the first (all of them when there is only one)."""
        values = [float(row[column]) for row in self.history if row.get("phase") == phase and row.get(column)]
        return [value for value in values[1:] or values if value > 0]

    def forward_rate(self) -> float | None:
        """The backbone's forward rate this run implies, through the `FACTORS` of what it measured."""
        parts, strategy = self.parts(), self.metrics.get("strategy")
        if "extract" in parts:
            return FACTORS["extract"] / parts["extract"]
        if strategy in ("frozen", "fine-tune", "scratch") and "train" in parts:
            return FACTORS[_first_phase(strategy)] / parts["train"]
        return None


def _first_phase(strategy: str) -> str:
    """The `FACTORS` entry of a strategy's first phase: fine-tuning starts with the head on a frozen backbone."""
    return "frozen" if strategy == "fine-tune" else strategy


def finished_runs(runs_dir: Path) -> list[FinishedRun]:
    """Every finished (not stopped) run under `runs_dir` with its files readable."""
    folders = sorted(path for path in runs_dir.iterdir() if path.is_dir()) if runs_dir.is_dir() else []
    return [run for run in map(FinishedRun.read, folders) if run]


def forward_rate_from_runs(config: TrainConfig, runs: list[FinishedRun]) -> float | None:
    """The median forward rate implied by earlier runs with the backbone and image size, any strategy."""
    rates = [rate for rate in (run.forward_rate() for run in runs if run.matches(config, strategy=False)) if rate]
    return statistics.median(rates) if rates else None


def speeds_from_runs(config: TrainConfig, runs: list[FinishedRun], fallback: Speeds | None) -> Speeds | None:
    """Median speeds of the earlier runs with `config`'s backbone, image size and strategy.

    A part none of them measured (extraction when every feature was cached) keeps `fallback`'s speed (0
    without one). Each run's start-up is what remains of its wall time once its other parts, at these
    speeds, are taken away: process, TensorFlow, build, first-epoch tracing and saving, as that run saw them.
    """
    alike = [run for run in runs if run.matches(config)]
    if not alike:
        return None
    measured = [run.parts() for run in alike]
    median = {name: statistics.median(part[name] for part in measured if name in part)
              for name in ("extract", "train", "fine_tune", "evaluate") if any(name in part for part in measured)}
    base = fallback or Speeds(0.0, 0.0, 0.0, 0.0, 0.0, EPOCH_SECONDS, "")
    speeds = replace(base, **median, startup=0.0, source=f"{len(alike)} earlier run{'s' * (len(alike) > 1)}")
    startups = [PROCESS_SECONDS + max(0.0, run.metrics["seconds"] - sum(run.workload().breakdown(speeds).values()))
                for run in alike]
    return replace(speeds, startup=statistics.median(startups))


def measure_forward_rate(spec: BackboneSpec, image_size: int, *, batch_size: int = 8, repeats: int = 5) -> float:
    """Images/s of the backbone's forward pass on in-memory random images (weights do not change speed,
    so it is built with random ones: nothing to resolve or download). The median of `repeats` timed batches
    after two warm-ups: one timing of two batches read 139 images/s for a backbone another read at 224 on the
    same quiet machine (the first calls after a build still trace and allocate)."""
    model = feature_extractor(build_backbone(spec, WeightsSource("none"), image_size), "none")
    images = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3)).astype("float32")
    for _ in range(2):
        model.predict_on_batch(images)  # build and warm up
    seconds = []
    for _ in range(repeats):
        began = time.perf_counter()
        model.predict_on_batch(images)
        seconds.append(time.perf_counter() - began)
    return batch_size / statistics.median(seconds)
