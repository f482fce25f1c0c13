"""How far a photo lies from what a run was trained on: a score beside the class probabilities, and a
threshold above which the answer is "this doesn't look like a cat or a dog" instead of a confident guess.

A classifier picks one of its classes for any image (a plain blue square got "Dog, fairly sure: 88%"), so
its probabilities cannot say that a photo is neither. The backbone's pooled features can: photos of the
training classes gather in a few regions of that space, a landscape or a pattern lies away from them.
Two scores were compared on real photos (`python bench/neither.py`):

- "mahalanobis" (Lee et al., 2018): the distance to the nearest class mean, through one covariance shared
  by the classes (Ledoit-Wolf shrinkage, so a thousand photos suffice for 1,280 features);
- "knn" (Sun et al., 2022): the distance to the k-th nearest training photo, features scaled to length 1.

A MobileNetV2 feature-extractor run (2,000 training photos of cats_and_dogs_filtered, the threshold on 500 of its
validation photos), each score fitted on 1,000 training photos; the share answered as a cat or a dog of held-out
cats and dogs (the other 500 validation photos; 930 of the 20K set, squashed to 160 px) and of photos that are
neither (58 real photos from packages: landscapes, plants, objects, people, microscope and telescope images; 45
patterns and illustrations; a plain blue square):

    score                  held-out 500   20K 160 px    58 photos   45 patterns   blue square
    no check (before)          100%          100%          100%         100%        answered
    largest probability        93.0%         89.8%         60.3%        66.7%       flagged
    mahalanobis                95.8%         90.2%          3.4%         0.0%       flagged
    knn, k = 10                98.0%         95.9%          0.0%         2.2%       flagged

"knn" is kept: it alone meets both targets (at most 10% of neither-photos answered, at least 95% of cats and
dogs) on both held-out sets; Mahalanobis turns away a tenth of the 20K set's photos (the same animals, stored
otherwise), and on the tests' tiny MobileNet 0.25 (fitted on 20 to 200 photos) it put plain blue, grey and white
squares at 0.91-1.12 of its threshold, grey and white always inside, where knn put them at 1.17-1.36. k = 10 (`KNN_K`): k = 1 answered 93.2% of the 20K photos, k = 50 let
15.5% of the neither-photos through. Its cost: the run keeps its sampled training features (1,000 x 1,280
float32 for MobileNetV2, 5 MB), and a photo's score is one matrix product.

The threshold comes from the run's own validation photos, which the statistics never saw: the smallest
score that at least `PASS_RATE` of them stay under, by the conformal rule (the ceil((n + 1) * rate)-th
smallest), so a new photo of the same kind passes with probability at least `PASS_RATE`. The statistics
are fitted on at most `TRAINING_SAMPLE` training photos: on the run above, knn fitted on 250 of them let 8.6% of
the neither-photos through, on 500 3.4%, on 1,000 and on all 2,000 none, so more than 1,000 buys nothing but a
larger file.

Stored in the run as `novelty.json` (readable: the score, the threshold, how it was fitted) and
`novelty.npz` (the fitted arrays), names spelled in `lab.run_files`. A run made before this has neither
file: `NoveltyCheck.load` returns None and every reader says there is no out-of-distribution check.

Plain numpy and scikit-learn: no Keras here (features come from `lab.evaluation.pooled_features`).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from lab.errors import LabError
from lab.run_files import NOVELTY_ARRAYS, RunFiles
from lab.storage import read_json, write_bytes_atomic, write_json_atomic

PASS_RATE = 0.95  # the share of real photos of the run's classes that should pass the check
TRAINING_SAMPLE = 1000  # training photos the statistics are fitted on, at most
KNN_K = 10  # the neighbour whose distance is the "knn" score
METHOD = "knn"


class Score(Protocol):
    """A novelty score: fitted on training features, higher for photos further from them."""

    def scores(self, features: np.ndarray) -> np.ndarray: ...

    def arrays(self) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class Mahalanobis:
    """The distance to the nearest class mean, in units of the classes' shared spread."""

    means: np.ndarray  # (classes, features)
    precision: np.ndarray  # (features, features): the inverse of the shared covariance

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> Mahalanobis:
        from sklearn.covariance import LedoitWolf

        features = np.asarray(features, dtype=np.float64)
        classes = np.unique(labels)
        means = np.stack([features[labels == label].mean(axis=0) for label in classes])
        centred = features - means[np.searchsorted(classes, labels)]
        precision = LedoitWolf(assume_centered=True).fit(centred).precision_
        return cls(means.astype(np.float32), precision.astype(np.float32))

    def scores(self, features: np.ndarray) -> np.ndarray:
        x = np.asarray(features, dtype=np.float64)
        precision = self.precision.astype(np.float64)
        squared = np.stack([np.einsum("nd,nd->n", (x - mean) @ precision, x - mean) for mean in self.means])
        return np.sqrt(np.maximum(squared.min(axis=0), 0.0))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"means": self.means, "precision": self.precision}


