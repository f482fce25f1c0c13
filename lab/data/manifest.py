"""Named manifests: which files are in which split, saved once and used by every page and the CLI.

A manifest lists files, labels, splits and content digests, never copies of images. Its content hash
goes into every run's config, so a result can be traced to exactly the images it was trained on.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.data.records import SPLITS, ImageRecord
from lab.data.scan import ScanReport
from lab.data.splits import carve, resolve_count, stratified_subset
from lab.errors import LabError
from lab.settings import Settings
from lab.storage import read_json, write_json_atomic

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")


@dataclass
class Manifest:
    """A dataset cut into named splits (train, validation, test, and subsets such as train_1k)."""

    name: str
    root: str
    layout: str
    classes: list[str]
    seed: int
    splits: dict[str, list[ImageRecord]]
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))

    @property
    def content_hash(self) -> str:
        return records_hash(self.splits)

    def counts(self) -> dict[str, dict[str, int]]:
        """Split -> class -> number of images, for tables and the CLI."""
        return {name: {label: sum(r.label == label for r in records) for label in self.classes}
                for name, records in self.splits.items()}

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "root": self.root, "layout": self.layout, "classes": self.classes,
                "seed": self.seed, "created": self.created, "content_hash": self.content_hash,
                "splits": {name: [r.to_dict() for r in records] for name, records in self.splits.items()}}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Manifest:
        splits = {name: [ImageRecord.from_dict(r) for r in records] for name, records in value["splits"].items()}
        return cls(name=value["name"], root=value["root"], layout=value["layout"], classes=value["classes"],
                   seed=value["seed"], splits=splits, created=value["created"])

    def save(self, settings: Settings) -> Path:
        path = settings.manifests_dir / f"{self.name}.json"
        write_json_atomic(path, self.to_dict())
        return path


def records_hash(splits: dict[str, list[ImageRecord]]) -> str:
    """A digest of which content is in which split under which label; paths do not matter."""
    rows = sorted((name, r.label, r.digest) for name, records in splits.items() for r in records)
    return hashlib.blake2b(json.dumps(rows).encode(), digest_size=12).hexdigest()


def build_manifest(
    report: ScanReport,
    *,
    name: str,
    validation: float | int = 0.2,
    test: float | int = 0.0,
    subsets: dict[str, tuple[str, int]] | None = None,
    seed: int = 0,
    drop_duplicates: bool = True,
) -> Manifest:
    """Split a scanned dataset. Split folders are kept as they are; a missing split is cut from train.

    `subsets` maps a new split name to (source split, number of images), e.g. {"train_1k": ("train", 1000)}:
    stratified, and nested for a given seed. `drop_duplicates` keeps one file per content, preferring
    the train copy, so an image cannot leak from training into validation or test.
    """
    _check_name(name)
    records = _unique(report.records) if drop_duplicates else list(report.records)
    splits = _base_splits(records, validation=validation, test=test, seed=seed)
    for subset, (source, size) in (subsets or {}).items():
        _check_name(subset)
        if source not in splits:
            raise LabError(f"Subset {subset!r} is drawn from split {source!r}, which this dataset does not have "
                           f"(it has {', '.join(splits)}).")
        splits[subset] = stratified_subset(splits[source], size, seed=seed, what=f"subset {subset!r}")
    return Manifest(name=name, root=str(report.root), layout=report.layout, classes=sorted(report.classes),
                    seed=seed, splits=splits)


def manifest_path(name_or_path: str | Path, settings: Settings) -> Path:
    """Where a manifest named by its name in the workspace, or by the path of its JSON file, is stored."""
    path = Path(name_or_path)
    return path if path.suffix == ".json" else settings.manifests_dir / f"{name_or_path}.json"


def load_manifest(name_or_path: str | Path, settings: Settings) -> Manifest:
    """A saved manifest, by its name in the workspace or by the path of its JSON file."""
    value = read_json(manifest_path(name_or_path, settings))
    if value is None:
        known = ", ".join(sorted(p.stem for p in settings.manifests_dir.glob("*.json"))) or "none yet"
        raise LabError(f"No manifest {name_or_path!r} (saved manifests: {known}). Build one on the Dataset page.")
    return Manifest.from_dict(value)


def list_manifests(settings: Settings) -> list[str]:
    return sorted(p.stem for p in settings.manifests_dir.glob("*.json"))


def _check_name(name: str) -> None:
    if not _NAME.match(name):
        raise LabError(f"{name!r} cannot be a manifest or split name: use letters, digits, '_', '-' or '.', "
                       f"at most 80 characters, starting with a letter or digit.")


def _unique(records: list[ImageRecord]) -> list[ImageRecord]:
    rank = {split: i for i, split in enumerate(SPLITS)}
    kept: dict[str, ImageRecord] = {}
    for record in sorted(records, key=lambda r: (rank.get(r.split, len(rank)), r.path)):
        kept.setdefault(record.digest, record)
    return list(kept.values())


def _base_splits(records: list[ImageRecord], *, validation: float | int, test: float | int,
                 seed: int) -> dict[str, list[ImageRecord]]:
    """Split folders as found; the splits they lack are cut from the training images, stratified."""
    from_folders = {split: [r for r in records if r.split == split] for split in SPLITS}
    from_folders = {split: items for split, items in from_folders.items() if items} or {"train": records}
    if "train" not in from_folders:
        raise LabError("The split folders have no train folder: add root/train/<class>/ with training images.")
    train = from_folders["train"]
    wanted = {split: resolve_count(amount, len(train), what=f"the {split} split")
              for split, amount in (("test", test), ("validation", validation)) if split not in from_folders}
    splits = {**from_folders, **carve(train, wanted, seed=seed)}
    return {split: splits[split] for split in SPLITS if split in splits}
