"""How accuracies are drawn without exaggerating: each with its interval, on an axis at least ten points tall.

A chart's axis fitted to accuracies of 93.2% and 94.0% starts at 0.93 and makes a 0.8-point gap fill the
plot, though on 500 test photos each accuracy is uncertain by about two points either way. So every chart of
accuracies (the pages' plotly figures and the report's SVG) follows the same two rules:

- each accuracy measured on a known number of photos is drawn with its 95% Wilson interval
  (`lab.evaluation.proportions.wilson`), so a reader sees at once whether two points could be the same;
- the axis spans at least `MIN_SPAN` (ten points), rounded out to whole `STEP`s (five points). Not a floor
  at chance (50% for two classes): that squeezes 93% and 94% into one row of pixels and hides the intervals
  that say whether they differ. Ten points keep a one-point gap a tenth of the chart's height, seen beside
  intervals of about that size for what it is. A range too short grows upwards first, as far as 100%:
  accuracies crowd near it, and an axis that reaches it keeps the distance to a perfect score in view.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from lab.evaluation.proportions import Interval, wilson

MIN_SPAN = 0.10  # the shortest accuracy axis: a one-point gap is a tenth of the chart's height
STEP = 0.05  # the axis ends on whole five points (85%, 90%), where its ticks fall
MARGIN = 0.01  # room between the outermost point (or interval end) and the axis's end


def accuracy_interval(accuracy: float, images: int | None) -> Interval | None:
    """The 95% Wilson interval of `accuracy` measured on `images` photos; None when the count is unknown."""
    if not images:
        return None
    return wilson(round(accuracy * images), int(images))


def accuracy_range(values: Iterable[float | None]) -> tuple[float, float]:
    """The axis range for accuracies (points, interval ends, reference lines): all of `values` inside, its ends
    on whole `STEP`s within [0, 1], and at least `MIN_SPAN` tall. The whole [0, 1] when there is no value."""
    shown = [float(v) for v in values if v is not None and math.isfinite(v)]
    if not shown:
        return 0.0, 1.0
    low = max(0.0, math.floor(round((min(shown) - MARGIN) / STEP, 6)) * STEP)
    high = min(1.0, math.ceil(round((max(shown) + MARGIN) / STEP, 6)) * STEP)
    if high - low < MIN_SPAN:
        high = min(1.0, low + MIN_SPAN)
        low = max(0.0, high - MIN_SPAN)
    return round(low, 6), round(high, 6)
