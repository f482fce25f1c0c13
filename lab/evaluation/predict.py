"""Predict with a finished run: one photo (with its Grad-CAM heatmap), or a batch of files.

A `Predictor` loads a run's model once (Keras's safe mode on), so a page keeps one per run with
`st.cache_resource` and calls it for every upload. Photos, uploaded bytes or files, are decoded by the
training pipeline's own decoders (an upload in memory, never through a file), so the model sees a photo
exactly as it saw its training images; a file that is not a usable image is a `LabError` with the reason
from the lab's file checks. `explain_photo` is what a page or `lab predict --gradcam` shows: one decode
gives the answer, the photo as shown and the Grad-CAM overlay drawn on it.

Batch prediction (a folder, a zip, a list of paths) checks every file first, in threads, and predicts the
good ones through the training pipeline; an unreadable file gets its reason and never stops the others.

Every probability a `Predictor` gives is divided by the run's temperature (`calibration`, fitted on its
validation photos when it finished; T = 1 for a run made before), so "90% sure" means right about 90% of the
time; `model` itself still gives the raw probabilities. `tta` ("flip", "crops"; `lab.evaluation.tta`) averages
the model's answers over test-time views of each photo first.
Beside its probabilities, every photo gets the run's out-of-distribution check (`lab.evaluation.novelty`): a
score of how far it lies from the training photos, and whether it passed (`in_distribution`). A batch gets both
from one pass over the photos (`lab.evaluation.pooled_features`); a run made before the check has none (None).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from lab.data.archive import is_zip
from lab.data.check import check_file
from lab.data.records import IMAGE_SUFFIXES, ImageRecord
from lab.data.thumbnail import preview_jpeg
from lab.data.upload_area import unpacked_upload
from lab.errors import LabError
from lab.evaluation.calibration import load_calibration
from lab.evaluation.evaluate import load_model, run_classes
from lab.evaluation.novelty import Novelty, NoveltyCheck
from lab.progress import Progress, no_progress
from lab.settings import Settings, load_settings

Source = str | Path | bytes


@dataclass(frozen=True)
class Explanation:
    """One photo's answer: the image the model saw, a probability per class, and a Grad-CAM heatmap of the
    image's size (values in [0, 1]) for `explained`, the predicted class unless another was asked for."""

    image: np.ndarray
    probabilities: dict[str, float]
    heatmap: np.ndarray
    explained: str
    novelty: Novelty | None = None  # how far from the training photos; None for a run without the check

    @property
    def label(self) -> str:
        return max(self.probabilities, key=self.probabilities.get)

    @property
    def confidence(self) -> float:
        return self.probabilities[self.label]


@dataclass(frozen=True)
class ExplainedPhoto:
    """What a person is shown for one photo: the answer, the photo (uint8 RGB, at most the side asked for)
    and the Grad-CAM overlay of the explained class drawn on it, of the same size."""

    explanation: Explanation
    photo: np.ndarray
    overlay: np.ndarray


@dataclass(frozen=True)
class FilePrediction:
    """One file of a batch: its probabilities, or `error` saying why it could not be read."""

    path: str
    probabilities: dict[str, float] | None = None
    error: str | None = None
    novelty: Novelty | None = None  # None for a run without an out-of-distribution check
    thumbnail: bytes | None = None  # a small JPEG of the photo, when asked for (a page's table)

    @property
    def label(self) -> str | None:
        return max(self.probabilities, key=self.probabilities.get) if self.probabilities else None

    @property
    def confidence(self) -> float | None:
        return self.probabilities[self.label] if self.probabilities else None

    def to_dict(self) -> dict[str, Any]:
        """The CLI's JSON object: path, label, probabilities, in_distribution and score (both None for a run
        without the check), or path and error."""
        if self.error is not None:
            return {"path": self.path, "error": self.error}
        novelty = self.novelty
        return {"path": self.path, "label": self.label, "probabilities": self.probabilities,
                "in_distribution": novelty.in_distribution if novelty else None,
                "score": novelty.score if novelty else None}


