"""Fitting a run's out-of-distribution check from its photos (`lab.evaluation.novelty`).

Training fits it as a run finishes (a feature-extractor run from its cached features, without this module; a
run trained on images through `fit_from_records`, the final model's pooled features of a sample of its training
photos and of all its validation photos). A run made before the check existed gets one afterwards from
`fit_run`: the same photos read again from the run's config (same data, sizes and seed, so the same split),
which `lab evaluate` does when the run has none.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.evaluation.evaluate import load_model, run_classes
from lab.evaluation.novelty import NoveltyCheck, fit_check, sample_rows
from lab.evaluation.pooled_features import predict_with_features, with_features
from lab.progress import Progress, no_progress
from lab.run_files import CONFIG, RunFiles
from lab.settings import Settings, load_settings
from lab.storage import read_json


def fit_from_records(two_outputs, train: Sequence[ImageRecord], validation: Sequence[ImageRecord],
                     classes: Sequence[str], *, image_size: int, batch_size: int = 32, seed: int = 0,
                     on_progress: Progress = no_progress) -> NoveltyCheck:
    """The check fitted on the pooled features (`with_features(model)`) of a sample of `train` and of every
    photo of `validation`."""
    sample = [train[i] for i in sample_rows(len(train), seed=seed)]
    features = {}
    for split, records in (("training photos", sample), ("validation photos", validation)):
        _, features[split] = predict_with_features(two_outputs, records, classes, split=split, image_size=image_size,
                                                   batch_size=batch_size, on_progress=on_progress)
    index = {label: i for i, label in enumerate(classes)}
    labels = np.array([index[record.label] for record in sample])
    return fit_check(features["training photos"], labels, features["validation photos"])


def fit_run(run_dir: Path, *, batch_size: int = 32, settings: Settings | None = None,
            on_progress: Progress = no_progress) -> NoveltyCheck:
    """Fit and store the check of a finished run that has none, from the photos its config names; a `LabError`
    says why when they cannot be read any more."""
    from lab.data import training_splits

    settings = settings or load_settings()
    files = RunFiles(Path(run_dir))
    config = read_json(files.config, {}) or {}
    if not config.get("data"):
        raise LabError(f"{run_dir} has no {CONFIG} naming its data, so its training photos are unknown.")
    data = training_splits(config["data"], train_split=config.get("train_split") or "train",
                           train_size=config.get("train_size"), validation_size=config.get("validation_size"),
                           seed=int(config.get("seed") or 0), settings=settings)
    classes = run_classes(files.root)
    if set(data.classes) != set(classes):
        raise LabError(f"{config['data']} now holds classes {', '.join(data.classes)}, but the run learned "
                       f"{', '.join(classes)}: its training photos cannot be read again.")
    model = load_model(files.root)
    check = fit_from_records(with_features(model), data.train, data.validation, classes,
                             image_size=int(model.input_shape[1]), batch_size=batch_size,
                             seed=int(config.get("seed") or 0), on_progress=on_progress)
    check.save(files.root)
    return check
