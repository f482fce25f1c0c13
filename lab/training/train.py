"""One training run: check, load data, build, fit, fine-tune, save. The story of both tutorials.

`train(config, run_dir, on_event=..., should_stop=..., settings=None) -> metrics` writes into
`run_dir`: `history.csv` (one row per epoch, rewritten atomically every epoch), `metrics.json`,
`model.keras` (final; raw 0..255 images in, class probabilities out), `best.keras` (best
val_accuracy so far, same interface), `tensorboard/`, `layers.csv` (the trainable-layers table
for each phase: before training and again after unfreezing), `predictions.csv` (the final model's
per-image predictions on the validation and test images, `lab.evaluation.predictions`), `calibration.json`
(the temperature fitted on those validation predictions, `lab.evaluation.calibration`), and the run's
out-of-distribution check (`novelty.json` and `novelty.npz`, `lab.evaluation.novelty`: how far a photo lies from
the training photos, with a threshold set on the validation photos). Writing them, and
the events passed to `on_event`, is the `Recorder`'s job (`lab.training.recorder`, which lists the events).

A config's `start_from` names an earlier run whose trained head starts this run's head (`lab.training.start_from`,
checked before any data is read); early stopping watches `early_stopping_monitor` and, with
`restore_best_weights`, leaves the best epoch's weights as the final model while the history keeps every epoch.

Phases: "prepare", "data", "build", "features", "train", "fine-tune", "evaluate", "save", "done".
`should_stop()` is polled between batches (and between feature-extraction batches); when it returns
True the run stops gracefully: the interrupted epoch is dropped, history and the best checkpoint are
kept, the final model is saved, and metrics["stopped"] is True.

metrics.json / the returned dict: best_val_accuracy, best_epoch, epochs_completed, train_images,
validation_images, seconds, images_per_second (training images per second of training loop),
weights {kind, path, sha256, alpha}, stopped, classes, test_accuracy, test_images and the test set's
interpretation (`test`: per class, confusion matrix, ...) when the data has a test split, `novelty` (the
out-of-distribution check's method, threshold and what it was fitted on; None without one), plus final logs,
the feature-cache statistics and enough about the config (backbone, strategy, image_size) for
`lab.training.cost` to learn speeds.

Two things are called a strategy in TensorFlow code; here the *strategy* is always the run's training
strategy (`config.strategy`), and the `tf.distribute` strategy every model is built under is the
*distribution*, passed along the story.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.evaluation.novelty import NoveltyCheck
from lab.evaluation.predictions import Predictions, concatenate
from lab.settings import Settings, load_settings
from lab.training.backbone_factory import Backbone, build_backbone
from lab.training.backbones import BACKBONES, BackboneSpec
from lab.training.config import TrainConfig
from lab.training.recorder import Event, Recorder
from lab.training.start_from import HEAD, check_start, start_head
from lab.training.weights import WeightsSource, resolve_weights

MEMORY_CACHE_LIMIT = 1_500_000_000  # bytes of decoded uint8 images kept in RAM between epochs
Predictor = Callable[[str, Sequence[ImageRecord]], Predictions]  # (split name, its records) -> predictions


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
    """Train one run into `run_dir` and return its metrics (see the module docstring).

    A `TrainConfig` is valid once it exists, so nothing here checks it again; the weights are resolved
    once, first, so that weights that cannot be had fail before any data is read.
    """
    settings = settings or load_settings()
    recorder = Recorder(Path(run_dir), on_event, should_stop)
    recorder.phase("prepare", config.summary())
    spec = BACKBONES[config.backbone]
    weights = resolve_weights(spec, config.weights, image_size=config.image_size, settings=settings)
    if config.start_from:
        check_start(config, settings)
    data = _load_data(config, settings, recorder)
    distribution = _prepare_devices(config, recorder)
    backbone = _build_backbone(config, spec, weights, distribution, recorder)
    if config.strategy == "feature-extractor":
        export, predict, fit_novelty = _train_on_features(config, data, backbone, distribution, recorder, settings)
    else:
        export = _train_on_images(config, data, backbone, distribution, recorder, settings)
        predict, fit_novelty = _image_predictor(export, data.classes, config), _image_novelty(export, data, config)
    predictions = _held_out_predictions(data, predict if export is not None else None, recorder)
    novelty = _novelty(fit_novelty if export is not None else None, recorder)
    return recorder.finish(config, data, backbone, export, predictions, novelty)


def _load_data(config: TrainConfig, settings: Settings, recorder: Recorder):
    from lab.data import training_splits

    recorder.phase("data", f"Reading {config.data}")
    data = training_splits(config.data, train_split=config.train_split, train_size=config.train_size,
                           validation_size=config.validation_size, seed=config.seed, settings=settings,
                           check_photos=True)
    recorder.phase("data", f"{len(data.train)} training and {len(data.validation)} validation images; "
                           f"classes {', '.join(data.classes)}")
    return data


def _prepare_devices(config: TrainConfig, recorder: Recorder):
    """Seed everything, set the precision policy, and return the distribution models are built under."""
    import keras

    from lab.training import devices

    keras.utils.set_random_seed(config.seed)
    recorder.phase("build", devices.set_mixed_precision(config.mixed_precision))
    return devices.distribution()


def _build_backbone(config: TrainConfig, spec: BackboneSpec, weights: WeightsSource, distribution,
                    recorder: Recorder) -> Backbone:
    with distribution.scope():
        backbone = build_backbone(spec, weights, config.image_size)
    path = backbone.weights.path
    described = {"none": "random initialisation (no pretrained weights)", "imagenet": f"ImageNet ({path})",
                 "file": f"local file {path}"}[backbone.weights.kind]
    recorder.phase("build", f"{config.backbone} at {config.image_size}px, weights: {described}")
    return backbone


def _train_on_features(config: TrainConfig, data, backbone: Backbone, distribution, recorder: Recorder,
                       settings: Settings):
    """Backbone once per image (cached), then only the head trains; the saved model is end to end."""
    import keras

    from lab.training.models import assemble, build_head, compile_model

    head = config.resolved_head
    splits, matrix = _features(config, data, backbone, recorder, settings)
    if matrix is None:
        return None, None, None
    bounds = np.cumsum([0, *map(len, splits.values())])
    features = {split: matrix[start:end] for split, start, end in zip(splits, bounds, bounds[1:])}
    backbone.model.trainable = False
    with distribution.scope():
        head_model = build_head(head, matrix.shape[1], len(data.classes))
        _start_head(head_model, config, recorder, settings)
        trainer = keras.Model(head_model.input, head_model.output, name="head_trainer")  # holds the optimizer,
        compile_model(trainer, config.optimizer, config.learning_rate)  # so saved models carry none of its state
        export = assemble(backbone, head_model, head)
    recorder.layers("train", export)
    recorder.phase("train", f"Training the {head} head on cached features")
    fit = {"x": features["train"], "y": _labels(data.train, data.classes), "batch_size": config.batch_size,
           "shuffle": True, "validation_data": (features["validation"], _labels(data.validation, data.classes)),
           "class_weight": _class_weights(config, data)}
    _fit(trainer, export, fit, config, recorder, phase="train", epochs=config.epochs)
    return (export, _feature_predictor(head_model, features, data.classes, config.batch_size),
            _feature_novelty(features, data, backbone, config))


def _features(config: TrainConfig, data, backbone: Backbone, recorder: Recorder, settings: Settings):
    """Every training, validation and test image's backbone features, from the cache where it has them: the
    splits and one matrix of their rows in that order (None when stopped)."""
    from lab.training.features import extract_features
    from lab.training.models import POOLING

    splits = {"train": data.train, "validation": data.validation, "test": data.test}
    records = [record for split in splits.values() for record in split]  # one pass, one traced forward function
    recorder.phase("features", f"Backbone features for {len(data.train)} training, {len(data.validation)} "
                               f"validation and {len(data.test)} test images")
    matrix, stats = extract_features(
        records, backbone, pooling=POOLING[config.resolved_head], batch_size=config.batch_size, settings=settings,
        seed=config.seed, on_progress=recorder.feature_progress(config.batch_size), should_stop=recorder.stop)
    recorder.feature_stats = stats.to_dict()
    recorder.phase("features", f"{stats.hits} from the cache, {stats.computed} computed"
                   + (f" at {stats.images_per_second:.1f} images/s" if stats.images_per_second else ""))
    return splits, matrix


def extract_only(config: TrainConfig, work_dir: Path, *, on_event: Callable[[Event], None] = _ignore,
                 settings: Settings | None = None) -> dict[str, Any]:
    """Put the features a feature-extractor run of `config` needs into the cache and train nothing: a study on a
    cluster computes them once, so its runs, side by side, all read them. `work_dir` holds nothing but what a
    `Recorder` needs. Returns the cache's statistics (`computed`, `hits`, ...)."""
    settings = settings or load_settings()
    recorder = Recorder(Path(work_dir), on_event, _never)
    spec = BACKBONES[config.backbone]
    weights = resolve_weights(spec, config.weights, image_size=config.image_size, settings=settings)
    data = _load_data(config, settings, recorder)
    backbone = _build_backbone(config, spec, weights, _prepare_devices(config, recorder), recorder)
    _features(config, data, backbone, recorder, settings)
    return recorder.feature_stats or {}