class Predictor:
    """One run's model, loaded once: decode photos, predict, explain with Grad-CAM, show feature maps."""

    def __init__(self, run_dir: str | Path) -> None:
        self.run_dir = Path(run_dir)
        if not self.run_dir.is_dir():
            raise LabError(f"{run_dir} is not a run folder; `python -m lab runs` lists the runs.")
        self.model = load_model(self.run_dir)
        self.classes = run_classes(self.run_dir)
        self.image_size = int(self.model.input_shape[1])
        self.calibration = load_calibration(self.run_dir)

    @cached_property
    def novelty(self) -> NoveltyCheck | None:
        """The run's out-of-distribution check, or None for a run made before it."""
        return NoveltyCheck.load(self.run_dir)

    @cached_property
    def with_features(self):
        """The model with a second output, its pooled backbone features (what `novelty` scores)."""
        from lab.evaluation.pooled_features import with_features

        return with_features(self.model)

    @cached_property
    def gradcam(self):
        from lab.evaluation.gradcam import GradCam

        return GradCam(self.model)

    def decode(self, source: Source, name: str = "upload") -> np.ndarray:
        """A photo (a path, or an upload's bytes named `name`) as float32 (size, size, 3) in [0, 255], decoded
        and resized exactly as in training; a `LabError` says why a file is not a usable image."""
        from lab.data.pipeline import decode_image, load_image

        if isinstance(source, bytes):
            return decode_image(source, name, self.image_size)
        return load_image(source, self.image_size)

    def predict(self, images: np.ndarray, tta: str | None = None) -> np.ndarray:
        """Calibrated probabilities per class for one decoded image (h, w, 3) -> (classes,), or a batch -> (n,
        classes); with `tta`, averaged over those test-time views first."""
        from lab.evaluation.tta import predict_views

        batch = np.asarray(images, dtype=np.float32)
        single = batch.ndim == 3
        batch = batch[None] if single else batch
        raw = predict_views(self.model, batch, tta) if tta else np.asarray(self.model.predict_on_batch(batch))
        probabilities = self.calibration.apply(raw)
        return probabilities[0] if single else probabilities

    def explain(self, source: Source | np.ndarray, class_name: str | None = None,
                name: str = "upload", tta: str | None = None) -> Explanation:
        """Predict one photo (calibrated; with `tta`, over test-time views) and its Grad-CAM heatmap for
        `class_name` (default: the predicted class). The heatmap is the photo's own, never a view's."""
        image = source if isinstance(source, np.ndarray) else self.decode(source, name)
        viewed = self.predict(image, tta) if tta else None
        index = (-1 if viewed is None else int(np.argmax(viewed))) if class_name is None else \
            self._class_index(class_name)
        probabilities, heatmaps, pooled = self.gradcam.with_features(image[None], np.array([index]))
        answer = self.calibration.apply(probabilities[0]) if viewed is None else viewed
        chosen = self.classes[int(np.argmax(answer))] if class_name is None else class_name
        novelty = self.novelty.check(pooled)[0] if self.novelty is not None else None
        return Explanation(image, self._named(answer), heatmaps[0], chosen, novelty)

    def explain_photo(self, source: Source, class_name: str | None = None, name: str = "upload",
                      side: int | None = None, tta: str | None = None) -> ExplainedPhoto:
        """`explain`, with the photo (at most `side` pixels a side; None: its own size) and the heatmap drawn
        over it, from one decode of the photo (`decode_photo`)."""
        from lab.data.pipeline import decode_photo
        from lab.evaluation.gradcam import overlay

        data, name = (source, name) if isinstance(source, bytes) else (Path(source).read_bytes(), Path(source).name)
        photo, image = decode_photo(data, name, self.image_size)
        explanation = self.explain(image, class_name, tta=tta)
        shown = fit_within(photo, side) if side else photo
        return ExplainedPhoto(explanation, shown.astype(np.uint8), overlay(shown, explanation.heatmap))

    def predict_files(self, sources: Sequence[str | Path] | str | Path, *, batch_size: int = 32,
                      settings: Settings | None = None, on_progress: Progress = no_progress,
                      tta: str | None = None, thumbnail_side: int | None = None) -> list[FilePrediction]:
        """One result per file of `sources` (image files, folders, zips), in order, calibrated (with `tta`,
        over test-time views); bad files carry `error`. A zip is unpacked into a place of its own that is
        removed once its photos are predicted (`lab.data.upload_area`), so its photos are named by the zip
        ("photos.zip/cats/1.jpg") and, with `thumbnail_side`, carry a small JPEG of themselves made meanwhile."""
        with ExitStack() as unpacked:
            files = listed_files([sources] if isinstance(sources, (str, Path)) else sources,
                                 settings or load_settings(), unpacked)
            results = self._predict_paths([path for path, _ in files], batch_size, on_progress, tta)
            return [replace(result, path=name, thumbnail=preview_jpeg(path, thumbnail_side)
                            if thumbnail_side and result.error is None else None)
                    for (path, name), result in zip(files, results)]

    def _predict_paths(self, paths: list[Path], batch_size: int, on_progress: Progress,
                       tta: str | None) -> list[FilePrediction]:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            checks = list(pool.map(check_file, paths))
        # The pipeline wants a label per record; these are unknown and unused, so every one gets the first class.
        good = [ImageRecord(str(p), self.classes[0], None, c.digest, c.width, c.height, c.needs_pil)
                for p, c in zip(paths, checks) if c.ok]
        if not good:
            predicted, novelties = [], []
        elif self.novelty is not None and not tta:  # one pass gives both
            predicted, novelties = self._predict_checked(good, batch_size, on_progress)
        else:  # test-time views; the check scores the photo itself
            predicted = self._predict_records(good, batch_size, on_progress, tta)
            novelties = self._predict_checked(good, batch_size, on_progress)[1] if self.novelty is not None else \
                [None] * len(good)
        rows = iter(zip(self.calibration.apply(np.asarray(predicted)) if good else [], novelties))
        return [self._answered(str(p), *next(rows)) if c.ok else FilePrediction(str(p), error=c.reason)
                for p, c in zip(paths, checks)]

    def _predict_checked(self, records: list[ImageRecord], batch_size: int,
                         on_progress: Progress) -> tuple[np.ndarray, list[Novelty]]:
        """The model's own probabilities and the out-of-distribution check of `records`, from one pass."""
        from lab.evaluation.pooled_features import predict_with_features

        predictions, features = predict_with_features(self.with_features, records, self.classes, split="predict",
                                                      image_size=self.image_size, batch_size=batch_size,
                                                      on_progress=on_progress)
        return predictions.probabilities, self.novelty.check(features)

    def _predict_records(self, records: list[ImageRecord], batch_size: int, on_progress: Progress,
                         tta: str | None) -> np.ndarray:
        """The model's own probabilities for `records` through the training pipeline (averaged over `tta`'s views)."""
        from lab.evaluation.predictions import predict_records
        from lab.evaluation.tta import predict_records_tta

        shared = {"split": "predict", "image_size": self.image_size, "batch_size": batch_size,
                  "on_progress": on_progress}
        if tta:
            return predict_records_tta(self.model, records, self.classes, views=tta, **shared)[1].probabilities
        return predict_records(self.model, records, self.classes, **shared).probabilities

    def _answered(self, path: str, probabilities: np.ndarray, novelty: Novelty | None) -> FilePrediction:
        return FilePrediction(path, self._named(probabilities), novelty=novelty)

    def feature_layers(self) -> list[str]:
        """The backbone layers whose activation maps `feature_maps` can show, input to output."""
        from lab.evaluation.gradcam import feature_layers, model_parts

        return feature_layers(model_parts(self.model).backbone)

    def feature_maps(self, image: np.ndarray, layer: str) -> np.ndarray:
        """One layer's activation maps for a decoded image, as a uint8 RGB grid."""
        from lab.evaluation.gradcam import feature_maps

        return feature_maps(self.model, image, layer)

    def _class_index(self, class_name: str) -> int:
        if class_name not in self.classes:
            known = ", ".join(self.classes)
            raise LabError(f"class {class_name!r} is not one this run learned; choose one of: {known}.")
        return self.classes.index(class_name)

    def _named(self, probabilities: np.ndarray) -> dict[str, float]:
        return {label: float(p) for label, p in zip(self.classes, probabilities)}


