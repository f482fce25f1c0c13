"""Per-image predictions: what a model said about each image of an evaluation set.

Every view of a finished run (report, confusion matrix, curves, top losses, the paired comparison of
two runs) is computed from this table, so a page visit never runs a model. On disk it is
`predictions.csv`: one row per image with its split, path, content digest, true and predicted class, one
probability column per class (`p_<class>`, in the model's output order) and the image's loss.

The digest, not the path, identifies an image: two runs evaluated on the same photos can be paired
even when the photos were read from different folders.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.storage import write_bytes_atomic

FIXED_COLUMNS = ("split", "path", "digest", "true", "predicted")
PROBABILITY_PREFIX = "p_"
EPSILON = 1e-7  # the loss of a probability of 0 is finite, as in Keras's cross-entropy


@dataclass(frozen=True)
class Predictions:
    """Probabilities for `len(paths)` images over `classes`; `true` holds class indices."""

    classes: tuple[str, ...]
    splits: tuple[str, ...]
    paths: tuple[str, ...]
    digests: tuple[str, ...]
    true: np.ndarray  # (n,) int
    probabilities: np.ndarray  # (n, len(classes)) float

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def predicted(self) -> np.ndarray:
        return np.argmax(self.probabilities, axis=1) if len(self) else np.zeros(0, dtype=int)

    @property
    def correct(self) -> np.ndarray:
        return self.predicted == self.true

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct)) if len(self) else float("nan")

    @property
    def losses(self) -> np.ndarray:
        """Each image's cross-entropy: -log of the probability given to its true class."""
        given = self.probabilities[np.arange(len(self)), self.true]
        return -np.log(np.clip(given, EPSILON, 1.0))

    @classmethod
    def of(cls, records: Sequence[ImageRecord], classes: Sequence[str], split: str,
           probabilities: np.ndarray) -> Predictions:
        """The table for `records` (labelled with names in `classes`) and a model's probabilities for them."""
        index = {label: i for i, label in enumerate(classes)}
        return cls(tuple(classes), (split,) * len(records), tuple(r.path for r in records),
                   tuple(r.digest for r in records), np.array([index[r.label] for r in records], dtype=int),
                   np.asarray(probabilities, dtype=np.float64).reshape(len(records), len(classes)))

    def split(self, name: str) -> Predictions:
        """The rows of one split ("validation", "test", or an evaluation's name)."""
        keep = [i for i, split in enumerate(self.splits) if split == name]
        return self.take(keep)

    def split_names(self) -> list[str]:
        return list(dict.fromkeys(self.splits))

    def take(self, keep: Sequence[int]) -> Predictions:
        """The rows at positions `keep`, in that order."""
        index = np.asarray(keep, dtype=int)
        return Predictions(self.classes, tuple(self.splits[i] for i in keep), tuple(self.paths[i] for i in keep),
                           tuple(self.digests[i] for i in keep), self.true[index], self.probabilities[index])

    def to_csv(self) -> str:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow([*FIXED_COLUMNS, *(PROBABILITY_PREFIX + c for c in self.classes), "loss"])
        predicted, losses = self.predicted, self.losses
        for i in range(len(self)):
            writer.writerow([self.splits[i], self.paths[i], self.digests[i], self.classes[self.true[i]],
                             self.classes[predicted[i]], *(f"{p:.7g}" for p in self.probabilities[i]),
                             f"{losses[i]:.6g}"])
        return buffer.getvalue()

    def save(self, path: Path) -> None:
        write_bytes_atomic(path, self.to_csv().encode())

    @classmethod
    def load(cls, path: Path) -> Predictions:
        """Read a `predictions.csv`; a file that is not one is a `LabError` naming it."""
        try:
            with open(path, newline="") as handle:
                rows = list(csv.reader(handle))
            header = rows[0]
            classes = tuple(c[len(PROBABILITY_PREFIX):] for c in header if c.startswith(PROBABILITY_PREFIX))
            first = header.index(PROBABILITY_PREFIX + classes[0])
            body = rows[1:]
            true = np.array([classes.index(row[3]) for row in body], dtype=int)
            probabilities = np.array([[float(v) for v in row[first:first + len(classes)]] for row in body],
                                     dtype=np.float64).reshape(len(body), len(classes))
        except FileNotFoundError:
            raise LabError(f"{path} does not exist: this run has no stored predictions yet.") from None
        except (IndexError, ValueError) as error:
            raise LabError(f"{path} is not a predictions table ({error}); evaluate the run again.") from None
        return cls(classes, tuple(r[0] for r in body), tuple(r[1] for r in body), tuple(r[2] for r in body),
                   true, probabilities)


def concatenate(parts: Sequence[Predictions]) -> Predictions:
    """One table from several over the same classes (a run's validation and test rows)."""
    if not parts:
        raise ValueError("nothing to concatenate")
    classes = parts[0].classes
    if any(part.classes != classes for part in parts):
        raise LabError("These predictions are over different classes and cannot be put in one table.")
    return Predictions(classes, sum((p.splits for p in parts), ()), sum((p.paths for p in parts), ()),
                       sum((p.digests for p in parts), ()), np.concatenate([p.true for p in parts]),
                       np.concatenate([p.probabilities for p in parts]))


def predict_records(model, records: Sequence[ImageRecord], classes: Sequence[str], *, split: str,
                    image_size: int, batch_size: int = 32, on_progress: Progress = no_progress) -> Predictions:
    """Run `model` (raw 0..255 images in, one probability per class out) over `records`.

    Images go through the training pipeline (`image_dataset`): decoded and resized exactly as the model
    saw its training images, in parallel with `model.predict`'s own work.
    """
    from lab.data.pipeline import image_dataset

    images = image_dataset(records, classes, image_size, batch_size).map(lambda batch, _: batch)
    callbacks = [] if on_progress is no_progress else [batch_progress(on_progress, len(records), batch_size, split)]
    return Predictions.of(records, classes, split, model.predict(images, verbose=0, callbacks=callbacks))


def batch_progress(on_progress: Progress, total: int, batch_size: int, split: str):
    """A Keras callback reporting `on_progress` after each predicted batch (made here: Keras loads lazily)."""
    import keras

    class BatchProgress(keras.callbacks.Callback):
        def on_predict_batch_end(self, batch: int, logs: dict | None = None) -> None:
            on_progress(min((batch + 1) * batch_size, total), total, f"predicting {split}")

    return BatchProgress()
