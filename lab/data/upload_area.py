"""Where a visitor's zip of photos is unpacked to be predicted: a temporary place of its own, gone when the
predictions are made, with a cap on what all such places hold together.

Predict's "A folder or zip" once unpacked each upload into the datasets folder, which every visitor sees, and
kept it: distinct zips, each within the upload limit, filled the disk. Now each zip gets a folder under the
workspace's cache (`Settings.uploads_dir`) named by its process; the folder is removed when its predictions are
made, and a start of the lab removes those of dead processes (`lab.leftovers`). Before unpacking, a place
reserves the most its zip may unpack to (`lab.data.archive.ratio_limit`), and a zip whose reservation would
take the places past `UPLOADS_CAP` is refused with a message: a server under many uploads at once says so
instead of filling its disk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from lab.data.archive import extract_zip, ratio_limit
from lab.errors import LabError
from lab.settings import Settings
from lab.storage import file_lock

UPLOADS_CAP = 2 * 2**30  # what all unpacked uploads may hold at once: 8 demo zips at their 20:1 bound
RESERVED = ".reserved"  # a place's file holding the bytes it reserved


@contextmanager
def unpacked_upload(archive: Path, settings: Settings) -> Iterator[Path]:
    """`archive` unpacked into a place of its own for the `with` block, then removed with everything in it."""
    place = _reserve(settings.uploads_dir, ratio_limit(archive.stat().st_size), archive.name)
    try:
        yield extract_zip(archive, place)
    finally:
        shutil.rmtree(place, ignore_errors=True)


def held_bytes(root: Path) -> int:
    """What the places under `root` have reserved together (a place without its note counts nothing)."""
    total = 0
    for place in (p for p in _places(root) if (p / RESERVED).is_file()):
        try:
            total += int((place / RESERVED).read_text())
        except (OSError, ValueError):
            continue
    return total


def place_owner(place: Path) -> int | None:
    """The pid that made `place` (its name starts with it), or None for a folder this module did not make."""
    pid = place.name.split("-", 1)[0]
    return int(pid) if pid.isdigit() else None


def _reserve(root: Path, needed: int, name: str) -> Path:
    """A new place under `root` holding a note of `needed` bytes, made only while the cap allows it."""
    root.mkdir(parents=True, exist_ok=True)
    with file_lock(root / ".lock"):
        held = held_bytes(root)
        if held + needed > UPLOADS_CAP:
            raise LabError(f"{name} cannot be unpacked now: the server is unpacking other uploads "
                           f"({held / 2**20:,.0f} MiB held, at most {UPLOADS_CAP / 2**30:.0f} GiB). Try again in a "
                           "minute, or upload fewer photos at a time.")
        place = Path(tempfile.mkdtemp(dir=root, prefix=f"{os.getpid()}-"))
        (place / RESERVED).write_text(str(needed))
    return place


def _places(root: Path) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(root) if entry.is_dir(follow_symlinks=False)]
    except OSError:
        return []
