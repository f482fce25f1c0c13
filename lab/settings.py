"""Where the lab keeps its files and which folders it may read, from environment variables.

Everything is configurable so a shared server can point the lab at its own disks:

- `TRANSFER_LAB_WORKSPACE`: runs, manifests, caches, uploads (default `./workspace`).
- `TRANSFER_LAB_DATA_DIRS`: folders the Dataset page may browse, separated by `os.pathsep`
  (default: `<workspace>/datasets` and, when it exists, `../shared/data`).
- `TRANSFER_LAB_WEIGHTS_DIR`: local backbone weight files, found by name (default: `<workspace>/weights`
  and, when it exists, `../shared/weights`).
- `TRANSFER_LAB_MAX_RUNNING`: how many trainings run at once; later launches queue (default 1: two
  trainings on a laptop CPU are each slower than one after the other).
- `TRANSFER_LAB_DEMO`: `1` (or `true`, `yes`) for showing the lab to others: prediction and comparison
  only, no typed paths, no training, deletion or writing exports, uploads of at most `DEMO_UPLOAD_MB`,
  and no server path on any page (`lab.access` and the pages read `Settings.demo`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.paths import absolute, same_path

_SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
EXECUTORS = ("local", "ray")
DEMO_UPLOAD_MB = 10  # a phone photo is 2-8 MB; a dataset zip (65 MB for the sample) is not a demo's business
_TRUE = {"1", "true", "yes", "on"}


def _paths(variable: str, defaults: list[Path]) -> tuple[Path, ...]:
    raw = os.environ.get(variable, "")
    chosen = [Path(p) for p in raw.split(os.pathsep) if p] or [p for p in defaults if p.exists()]
    return tuple(absolute(p) for p in chosen)


@dataclass(frozen=True)
class Settings:
    """The lab's folders, resolved to absolute paths."""

    workspace: Path
    data_dirs: tuple[Path, ...]
    weights_dirs: tuple[Path, ...]
    max_running: int = 1
    demo: bool = False
    executor: str = "local"
    ray_address: str = "auto"
    ray_cpus: float = 1.0

    @property
    def runs_dir(self) -> Path:
        return self.workspace / "runs"

    @property
    def manifests_dir(self) -> Path:
        return self.workspace / "manifests"

    @property
    def cache_dir(self) -> Path:
        return self.workspace / "cache"

    @property
    def downloads_dir(self) -> Path:
        """Where downloads arrive (the sample's zip): in the cache, which uploads cannot write."""
        return self.cache_dir / "downloads"

    @property
    def datasets_dir(self) -> Path:
        """Where uploads and downloads are unpacked; always one of the data folders."""
        return self.workspace / "datasets"

    @property
    def upload_limit_bytes(self) -> int | None:
        """The largest upload a page accepts: `DEMO_UPLOAD_MB` in demo mode, else Streamlit's own limit."""
        return DEMO_UPLOAD_MB * 2**20 if self.demo else None


def load_settings() -> Settings:
    """Read the settings from the environment; creates the workspace folders it names."""
    workspace = absolute(os.environ.get("TRANSFER_LAB_WORKSPACE", "workspace"))
    datasets = workspace / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    data_dirs = _paths("TRANSFER_LAB_DATA_DIRS", [datasets, _SHARED / "data"])
    if not any(same_path(datasets, folder) for folder in data_dirs):
        data_dirs = (datasets, *data_dirs)
    weights = _paths("TRANSFER_LAB_WEIGHTS_DIR", [workspace / "weights", _SHARED / "weights"])
    return Settings(workspace=workspace, data_dirs=data_dirs, weights_dirs=weights, max_running=_max_running(),
                    demo=os.environ.get("TRANSFER_LAB_DEMO", "").strip().lower() in _TRUE, executor=_executor(),
                    ray_address=os.environ.get("TRANSFER_LAB_RAY_ADDRESS", "").strip() or "auto",
                    ray_cpus=_ray_cpus())


def _max_running() -> int:
    raw = os.environ.get("TRANSFER_LAB_MAX_RUNNING", "1")
    if not raw.isdigit() or int(raw) < 1:
        raise LabError(f"TRANSFER_LAB_MAX_RUNNING={raw!r} is not allowed: it must be a whole number >= 1.")
    return int(raw)


def _executor() -> str:
    raw = os.environ.get("TRANSFER_LAB_EXECUTOR", "local").strip().lower() or "local"
    if raw not in EXECUTORS:
        raise LabError(f"TRANSFER_LAB_EXECUTOR={raw!r} is not allowed: it must be {' or '.join(EXECUTORS)}.")
    return raw


def _ray_cpus() -> float:
    return positive_number("TRANSFER_LAB_RAY_CPUS", 1.0, "CPUs")


def positive_number(variable: str, default: float, unit: str) -> float:
    """The number of `unit` the environment variable `variable` sets (else `default`); anything but a number above
    0 is a `LabError` naming the variable, the value and what it must be."""
    raw = os.environ.get(variable)
    if raw is None:
        return default
    try:
        number = float(raw)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise LabError(f"{variable}={raw!r} is not allowed: it must be a number of {unit} above 0.")
    return number
