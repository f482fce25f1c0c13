"""Confidence that means what it says: temperature scaling, expected calibration error and reliability bins.

A model that says "90% sure" should be right about 90% of the time on photos like the ones it was checked on.
Trained networks are often surer than that (Guo et al. 2017, "On calibration of modern neural networks").
Temperature scaling, their remedy, fits one number T on the run's validation photos: the T that minimises
their negative log-likelihood (NLL) of softmax(logits / T). T > 1 softens every answer, T < 1 sharpens it,
and the answer itself (the largest probability) never changes, so accuracy is untouched.

The lab's saved models output probabilities, not logits, so the logits here are the log-probabilities:
softmax(log p) = p, and softmax(log p / T) is p^(1/T) renormalised. The tutorials' single sigmoid unit is
widened to [1 - p, p] (`lab.training.models`); for it this is exactly sigmoid(logit(p) / T), the same scaling
of the sigmoid's own logit, so one rule covers both kinds of head. Probabilities are clipped at `EPSILON`
first (a float32 sigmoid saturates at exactly 1), which keeps every log finite.

Calibration is measured by the expected calibration error (ECE): answers grouped into `BINS` equal-width bins of
confidence (the largest probability), the gap between each bin's accuracy and its mean confidence, weighted by
its share of the photos. The bins themselves, with their counts, are the reliability diagram. With two classes
the confidence is never below 50%, so only the upper five bins fill.

A run's temperature is kept in its folder (`calibration.json`, named in `lab.run_files`), fitted when training
ends. A run made before, or one whose validation photos leave nothing to fit (all right or all wrong: the NLL
then keeps falling as T goes to 0 or to infinity), has T = 1 and says "not calibrated" with the reason.
SciPy is imported inside the functions that need it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.evaluation.accuracy_text import interval_text
from lab.evaluation.predictions import Predictions
from lab.evaluation.proportions import wilson
from lab.run_files import CALIBRATION, RunFiles
from lab.storage import read_json, write_json_atomic

EPSILON = 1e-7  # the smallest probability taken as a logit: float32's resolution near 1
BINS = 10  # equal-width confidence bins for the ECE and the reliability diagram
BOUNDS = (0.05, 20.0)  # the temperatures searched: far beyond any a real network needs
MADE_BEFORE = "the run was trained before the lab calibrated its runs"


def logits(probabilities: np.ndarray) -> np.ndarray:
    """Log-probabilities, the logits of a model that outputs probabilities (see the module docstring)."""
    return np.log(np.clip(np.asarray(probabilities, dtype=np.float64), EPSILON, 1.0))


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T) over the last axis: one photo's probabilities (k,) or a batch's (n, k). T = 1 gives the
    probabilities back unchanged (not re-clipped)."""
    from scipy.special import softmax

    if temperature == 1.0:
        return np.asarray(probabilities, dtype=np.float64)
    return softmax(logits(probabilities) / temperature, axis=-1)


def negative_log_likelihood(probabilities: np.ndarray, true: np.ndarray, temperature: float = 1.0) -> float:
    """The mean NLL of the true classes under softmax(log p / T): what temperature scaling minimises."""
    from scipy.special import log_softmax

    scores = log_softmax(logits(probabilities) / temperature, axis=1)
    return float(-np.mean(scores[np.arange(len(true)), true]))


