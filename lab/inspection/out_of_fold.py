"""Out-of-fold class probabilities: each photo judged by a head that never saw it.

A head fitted on a photo remembers that photo's label, so its answer there cannot say whether the label is right
(on 200 real photos with shuffled labels a logistic regression on tiny-MobileNet features agrees with nearly
every label it was fitted on, and with about half out of fold: `tests/test_label_issues.py`). Confident learning
needs answers from heads that did not see the photo: the photos are cut into k stratified folds and each fold's
probabilities come from a head fitted on the other k - 1, as scikit-learn's `cross_val_predict(method=
"predict_proba")` does; the loop here also reports each fold and keeps which fold held each photo out.

The heads are logistic regressions on standardised pooled features (`lab.inspection.photo_features`): no
backbone pass beyond the cached one, seconds for the 20K set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from lab.errors import LabError
from lab.progress import Progress, no_progress

FOLDS = 5
HEAD_C = 0.1  # the heads' inverse regularisation strength (see `fit_head`)


@dataclass(frozen=True)
class OutOfFold:
    """`probabilities[i, j]`: how much photo i looks like `classes[j]` to the head fitted without fold
    `folds[i]`, the fold photo i was in."""

    probabilities: np.ndarray  # (photos, classes), each row sums to 1
    folds: np.ndarray  # (photos,) the fold each photo was held out in, 0..k-1
    classes: list[str]

    @property
    def heads(self) -> int:
        return int(self.folds.max()) + 1 if len(self.folds) else 0


def fit_head(features: np.ndarray, labels: np.ndarray, seed: int = 0):
    """A logistic regression on standardised features, the small head every fold fits.

    C = 0.1 rather than scikit-learn's 1.0: with about as many features (1,280 for MobileNetV2) as photos, a
    weakly regularised head is close to certain of every photo, and confident learning reads its probabilities.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    head = make_pipeline(StandardScaler(), LogisticRegression(C=HEAD_C, max_iter=2000, random_state=seed))
    return head.fit(features, labels)


def out_of_fold_probabilities(features: np.ndarray, labels: Sequence[str], *, folds: int = FOLDS, seed: int = 0,
                              on_progress: Progress = no_progress) -> OutOfFold:
    """Class probabilities for every photo from k heads, each photo's from the one head that did not see it.

    `labels[i]` is photo i's given class; classes are sorted by name. A class with fewer photos than `folds`
    lowers the folds to its count (every head must see every class), and one with fewer than 2 is an error.
    """
    from sklearn.model_selection import StratifiedKFold

    classes, given = np.unique(np.asarray(labels, dtype=str), return_inverse=True)
    k = _folds_for(np.bincount(given), [str(c) for c in classes], folds)
    probabilities = np.zeros((len(given), len(classes)), dtype=np.float64)
    held_out = np.full(len(given), -1)
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    for fold, (seen, unseen) in enumerate(splitter.split(features, given)):
        on_progress(fold, k, f"fitting head {fold + 1} of {k} on the photos outside fold {fold + 1}")
        probabilities[unseen] = fit_head(features[seen], given[seen], seed).predict_proba(features[unseen])
        held_out[unseen] = fold
    on_progress(k, k, f"{k} heads fitted")
    return OutOfFold(probabilities, held_out, [str(c) for c in classes])


def _folds_for(counts: np.ndarray, classes: list[str], folds: int) -> int:
    """The folds the photos allow: at most `folds`, at most the smallest class's count."""
    if folds < 2:
        raise LabError(f"folds={folds}: out-of-fold predictions need at least 2 folds.")
    if len(classes) < 2:
        raise LabError(f"Checking labels needs photos of at least 2 classes; these are all {classes[0]!r}."
                       if classes else "Checking labels needs photos; there are none.")
    smallest = int(counts.min())
    if smallest < 2:
        raise LabError(f"Class {classes[int(counts.argmin())]!r} has {smallest} photo: checking labels needs at "
                       "least 2 photos of each class.")
    return min(folds, smallest)
