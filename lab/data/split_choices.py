"""What the split builder offers for a scanned dataset, and what a manifest holds, in words.

A dataset with its own `validation` or `test` folder keeps it (nothing is held out of train for it); the
first subset suggested is the tutorial's 1,000 training photos, or half of a smaller training set. The
Dataset page reads these rules to draw its fields; `split_sizes_text` and `manifest_row` say what a saved
manifest holds, for its table and its messages.
"""

from __future__ import annotations

from lab.data.manifest import Manifest
from lab.data.records import SPLITS
from lab.data.scan import ScanReport

MAX_SUBSETS = 4
SUBSET_SOURCES = SPLITS  # a subset is drawn from one of the base splits
TUTORIAL_SUBSET = 1000  # the tutorials' small training set: "train_1000"


def own_split_images(report: ScanReport, split: str) -> int | None:
    """Images in the dataset's own folder for `split`, or None where it has none and a share is held out."""
    return sum(report.splits[split].values()) if split in report.splits else None


def training_images(report: ScanReport) -> int:
    """Images a subset of `train` can draw from: the train folder's, or every image without split folders."""
    return sum(report.splits.get("train", report.classes).values())


def default_subset(training: int, index: int) -> tuple[str, int]:
    """The name and size first offered for subset number `index` (from 0) of `training` images.

    The tutorial's 1,000 photos (at most half the training set) for the first, then a half, a third, ...
    of that, so the suggested subsets nest and none is empty.
    """
    size = min(TUTORIAL_SUBSET, training // 2) // (index + 1)
    return f"train_{size}", max(size, 1)


def split_sizes_text(manifest: Manifest) -> str:
    """"train 1,600 · validation 400 · train_1000 1,000": the base splits first, then the subsets."""
    order = [split for split in SPLITS if split in manifest.splits]
    order += sorted(split for split in manifest.splits if split not in SPLITS)
    return " · ".join(f"{split} {len(manifest.splits[split]):,}" for split in order)


def manifest_row(manifest: Manifest, dataset: str) -> dict[str, object]:
    """One line of a table of saved manifests; `dataset` is its folder as the reader may see it."""
    return {
        "name": manifest.name,
        "classes": ", ".join(manifest.classes),
        "splits": split_sizes_text(manifest),
        "seed": manifest.seed,
        "created": manifest.created.replace("T", " "),
        "dataset": dataset,
        "content hash": manifest.content_hash[:12],
    }
