"""Named manifests: which files are in which split, saved once and used by every page and the CLI.

A manifest lists files, labels, splits and content digests, never copies of images. Its content hash
goes into every run's config, so a result can be traced to exactly the images it was trained on.

A manifest file may have been written by hand or by another tool: its shape is checked when it is read,
and a wrong one is a `LabError` naming the file and the first thing wrong, not a `KeyError` in a run.
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
# What each key of a manifest, and of each of its files, must hold: (JSON types, the rule in words). A
# manifest's `content_hash` is recomputed, never read; a file's `needs_pil` may be missing (older files).
_Rule = tuple[tuple[type, ...], str]
_MANIFEST_KEYS: dict[str, _Rule] = {
    "name": ((str,), "be a string"), "root": ((str,), "be a folder path"), "layout": ((str,), "be a string"),
    "classes": ((list,), "be a list of class names"), "seed": ((int,), "be a whole number"),
    "created": ((str,), "be a date string"), "splits": ((dict,), "map split names to lists of files"),
}
_FILE_KEYS: dict[str, _Rule] = {
    "path": ((str,), "be a file path"), "label": ((str,), "be a class name"),
    "split": ((str, type(None)), "be a split name or null"), "digest": ((str,), "be a content digest"),
    "width": ((int,), "be a whole number"), "height": ((int,), "be a whole number"),
    "needs_pil": ((bool, int), "be true or false"),  # 0 or 1 in manifests made from the scan cache
}
_OPTIONAL = {"needs_pil"}
_JSON_KINDS = {dict: "an object", list: "a list", str: "a string", int: "a number", float: "a number",
               bool: "true or false", type(None): "null"}


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
    check_name(name)
    records = _unique(report.records) if drop_duplicates else list(report.records)
    splits = _base_splits(records, validation=validation, test=test, seed=seed)
    for subset, (source, size) in (subsets or {}).items():
        check_name(subset)
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
    path = manifest_path(name_or_path, settings)
    try:
        value = read_json(path)
    except (ValueError, OSError) as error:  # not JSON, not UTF-8, a folder named like a manifest
        raise LabError(f"manifest {path.name} cannot be read as JSON ({error}). Save it again on the Dataset "
                       "page or with `python -m lab manifest`.") from error
    if value is None:
        known = ", ".join(sorted(p.stem for p in settings.manifests_dir.glob("*.json"))) or "none yet"
        raise LabError(f"No manifest {name_or_path!r} (saved manifests: {known}). Build one on the Dataset page.")
    problem = shape_problem(value)
    if problem:
        raise LabError(f"manifest {path.name}: {problem}. Save it again on the Dataset page or with "
                       "`python -m lab manifest`.")
    return Manifest.from_dict(value)


def shape_problem(value: Any) -> str | None:
    """What is wrong with the shape of a manifest's JSON (the first thing found), or None when nothing is."""
    if not isinstance(value, dict):
        return f"it must be a JSON object with {', '.join(_MANIFEST_KEYS)}; found {_kind(value)}"
    problem = _keys_problem(value, _MANIFEST_KEYS, "")
    if problem or not all(isinstance(label, str) for label in value["classes"]):
        return problem or "'classes' must be a list of class names"
    for split, files in value["splits"].items():
        if not isinstance(files, list):
            return f"'splits' must map split names to lists of files; {split!r} is {_kind(files)}"
        for index, file in enumerate(files):
            where = f"file {index} of split {split!r}: "
            if not isinstance(file, dict):
                return f"{where}must be an object with {', '.join(_FILE_KEYS)}; found {_kind(file)}"
            unknown = sorted(set(file) - set(_FILE_KEYS))
            problem = _keys_problem(file, _FILE_KEYS, where) or (
                f"{where}unknown keys {', '.join(map(repr, unknown))}" if unknown else None)
            if problem:
                return problem
    return None


def _keys_problem(value: dict[str, Any], rules: dict[str, _Rule], where: str) -> str | None:
    """The first key of `value` that is missing or breaks its rule, in words."""
    missing = [key for key in rules if key not in value and key not in _OPTIONAL]
    if missing:
        return f"{where}{', '.join(map(repr, missing))} missing"
    for key, (types, rule) in rules.items():
        if key in value and not isinstance(value[key], types):
            return f"{where}{key!r} must {rule}; found {_kind(value[key])}"
    return None


def _kind(value: Any) -> str:
    return _JSON_KINDS.get(type(value), type(value).__name__)


def list_manifests(settings: Settings) -> list[str]:
    return sorted(p.stem for p in settings.manifests_dir.glob("*.json"))


def check_name(name: str) -> None:
    """A `LabError` unless `name` can name a manifest file or a split."""
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