def _train_on_images(config: TrainConfig, data, backbone: Backbone, distribution, recorder: Recorder,
                     settings: Settings):
    """Scratch, frozen, or fine-tune: images (augmented on the fly) through the whole model."""
    from lab.training.models import build_model, compile_model, unfreeze_from

    with distribution.scope():
        model = build_model(backbone, config.resolved_head, len(data.classes), config.strategy)
        _start_head(model.get_layer(HEAD), config, recorder, settings)
        compile_model(model, config.optimizer, config.learning_rate)
    train_data, validation_data = _datasets(config, data)
    fine_tune = config.strategy == "fine-tune"
    recorder.layers("train", model)
    recorder.phase("train", "Training the head on the frozen backbone" if fine_tune else
                   f"Training ({config.strategy})")
    fit = {"x": train_data, "validation_data": validation_data, "shuffle": False,  # the dataset shuffles itself
           "class_weight": _class_weights(config, data)}
    later = config.fine_tune_epochs if fine_tune else 0
    _fit(model, model, fit, config, recorder, phase="train", epochs=config.epochs, later_epochs=later)
    if fine_tune and not recorder.stop():
        boundary = config.resolved_fine_tune_at
        with distribution.scope():
            opened = unfreeze_from(backbone, boundary)
            compile_model(model, config.optimizer, config.fine_tune_learning_rate)
        recorder.layers("fine-tune", model)
        recorder.phase("fine-tune", f"Unfroze {opened} layers from {boundary} (BatchNorm kept frozen); learning "
                                    f"rate {config.fine_tune_learning_rate:g}")
        _fit(model, model, fit, config, recorder, phase="fine-tune", epochs=config.fine_tune_epochs)
    return model


