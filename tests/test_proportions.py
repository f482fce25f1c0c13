"""The statistics behind a replay's verdicts, on counts small enough to check by hand (z = 1.959964 for 95%,
1.644854 for a one-sided 5%, 0.841621 for 80% power), and one published example."""

from __future__ import annotations

import numpy as np
import pytest

from lab.evaluation.paired import pair
from lab.evaluation.predictions import Predictions
from lab.evaluation.proportions import (
    PairedCounts,
    independent_difference_interval,
    independent_photos_to_tell,
    wilson,
)


def test_wilson_interval_by_hand() -> None:
    """0 of 10: the upper end is z^2 / (n + z^2) = 3.8415 / 13.8415 = 0.27754.
    5 of 10: centre 0.5, half-width z * sqrt(0.025 + z^2/400) / (1 + z^2/10) = 1.96 * 0.18602 / 1.38415 = 0.26341."""
    assert wilson(0, 10) == pytest.approx((0.0, 0.27754), abs=1e-5)
    assert wilson(5, 10) == pytest.approx((0.23659, 0.76341), abs=1e-5)
    assert wilson(10, 10) == pytest.approx((0.72246, 1.0), abs=1e-5)  # 10 / 13.8415


def test_newcombe_paired_interval_by_hand() -> None:
    """a=5, b=5, c=0, d=0: p1 = 1, p2 = 0.5, phi = 0 (a column of the table is empty);
    lower: 0.5 - sqrt((1 - 0.72246)^2 + (0.76341 - 0.5)^2) = 0.5 - 0.38264 = 0.11736;
    upper: 0.5 + sqrt(0 + (0.5 - 0.23659)^2) = 0.76341.
    a=4, b=1, c=1, d=4: p1 = p2 = 0.5, phi = (16 - 1) / sqrt(5^4) = 0.6; each side
    0.26341 * sqrt(2 - 2 * 0.6) = 0.23560, narrower than the 0.37252 of independent samples."""
    assert PairedCounts(5, 5, 0, 0).interval() == pytest.approx((0.11736, 0.76341), abs=1e-5)
    assert PairedCounts(4, 1, 1, 4).interval() == pytest.approx((-0.23560, 0.23560), abs=1e-5)
    assert independent_difference_interval(5, 10, 5, 10) == pytest.approx((-0.37252, 0.37252), abs=1e-5)


def test_newcombe_independent_interval_matches_the_paper() -> None:
    """Newcombe (1998, Stat Med 17:873), example (a): 56/70 against 48/80, method 10 gives 0.0524 to 0.3339."""
    assert independent_difference_interval(56, 70, 48, 80) == pytest.approx((0.0524, 0.3339), abs=1e-4)


def test_mcnemar_one_sided_by_hand() -> None:
    """5 of 5 discordant photos to the first: 1/2^5 = 0.03125. 6 of 8: (C(8,6) + C(8,7) + C(8,8)) / 2^8 = 37/256.
    The other way round, 2 of 8: P(X >= 2) = 1 - 9/256."""
    assert PairedCounts(100, 5, 0, 10).p_first_better() == pytest.approx(1 / 32)
    assert PairedCounts(100, 6, 2, 10).p_first_better() == pytest.approx(37 / 256)
    assert PairedCounts(100, 2, 6, 10).p_first_better() == pytest.approx(1 - 9 / 256)
    assert PairedCounts(100, 0, 0, 10).p_first_better() == 1.0
    assert (PairedCounts(1, 2, 3, 4) + PairedCounts(10, 20, 30, 40)) == PairedCounts(11, 22, 33, 44)


def test_photos_to_tell_by_hand() -> None:
    """Connor (1987): psi = 0.1 discordant, delta = 0.05:
    (1.644854 * sqrt(0.1) + 0.841621 * sqrt(0.0975))^2 / 0.0025 = (0.52015 + 0.26279)^2 / 0.0025 = 245.2 -> 246.
    Against a 2-point margin, delta = 0.01, psi = 0.05:
    (1.959964 + 0.841621)^2 * 0.0499 / 0.0001 = 7.84888 * 499 = 3916.6 -> 3917.
    Independent, 0.9 against 0.8, margin 0.05: 7.84888 * (0.09 + 0.16) / 0.0025 = 784.9 -> 785."""
    assert PairedCounts(850, 75, 25, 50).photos_to_tell() == 246
    assert PairedCounts(850, 25, 75, 50).photos_to_tell() is None  # the first is behind: it cannot be shown ahead
    assert PairedCounts(900, 30, 20, 50).photos_to_tell(margin=0.02) == 3917
    assert independent_photos_to_tell(0.9, 0.8, 0.05) == 785


def test_a_pair_of_predictions_counts_its_four_cells() -> None:
    """Truth cat, cat, dog, dog, cat; the first says cat, dog, dog, cat, cat (right on photos 0, 2, 4), the second
    cat, cat, cat, cat, dog (right on 0, 1): both right on 0, only the first on 2 and 4, only the second on 1,
    neither on 3."""
    def predictions(dog: list[float]) -> Predictions:
        return Predictions(("cat", "dog"), ("test",) * 5, tuple(f"p{i}.jpg" for i in range(5)),
                           tuple(f"d{i}" for i in range(5)), np.array([0, 0, 1, 1, 0]),
                           np.array([[1 - p, p] for p in dog]))

    counts = pair(predictions([0.1, 0.9, 0.8, 0.2, 0.3]), predictions([0.1, 0.2, 0.3, 0.2, 0.7])).counts()
    assert counts == PairedCounts(both=1, only_first=2, only_second=1, neither=1)
    assert counts.difference == pytest.approx(0.2)
