"""Evaluate a finished run on any images, and keep the result inside the run.

A run's own validation and test predictions are written by training (`<run>/predictions.csv`). Any
other evaluation — the run on another folder, a zip, or a manifest split — is stored under
`<run>/evaluations/<name>/` as `predictions.csv` and `summary.json` (names spelled in `lab.run_files`), so a
run can hold several and the Compare page reads them without running the model again. Whether an evaluation is
also copied to MLflow is the caller's choice (`lab evaluate` copies it, `lab.runs.tracking.track_into_log`).

The run's model is loaded with Keras's safe mode (no arbitrary code from a model file) and fed through
the training pipeline, so images are decoded and resized exactly as in training. The evaluation set's
classes are matched to the run's by name; a class the run does not know is an error, not a guess.

Without other data, an evaluation is of the run's own validation or test photos: their stored predictions are
read, not made again. Every summary carries the accuracy's 95% interval, the run's temperature and the expected
calibration error before and after it (`lab.evaluation.calibration`). With test-time augmentation (`tta`,
`lab.evaluation.tta`) the model runs on the photos' views once, and the summary adds what TTA changed against
the plain predictions kept for that set (the ones every other view of it reads); the averaged predictions are
kept beside them (`predictions-tta-<views>.csv`: in the evaluation's folder, or for the run's own photos in the
run's), so the Compare page shows them without running the model again.
A run with an out-of-distribution check (`lab.evaluation.novelty`) also reports how many of the photos it
flags (`novelty`: flagged and share_flagged) whenever the model runs on them; a run without one, or the run's
own stored predictions read again, report None (`lab evaluate` fits a missing check first,
`lab.evaluation.novelty_fit`).
"""

from __future__ import annotations

import json
import re
import zipfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.evaluation.accuracy_text import interval_bounds
from lab.evaluation.calibration import Calibration, calibration_views, load_calibration
from lab.evaluation.interpretation import Interpretation
from lab.evaluation.novelty import NoveltyCheck
from lab.evaluation.pooled_features import predict_with_features, with_features
from lab.evaluation.predictions import Predictions, concatenate, predict_records
from lab.evaluation.tta import VIEWS, check_views, predict_records_tta, tta_gain
from lab.progress import Progress, no_progress
from lab.run_files import EVALUATION_SUMMARY, MODEL, PREDICTIONS, TTA_PREDICTIONS, RunFiles
from lab.settings import Settings, load_settings
from lab.storage import read_json, write_json_atomic

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


def load_model(run_dir: Path):
    """The run's final model, with Keras's safe mode on and without its (unneeded) optimizer, checked against
    the run's classes. Each way a model file can be unusable is one `LabError` naming the file and what is
    wrong: missing, damaged (a truncated copy read "File not found"), code inside, a layer Keras cannot rebuild,
    or an output that does not match the run's classes (which failed later as "cannot reshape")."""
    import keras

    path = RunFiles(Path(run_dir)).model
    if not path.exists():
        raise LabError(f"{run_dir} has no {MODEL}: only a finished (or stopped) run can be evaluated.")
    if not zipfile.is_zipfile(path):
        raise LabError(f"{path} is damaged or incomplete ({path.stat().st_size:,} bytes, not a whole .keras "
                       "archive): copy it again, or use the run's best.keras checkpoint, or train the run again.")
    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)  # never False: a file may carry code
    except ValueError as error:  # Keras's refusal of a Lambda layer or other code, or a damaged file
        reason = str(error).split(". ")[0]
        raise LabError(f"{path} cannot be loaded safely, so the lab refuses it: {reason}. Only models the lab "
                       "trained (stock Keras layers, no Python code inside) can be loaded.") from None
    except TypeError:  # a layer class registered by code this process has not run
        named = ", ".join(foreign_layers(path)) or "see its config.json"
        raise LabError(f"{path} uses layers Keras cannot rebuild here ({named}): only models the lab trained "
                       "(stock Keras layers) can be loaded.") from None
    _check_outputs(model, path, run_dir)
    return model