def _start_head(head_model, config: TrainConfig, recorder: Recorder, settings: Settings) -> None:
    """The head starts from run `config.start_from`'s trained head, when it names one (else a new head)."""
    if config.start_from:
        copied = start_head(head_model, config, settings)
        recorder.phase("build", f"The head starts from run {config.start_from}'s trained head ({copied} layers)")


def _fit(model, export, fit: dict[str, Any], config: TrainConfig, recorder: Recorder, *, phase: str, epochs: int,
         later_epochs: int = 0) -> None:
    """`model.fit` for `epochs` more epochs, numbered on from the epochs already done, recorded by
    `recorder` (checkpoints save `export`); `later_epochs` are planned in a following phase (they count
    in the events' "epochs" and the ETA)."""
    import keras

    done = recorder.epochs_done
    callbacks = recorder.callbacks(export, phase, total_epochs=done + epochs + later_epochs,
                                   batch_size=config.batch_size)
    if config.early_stopping_patience:
        monitor = config.early_stopping_monitor
        callbacks.append(keras.callbacks.EarlyStopping(monitor=monitor, mode="min" if monitor == "val_loss" else "max",
                                                       patience=config.early_stopping_patience,
                                                       restore_best_weights=config.restore_best_weights))
    model.fit(**fit, epochs=done + epochs, initial_epoch=done, callbacks=callbacks, verbose=0)


