"""Speeds measured on this machine, kept in the workspace: measure once, every estimate after uses it.

Timing a backbone (`lab.training.speed.measure_forward_rate`) loads TensorFlow and takes seconds. A measurement
made for one estimate (the Tutorials page, the Train page, `lab replay`) is written to
`<workspace>/cache/speeds.json`, one forward rate per backbone and image size, so the Train page's estimate, a
queued run's expected start and the CLI all read it instead of saying "unknown" again. Earlier runs of the same
backbone and size still come first (`lab.training.cost`): they measured the real thing.

Written under a file lock and atomically, as workers, pages and the CLI may measure at once.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from lab.settings import Settings
from lab.storage import file_lock, read_json, write_json_atomic

SPEEDS_FILE = "speeds.json"


def measurements_path(settings: Settings) -> Path:
    return settings.cache_dir / SPEEDS_FILE


def _key(backbone: str, image_size: int) -> str:
    return f"{backbone}@{image_size}"


def remembered_rate(settings: Settings, backbone: str, image_size: int) -> float | None:
    """The forward rate (images/s) measured here for `backbone` at `image_size`; None if never measured
    (or the file is damaged: a measurement is only a shortcut, never worth an error)."""
    try:
        entry = (read_json(measurements_path(settings), {}) or {}).get(_key(backbone, image_size)) or {}
        rate = float(entry.get("images_per_second") or 0)
    except (OSError, ValueError, TypeError, AttributeError):
        return None
    return rate if rate > 0 else None


def remember_rate(settings: Settings, backbone: str, image_size: int, rate: float, batch_size: int) -> None:
    """Keep a forward rate just measured, replacing an older measurement of the same backbone and size."""
    path = measurements_path(settings)
    with file_lock(path.with_name(f".{SPEEDS_FILE}.lock")):
        try:
            known = read_json(path, {})
        except (OSError, ValueError):
            known = {}
        known = known if isinstance(known, dict) else {}
        known[_key(backbone, image_size)] = {"images_per_second": rate, "batch_size": batch_size,
                                             "measured": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        write_json_atomic(path, known)


def measurements_saved(settings: Settings) -> int:
    """When a speed was last measured here (0 never): part of the pages' cache keys, so an estimate cached
    before a measurement on another page is made again."""
    path = measurements_path(settings)
    return path.stat().st_mtime_ns if path.is_file() else 0