def fit_temperature(probabilities: np.ndarray, true: np.ndarray) -> float:
    """The T in `BOUNDS` minimising the NLL of `true` (class indices): a bounded search over log T, where the
    NLL is smooth and the search is symmetric between sharpening and softening."""
    from scipy.optimize import minimize_scalar

    low, high = (math.log(bound) for bound in BOUNDS)
    found = minimize_scalar(lambda log_t: negative_log_likelihood(probabilities, true, math.exp(log_t)),
                            bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(math.exp(found.x))


def reliability(probabilities: np.ndarray, true: np.ndarray, bins: int = BINS) -> list[dict[str, Any]]:
    """Per equal-width confidence bin [low, high) (the last one closed): `count` photos, their mean `confidence`,
    the `accuracy` of their answers with its 95% Wilson `interval` (None for an empty bin)."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1) if len(probabilities) else np.zeros(0)
    correct = (probabilities.argmax(axis=1) == true) if len(probabilities) else np.zeros(0, dtype=bool)
    index = np.minimum((confidence * bins).astype(int), bins - 1)
    counts = np.bincount(index, minlength=bins)
    sure = np.bincount(index, weights=confidence, minlength=bins)
    right = np.bincount(index, weights=correct.astype(float), minlength=bins)
    return [{"low": k / bins, "high": (k + 1) / bins, "count": int(counts[k]),
             "confidence": float(sure[k] / counts[k]) if counts[k] else None,
             "accuracy": float(right[k] / counts[k]) if counts[k] else None,
             "interval": list(wilson(int(round(right[k])), int(counts[k]))) if counts[k] else None}
            for k in range(bins)]


def expected_calibration_error(probabilities: np.ndarray, true: np.ndarray, bins: int = BINS) -> float:
    """The ECE: each bin's |accuracy - mean confidence|, weighted by its share of the photos (0 is perfect)."""
    rows = [row for row in reliability(probabilities, true, bins) if row["count"]]
    total = sum(row["count"] for row in rows)
    return float(sum(row["count"] / total * abs(row["accuracy"] - row["confidence"]) for row in rows)) if total \
        else float("nan")


@dataclass(frozen=True)
class Calibration:
    """A run's temperature: fitted on `images` validation photos (NLL before and after), or T = 1 with the
    `reason` it was not."""

    temperature: float = 1.0
    fitted: bool = False
    images: int = 0
    nll_before: float | None = None
    nll_after: float | None = None
    reason: str = MADE_BEFORE

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        """Probabilities as the lab shows them: divided by the run's temperature (unchanged when not calibrated)."""
        return scaled(probabilities, self.temperature)

    def words(self) -> str:
        """"calibrated on 200 validation photos (T = 1.84: its answers were too sure)", or why not."""
        if not self.fitted:
            return f"not calibrated: {self.reason}"
        tendency = ("too sure" if self.temperature > 1.05 else "not sure enough" if self.temperature < 0.95 else
                    "about right already")
        if self.temperature >= BOUNDS[1] * 0.99:  # the NLL fell all the way: its confidence told next to nothing
            tendency += ", so much that every answer is now close to a coin toss"
        return (f"calibrated on {self.images:,} validation photos (T = {self.temperature:.2f}: its answers were "
                f"{tendency})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        return cls(**{key: data[key] for key in cls.__dataclass_fields__ if key in data})


def fit_calibration(validation: Predictions) -> Calibration:
    """The temperature of a run from its validation predictions, or T = 1 with the reason there is nothing to fit."""
    n = len(validation)
    right = int(validation.correct.sum()) if n else 0
    if right in (0, n):
        what = "no validation photos" if n == 0 else \
            f"all {n:,} validation answers were {'right' if right else 'wrong'}"
        return Calibration(images=n, reason=f"{what}, so nothing says how sure it should be")
    probabilities, true = validation.probabilities, validation.true
    temperature = fit_temperature(probabilities, true)
    return Calibration(temperature, True, n, negative_log_likelihood(probabilities, true),
                       negative_log_likelihood(probabilities, true, temperature), "")


def save_calibration(run_dir: Path, calibration: Calibration) -> None:
    write_json_atomic(RunFiles(Path(run_dir)).calibration, calibration.to_dict())


def load_calibration(run_dir: Path) -> Calibration:
    """The run's calibration; T = 1 for a run made before (no file) or whose file is damaged, with the reason."""
    try:
        data = read_json(RunFiles(Path(run_dir)).calibration)
        return Calibration() if data is None else Calibration.from_dict(data)
    except (ValueError, TypeError, OSError):
        return Calibration(reason=f"its {CALIBRATION} is damaged; it is shown uncalibrated")


def calibration_views(predictions: Predictions, calibration: Calibration) -> dict[str, Any]:
    """One evaluation set before and after the run's temperature, as plain data for a page or the CLI: the
    temperature and its words, and for "before" (the model's own probabilities) and "after" (divided by T; None
    when not calibrated) the ECE, the NLL and the reliability bins."""
    def measured(probabilities: np.ndarray) -> dict[str, Any]:
        true = predictions.true
        return {"ece": expected_calibration_error(probabilities, true),
                "nll": negative_log_likelihood(probabilities, true) if len(true) else None,
                "bins": reliability(probabilities, true)}

    return {"temperature": calibration.temperature, "calibrated": calibration.fitted, "words": calibration.words(),
            "before": measured(predictions.probabilities),
            "after": measured(calibration.apply(predictions.probabilities)) if calibration.fitted else None}


def surest_sentence(bins: list[dict[str, Any]]) -> str | None:
    """How often the surest answers were right, from reliability bins: "Answered 90-100% sure (on average 96.2%):
    right 93.1% of the time (88.3-96.4%, 152 photos)". None when no bin holds a photo."""
    filled = [row for row in bins if row["count"]]
    if not filled:
        return None
    top = filled[-1]
    return (f"Answered {100 * top['low']:.0f}-{top['high']:.0%} sure (on average {top['confidence']:.1%}): right "
            f"{top['accuracy']:.1%} of the time ({interval_text(top['accuracy'], top['count'])}, "
            f"{top['count']:,} photos)")
