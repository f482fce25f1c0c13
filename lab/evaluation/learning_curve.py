"""How much data would it take? A learning curve fitted through test accuracy at several training-set sizes.

The law. A classifier's error falls with its training-set size n roughly as a power law with a floor,
err(n) = a * n^-b + c, where c is the error no amount of such photos removes (Cortes et al. 1994; Hestness et
al. 2017, "Deep learning scaling is predictable, empirically"). Three parameters through three sizes leave
nothing to judge the fit by, so the floor is fitted only from four sizes on; with two or three sizes the law is
err(n) = a * n^-b, a straight line on log-log axes that two sizes determine and a third checks. Without a floor
the law is optimistic far out (it lets the error fall to zero), one reason every answer beyond the largest
measured size is marked as extrapolated.

The uncertainty. An accuracy measured on m test photos is m right-or-wrong answers. The fit is redone on
bootstrap resamples of those photos (the same resampled photos for every size, as every size is judged on the
same test set) and each refit says how many photos reach the target: the 2.5th and 97.5th percentiles are the
95% interval. Where per-photo answers are missing, each accuracy is resampled as a binomial count instead.

Every case is an answer, never an exception: too few sizes, a flat curve, a target already reached and one the
curve never reaches each come back as a `status` with a sentence. Pure NumPy and SciPy: no TensorFlow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

DEFAULT_TARGET = 0.95
FLOOR_FROM_SIZES = 4  # the three-parameter law needs four distinct sizes to leave a degree of freedom
FLAT_SLOPE = 0.01  # b below this: the error falls by under 1% per doubling of the photos, i.e. not at all
RESAMPLES = 200
TOO_FAR = 100  # answers beyond this many times the largest measured size are said to be guesses
CURVE_POINTS = 40

TOO_FEW, REACHED, FLAT, UNREACHABLE = "too few sizes", "reached", "flat", "unreachable"
INTERPOLATED, EXTRAPOLATED = "interpolated", "extrapolated"


@dataclass(frozen=True)
class Point:
    """Test accuracy after training on `images` photos; `correct` is each test photo right (True) or wrong, in
    one order every point shares; `tested` the number of test photos where `correct` is missing."""

    images: int
    accuracy: float
    correct: np.ndarray | None = None
    tested: int | None = None

    @property
    def test_photos(self) -> int | None:
        return len(self.correct) if self.correct is not None else self.tested


@dataclass(frozen=True)
class Law:
    """err(n) = a * n^-b + c."""

    a: float
    b: float
    c: float = 0.0

    def accuracy(self, images: np.ndarray | float) -> np.ndarray | float:
        return 1.0 - (self.a * np.power(np.asarray(images, dtype=float), -self.b) + self.c)

    def images_for(self, target: float) -> float:
        """Training photos for `target` accuracy (math.inf where the law never gets there)."""
        room = (1.0 - target) - self.c
        if room <= 0 or self.b < FLAT_SLOPE:
            return math.inf
        return float((self.a / room) ** (1.0 / self.b))

    def formula(self) -> str:
        floor = f" + {self.c:.4f}" if self.c else ""
        return f"error = {self.a:.4g} * n^{-self.b:.3f}{floor}"


def fit_law(images: Sequence[float], accuracies: Sequence[float], test_photos: Sequence[int | None],
            *, floor: bool) -> Law:
    """The law through the points; accuracies of 100% count as half a wrong photo, so the log stays finite."""
    n = np.asarray(images, dtype=float)
    smallest = np.array([0.5 / m if m else 1e-4 for m in test_photos])
    error = np.maximum(1.0 - np.asarray(accuracies, dtype=float), smallest)
    slope, intercept = np.polyfit(np.log(n), np.log(error), 1)
    line = Law(float(math.exp(intercept)), float(-slope))
    if not floor:
        return line
    return _with_floor(n, error, line)


def _with_floor(n: np.ndarray, error: np.ndarray, start: Law) -> Law:
    """The three-parameter law, started from the line; the line itself where the fit does not converge."""
    from scipy.optimize import curve_fit

    def law(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a * np.power(x, -b) + c

    try:
        (a, b, c), _ = curve_fit(law, n, error, p0=(start.a, max(start.b, FLAT_SLOPE), 0.0),
                                 bounds=([0.0, 0.0, 0.0], [np.inf, 3.0, float(error.min())]), maxfev=5000)
    except (RuntimeError, ValueError):
        return start
    return Law(float(a), float(b), float(c))


def learning_curve(points: Sequence[Point], target: float = DEFAULT_TARGET, *, resamples: int = RESAMPLES,
                   seed: int = 0) -> dict[str, Any]:
    """The fit (`fit`: its law, parameters and the curve to draw) and the answer (`images_for`: `status`,
    `images`, the 95% interval `low`-`high`, `extrapolated`, `sentence`) for `target` accuracy."""
    points = [point for point in points if point.images and point.accuracy is not None]
    sizes = sorted({point.images for point in points})
    if len(sizes) < 2:
        return {"fit": None, "images_for": _answer(target, TOO_FEW, sentence=(
            f"A learning curve needs test accuracy at two training-set sizes or more ({len(sizes)} so far): "
            f"no estimate of the photos for {target:.0%} yet."))}
    floor = len(sizes) >= FLOOR_FROM_SIZES
    law = fit_law(*_columns(points), floor=floor)
    return {"fit": _fit_dict(law, sizes, floor, target), "images_for": _images_for(points, sizes, law, target,
                                                                                   floor, resamples, seed)}


def _columns(points: Sequence[Point]) -> tuple[list[int], list[float], list[int | None]]:
    return [p.images for p in points], [p.accuracy for p in points], [p.test_photos for p in points]


def _images_for(points: Sequence[Point], sizes: list[int], law: Law, target: float, floor: bool, resamples: int,
                seed: int) -> dict[str, Any]:
    mean = {size: float(np.mean([p.accuracy for p in points if p.images == size])) for size in sizes}
    reached = [size for size in sizes if mean[size] >= target]
    needed = law.images_for(target)
    if reached and (reached[0] == sizes[0] or needed > reached[0]):  # measured: nothing left to estimate
        return _answer(target, REACHED, images=reached[0], low=reached[0], high=reached[0], sentence=(
            f"{target:.0%} is already reached with {reached[0]:,} training photos ({mean[reached[0]]:.1%} measured)."))
    if law.b < FLAT_SLOPE:
        return _answer(target, FLAT, sentence=(
            f"Accuracy did not rise with more photos between {sizes[0]:,} and {sizes[-1]:,} "
            f"({mean[sizes[0]]:.1%} and {mean[sizes[-1]]:.1%}): the curve says nothing about reaching {target:.0%}."))
    if math.isinf(needed):
        return _answer(target, UNREACHABLE, sentence=(
            f"The fitted curve levels off at {1 - law.c:.1%}, below {target:.0%}: more of these photos alone "
            "would not get there."))
    low, high = _interval(points, target, floor, resamples, seed)
    extrapolated = needed > sizes[-1]
    return _answer(target, EXTRAPOLATED if extrapolated else INTERPOLATED, images=round(needed), low=low, high=high,
                   extrapolated=extrapolated, sentence=_sentence(target, needed, low, high, sizes))


def _interval(points: Sequence[Point], target: float, floor: bool, resamples: int,
              seed: int) -> tuple[int | None, int | None]:
    """The 95% bootstrap interval of the photos for `target` (None for a bound the resamples cannot give:
    `high` None when some refits never reach the target)."""
    draws = _resampled_accuracies(points, resamples, np.random.default_rng(seed))
    if draws is None:
        return None, None
    images, _, tested = _columns(points)
    needed = np.array([fit_law(images, accuracies, tested, floor=floor).images_for(target) for accuracies in draws])
    low, high = np.quantile(needed, [0.025, 0.975], method="inverted_cdf")
    return (None if math.isinf(low) else round(low)), (None if math.isinf(high) else round(high))


def _resampled_accuracies(points: Sequence[Point], resamples: int, rng: np.random.Generator) -> np.ndarray | None:
    """(resamples, points) accuracies: the test photos resampled together where every point has them (one
    test set), else each accuracy drawn as a binomial count of its test photos; None when neither is known."""
    answers = [point.correct for point in points]
    if all(a is not None for a in answers) and len({len(a) for a in answers}) == 1 and len(answers[0]):
        matrix = np.asarray(answers, dtype=float)
        picks = rng.integers(0, matrix.shape[1], size=(resamples, matrix.shape[1]))
        return matrix[:, picks].mean(axis=2).T
    tested = [point.test_photos for point in points]
    if not all(tested):
        return None
    return np.column_stack([rng.binomial(m, p.accuracy, size=resamples) / m for p, m in zip(points, tested)])


def _sentence(target: float, needed: float, low: int | None, high: int | None, sizes: list[int]) -> str:
    interval = (f" (95% interval {_photos(low)} to {_photos(high)})" if low is not None and high is not None else
                f" (95% interval from {_photos(low)} to more than the curve can say)" if low is not None else "")
    text = f"About {_photos(needed)} training photos would reach {target:.0%}{interval}"
    if needed <= sizes[-1]:
        return text + f", within the sizes measured ({sizes[0]:,} to {sizes[-1]:,})."
    far = needed > TOO_FAR * sizes[-1]
    return text + (f": an extrapolation beyond the largest size measured ({sizes[-1]:,})"
                   + (", so far out that it is a guess." if far else "."))


def _photos(count: float) -> str:
    """A count to two significant figures: the fit cannot tell 3,412 from 3,400."""
    digits = max(int(math.floor(math.log10(max(count, 1)))) - 1, 0)
    return f"{round(count, -digits):,.0f}"


def _answer(target: float, status: str, *, images: int | None = None, low: int | None = None,
            high: int | None = None, extrapolated: bool = False, sentence: str) -> dict[str, Any]:
    return {"target": target, "status": status, "images": images, "low": low, "high": high,
            "extrapolated": extrapolated, "sentence": sentence}


def _fit_dict(law: Law, sizes: list[int], floor: bool, target: float) -> dict[str, Any]:
    """The law and the curve to draw: `measured` over the sizes measured, `extrapolated` beyond them (up to
    where the target is met, within 2x-`TOO_FAR`x the largest size)."""
    needed = law.images_for(target)
    end = min(max(needed if math.isfinite(needed) else 0, 2 * sizes[-1]), TOO_FAR * sizes[-1])
    return {"law": "power law with a floor" if floor else "power law", "formula": law.formula(),
            "a": law.a, "b": law.b, "c": law.c, "sizes": sizes,
            "measured": _curve(law, sizes[0], sizes[-1]), "extrapolated": _curve(law, sizes[-1], end)}


def _curve(law: Law, start: float, end: float) -> dict[str, list[float]]:
    images = np.geomspace(start, end, CURVE_POINTS)
    return {"images": [float(x) for x in images], "accuracy": [float(y) for y in law.accuracy(images)]}
