"""Write a manifest out as split/class folders, the layout the Keras tutorial built by copying files.

Nothing in the lab needs this (manifests point at the original files); it is for people who want
the folders to use elsewhere. Files are hard-linked where the file system allows, copied otherwise.

The user's photos are never written to. Two sources with one file name (`a/1.jpg` and `b/1.jpg` in
the same class) get distinct names, and every target is created exclusively: an existing file or
link at a target is an error, never something to write through. A hard link shares its bytes with
the source, so copying "over" one would overwrite the original photo.
"""

from __future__ import annotations

import errno
import itertools
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lab.data.manifest import Manifest
from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.progress import Progress, no_progress


@dataclass
class ExportReport:
    """What an export wrote: how many files, how (linked or copied), and which were renamed."""

    destination: Path
    linked: int = 0
    copied: int = 0
    renamed: list[tuple[str, str]] = field(default_factory=list)  # (source, exported path)

    @property
    def files(self) -> int:
        return self.linked + self.copied

    def to_dict(self) -> dict:
        return {"destination": str(self.destination), "files": self.files, "linked": self.linked,
                "copied": self.copied, "renamed": [{"source": s, "target": t} for s, t in self.renamed]}

    def summary(self) -> str:
        renamed = (f"; {len(self.renamed)} renamed because another file in the same folder had the same name"
                   if self.renamed else "")
        return (f"exported {self.files} files to {self.destination} ({self.linked} hard-linked, "
                f"{self.copied} copied{renamed})")


def export_folders(manifest: Manifest, destination: Path, *, on_progress: Progress = no_progress) -> ExportReport:
    """Create `destination/<split>/<class>/<file>` for every record of every split."""
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise LabError(f"{destination} is not empty: export into a new folder so nothing is overwritten.")
    report = ExportReport(destination)
    taken: dict[Path, set[str]] = {}
    records = [(split, r) for split, items in manifest.splits.items() for r in items]
    for done, (split, record) in enumerate(records, start=1):
        folder = destination / split / record.label
        name = _unique_name(record, taken.setdefault(folder, set()))
        if name != Path(record.path).name:
            report.renamed.append((record.path, str(folder / name)))
        folder.mkdir(parents=True, exist_ok=True)
        if _link_or_copy(Path(record.path), folder / name):
            report.linked += 1
        else:
            report.copied += 1
        if done % 500 == 0 or done == len(records):
            on_progress(done, len(records), "exporting")
    return report


def _unique_name(record: ImageRecord, taken: set[str]) -> str:
    """The source's file name, or, when the folder already has one by that name, the name with the
    image's digest (and a counter, for identical copies) added before the suffix."""
    source, tag = Path(record.path), record.digest[:8]
    numbered = (f"{source.stem}-{tag}-{n}{source.suffix}" for n in itertools.count(2))
    candidates = itertools.chain([source.name, f"{source.stem}-{tag}{source.suffix}"], numbered)
    name = next(c for c in candidates if c not in taken)
    taken.add(name)
    return name


def _link_or_copy(source: Path, target: Path) -> bool:
    """Hard-link `source` at `target` (True), or copy it into a new file there (False).

    Both refuse an existing `target`: `os.link` by itself, the copy by opening with O_EXCL, which
    also refuses to follow a link that stands at `target`.
    """
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        raise LabError(f"{target} already exists: export into a new, empty folder.") from None
    except OSError as error:
        if error.errno not in (errno.EXDEV, errno.EPERM, errno.EACCES, errno.EMLINK, errno.ENOTSUP):
            raise LabError(f"Could not export {source} to {target}: {error.strerror or error}.") from error
    try:
        with open(source, "rb") as reader, open(target, "xb") as writer:
            shutil.copyfileobj(reader, writer, length=1 << 20)
    except FileExistsError:
        raise LabError(f"{target} already exists: export into a new, empty folder.") from None
    shutil.copystat(source, target)
    return False
