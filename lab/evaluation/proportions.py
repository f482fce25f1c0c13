"""Differences between two accuracies, with their uncertainty: intervals, one-sided tests and sample sizes.

An accuracy is a proportion of photos got right, so comparing two models is comparing two proportions. When
both were tested on the same photos the proportions are paired, and the photos both got right (or both wrong)
say nothing about which is better: only the discordant photos do (McNemar). When the proportions come from
different photos (training against validation accuracy) they are independent. For each case:

- Wilson's score interval for one proportion (Wilson 1927), the building block of the next two;
- Newcombe's hybrid score interval for a paired difference, his method 10 (Newcombe 1998, "Improved confidence
  intervals for the difference between binomial proportions based on paired data", Stat Med 17:2635-2650), and
  for an independent difference, method 10 of the companion paper (Newcombe 1998, "Interval estimation for the
  difference between independent proportions: comparison of eleven methods", Stat Med 17:873-890). Both keep
  their coverage near 95% at the small counts and extreme accuracies a replay meets, where Wald intervals fail;
- McNemar's exact test, one-sided (the claim "A beats B" has a direction);
- how many photos it would take to tell, from the observed difference: Connor's formula for McNemar's test
  (Connor 1987, "Sample size for testing differences in proportions for the paired-sample design", Biometrics
  43:207-211), and, against a margin, the normal-approximation sample sizes of Chow, Shao and Wang ("Sample
  Size Calculations in Clinical Research", ch. 4: paired proportions with variance psi - delta^2, and two
  independent proportions). These are planning figures at 80% power, not guarantees.

SciPy is imported inside the functions that need it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CONFIDENCE = 0.95
POWER = 0.80
ALPHA = 0.05

Interval = tuple[float, float]


def _z(probability: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(probability))


def wilson(successes: int, n: int, confidence: float = CONFIDENCE) -> Interval:
    """Wilson's score interval for `successes` of `n` (the whole [0, 1] when there is nothing to go on)."""
    if n == 0:
        return 0.0, 1.0
    z, p = _z(0.5 + confidence / 2), successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def independent_difference_interval(first: int, n_first: int, second: int, n_second: int,
                                    confidence: float = CONFIDENCE) -> Interval:
    """Newcombe's method 10 for p1 - p2 from two independent samples (`first` of `n_first`, ...)."""
    p1, p2 = first / n_first, second / n_second
    (l1, u1), (l2, u2) = wilson(first, n_first, confidence), wilson(second, n_second, confidence)
    return (p1 - p2 - math.hypot(p1 - l1, u2 - p2), p1 - p2 + math.hypot(u1 - p1, p2 - l2))


@dataclass(frozen=True)
class PairedCounts:
    """Two models on the same photos: how many both got right, only the first, only the second, neither.

    Counts from several repeats add up (`+`), each repeat's pair on its own copy of the same photos."""

    both: int
    only_first: int
    only_second: int
    neither: int

    def __add__(self, other: PairedCounts) -> PairedCounts:
        return PairedCounts(self.both + other.both, self.only_first + other.only_first,
                            self.only_second + other.only_second, self.neither + other.neither)

    @property
    def n(self) -> int:
        return self.both + self.only_first + self.only_second + self.neither

    @property
    def difference(self) -> float:
        """First accuracy minus second: (only_first - only_second) / n."""
        return (self.only_first - self.only_second) / self.n

    def interval(self, confidence: float = CONFIDENCE) -> Interval:
        """Newcombe's method 10: the two Wilson intervals combined, corrected by the phi correlation of the pair."""
        a, b, c, d, n = self.both, self.only_first, self.only_second, self.neither, self.n
        p1, p2 = (a + b) / n, (a + c) / n
        (l1, u1), (l2, u2) = wilson(a + b, n, confidence), wilson(a + c, n, confidence)
        spread = (a + b) * (c + d) * (a + c) * (b + d)
        phi = (a * d - b * c) / math.sqrt(spread) if spread else 0.0
        lower = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
        upper = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
        return self.difference - lower, self.difference + upper

    def p_first_better(self) -> float:
        """McNemar's exact test, one-sided: the chance of the first winning at least this many of the
        discordant photos if both models were equally good (each such photo a fair coin)."""
        from scipy.stats import binomtest

        discordant = self.only_first + self.only_second
        return float(binomtest(self.only_first, discordant, 0.5, alternative="greater").pvalue) if discordant else 1.0

    def photos_to_tell(self, margin: float = 0.0) -> int | None:
        """Photos (at this rate of disagreement) for an 80%-powered answer at the observed difference.

        Without a margin: Connor's sample size for a one-sided McNemar test at 5% that the first is better
        (None when the first is not ahead: no number of photos would show it). With a margin m: photos for
        the 95% interval to fall inside +/- m, or wholly outside it, whichever side the difference is on
        (None when the difference sits exactly on the margin)."""
        psi, delta = (self.only_first + self.only_second) / self.n, self.difference
        if margin == 0.0:
            if delta <= 0:
                return None
            root = _z(1 - ALPHA) * math.sqrt(psi) + _z(POWER) * math.sqrt(psi - delta ** 2)
            return math.ceil(root ** 2 / delta ** 2)
        distance = abs(abs(delta) - margin)
        if distance == 0 or psi - delta ** 2 <= 0:
            return None
        return math.ceil((_z(0.5 + CONFIDENCE / 2) + _z(POWER)) ** 2 * (psi - delta ** 2) / distance ** 2)


def independent_photos_to_tell(p1: float, p2: float, margin: float) -> int | None:
    """Photos in each sample for the 95% interval of p1 - p2 to clear `margin` on the side the observed
    difference is on, with 80% power (two independent proportions, normal approximation)."""
    distance = abs(p1 - p2 - margin)
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    if distance == 0 or variance == 0:
        return None
    return math.ceil((_z(0.5 + CONFIDENCE / 2) + _z(POWER)) ** 2 * variance / distance ** 2)
