"""How benchmarks print a rate against `model.predict`'s on the same images: medians, every run, and the ratio."""

from __future__ import annotations

import statistics


def print_against_predict(label: str, ours: list[float], theirs: list[float], *, images: int, batch_size: int) -> None:
    """Print our images/s and `model.predict`'s (medians, then each run), and their ratio against the 90% target."""
    ours_median, theirs_median = statistics.median(ours), statistics.median(theirs)
    print(f"{label + ':':<29}{ours_median:7.1f} images/s (runs: {', '.join(f'{r:.1f}' for r in ours)})")
    runs = ", ".join(f"{r:.1f}" for r in theirs)
    print(f"{'model.predict, in memory:':<29}{theirs_median:7.1f} images/s (runs: {runs})")
    print(f"ratio: {ours_median / theirs_median:.0%} of model.predict's rate (target >= 90%), "
          f"{images} images, MobileNetV2 224px, batch {batch_size}")