@dataclass(frozen=True)
class NearestNeighbours:
    """The distance to the k-th nearest training photo, every feature vector scaled to length 1."""

    bank: np.ndarray  # (training photos, features), each row of length 1
    k: int = KNN_K

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray | None = None, k: int = KNN_K) -> NearestNeighbours:
        return cls(unit_rows(features).astype(np.float32), min(k, len(features)))

    def scores(self, features: np.ndarray) -> np.ndarray:
        similarity = unit_rows(features) @ self.bank.T.astype(np.float64)
        kth = -np.partition(-similarity, self.k - 1, axis=1)[:, self.k - 1]
        return np.sqrt(np.maximum(2.0 - 2.0 * kth, 0.0))

    def arrays(self) -> dict[str, np.ndarray]:
        return {"bank": self.bank, "k": np.array(self.k)}


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zero)."""
    x = np.asarray(features, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


SCORES = {"mahalanobis": Mahalanobis, "knn": NearestNeighbours}


def fit_score(method: str, features: np.ndarray, labels: np.ndarray) -> Score:
    """The score `method` fitted on training features and their class labels (indices)."""
    if method not in SCORES:
        raise LabError(f"method={method!r} is not a novelty score; choose one of: {', '.join(SCORES)}.")
    if len(features) < 2:
        raise LabError(f"The out-of-distribution check needs at least 2 training photos; it got {len(features)}.")
    return SCORES[method].fit(features, np.asarray(labels))


def threshold_for(validation_scores: np.ndarray, pass_rate: float = PASS_RATE) -> float:
    """The score at or under which a new photo passes: the ceil((n + 1) * rate)-th smallest of n validation
    scores (the conformal rule: a new photo like them passes with probability at least `pass_rate`), or the
    largest when there are too few photos for that."""
    ordered = np.sort(np.asarray(validation_scores, dtype=np.float64))
    if not len(ordered):
        raise LabError("The out-of-distribution check needs validation photos to set its threshold; it got none.")
    rank = min(math.ceil((len(ordered) + 1) * pass_rate), len(ordered))
    return float(ordered[rank - 1])


def sample_rows(count: int, size: int = TRAINING_SAMPLE, seed: int = 0) -> np.ndarray:
    """Which of `count` training photos the statistics are fitted on: all, or `size` of them drawn with `seed`,
    in their original order."""
    if count <= size:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, size, replace=False))


@dataclass(frozen=True)
class Novelty:
    """One photo's check: its score, the run's threshold, and whether it passed (looks like the training photos)."""

    score: float
    threshold: float

    @property
    def in_distribution(self) -> bool:
        return self.score <= self.threshold


@dataclass(frozen=True)
class NoveltyCheck:
    """A run's fitted score and threshold, with what it was fitted on."""

    method: str
    threshold: float
    score: Score
    fitted: dict[str, Any]  # training_images, validation_images, validation_pass_rate, pass_rate, features

    def scores(self, features: np.ndarray) -> np.ndarray:
        """One score per row of pooled backbone features (higher: further from the training photos)."""
        return self.score.scores(np.atleast_2d(np.asarray(features, dtype=np.float32)))

    def check(self, features: np.ndarray) -> list[Novelty]:
        """Each row's score against the threshold."""
        return [Novelty(float(score), self.threshold) for score in self.scores(features)]

    def flagged(self, features: np.ndarray) -> dict[str, Any]:
        """How many of these photos the check flags (answers as none of the classes), for an evaluation."""
        passed = self.scores(features) <= self.threshold
        return {"method": self.method, "threshold": self.threshold, "flagged": int((~passed).sum()),
                "share_flagged": float(np.mean(~passed)) if len(passed) else 0.0}

    def summary(self) -> dict[str, Any]:
        """What `novelty.json` holds, metrics.json and the model card repeat: method, threshold and how fitted."""
        return {"method": self.method, "threshold": self.threshold, **self.fitted}

    def save(self, run_dir: Path) -> None:
        files = RunFiles(Path(run_dir))
        buffer = io.BytesIO()
        np.savez(buffer, **self.score.arrays())
        write_bytes_atomic(files.novelty_arrays, buffer.getvalue())
        write_json_atomic(files.novelty, self.summary())

    @classmethod
    def load(cls, run_dir: Path) -> NoveltyCheck | None:
        """The run's check, or None for a run made before checks existed (or not yet fitted)."""
        files = RunFiles(Path(run_dir))
        if not files.novelty.exists() or not files.novelty_arrays.exists():
            return None
        try:
            summary = read_json(files.novelty)
            with np.load(files.novelty_arrays) as stored:
                arrays = {name: stored[name] for name in stored.files}
            score = (Mahalanobis(arrays["means"], arrays["precision"]) if summary["method"] == "mahalanobis" else
                     NearestNeighbours(arrays["bank"], int(arrays["k"])))
        except (OSError, ValueError, KeyError) as error:
            raise LabError(f"{files.novelty} or {NOVELTY_ARRAYS} cannot be read ({error}); `python -m lab evaluate` "
                           "on this run fits its out-of-distribution check again.") from None
        fitted = {key: value for key, value in summary.items() if key not in ("method", "threshold")}
        return cls(summary["method"], float(summary["threshold"]), score, fitted)


