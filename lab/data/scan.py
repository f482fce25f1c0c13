"""Scan a dataset: find its images, decode every file in parallel, report bad files and duplicates.

The tutorials discovered corrupt files when training crashed on them and deleted them by hand; a scan
finds them first, says why each is bad, and keeps them out of every manifest and pipeline.

One bad entry never stops the rest: a name that is not valid UTF-8, a link that loops or leads outside
the dataset, a folder that cannot be opened, a file too large to be a photo are each listed with the
reason (`invalid`, `unreadable`) and the scan goes on. Memory is bounded by `lab.data.check`: each of
the 2 x cores threads holds at most one 1 MiB chunk of file bytes (4 MiB on 2 cores) besides the pixels
it is decoding, and files over 64 MiB are not read.
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from lab.data.archive import extract_zip, is_zip
from lab.data.check import check_file
from lab.data.layout import Discovery, allowed_roots, discover, is_within
from lab.data.records import FileCheck, FoundImage, ImageRecord
from lab.data.scan_cache import ScanCache, is_utf8
from lab.data.summary import (
    SIZE_CELL,
    FolderCount,
    SizeCell,
    SizeSummary,
    class_sizes,
    folder_counts,
    size_distribution,
)
from lab.progress import Progress, no_progress
from lab.settings import Settings, load_settings


@dataclass
class ScanReport:
    """What a scan found. `records` holds the valid images only; bad files are in `invalid`.

    The summaries (counts per class and split, sizes, folders) are computed once here, so every reader
    (the Dataset page, `python -m lab scan --json`) gets the same figures without walking the records.
    """

    root: Path
    layout: str
    records: list[ImageRecord]
    invalid: list[dict[str, str]]
    duplicates: list[list[str]]
    leakage: list[list[str]]
    ignored: int
    from_cache: int
    seconds: float
    source: str = "folder"
    unreadable: list[str] = field(default_factory=list)
    classes: dict[str, int] = field(init=False)
    splits: dict[str, dict[str, int]] = field(init=False)
    sizes: SizeSummary | None = field(init=False)
    per_class: dict[str, SizeSummary] = field(init=False)
    size_distribution: list[SizeCell] = field(init=False)
    folders: dict[str, FolderCount] = field(init=False)

    def __post_init__(self) -> None:
        self.classes = _count(self.records, lambda r: r.label)
        splits: dict[str, list[ImageRecord]] = defaultdict(list)
        for record in self.records:
            if record.split:
                splits[record.split].append(record)
        self.splits = {name: _count(items, lambda r: r.label) for name, items in sorted(splits.items())}
        self.sizes = SizeSummary.of(self.records) if self.records else None
        self.per_class = class_sizes(self.records)
        self.size_distribution = size_distribution(self.records)
        self.folders = folder_counts(self.root, [r.path for r in self.records], [i["path"] for i in self.invalid])

    @property
    def total(self) -> int:
        return len(self.records) + len(self.invalid)

    @property
    def valid(self) -> int:
        return len(self.records)

    def to_json(self) -> dict[str, Any]:
        """The `python -m lab scan --json` contract: everything but the per-image records."""
        return {
            "root": str(self.root),
            "source": self.source,
            "layout": self.layout,
            "classes": self.classes,
            "splits": self.splits,
            "total": self.total,
            "valid": self.valid,
            "invalid": self.invalid,
            "duplicates": self.duplicates,
            "leakage": self.leakage,
            "ignored_files": self.ignored,
            "unreadable_folders": self.unreadable,
            "from_cache": self.from_cache,
            "seconds": round(self.seconds, 3),
            "sizes": self.sizes.to_json() if self.sizes else None,
            "per_class": {label: summary.to_json() for label, summary in self.per_class.items()},
            "size_distribution": {"cell_pixels": SIZE_CELL,
                                  "cells": [cell.to_json() for cell in self.size_distribution]},
            "folders": {folder: asdict(count) for folder, count in self.folders.items()},
        }


def scan(
    path: str | Path,
    *,
    on_progress: Progress = no_progress,
    settings: Settings | None = None,
    workers: int | None = None,
    unpack_to: Path | None = None,
) -> ScanReport:
    """Scan a folder or a .zip (extracted safely first, into `unpack_to` or else the workspace's datasets
    folder) and check every image."""
    started = time.perf_counter()
    settings = settings or load_settings()
    folder, source = Path(path).expanduser(), "folder"
    if is_zip(folder):
        folder = extract_zip(folder, unpack_to or settings.datasets_dir, on_progress=on_progress)
        source = "zip"
    discovery = discover(folder, settings.data_dirs)
    checks, from_cache = _check_all(discovery.images, ScanCache(settings.cache_dir / "scan.sqlite"),
                                    discovery.root, allowed_roots(discovery.root, settings.data_dirs),
                                    on_progress, workers or 2 * (os.cpu_count() or 1))
    return _report(discovery, checks, from_cache, time.perf_counter() - started, source)


def _check_all(
    images: list[FoundImage], cache: ScanCache, root: Path, allowed: list[str], on_progress: Progress, workers: int
) -> tuple[list[FileCheck], int]:
    """Checks for every image in order: from the cache when size and mtime match, else decoded now."""
    remembered = cache.lookup(root)
    checks: list[FileCheck | None] = []
    stale: list[int] = []
    for index, image in enumerate(images):
        known = remembered.get(image.path)
        if known is not None and _unchanged(image.path, known):
            checks.append(known)
        else:
            checks.append(None)
            stale.append(index)
    total = len(images)
    on_progress(total - len(stale), total, "checking images")
    fresh = _decode_in_parallel([images[i].path for i in stale], allowed, workers, total - len(stale), total,
                                on_progress)
    for index, check in zip(stale, fresh):
        checks[index] = check
    cache.store((images[i].path, checks[i]) for i in stale)
    on_progress(total, total, "checked")
    return checks, total - len(stale)


def _unchanged(path: str, known: FileCheck) -> bool:
    try:
        stat = os.stat(path)
    except OSError:  # gone, a link loop, or a folder whose permissions changed: check it again
        return False
    return stat.st_size == known.size and stat.st_mtime_ns == known.mtime_ns


def _decode_in_parallel(
    paths: list[str], allowed: list[str], workers: int, done: int, total: int, on_progress: Progress
) -> list[FileCheck]:
    """Decode in threads: Pillow and hashlib release the GIL, so threads use both cores."""
    step = max(1, total // 100)
    results: list[FileCheck] = []
    with ThreadPoolExecutor(max_workers=workers) as pool:
        checks = pool.map(partial(_check_inside, allowed=allowed), paths, chunksize=32)
        for count, check in enumerate(checks, start=1):
            results.append(check)
            if count % step == 0:
                on_progress(done + count, total, "checking images")
    return results


def _check_inside(path: str, allowed: list[str]) -> FileCheck:
    """`check_file`, for a file really inside the dataset or the data folders, whose name can be shown.

    A link to a file elsewhere is never read (a scan must not reach beyond the folders the lab may
    read); a name that is not valid UTF-8 is left out, since neither the scan cache, the page nor
    TensorFlow can carry it.
    """
    if not is_utf8(path):
        return FileCheck(size=0, mtime_ns=0, ok=False,
                         reason="its name is not valid UTF-8 (shown with \ufffd): rename the file")
    if not is_within(path, allowed) and os.path.exists(path):
        return FileCheck(size=0, mtime_ns=0, ok=False, reason="a link to a file outside the dataset and the "
                                                               "data folders: not followed; copy the file in instead")
    return check_file(path)


def _printable(path: str) -> str:
    """`path` as text any reader can show: undecodable bytes become U+FFFD."""
    return os.fsencode(path).decode("utf-8", "replace")


def _report(discovery: Discovery, checks: list[FileCheck], from_cache: int, seconds: float,
            source: str) -> ScanReport:
    records, invalid = [], []
    for image, check in zip(discovery.images, checks):
        if check.ok:
            records.append(ImageRecord(path=image.path, label=image.label, split=image.split,
                                       digest=check.digest, width=check.width, height=check.height,
                                       needs_pil=check.needs_pil))
        else:
            invalid.append({"path": _printable(image.path), "reason": check.reason or "unreadable"})
    duplicates = _duplicate_groups(discovery.images, checks)
    split_of = {image.path: image.split for image in discovery.images}
    leakage = [group for group in duplicates if len({split_of[p] for p in group}) > 1]
    return ScanReport(root=discovery.root, layout=discovery.layout, records=records, invalid=invalid,
                      duplicates=duplicates, leakage=leakage, ignored=discovery.ignored,
                      from_cache=from_cache, seconds=seconds, source=source,
                      unreadable=[_printable(folder) for folder in discovery.unreadable])


def _duplicate_groups(images: list[FoundImage], checks: list[FileCheck]) -> list[list[str]]:
    """Files with identical bytes, grouped; only decodable ones, since bad files are excluded anyway."""
    by_digest: dict[str, list[str]] = defaultdict(list)
    for image, check in zip(images, checks):
        if check.ok:
            by_digest[check.digest].append(image.path)
    return [group for group in by_digest.values() if len(group) > 1]


def _count(records: list[ImageRecord], key) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for record in records:
        counts[key(record)] += 1
    return dict(sorted(counts.items()))
