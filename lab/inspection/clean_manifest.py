"""A clean manifest: the same splits without the photos a person chose to leave out (by path or content digest).

Cleaning never touches the photos: they stay where they are, and the dataset or manifest it started from stays as
it was. What changes is a new named manifest, so a run trained on it says in its config (the manifest's content
hash) exactly which photos it left out, and the original run stays comparable. Every other photo keeps its split
and label, subsets included: a photo left out of train is also left out of a subset drawn from train.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Iterable
from pathlib import Path

from lab.data.manifest import Manifest, check_name, manifest_path
from lab.data.run_data import resolve_data_path, source_manifest
from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.settings import Settings

SHOWN = 3  # chosen photos named in the message when they are not in the data


def leave_out(manifest: Manifest, chosen: Iterable[str], *, name: str) -> Manifest:
    """A new manifest `name`: `manifest` without the photos `chosen` names by path or by content digest.

    A chosen path or digest that is in none of its splits is a `LabError` (a typo must not leave the photo in).
    """
    check_name(name)
    left, missing = _chosen_digests(manifest, list(chosen))
    if missing:
        more = f" and {len(missing) - SHOWN:,} more" if len(missing) > SHOWN else ""
        raise LabError(f"{len(missing):,} of the photos to leave out are not in {manifest.name}: "
                       f"{', '.join(missing[:SHOWN])}{more}. Give their paths or digests as the data lists them.")
    splits = {split: [r for r in records if r.digest not in left] for split, records in manifest.splits.items()}
    return dataclasses.replace(manifest, name=name, splits=splits, created=time.strftime("%Y-%m-%dT%H:%M:%S"))


def clean_name(source: str | Path, left_out: int, what: str = "photos") -> str:
    """The name a clean manifest gets unless given one: "cats_and_dogs_filtered-without-12-label-issues"."""
    return f"{Path(source).stem}-without-{left_out}-{what}"[:80]


def save_clean_manifest(source: str | Path, chosen: Iterable[str], *, name: str, settings: Settings, seed: int = 0,
                        on_progress: Progress = no_progress) -> tuple[Manifest, Path]:
    """Save `source` (a dataset folder, zip or saved manifest, split as a run would split it with `seed`)
    without the `chosen` photos as manifest `name`; returns it and where it was saved. The source itself is
    never written: a name that would overwrite the saved manifest it starts from is refused."""
    original = source_manifest(source, seed=seed, settings=settings, on_progress=on_progress)
    if resolve_data_path(source, settings) is None and _same_file(manifest_path(source, settings),
                                                                  manifest_path(name, settings)):
        raise LabError(f"The clean manifest cannot be called {name!r}: that would overwrite the manifest it "
                       "starts from. Choose another name.")
    clean = leave_out(original, chosen, name=name)
    return clean, clean.save(settings)


def _chosen_digests(manifest: Manifest, chosen: list[str]) -> tuple[set[str], list[str]]:
    """The content digests of the photos `chosen` names (by digest, by path as listed, or by another spelling of
    that path: relative, through a link), and the names that match no photo."""
    records = [record for records in manifest.splits.values() for record in records]
    listed = {key: record.digest for record in records for key in (record.digest, record.path)}
    found = {listed[item] for item in chosen if item in listed}
    unmatched = [item for item in chosen if item not in listed]
    if unmatched:
        real = {os.path.realpath(record.path): record.digest for record in records}
        found |= {real[os.path.realpath(item)] for item in unmatched if os.path.realpath(item) in real}
        unmatched = [item for item in unmatched if os.path.realpath(item) not in real]
    return found, unmatched


def _same_file(first: Path, second: Path) -> bool:
    return os.path.realpath(first) == os.path.realpath(second)
