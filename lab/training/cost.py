"""What a run will cost before it starts: how long it takes on this machine, and its work in FLOPs.

The time is a model of the run's parts (`lab.training.speed.Workload`): start-up, feature extraction for
the images the feature cache does not hold yet, the epochs (validation included) and the final evaluation,
at speeds learned from earlier runs like it, else from the backbone's forward rate (`lab.training.speed`), which
a measurement made here once (`lab.training.measurements`) gives every estimate after it.
The FLOPs are a detail: forward-pass equivalents (a backward pass costs about two forward passes) times
the backbone's FLOPs per image.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.settings import Settings, load_settings
from lab.storage import read_json
from lab.training.backbones import BACKBONES, BackboneSpec
from lab.training.config import TrainConfig
from lab.training.measurements import remember_rate, remembered_rate
from lab.training.speed import (
    Speeds,
    Workload,
    finished_runs,
    forward_rate_from_runs,
    measure_forward_rate,
    speeds_from_runs,
)

# Forward-pass equivalents per training image: a backward pass costs about two forward passes.
FORWARDS_PER_IMAGE = {"frozen": 1.0, "fine-tune": 2.0, "scratch": 3.0, "feature-extractor": 1.0}


def estimate_cost(config: TrainConfig, settings: Settings | None = None, *, runs_dir: Path | None = None,
                  measure: bool = True) -> dict[str, Any]:
    """What `config` will cost: images, epochs, FLOPs, and seconds on this machine when its speed is known.

    "seconds" (None when unknown) is start-up + extraction + training + evaluation, itemised in "breakdown";
    "rate_source" says where the speeds come from ("3 earlier runs", "a speed measurement just now");
    "images_per_second" is the backbone's pace: extraction for a feature extractor, training otherwise.
    Speeds come from earlier finished runs with the same backbone, image size and strategy, else from the
    forward rate earlier runs of another strategy imply, else from a measurement made here before, else
    (`measure=True`, a few seconds) from timing the backbone now, which is remembered for the next estimates.
    """
    settings = settings or load_settings()
    spec = BACKBONES[config.backbone]
    flops = spec.gflops * 1e9 * (config.image_size / spec.native_size) ** 2
    workload = planned_workload(config, settings)
    forwards = _forward_passes(config, workload)
    speeds = _speeds(config, spec, runs_dir or settings.runs_dir, measure, settings)
    breakdown = workload.breakdown(speeds) if speeds else None
    pace = (speeds.extract if config.strategy == "feature-extractor" else speeds.train) if speeds else 0.0
    return {
        "train_images": workload.train_images,
        "validation_images": workload.validation_images,
        "test_images": workload.test_images,
        "cached_images": workload.cached,
        "epochs": workload.epochs + workload.fine_tune_epochs,
        "flops_per_image": flops,
        "forward_passes": forwards,
        "total_flops": forwards * flops,
        "images_per_second": 1.0 / pace if pace else None,
        "rate_source": speeds.source if speeds else None,
        "breakdown": breakdown,
        "seconds": sum(breakdown.values()) if breakdown else None,
    }


def preset_seconds(preset: TrainConfig, settings: Settings) -> float | None:
    """Roughly how long a preset takes here, from the speed earlier runs measured; None until one did (or
    when its data is not here).

    Asked first with the images counted (no scan of a 20,000-photo folder just to learn the speed is
    unknown), then, when the speed is known, for the preset as it is. Never measures: a list of presets
    must not time every backbone.
    """
    counted = dataclasses.replace(preset, train_size=preset.train_size or 2,
                                  validation_size=preset.validation_size or 2)
    try:
        if estimate_cost(counted, settings, measure=False)["seconds"] is None:
            return None
        return estimate_cost(preset, settings, measure=False)["seconds"]
    except LabError:
        return None


def planned_workload(config: TrainConfig, settings: Settings) -> Workload:
    """The run's images and epochs, and the images whose features are still to compute.

    The data is read (a scan, cached after the first) only when the sizes are not given or a feature cache
    for this backbone may hold some of the images; otherwise the given sizes are used and no test split assumed.
    """
    fine_tune_epochs = config.fine_tune_epochs if config.strategy == "fine-tune" else 0
    cache_folders = _feature_cache_folders(config, settings)
    if config.train_size and config.validation_size and not cache_folders:
        images = config.train_size + config.validation_size
        return Workload(config.train_size, config.validation_size, 0, config.epochs, fine_tune_epochs,
                        images if config.strategy == "feature-extractor" else 0)
    from lab.data import training_splits

    data = training_splits(config.data, train_split=config.train_split, train_size=config.train_size,
                           validation_size=config.validation_size, seed=config.seed, settings=settings)
    digests = {record.digest for split in (data.train, data.validation, data.test) for record in split}
    cached = max((len(digests & read_json(folder / "index.json", {}).keys()) for folder in cache_folders), default=0)
    to_extract = len(digests) - cached if config.strategy == "feature-extractor" else 0
    return Workload(len(data.train), len(data.validation), len(data.test), config.epochs, fine_tune_epochs,
                    to_extract, cached)


def _feature_cache_folders(config: TrainConfig, settings: Settings) -> list[Path]:
    """The feature-cache folders whose key matches this feature-extractor run (`lab.training.features`'s key,
    read from each folder's key.json, so that nothing here loads TensorFlow)."""
    root = settings.cache_dir / "features"
    if config.strategy != "feature-extractor" or not root.is_dir():
        return []
    from lab.training.models import POOLING

    wanted = {"backbone": config.backbone, "weights": _weights_digest(config, settings),
              "image_size": config.image_size, "pooling": POOLING.get(config.resolved_head),
              "keras": importlib.metadata.version("keras")}
    return [folder for folder in root.iterdir()
            if all(read_json(folder / "key.json", {}).get(name) == value for name, value in wanted.items())]


def _weights_digest(config: TrainConfig, settings: Settings) -> str | None:
    """How the feature cache names `config`'s weights: the file's SHA-256, or the seed of random weights."""
    from lab.training.weights import file_sha256, find_weights_file, imagenet_file_name, keras_cache_dir

    if config.weights == "none":
        return f"random-seed-{config.seed}"
    if config.weights == "imagenet":
        path = keras_cache_dir() / imagenet_file_name(BACKBONES[config.backbone], config.image_size)
        return file_sha256(path) if path.exists() else None
    try:
        return file_sha256(find_weights_file(config.weights, settings))
    except LabError:
        return None


def _speeds(config: TrainConfig, spec: BackboneSpec, runs_dir: Path, measure: bool,
            settings: Settings) -> Speeds | None:
    """Calibrated from earlier runs of this strategy, else the forward rate other runs imply, else one measured
    here before (`lab.training.measurements`), else measured now and remembered for every estimate after."""
    runs = finished_runs(runs_dir)
    rate = forward_rate_from_runs(config, runs)
    source = f"earlier {spec.name} runs of another strategy"
    if not rate:
        rate, source = remembered_rate(settings, spec.name, config.image_size), "a speed measured here earlier"
    implied = Speeds.from_forward_rate(config.strategy, rate, source) if rate else None
    calibrated = speeds_from_runs(config, runs, implied)
    if calibrated or implied or not measure:
        return calibrated or implied
    batch_size = min(config.batch_size, 32)
    rate = measure_forward_rate(spec, config.image_size, batch_size=batch_size)
    remember_rate(settings, spec.name, config.image_size, rate, batch_size)
    return Speeds.from_forward_rate(config.strategy, rate, "a speed measurement just now")


def _forward_passes(config: TrainConfig, workload: Workload) -> float:
    if config.strategy == "feature-extractor":
        return float(workload.train_images + workload.validation_images)
    first_phase = FORWARDS_PER_IMAGE["scratch" if config.strategy == "scratch" else "frozen"]
    validation = workload.validation_images
    total = workload.epochs * (first_phase * workload.train_images + validation)
    return total + workload.fine_tune_epochs * (FORWARDS_PER_IMAGE["fine-tune"] * workload.train_images + validation)


def time_in_words(seconds: float) -> str:
    """A duration as a person says it: "about 40 seconds", "about 2 minutes", "about 1 hour 20 minutes"."""
    if seconds < 10:
        return "a few seconds"
    if seconds < 55:
        return f"about {max(10, round(seconds / 10) * 10)} seconds"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"about {minutes} minute{'s' * (minutes != 1)}"
    hours, minutes = divmod(round(seconds / 600) * 10, 60)
    return f"about {hours} hour{'s' * (hours != 1)}" + (f" {minutes} minutes" if minutes else "")


def duration_text(seconds: float) -> str:
    """A duration to the second: "45 s", "3 min 5 s", "1 h 20 min"."""
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


def work_in_words(config: TrainConfig, cost: dict[str, Any]) -> str:
    """What the run does, in a teacher's words: "2,000 photos through MobileNetV2 once, then 5 quick rounds
    of training its new top layers". `details_text` says the same in images, epochs and FLOPs."""
    model, epochs, train = BACKBONES[config.backbone].display_name, config.epochs, cost["train_images"]
    if config.strategy == "feature-extractor":
        seen = "; photos it has seen before are not sent again" if cost.get("cached_images") else ""
        return (f"{train + cost['validation_images']:,} photos through {model} once, then {epochs} quick "
                f"round{'s' * (epochs != 1)} of training its new top layers{seen}")
    if config.strategy == "scratch":
        return f"{train:,} photos through the {model} {_times(epochs)}, every layer learning from a random start"
    frozen = f"{train:,} photos through {model} {_times(epochs)}, only its new top layers learning"
    if config.strategy == "fine-tune":
        return f"{frozen}, then {_times(config.fine_tune_epochs)} more with its own top layers learning too"
    return frozen


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count:,} times")


def details_text(cost: dict[str, Any]) -> str:
    """Where an `estimate_cost` comes from, on one line: its parts, the images, and the work in FLOPs."""
    names = {"startup": "start-up", "extraction": "feature extraction", "training": "training",
             "evaluation": "evaluation"}
    parts = [f"{names[part]} {duration_text(seconds)}" for part, seconds in (cost.get("breakdown") or {}).items()
             if seconds >= 0.5]
    cached = f" ({cost['cached_images']:,} images' features already cached)" if cost.get("cached_images") else ""
    images = (f"{cost['train_images']:,} training + {cost['validation_images']:,} validation images × "
              f"{cost['epochs']} epochs{cached}")
    flops = (f"{cost['forward_passes']:,.0f} forward passes × {cost['flops_per_image'] / 1e9:.2f} GFLOPs = "
             f"{cost['total_flops'] / 1e12:,.1f} TFLOPs")
    return " · ".join([*parts, images, flops])