def foreign_layers(path: Path) -> list[str]:
    """The layers in a .keras file that are not Keras's own (their `module` is not Keras's: registered by
    someone's code, "package>Name"), by their registered names."""
    with zipfile.ZipFile(path) as archive:
        config = json.loads(archive.read("config.json"))
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            name = str(node.get("class_name", "__"))  # "__keras_tensor__": a reference inside the graph
            if not name.startswith("__") and not str(node.get("module")).startswith("keras"):
                found.add(str(node.get("registered_name") or name))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(config)
    return sorted(found)


def _check_outputs(model, path: Path, run_dir: Path) -> None:
    """The model gives one probability per class of the run (when the run says its classes)."""
    classes = (read_json(RunFiles(Path(run_dir)).metrics, {}) or {}).get("classes")
    outputs = model.output_shape[-1] if len(model.output_shape) > 1 else None
    if classes and outputs != len(classes):
        raise LabError(f"{path} answers {outputs} classes but its run has {len(classes)} ({', '.join(classes)}): "
                       "the model file is not this run's. Copy the run's own model.keras back, or train it again.")


def run_classes(run_dir: Path) -> list[str]:
    """The run's classes in its model's output order (sorted names, as Keras's directory loaders use)."""
    classes = (read_json(RunFiles(Path(run_dir)).metrics, {}) or {}).get("classes")
    if not classes:
        raise LabError(f"{run_dir} has no metrics.json with its classes: it did not finish training.")
    return list(classes)


def evaluation_records(data: str | Path, split: str | None, classes: list[str],
                       settings: Settings) -> tuple[list[ImageRecord], str]:
    """The images `data` names (folder, zip, saved manifest) and a default evaluation name.

    `split` picks one split (a manifest's `test`, a split folder's `validation`); by default a manifest's or
    split folder's `test` split when it has one, else every valid image.
    """
    from lab.data import load_manifest, scan
    from lab.data.manifest_check import check_recorded_photos
    from lab.data.run_data import resolve_data_path

    folder = resolve_data_path(data, settings)
    manifest = load_manifest(data, settings) if folder is None else None
    if manifest is not None:
        splits, stem = manifest.splits, manifest.name
    else:
        report = scan(folder, settings=settings)
        splits = {name: [r for r in report.records if r.split == name] for name in report.splits}
        splits["all"] = list(report.records)
        stem = Path(report.root).name
    chosen = split or ("test" if splits.get("test") else "all" if "all" in splits else None)
    if chosen not in splits or not splits[chosen]:
        known = ", ".join(name for name, records in splits.items() if records)
        raise LabError(f"{data} has no {chosen or 'default'} split with images; choose one of: {known}.")
    records = splits[chosen]
    _check_classes({r.label for r in records}, classes, data)
    if manifest is not None:  # a folder was scanned just now
        check_recorded_photos(records, manifest.root, settings, manifest.name)
    return records, f"{stem}-{chosen}"


def _check_classes(found: set[str], classes: list[str], data: str | Path) -> None:
    unknown = sorted(found - set(classes))
    if unknown:
        raise LabError(f"{data} holds class(es) {', '.join(unknown)} that this run never learned (it knows "
                       f"{', '.join(classes)}); evaluate on images of those classes, with folders named the same.")


OWN_SPLITS = ("validation", "test")


def own_split(run_dir: Path, split: str | None) -> str:
    """Which of the run's own splits to evaluate: `split` when it is one, else test when the run has test
    photos, else validation."""
    if split is not None and split not in OWN_SPLITS:
        raise LabError(f"--split {split} is not one of a run's own splits ({' or '.join(OWN_SPLITS)}); name other "
                       "photos with --data.")
    metrics = read_json(RunFiles(Path(run_dir)).metrics, {}) or {}
    return split or ("test" if metrics.get("test_images") else "validation")


