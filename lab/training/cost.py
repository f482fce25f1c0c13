"""What a run will cost before it starts: images x epochs x FLOPs, and a time estimate.

Work is counted in forward-pass equivalents: a frozen backbone costs one per image per epoch, a
fine-tuned or scratch one about two or three (the backward pass costs about two forward passes),
features only once. The speed (forward passes per second) comes from earlier runs with the same
backbone and image size, else from timing the backbone on a small random batch now.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from lab.settings import Settings, load_settings
from lab.storage import read_json
from lab.training.backbones import BACKBONES, BackboneSpec, build_backbone
from lab.training.config import TrainConfig
from lab.training.features import feature_extractor
from lab.training.weights import WeightsSource

# Forward-pass equivalents per training image: a backward pass costs about two forward passes.
FORWARDS_PER_IMAGE = {"frozen": 1.0, "fine-tune": 2.0, "scratch": 3.0, "feature-extractor": 1.0}


def estimate_cost(config: TrainConfig, settings: Settings | None = None, *, runs_dir: Path | None = None,
                  measure: bool = True) -> dict[str, Any]:
    """What `config` will cost: images, epochs, FLOPs, and seconds when the speed is known.

    The speed is the backbone's forward rate (images/s) on this machine, from earlier runs with the
    same backbone and image size (their measured training or extraction speed, converted to forward
    passes), else measured now on a small random batch (`measure=True`, a few seconds), else unknown.
    """
    settings = settings or load_settings()
    spec = BACKBONES[config.backbone]
    flops = spec.gflops * 1e9 * (config.image_size / spec.native_size) ** 2
    train_images, validation_images = _planned_sizes(config, settings)
    forwards = _forward_passes(config, train_images, validation_images)
    rate, source = _rate_from_runs(config, runs_dir or settings.runs_dir)
    if rate is None and measure:
        rate, source = measure_forward_rate(spec, config.image_size), "measured forward pass"
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


def measure_forward_rate(spec: BackboneSpec, image_size: int, *, batch_size: int = 8, repeats: int = 2) -> float:
    """Images/s of the backbone's forward pass on in-memory random images (weights do not change speed,
    so it is built with random ones: nothing to resolve or download)."""
    model = feature_extractor(build_backbone(spec, WeightsSource("none"), image_size), "none")
    images = np.random.default_rng(0).uniform(0, 255, (batch_size, image_size, image_size, 3)).astype("float32")
    model.predict_on_batch(images)  # build and warm up
    began = time.perf_counter()
    for _ in range(repeats):
        model.predict_on_batch(images)
    return batch_size * repeats / (time.perf_counter() - began)
