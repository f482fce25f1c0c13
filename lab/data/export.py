"""Write a manifest out as split/class folders, the layout the Keras tutorial built by copying files.

Nothing in the lab needs this (manifests point at the original files); it is for people who want
the folders to use elsewhere. Files are hard-linked where the file system allows, copied otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from lab.data.manifest import Manifest
from lab.errors import LabError
from lab.progress import Progress, no_progress


def export_folders(manifest: Manifest, destination: Path, *, on_progress: Progress = no_progress) -> int:
    """Create `destination/<split>/<class>/<file>` for every record; returns the number of files."""
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise LabError(f"{destination} is not empty: export into a new folder so nothing is overwritten.")
    records = [(split, r) for split, items in manifest.splits.items() for r in items]
    for done, (split, record) in enumerate(records, start=1):
        target = destination / split / record.label / Path(record.path).name
        target.parent.mkdir(parents=True, exist_ok=True)
        _link_or_copy(Path(record.path), target)
        if done % 500 == 0 or done == len(records):
            on_progress(done, len(records), "exporting")
    return len(records)


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)