def own_records(run_dir: Path, split: str, settings: Settings) -> list[ImageRecord]:
    """The run's own validation or test photos, drawn again from its config as training drew them; a `LabError`
    when its data has changed since (its manifest hash differs)."""
    from lab.data.run_data import training_splits

    files = RunFiles(Path(run_dir))
    config, metrics = read_json(files.config, {}) or {}, read_json(files.metrics, {}) or {}
    data = training_splits(config["data"], train_split=config.get("train_split", "train"),
                           train_size=config.get("train_size"), validation_size=config.get("validation_size"),
                           seed=config.get("seed", 0), settings=settings)
    if metrics.get("manifest_hash") and data.manifest_hash != metrics["manifest_hash"]:
        raise LabError(f"The photos of {config['data']} have changed since this run trained, so its own validation "
                       "and test photos cannot be drawn again; evaluate it on named photos with --data.")
    records = getattr(data, split)
    if not records:
        raise LabError(f"This run has no {split} photos of its own; evaluate its validation photos, or name other "
                       "photos with --data.")
    return records


def evaluate_run(run_dir: Path, data: str | Path | None = None, *, split: str | None = None,
                 name: str | None = None, tta: str | None = None, batch_size: int = 32,
                 settings: Settings | None = None, on_progress: Progress = no_progress) -> dict[str, Any]:
    """Evaluate `run_dir`'s model on `data` and store the predictions and summary under a name, or without
    `data` read the run's own `split`; with `tta` (a set of views) also store and summarise the TTA predictions.
    Returns the summary."""
    settings = settings or load_settings()
    run_dir = Path(run_dir)
    classes = run_classes(run_dir)
    if tta:
        check_views(tta)
    if data is None:
        name = own_split(run_dir, split)
        plain = _stored_split(run_dir, name)
        records = own_records(run_dir, name, settings) if tta or plain is None else []
    else:
        records, default_name = evaluation_records(data, split, classes, settings)
        name, plain = name or default_name, None
        if not _NAME.match(name):
            raise LabError(f"Evaluation name {name!r} may use letters, digits, '_', '-' and '.' (at most 80).")
    fresh, viewed, flagged = (None, None, None)
    if tta or plain is None:
        fresh, viewed, flagged = _predict(run_dir, records, classes, name, tta, batch_size, on_progress)
    plain = plain if plain is not None else fresh  # the plain answers every other view of this set reads
    summary = {"name": name, "data": str(data) if data is not None else "the run's own",
               **evaluation_summary(plain, load_calibration(run_dir)),
               "tta": tta_gain(plain, viewed, tta) if tta else None, "novelty": flagged}
    if data is not None:
        folder = RunFiles(run_dir).evaluation(name)
        fresh.save(folder / PREDICTIONS)
        write_json_atomic(folder / EVALUATION_SUMMARY, summary)
    if tta:
        _keep_tta(run_dir, name if data is not None else None, viewed, tta)
    return summary


def _stored_split(run_dir: Path, split: str) -> Predictions | None:
    """The predictions training stored for the run's own `split`; None when it stored none."""
    path = RunFiles(run_dir).predictions
    stored = Predictions.load(path).split(split) if path.exists() else None
    return stored if stored is not None and len(stored) else None


def _predict(run_dir: Path, records: list[ImageRecord], classes: list[str], name: str, tta: str | None,
             batch_size: int, on_progress: Progress) -> tuple[Predictions, Predictions | None, dict | None]:
    """The model's plain predictions for `records`, with `tta` those averaged over its views (one pass), and
    what the run's out-of-distribution check flags among them (None without a check)."""
    model = load_model(run_dir)
    shared = {"split": name, "image_size": int(model.input_shape[1]), "batch_size": batch_size,
              "on_progress": on_progress}
    check = NoveltyCheck.load(run_dir)
    plain, viewed = predict_records_tta(model, records, classes, views=tta, **shared) if tta else (None, None)
    if check is None:
        return (plain if tta else predict_records(model, records, classes, **shared)), viewed, None
    checked, features = predict_with_features(with_features(model), records, classes, **shared)
    return (plain if tta else checked), viewed, check.flagged(features)


