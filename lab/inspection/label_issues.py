"""Labels that look wrong: photos that decode fine but sit in the wrong class folder, ranked most suspect first.

Confident learning (Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating Uncertainty in Dataset
Labels", JAIR 70), through the `cleanlab` library: out-of-fold probabilities (`lab.inspection.out_of_fold`, each
photo judged by a head that never saw it) give each class a threshold, the average probability of that class
among the photos labelled with it; the photos that clear another class's threshold more surely than their own
estimate how many labels of each class are wrong, and that many of each, the least sure of their label first,
are flagged (`cleanlab.filter.find_label_issues`, "prune_by_noise_rate"). Every photo is scored by its
self-confidence (`cleanlab.rank.get_label_quality_scores`): the score here is 1 minus the probability of its
given label, 0 when the heads agree with it, near 1 when they are sure of another class. The flagged photos
come first, each group by score.

`bench/label_issues.py` measures it on `cats_and_dogs_filtered` with 3% of its training labels flipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lab.data.records import ImageRecord
from lab.inspection.out_of_fold import FOLDS, OutOfFold, out_of_fold_probabilities
from lab.inspection.photo_features import photo_features
from lab.progress import Progress, no_progress
from lab.settings import Settings


@dataclass(frozen=True)
class LabelIssue:
    """One photo, its given label and the class it looks like to a head that never saw it.

    `score` (0..1): how wrong its label looks, 1 minus the out-of-fold probability of the given label.
    `flagged`: confident learning counts it among the wrong labels. `confidence`: the probability of
    `suggested`. `reason`: the same in words, for a table.
    """

    path: str
    digest: str
    given: str
    suggested: str
    score: float
    confidence: float
    flagged: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def label_issues(records: Sequence[ImageRecord], backbone: str, *, weights: str, settings: Settings,
                 image_size: int | None = None, folds: int = FOLDS, seed: int = 0,
                 on_progress: Progress = no_progress) -> list[LabelIssue]:
    """Every photo of `records`, the labels that look wrong first: pooled features from the feature cache
    (the backbone runs only on photos it has not seen), then `folds` heads, then confident learning."""
    features = photo_features(records, backbone, weights=weights, settings=settings, image_size=image_size,
                              on_progress=on_progress)
    found = out_of_fold_probabilities(features, [r.label for r in records], folds=folds, seed=seed,
                                      on_progress=on_progress)
    return rank_label_issues(records, found)


def rank_label_issues(records: Sequence[ImageRecord], found: OutOfFold) -> list[LabelIssue]:
    """`records` (in the order of `found`'s rows) as rows, flagged first, then by score, highest first."""
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    given = np.searchsorted(found.classes, [r.label for r in records])
    flagged = find_label_issues(given, found.probabilities, filter_by="prune_by_noise_rate", n_jobs=1)
    scores = 1.0 - get_label_quality_scores(given, found.probabilities, method="self_confidence")
    rows = [_row(record, probabilities, found.classes, float(score), bool(flag))
            for record, probabilities, score, flag in zip(records, found.probabilities, scores, flagged)]
    return sorted(rows, key=lambda row: (not row.flagged, -row.score))


def _row(record: ImageRecord, probabilities: np.ndarray, classes: list[str], score: float,
         flagged: bool) -> LabelIssue:
    suggested = classes[int(np.argmax(probabilities))]
    confidence = float(probabilities.max())
    return LabelIssue(path=record.path, digest=record.digest, given=record.label, suggested=suggested, score=score,
                      confidence=confidence, flagged=flagged,
                      reason=reason_words(record.label, suggested, confidence, flagged))


def reason_words(given: str, suggested: str, confidence: float, flagged: bool) -> str:
    """Why a photo is where it is in the ranking, in words: "looks like dogs (97%) to a head that never saw
    it; labelled cats"."""
    if suggested == given:
        doubt = "; still less sure than most of its class" if flagged else ""
        return f"looks like its label, {given} ({confidence:.0%}), to a head that never saw it{doubt}"
    if flagged:
        return f"looks like {suggested} ({confidence:.0%}) to a head that never saw it; labelled {given}"
    return f"leans to {suggested} ({confidence:.0%}), too unsure to call its label {given} wrong"
