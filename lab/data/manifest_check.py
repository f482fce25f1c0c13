"""A saved manifest's photos checked against what it recorded, before a run trains or a model is evaluated on them.

A manifest keeps each photo's content digest. Photos replaced, truncated or deleted since it was saved, or (in a
manifest edited by hand) lying outside its dataset, used to reach TensorFlow's decoder and end in an
`InvalidArgumentError` naming no file. Each photo is compared through the scan cache ((path, size, mtime) ->
digest): one unchanged since it was scanned costs a `stat`; one that changed is decoded again and its digest
compared, so only what changed costs time.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from lab.data.check import check_file
from lab.data.layout import allowed_roots, is_within
from lab.data.records import FileCheck, ImageRecord
from lab.data.scan_cache import ScanCache
from lab.errors import LabError
from lab.settings import Settings

SHOWN = 3  # changed photos named in the message; the rest are counted


def changed_photos(records: Sequence[ImageRecord], root: str | Path, settings: Settings) -> list[str]:
    """"path (what changed)" for each record whose file is no longer what the manifest recorded, in order."""
    allowed = allowed_roots(Path(root), settings.data_dirs)
    remembered = ScanCache(settings.cache_dir / "scan.sqlite").lookup(Path(root))
    found = ((record, _change(record, allowed, remembered.get(record.path))) for record in records)
    return [f"{record.path} ({change})" for record, change in found if change]


def check_recorded_photos(records: Sequence[ImageRecord], root: str | Path, settings: Settings,
                          manifest: str) -> None:
    """Raise a `LabError` naming the photos of `manifest` that changed since it was saved (none: nothing)."""
    changed = changed_photos(records, root, settings)
    if not changed:
        return
    more = f" and {len(changed) - SHOWN:,} more" if len(changed) > SHOWN else ""
    raise LabError(f"{len(changed):,} of the {len(records):,} photos of manifest {manifest} changed since it was "
                   f"saved: {'; '.join(changed[:SHOWN])}{more}. Put the originals back, or save the manifest again "
                   "on the Dataset page (its new scan sees the photos as they are now).")


def _change(record: ImageRecord, allowed: list[str], known: FileCheck | None) -> str | None:
    """What changed about `record`'s file, or None when it is the photo the manifest recorded."""
    if not is_within(record.path, allowed):
        return "outside the dataset"
    try:
        stat = os.stat(record.path)
    except FileNotFoundError:
        return "missing"
    except OSError as error:
        return f"cannot be read: {error.strerror}"
    unchanged = known is not None and known.ok and (known.size, known.mtime_ns) == (stat.st_size, stat.st_mtime_ns)
    check = known if unchanged else check_file(record.path)
    if not check.ok:
        return check.reason
    return None if check.digest == record.digest else "replaced: not the photo the manifest recorded"
