"""Which photos of a dataset a person is shown: a few of each class, or one class's photos to pick from.

The picks are the same on every visit (a seed per class), so a page rerun does not reshuffle what someone
is looking at, and a script or test sees the same photos the page shows.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from lab.data.records import ImageRecord


def class_samples(records: Iterable[ImageRecord], per_class: int) -> dict[str, list[str]]:
    """Up to `per_class` paths of each class, in the classes' order of appearance.

    Each class is drawn with its own seed: with one shared seed, classes whose files are numbered alike
    (cat.12.jpg, dog.12.jpg) would all show the same numbers.
    """
    by_class: dict[str, list[str]] = {}
    for record in records:
        by_class.setdefault(record.label, []).append(record.path)
    return {label: random.Random(f"samples of {label}").sample(paths, min(per_class, len(paths)))
            for label, paths in by_class.items()}


def class_photos(records: Iterable[ImageRecord], label: str) -> list[ImageRecord]:
    """The photos of one class, in the order of `records`."""
    return [record for record in records if record.label == label]
