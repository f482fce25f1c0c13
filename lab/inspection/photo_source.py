"""What to look at, and through which backbone: the photos of a dataset folder, a saved manifest or a run.

A run brings everything from its folder: its data (the photos of its splits, drawn again from its config as
training drew them), its backbone, weights and image size (the backbone as its weights file made it, before any
training: what a feature-extractor run's head saw, and a fine-tuned run's starting point), and its stored
answers (`predictions.csv`: its validation and test photos). A folder or manifest needs the backbone named.

Splits: a folder's own split folders, a manifest's train, validation and test (its subsets are parts of train).
A folder without split folders has none, so nothing in it can cross splits: save a manifest first (`lab
manifest`) to check the split a run will use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lab.data.manifest import load_manifest
from lab.data.records import SPLITS, ImageRecord
from lab.data.run_data import resolve_data_path, training_splits
from lab.data.scan import scan
from lab.errors import LabError
from lab.evaluation.predictions import Predictions
from lab.progress import Progress, no_progress
from lab.run_files import RunFiles
from lab.settings import Settings
from lab.storage import read_json


@dataclass(frozen=True)
class PhotoSource:
    """Photos, the backbone to see them through, and (for a run) the class it answered for each, by digest."""

    records: list[ImageRecord]
    backbone: str
    weights: str
    image_size: int | None
    predictions: dict[str, str] = field(default_factory=dict)


def photo_source(source: str | Path, *, backbone: str | None = None, weights: str | None = None,
                 image_size: int | None = None, settings: Settings,
                 on_progress: Progress = no_progress) -> PhotoSource:
    """`source` is a run folder, a data folder or zip, or a saved manifest; `backbone`, `weights` and
    `image_size` override a run's own."""
    files = RunFiles(Path(source).expanduser())
    if files.config.is_file():
        return _run_source(files, backbone, weights, image_size, settings, on_progress)
    if not backbone:
        raise LabError(f"--backbone: name the backbone to see {source} through (mobilenet_v2, say); a run folder "
                       "brings its own.")
    records = data_records(source, settings, on_progress)
    return PhotoSource(records, backbone, weights or "imagenet", image_size)


def data_records(source: str | Path, settings: Settings, on_progress: Progress = no_progress) -> list[ImageRecord]:
    """Every valid photo of a folder or zip (scanned), or of a saved manifest's train, validation and test."""
    folder = resolve_data_path(source, settings)
    if folder is not None:
        if not folder.exists():
            raise LabError(f"{source} does not exist: give a data folder, a .zip, a saved manifest or a run folder.")
        records = scan(folder, settings=settings, on_progress=on_progress).records
    else:
        manifest = load_manifest(source, settings)
        records = [record for name in SPLITS for record in manifest.splits.get(name, [])]
    if not records:
        raise LabError(f"{source} holds no valid photos.")
    return records


def _run_source(files: RunFiles, backbone: str | None, weights: str | None, image_size: int | None,
                settings: Settings, on_progress: Progress) -> PhotoSource:
    config = read_json(files.config, {}) or {}
    if not config.get("data") or not config.get("backbone"):
        raise LabError(f"{files.config} does not name the run's data and backbone.")
    data = training_splits(config["data"], train_split=config.get("train_split") or "train",
                           train_size=config.get("train_size"), validation_size=config.get("validation_size"),
                           seed=int(config.get("seed") or 0), settings=settings, on_progress=on_progress)
    return PhotoSource([*data.train, *data.validation, *data.test], backbone or config["backbone"],
                       weights or config.get("weights") or "imagenet", image_size or config.get("image_size"),
                       _answers(files))


def _answers(files: RunFiles) -> dict[str, str]:
    """The class the run answered for each photo it was evaluated on, by digest (none before it finished)."""
    if not files.predictions.is_file():
        return {}
    stored = Predictions.load(files.predictions)
    return {digest: stored.classes[answer] for digest, answer in zip(stored.digests, stored.predicted)}