def _held_out_predictions(data, predict: Predictor | None, recorder: Recorder) -> Predictions | None:
    """The final model's predictions on the validation and test images, kept in the run so that every view
    of it (and the comparison with other runs) reads them instead of running the model again."""
    if predict is None or recorder.stop():
        return None
    held_out = {"validation": data.validation, "test": data.test}
    recorder.phase("evaluate", f"Predicting {len(data.validation)} validation and {len(data.test)} test images "
                               "with the final model")
    return concatenate([predict(split, records) for split, records in held_out.items() if records])


def _novelty(fit: Callable[[], NoveltyCheck] | None, recorder: Recorder) -> NoveltyCheck | None:
    """The run's out-of-distribution check (`lab.evaluation.novelty`), fitted once the final model exists; a run
    stopped early, or whose photos cannot give one, has none and says so in its log."""
    if fit is None or recorder.stop():
        return None
    recorder.phase("evaluate", "Fitting the out-of-distribution check on the backbone's pooled features")
    try:
        return fit()
    except LabError as error:
        recorder.phase("evaluate", f"No out-of-distribution check for this run: {error}")
        return None


def _feature_novelty(features: dict[str, np.ndarray], data, backbone: Backbone,
                     config: TrainConfig) -> Callable[[], NoveltyCheck]:
    """The check from the cached features of a sample of the training photos and of every validation photo."""

    def fit() -> NoveltyCheck:
        from lab.evaluation.novelty import fit_check, sample_rows
        from lab.evaluation.pooled_features import pool_cached

        shape = tuple(backbone.model.output.shape[1:])
        rows = sample_rows(len(data.train), seed=config.seed)
        return fit_check(pool_cached(features["train"][rows], shape), _labels(data.train, data.classes)[rows],
                         pool_cached(features["validation"], shape))

    return fit


def _image_novelty(model, data, config: TrainConfig) -> Callable[[], NoveltyCheck]:
    """The check from the final model's pooled features of a sample of the training photos (unaugmented) and of
    every validation photo: fine-tuning moves the features, so they are read from the model as it ends."""

    def fit() -> NoveltyCheck:
        from lab.evaluation.novelty_fit import fit_from_records
        from lab.evaluation.pooled_features import with_features

        return fit_from_records(with_features(model), data.train, data.validation, data.classes,
                                image_size=config.image_size, batch_size=config.batch_size, seed=config.seed)

    return fit


def _image_predictor(model, classes: Sequence[str], config: TrainConfig) -> Predictor:
    """Predictions of the whole model, images read through the training pipeline."""
    from lab.evaluation.predictions import predict_records

    def predict(split: str, records: Sequence[ImageRecord]) -> Predictions:
        return predict_records(model, records, classes, split=split, image_size=config.image_size,
                               batch_size=config.batch_size)

    return predict


def _feature_predictor(head_model, features: dict[str, np.ndarray], classes: Sequence[str],
                       batch_size: int) -> Predictor:
    """Predictions of the head on the cached backbone features: the saved model's answers, no backbone pass."""

    def predict(split: str, records: Sequence[ImageRecord]) -> Predictions:
        return Predictions.of(records, classes, split, head_model.predict(features[split], batch_size=batch_size,
                                                                           verbose=0))

    return predict


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
