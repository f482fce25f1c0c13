"""What killed work leaves behind, removed on the next start: never a file that a live process still writes.

Every long write in the lab goes to a hidden name first and is renamed into place when complete, so a process
killed mid-way (SIGKILL, out of memory, a full disk, a closed laptop) leaves the hidden name behind:

- `.extracting-*` staging folders in the datasets folder (`lab.data.archive`: an unpack; one was 1.6 GB),
- `.download-*` partial files in the downloads folder (`lab.data.download`),
- `.<stem>.<pid>.tmp.keras` checkpoints in run folders (`lab.storage.temporary_model`, `save_model`),
- `.<stem>.staging-<pid>.*` folders beside an export's destination, wherever a person pointed it: each is
  entered in the workspace's staging registry while its writer lives (`lab.storage.registered_staging`).
- `<pid>-*` folders in the uploads folder, where a visitor's zip is unpacked to be predicted
  (`lab.data.upload_area`), left when the server was killed mid-way.

`clean_leftovers` runs where the lab starts (the app's server, each `python -m lab` command). A checkpoint,
a registered staging folder and an upload's place name their writer, so they go once that pid is dead. Staging folders and downloads do not: they go once
nothing in them has changed for `STALE_SECONDS`. A live unpack creates files every moment and a live
download writes every few seconds or times out (`lab.data.download.TIMEOUT_SECONDS`, 10 s), so 15 minutes
of stillness means their process is gone.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import psutil

from lab.data.upload_area import place_owner
from lab.settings import Settings
from lab.storage import STAGING_MARK, TEMPORARY_MODEL_SUFFIX

STALE_SECONDS = 15 * 60
STAGING_PREFIXES = (".extracting-", ".download-")


def clean_leftovers(settings: Settings) -> list[Path]:
    """Remove the leftovers of killed unpacks, downloads and checkpoint saves; return what was removed."""
    leftovers = [path for folder in (settings.datasets_dir, settings.downloads_dir) for path in _entries(folder)
                 if path.name.startswith(STAGING_PREFIXES) and _unchanged_for(path) >= STALE_SECONDS]
    leftovers += [path for folder in _entries(settings.runs_dir) for path in _entries(folder)
                  if _abandoned_checkpoint(path)]
    leftovers += [place for place in _entries(settings.uploads_dir) if _abandoned_upload(place)]
    return [path for path in leftovers if _remove(path)] + _abandoned_staging(settings.staging_registry)


def _abandoned_upload(place: Path) -> bool:
    """Whether `place` is an upload's folder whose process, the pid its name starts with, is dead."""
    pid = place_owner(place)
    return place.is_dir() and pid is not None and not psutil.pid_exists(pid)


def _abandoned_staging(registry: Path) -> list[Path]:
    """Remove the registered staging folders whose writer is dead, and their entries. An entry whose folder
    does not carry its writer's pid in a staging name (a registry edited by hand) removes nothing but itself."""
    removed = []
    for entry in _entries(registry):
        pid = entry.name.split("-", 1)[0]
        if not pid.isdigit() or psutil.pid_exists(int(pid)):
            continue
        try:
            folder = Path(entry.read_text().strip())
        except OSError:
            continue
        if f".{STAGING_MARK}{pid}." in folder.name and folder.is_dir() and _remove(folder):
            removed.append(folder)
        _remove(entry)
    return removed


def _entries(folder: Path) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(folder)]
    except OSError:
        return []


def _abandoned_checkpoint(path: Path) -> bool:
    """Whether `path` is a temporary checkpoint whose writer, the pid in its name (`.best.1234.tmp.keras`),
    is dead. A pid the system has since given to another process keeps it until the next start."""
    if not (path.name.startswith(".") and path.name.endswith(TEMPORARY_MODEL_SUFFIX)):
        return False
    pid = path.name.removesuffix(TEMPORARY_MODEL_SUFFIX).rsplit(".", 1)[-1]
    return pid.isdigit() and not psutil.pid_exists(int(pid))


def _unchanged_for(path: Path) -> float:
    """Seconds since anything in `path` changed: a file's own time, or the newest of a folder's folders
    (adding a file to a folder changes the folder's time, so a live unpack keeps it fresh)."""
    try:
        newest = path.stat().st_mtime
        if path.is_dir():
            for folder, _, _ in os.walk(path):
                newest = max(newest, os.stat(folder).st_mtime)
    except OSError:
        return 0.0
    return time.time() - newest


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except OSError:
        return False
    return True