def _keep_tta(run_dir: Path, name: str | None, viewed: Predictions, views: str) -> None:
    """The TTA predictions of a named evaluation in its folder; of the run's own split in the run's file, beside
    its other split's."""
    files = RunFiles(run_dir)
    if name is not None:
        viewed.save(files.evaluation(name) / TTA_PREDICTIONS.format(views=views))
        return
    path = files.tta_predictions(views)
    kept = Predictions.load(path) if path.exists() else None
    others = [kept.split(split) for split in kept.split_names() if split != viewed.splits[0]] if kept else []
    concatenate([*others, viewed]).save(path)


def evaluation_summary(predictions: Predictions, calibration: Calibration) -> dict[str, Any]:
    """The JSON of one evaluation set: `Interpretation.summary` with the accuracy's 95% interval, the run's
    temperature (1.0 when not calibrated) in numbers and words, and the ECE before and after it."""
    measured = calibration_views(predictions, calibration)
    return {**Interpretation(predictions).summary(),
            "accuracy_interval": interval_bounds(predictions.accuracy, len(predictions)),
            "temperature": calibration.temperature, "calibrated": calibration.fitted,
            "calibration": calibration.words(), "ece": measured["before"]["ece"],
            "ece_calibrated": measured["after"]["ece"] if measured["after"] else None}


def evaluations_stamp(run_dir: Path) -> tuple[float, ...]:
    """The modification times of a run's stored predictions (its own and each named evaluation's, plain and
    TTA) and of its calibration: a cache key that changes when what the pages draw from them would."""
    layout = RunFiles(Path(run_dir))
    tta = [layout.tta_predictions(views) for views in VIEWS]
    files = [layout.predictions, layout.calibration, *tta, *sorted(layout.evaluations.glob("*/predictions*.csv"))]
    return tuple(path.stat().st_mtime for path in files if path.exists())


def evaluation_names(stored: Iterable[Mapping[str, Any]]) -> list[str]:
    """The evaluation sets any of several runs has (each run's `evaluations`): the runs' own test and
    validation splits first, then the named evaluations alphabetically."""
    found = {name for evaluated in stored for name in evaluated}
    own = [name for name in ("test", "validation") if name in found]
    return [*own, *sorted(found - set(own))]


def evaluations(run_dir: Path) -> dict[str, Predictions]:
    """Every stored evaluation of a run by name: its own splits ("validation", "test") and named ones."""
    files = RunFiles(Path(run_dir))
    found: dict[str, Predictions] = {}
    if files.predictions.exists():
        table = Predictions.load(files.predictions)
        found.update({split: table.split(split) for split in table.split_names()})
    for folder in sorted(files.evaluations.glob("*/")):
        if (folder / PREDICTIONS).exists():
            found[folder.name] = Predictions.load(folder / PREDICTIONS)
    return found


def tta_evaluations(run_dir: Path) -> dict[str, dict[str, Predictions]]:
    """Every stored TTA evaluation of a run, by evaluation name and then by its views ("flip", "crops")."""
    files = RunFiles(Path(run_dir))
    found: dict[str, dict[str, Predictions]] = {}
    for views in VIEWS:
        if files.tta_predictions(views).exists():
            table = Predictions.load(files.tta_predictions(views))
            for split in table.split_names():
                found.setdefault(split, {})[views] = table.split(split)
        for path in sorted(files.evaluations.glob(f"*/{TTA_PREDICTIONS.format(views=views)}")):
            found.setdefault(path.parent.name, {})[views] = Predictions.load(path)
    return found
