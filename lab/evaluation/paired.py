"""Two runs on the same evaluation set: which images changed, and whether the difference is more than luck.

Accuracies of 0.93 and 0.95 on 1,000 images may or may not mean the second model is better. McNemar's
exact test looks only at the images the two models disagree on: if both were equally good, each such
image would be as likely to favour one model as the other, so the count favouring one is binomial with
p = 1/2 (SciPy's exact binomial test, two-sided; `proportions` has the one-sided test and the intervals).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from lab.errors import LabError
from lab.evaluation.predictions import Predictions
from lab.evaluation.proportions import PairedCounts

SIGNIFICANCE = 0.05


def mcnemar_exact(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value from the two discordant counts (1.0 when they never disagree)."""
    from scipy.stats import binomtest

    disagreements = only_first + only_second
    if disagreements == 0:
        return 1.0
    return float(binomtest(only_first, disagreements, 0.5).pvalue)


@dataclass(frozen=True)
class PairedComparison:
    """`first` and `second` aligned image by image (by content digest)."""

    first: Predictions
    second: Predictions
    first_name: str = "A"
    second_name: str = "B"

    @property
    def only_first_right(self) -> np.ndarray:
        """Row indices the first model got right and the second wrong."""
        return np.flatnonzero(self.first.correct & ~self.second.correct)

    @property
    def only_second_right(self) -> np.ndarray:
        return np.flatnonzero(~self.first.correct & self.second.correct)

    def counts(self) -> PairedCounts:
        """Both right, only the first, only the second, neither: what the intervals and one-sided tests need."""
        first, second = self.first.correct, self.second.correct
        return PairedCounts(int(np.sum(first & second)), len(self.only_first_right), len(self.only_second_right),
                            int(np.sum(~first & ~second)))

    @property
    def p_value(self) -> float:
        return mcnemar_exact(len(self.only_first_right), len(self.only_second_right))

    def sentence(self) -> str:
        """What the test says about this pair, in one sentence a non-statistician can read."""
        a, b = len(self.only_first_right), len(self.only_second_right)
        counts = (f"Of {len(self.first):,} images, {self.first_name} alone got {a} right and "
                  f"{self.second_name} alone got {b} right")
        if a == b:
            return f"{counts}: neither model is ahead on this set (McNemar p = {self.p_value:.2g})."
        better = self.first_name if a > b else self.second_name
        if self.p_value < SIGNIFICANCE:
            return (f"{counts}: a split this lopsided would happen by chance only {self.p_value:.1%} of the time "
                    f"if the two were equally good, so {better} is very likely the better model here "
                    f"(McNemar p = {self.p_value:.2g}).")
        return (f"{counts}: a split like this happens by chance {self.p_value:.0%} of the time between equally "
                f"good models, so this set does not show that {better} is better (McNemar p = {self.p_value:.2g}).")

    def changed(self) -> list[dict[str, Any]]:
        """The images whose verdict changed, both ways: path, true class, each model's prediction."""
        classes = self.first.classes
        rows = []
        for winner, indices in ((self.first_name, self.only_first_right), (self.second_name, self.only_second_right)):
            for i in indices:
                rows.append({"path": self.first.paths[i], "digest": self.first.digests[i], "right": winner,
                             "true": classes[self.first.true[i]],
                             self.first_name: classes[self.first.predicted[i]],
                             self.second_name: classes[self.second.predicted[i]]})
        return rows

    def summary(self) -> dict[str, Any]:
        return {"n": len(self.first), "first_accuracy": self.first.accuracy, "second_accuracy": self.second.accuracy,
                "only_first_right": len(self.only_first_right), "only_second_right": len(self.only_second_right),
                "mcnemar_p": self.p_value, "sentence": self.sentence()}


def pair(first: Predictions, second: Predictions, first_name: str = "A", second_name: str = "B") -> PairedComparison:
    """Align two runs' predictions on the same images; a `LabError` when the sets or classes differ."""
    if first.classes != second.classes:
        raise LabError(f"The two runs predict different classes ({', '.join(first.classes)} vs "
                       f"{', '.join(second.classes)}): they cannot be compared image by image.")
    position = {digest: i for i, digest in enumerate(second.digests)}
    shared = [i for i, digest in enumerate(first.digests) if digest in position]
    if not shared or len(shared) != len(first) or len(first) != len(second):
        raise LabError(f"The two runs were evaluated on different images ({len(shared)} in common of "
                       f"{len(first)} and {len(second)}): evaluate both on the same test set first.")
    return PairedComparison(first.take(shared), second.take([position[first.digests[i]] for i in shared]),
                            first_name, second_name)
