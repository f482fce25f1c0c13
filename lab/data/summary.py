"""What a scan's images add up to: their sizes, each class at a glance, and how many files each folder holds.

Computed once per scan and carried by `ScanReport` (and so by `python -m lab scan --json`), so the Dataset
page only draws them and a script gets the same figures without the app. Sizes matter because training
squashes every image to the model's input size: a class of small or oddly shaped photos loses more detail.
"""

from __future__ import annotations

import os
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.data.records import ImageRecord

SIZE_CELL = 50  # pixels: the size distribution counts images per 50 x 50-pixel cell of (width, height)


@dataclass(frozen=True)
class Spread:
    """The smallest, median and largest value of one image dimension, in pixels."""

    min: int
    median: float
    max: int

    @classmethod
    def of(cls, values: Sequence[int]) -> Spread:
        return cls(min=min(values), median=float(statistics.median(values)), max=max(values))


@dataclass(frozen=True)
class SizeSummary:
    """How large a group of images is: the spread of widths and heights, and its most common size."""

    images: int
    distinct: int  # how many different (width, height) pairs
    width: Spread
    height: Spread
    most_common: tuple[int, int, int]  # (width, height, images of that size)

    @classmethod
    def of(cls, records: Sequence[ImageRecord]) -> SizeSummary:
        """The summary of a non-empty group of images."""
        sizes = Counter((record.width, record.height) for record in records)
        (width, height), count = sizes.most_common(1)[0]
        return cls(images=len(records), distinct=len(sizes), width=Spread.of([r.width for r in records]),
                   height=Spread.of([r.height for r in records]), most_common=(width, height, count))

    def sentence(self) -> str:
        """One line for people: the page's caption under the size chart, the CLI's summary."""
        if self.distinct == 1:
            width, height, _ = self.most_common
            return f"All images are {width} x {height}."
        return (f"Median {self.width.median:.0f} x {self.height.median:.0f}; "
                f"widths {self.width.min}-{self.width.max}, heights {self.height.min}-{self.height.max}.")

    def to_json(self) -> dict[str, Any]:
        width, height, images = self.most_common
        return {**asdict(self), "most_common": {"width": width, "height": height, "images": images}}


@dataclass(frozen=True)
class SizeCell:
    """Images of one class whose width lies in [width, width + SIZE_CELL) and height in [height, height + SIZE_CELL)."""

    label: str
    width: int
    height: int
    images: int

    def to_json(self) -> dict[str, Any]:
        return {"class": self.label, "width": self.width, "height": self.height, "images": self.images}


@dataclass(frozen=True)
class FolderCount:
    """Image files under one folder (its subfolders included), and how many of them are bad."""

    images: int
    bad: int


def size_distribution(records: Iterable[ImageRecord]) -> list[SizeCell]:
    """Images per class and SIZE_CELL-pixel cell of (width, height), in class, width, height order.

    Cells rather than exact sizes: 3,000 photos can have 1,600 different sizes, and a chart or a JSON
    report of every one says less than the shape of the distribution.
    """
    counts = Counter((r.label, _cell(r.width), _cell(r.height)) for r in records)
    return [SizeCell(label, width, height, images) for (label, width, height), images in sorted(counts.items())]


def class_sizes(records: Iterable[ImageRecord]) -> dict[str, SizeSummary]:
    """Each class's size summary, by class name."""
    by_class: dict[str, list[ImageRecord]] = {}
    for record in records:
        by_class.setdefault(record.label, []).append(record)
    return {label: SizeSummary.of(group) for label, group in sorted(by_class.items())}


def folder_counts(root: Path, images: Sequence[str], bad: Sequence[str]) -> dict[str, FolderCount]:
    """`ls -R`, summarised: each folder (relative to root, "." for root) with its image files and bad files."""
    all_files, bad_files = _per_folder([*images, *bad], root), _per_folder(bad, root)
    ordered = sorted(all_files, key=lambda folder: folder.parts)
    return {folder.as_posix(): FolderCount(all_files[folder], bad_files[folder]) for folder in ordered}


def _per_folder(paths: Sequence[str], root: Path) -> Counter[Path]:
    """Folder -> files under it, counted per parent folder first since there are few."""
    counts: Counter[Path] = Counter()
    for folder, files in Counter(os.path.dirname(path) for path in paths).items():
        relative = relative_path(Path(folder), root)
        for level in (relative, *relative.parents):
            counts[level] += files
    return counts


def relative_path(path: Path, root: Path) -> Path:
    """`path` relative to `root`, or `path` unchanged where it does not lie under `root`."""
    try:
        return path.relative_to(root)
    except ValueError:
        return path


def _cell(pixels: int) -> int:
    return pixels // SIZE_CELL * SIZE_CELL