def fit_within(photo: np.ndarray, side: int) -> np.ndarray:
    """The photo at most `side` pixels a side (float32), so a camera's 12-megapixel shot stays light."""
    from PIL import Image

    if max(photo.shape[:2]) <= side:
        return photo
    image = Image.fromarray(np.clip(photo, 0, 255).astype(np.uint8))
    image.thumbnail((side, side))
    return np.asarray(image, dtype=np.float32)


def folder_images(folder: Path) -> list[Path]:
    """A folder's image files, by suffix, sorted (hidden files left out)."""
    return sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                  and not p.name.startswith("."))


def listed_files(sources: Sequence[str | Path], settings: Settings, unpacked: ExitStack) -> list[tuple[Path, str]]:
    """The files `sources` name, in order, each with the name to report: a file as given (so a bad one is
    reported, not skipped), a folder's image files, a zip's image files unpacked for as long as `unpacked` lasts
    and named inside the zip."""
    found: list[tuple[Path, str]] = []
    for source in map(Path, sources):
        if is_zip(source):
            folder = unpacked.enter_context(unpacked_upload(source, settings))
            found += [(path, f"{source.name}/{path.relative_to(folder).as_posix()}") for path in folder_images(folder)]
        elif source.is_dir():
            found += [(path, str(path)) for path in folder_images(source)]
        else:
            found.append((source, str(source)))
    return found