def fit_check(train_features: np.ndarray, train_labels: np.ndarray, validation_features: np.ndarray, *,
              method: str = METHOD, pass_rate: float = PASS_RATE) -> NoveltyCheck:
    """A run's check: `method`'s statistics from the training features (already sampled), its threshold from
    the validation features, so that about `pass_rate` of photos like them pass."""
    score = fit_score(method, np.asarray(train_features, dtype=np.float32), train_labels)
    validation = score.scores(np.asarray(validation_features, dtype=np.float32))
    threshold = threshold_for(validation, pass_rate)
    fitted = {"training_images": int(len(train_features)), "validation_images": int(len(validation)),
              "validation_pass_rate": float(np.mean(validation <= threshold)), "pass_rate": pass_rate,
              "features": int(np.shape(train_features)[1])}
    return NoveltyCheck(method, threshold, score, fitted)


def check_words(summary: dict[str, Any] | None, classes: list[str] | None = None) -> str:
    """The check in one plain sentence, for a model card or a caption; class names come from folders."""
    if not summary:
        return ("No out-of-distribution check for this run (it was trained before the check existed): "
                "`python -m lab evaluate` on it fits one.")
    what = " or ".join(classes) if classes else "its classes"
    return (f"A photo whose {summary['method']} score on the backbone's pooled features is above "
            f"{summary['threshold']:.3g} is answered as not {what}. Fitted on {summary['training_images']:,} "
            f"training photos; {summary['validation_pass_rate']:.1%} of the run's {summary['validation_images']:,} "
            "validation photos pass.")
