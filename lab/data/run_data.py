"""Resolve what one training run uses: its classes, training, validation and test images.

A run names its data as a folder, a zip or a saved manifest, the split it trains on (`train`, or a
subset a manifest holds, such as `train_1000`), plus optional sizes. Sizes are stratified nested
subsets for a given seed, so "1,000 training images" is always the same thousand, drawn from the
larger training set as the Keras tutorial drew its 1K subset from its 20K. `size_problems` words what
sizes the data cannot give, without naming the field, so the CLI names it by its flag and the Train
page by its label.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from lab.data.manifest import Manifest, build_manifest, load_manifest, manifest_path, records_hash
from lab.data.manifest_check import check_recorded_photos
from lab.data.records import SPLITS, ImageRecord
from lab.data.scan import scan
from lab.data.splits import stratified_subset
from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.settings import Settings, load_settings


@dataclass(frozen=True)
class TrainingData:
    classes: list[str]
    train: list[ImageRecord]
    validation: list[ImageRecord]
    test: list[ImageRecord]
    manifest_hash: str


def training_splits(
    source: str | Path,
    *,
    train_split: str = "train",
    train_size: int | None = None,
    validation_size: int | None = None,
    seed: int = 0,
    settings: Settings | None = None,
    on_progress: Progress = no_progress,
    check_photos: bool = False,
) -> TrainingData:
    """The images a run trains and validates on. Split folders are respected; otherwise 80/20 stratified.

    `train_split` names the split trained on ("train", or a manifest's subset such as "train_1000").
    `check_photos`: a saved manifest's chosen photos are first checked against what it recorded (a run does;
    an estimate does not need to).
    """
    settings = settings or load_settings()
    manifest = source_manifest(source, seed=seed, settings=settings, on_progress=on_progress)
    if not manifest.splits.get("validation"):
        raise LabError(f"{source} has no validation images: build a manifest with a validation split.")
    problems = size_problems({name: len(records) for name, records in manifest.splits.items()},
                             train_split=train_split, train_size=train_size, validation_size=validation_size)
    if problems:
        field, text = next(iter(problems.items()))
        raise LabError(f"--{field.replace('_', '-')}: {text}")
    train = stratified_subset(manifest.splits[train_split], train_size, seed=seed, what="--train-size")
    validation = stratified_subset(manifest.splits["validation"], validation_size, seed=seed,
                                   what="--validation-size")
    test = manifest.splits.get("test", [])
    if check_photos and resolve_data_path(source, settings) is None:  # a folder was scanned just now
        check_recorded_photos([*train, *validation, *test], manifest.root, settings, manifest.name)
    chosen = {"train": train, "validation": validation, "test": test}
    return TrainingData(classes=manifest.classes, train=train, validation=validation, test=test,
                        manifest_hash=records_hash(chosen))


def split_sizes(source: str | Path, *, seed: int = 0, settings: Settings | None = None) -> dict[str, int]:
    """Images per split that `source` offers a run (a folder is scanned and split as `training_splits` does):
    train, validation and test first, then the subsets."""
    splits = source_manifest(source, seed=seed, settings=settings or load_settings()).splits
    order = [*[name for name in SPLITS if name in splits], *sorted(set(splits) - set(SPLITS))]
    return {name: len(splits[name]) for name in order}


def size_problems(sizes: dict[str, int], *, train_split: str, train_size: int | None,
                  validation_size: int | None) -> dict[str, str]:
    """What the data (`sizes`: images per split) cannot give: parameter name -> what to change.

    The texts leave the parameter unnamed, so each caller names it its own way ("--train-size: asks
    for...", "Training images: asks for...").
    """
    if train_split not in sizes:
        return {"train_split": f"this dataset has no split {train_split!r}; it has {', '.join(sizes)} (subsets "
                               "such as train_1000 are made on the Dataset page and saved in a manifest)"}
    wanted = {"train_size": (train_size, sizes[train_split], "for training"),
              "validation_size": (validation_size, sizes.get("validation", 0), "for validation")}
    return {name: f"asks for {size:,} images but only {have:,} are available {purpose} in this dataset; choose "
                  f"{have:,} or fewer, or another dataset"
            for name, (size, have, purpose) in wanted.items() if size is not None and size > have}


def source_manifest(source: str | Path, *, seed: int = 0, settings: Settings,
                    on_progress: Progress = no_progress) -> Manifest:
    """What `source` (a folder, a zip or a saved manifest) offers a run, split as `training_splits` splits it:
    a saved manifest as saved; a folder scanned, its split folders kept, a missing validation split cut 20% from
    train with `seed` (a manifest named "run", never saved)."""
    folder = resolve_data_path(source, settings)
    if folder is None:
        return load_manifest(source, settings)
    report = scan(folder, settings=settings, on_progress=on_progress)
    return build_manifest(report, name="run", validation=0.2, seed=seed)


def resolve_data_path(source: str | Path, settings: Settings) -> Path | None:
    """The folder or zip `source` names, or None when it names a saved manifest.

    A bare name (how presets name the shared sets: `cats_and_dogs_filtered`) is a saved manifest if
    one has that name, else a folder of that name inside one of the data folders.
    """
    path = Path(source).expanduser()
    if path.suffix == ".json":
        return None
    if path.exists() or path.is_absolute() or len(path.parts) > 1:
        return path
    if manifest_path(source, settings).exists():
        return None
    return next((folder / path for folder in settings.data_dirs if (folder / path).exists()), None)
