"""The lab's settings: one table that reads them from the environment and writes them for every worker.

`VARIABLES` maps each field of `Settings` to its environment variable, and `load_settings` is the one place that
reads a `TRANSFER_LAB_` variable. `worker_environment` spells a `Settings` back out from the same table, so a worker
(a local process, or a Ray actor on another machine) loads exactly the settings its launcher had: a new setting is a
new field and a new row, and cannot be forgotten on the way to a worker (`tests/test_settings.py` checks every
field has its row and survives the round trip). The README's configuration table lists the same variables.

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
- `TRANSFER_LAB_EXECUTOR`, `_RAY_ADDRESS`, `_RAY_CPUS`: where runs train (`lab.runs.executors`).
- `TRANSFER_LAB_NOT_RESPONDING_SECONDS`: when a silent run is "not responding" (`lab.runs.liveness`).
- `TRANSFER_LAB_SAMPLE_URL`: where the sample dataset is downloaded from (`lab.data.download`).
- `TRANSFER_LAB_MLFLOW_URI`, `_MLFLOW_EXPERIMENT`, `_MLFLOW_UI`: copying runs to MLflow (`lab.runs.tracking`).

Ground level: imports only `lab.errors` and `lab.paths`.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.paths import absolute, same_path

_SHARED = Path(__file__).resolve().parent.parent.parent / "shared"
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXECUTORS = ("local", "ray")
DEMO_UPLOAD_MB = 10  # a phone photo is 2-8 MB; a dataset zip (65 MB for the sample) is not a demo's business
PHOTO_UPLOAD_MB = 25  # a photo uploader's limit outside demo mode: a camera's full-size JPEG is up to about 25 MB
NOT_RESPONDING_SECONDS = 60.0  # why 60: `lab.runs.liveness`
DEFAULT_EXPERIMENT = "transfer-lab"
_TRUE = {"1", "true", "yes", "on"}
# Libraries' own variables a worker on another machine needs too (MLflow's HTTP settings and credentials,
# TensorFlow's and Keras's switches); a Ray actor gets these and the table's, not its launcher's whole environment.
LIBRARY_PREFIXES = ("MLFLOW_", "TF_", "KERAS_")


@dataclass(frozen=True)
class Settings:
    """The lab's settings; folders resolved to absolute paths. Each field has its row in `VARIABLES`."""

    workspace: Path
    data_dirs: tuple[Path, ...]
    weights_dirs: tuple[Path, ...]
    max_running: int = 1
    demo: bool = False
    executor: str = "local"
    ray_address: str = "auto"
    ray_cpus: float = 1.0
    not_responding_seconds: float = NOT_RESPONDING_SECONDS
    sample_url: str | None = None
    mlflow_uri: str | None = None
    mlflow_experiment: str = DEFAULT_EXPERIMENT
    mlflow_ui: str | None = None

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
    def staging_registry(self) -> Path:
        """Where a staging folder outside the workspace (an export's) is entered while its writer lives, so the
        next start removes it once the writer has died (`lab.storage.registered_staging`, `lab.leftovers`)."""
        return self.cache_dir / "staging"

    @property
    def uploads_dir(self) -> Path:
        """Where a visitor's zip is unpacked to be predicted, and removed once predicted (`lab.data.upload_area`):
        in the cache, never among the datasets every visitor sees."""
        return self.cache_dir / "uploads"

    @property
    def datasets_dir(self) -> Path:
        """Where uploads and downloads are unpacked; always one of the data folders."""
        return self.workspace / "datasets"

    @property
    def upload_limit_bytes(self) -> int | None:
        """The largest upload a page accepts: `DEMO_UPLOAD_MB` in demo mode, else Streamlit's own limit."""
        return DEMO_UPLOAD_MB * 2**20 if self.demo else None


VARIABLES: dict[str, str] = {  # Settings field -> the environment variable that sets it
    "workspace": "TRANSFER_LAB_WORKSPACE",
    "data_dirs": "TRANSFER_LAB_DATA_DIRS",
    "weights_dirs": "TRANSFER_LAB_WEIGHTS_DIR",
    "max_running": "TRANSFER_LAB_MAX_RUNNING",
    "demo": "TRANSFER_LAB_DEMO",
    "executor": "TRANSFER_LAB_EXECUTOR",
    "ray_address": "TRANSFER_LAB_RAY_ADDRESS",
    "ray_cpus": "TRANSFER_LAB_RAY_CPUS",
    "not_responding_seconds": "TRANSFER_LAB_NOT_RESPONDING_SECONDS",
    "sample_url": "TRANSFER_LAB_SAMPLE_URL",
    "mlflow_uri": "TRANSFER_LAB_MLFLOW_URI",
    "mlflow_experiment": "TRANSFER_LAB_MLFLOW_EXPERIMENT",
    "mlflow_ui": "TRANSFER_LAB_MLFLOW_UI",
}


def _raw(field: str) -> str:
    """The stripped value of `field`'s variable, "" when unset: the one read of the lab's environment."""
    return os.environ.get(VARIABLES[field], "").strip()


def load_settings() -> Settings:
    """Read the settings from the environment; creates the workspace folders it names."""
    workspace = absolute(_raw("workspace") or "workspace")
    datasets = workspace / "datasets"
    datasets.mkdir(parents=True, exist_ok=True)
    data_dirs = _paths("data_dirs", [datasets, _SHARED / "data"])
    if not any(same_path(datasets, folder) for folder in data_dirs):
        data_dirs = (datasets, *data_dirs)
    return Settings(
        workspace=workspace, data_dirs=data_dirs,
        weights_dirs=_paths("weights_dirs", [workspace / "weights", _SHARED / "weights"]),
        max_running=_max_running(), demo=_raw("demo").lower() in _TRUE, executor=_executor(),
        ray_address=_ray_address(), ray_cpus=positive_number("ray_cpus", 1.0, "CPUs"),
        not_responding_seconds=positive_number("not_responding_seconds", NOT_RESPONDING_SECONDS, "seconds"),
        sample_url=_raw("sample_url") or None, mlflow_uri=_raw("mlflow_uri") or None,
        mlflow_experiment=_raw("mlflow_experiment") or DEFAULT_EXPERIMENT, mlflow_ui=_raw("mlflow_ui") or None,
    )


def worker_environment(settings: Settings) -> dict[str, str]:
    """`settings` spelled out as environment variables by the same table, the libraries' own variables, and `lab`
    on the import path: what a worker on any machine needs to load the settings its launcher had."""
    spelled = {VARIABLES[name]: _spelled(value) for name, value in dataclasses.asdict(settings).items()
               if value is not None}
    libraries = {name: value for name, value in os.environ.items() if name.startswith(LIBRARY_PREFIXES)}
    path = os.pathsep.join(p for p in (str(_PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**libraries, **spelled, "PYTHONPATH": path}


def _spelled(value: Any) -> str:
    if isinstance(value, tuple):
        return os.pathsep.join(map(str, value))
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def _paths(field: str, defaults: list[Path]) -> tuple[Path, ...]:
    chosen = [Path(p) for p in _raw(field).split(os.pathsep) if p] or [p for p in defaults if p.exists()]
    return tuple(absolute(p) for p in chosen)


def _max_running() -> int:
    raw = _raw("max_running") or "1"
    if not raw.isdigit() or int(raw) < 1:
        raise LabError(f"{VARIABLES['max_running']}={raw!r} is not allowed: it must be a whole number >= 1.")
    return int(raw)


def _ray_address() -> str:
    """"auto" (the cluster `ray start` last started here), `host:port` or `ray://host:port`: checked once, here,
    so a typo is one line at start, not a `ValueError` from Ray in every page's sidebar and every command."""
    raw = _raw("ray_address") or "auto"
    host, _, port = raw.removeprefix("ray://").rpartition(":")
    if raw == "auto" or (host and port.isdigit() and 0 < int(port) < 65536):
        return raw
    raise LabError(f"{VARIABLES['ray_address']}={raw!r} is not allowed: it must be auto, host:port (the head's "
                   "GCS port, 6379 by default) or ray://host:port (Ray Client, 10001 by default).")


def _executor() -> str:
    raw = _raw("executor").lower() or "local"
    if raw not in EXECUTORS:
        raise LabError(f"{VARIABLES['executor']}={raw!r} is not allowed: it must be {' or '.join(EXECUTORS)}.")
    return raw


def positive_number(field: str, default: float, unit: str) -> float:
    """The number of `unit` that `field`'s variable sets (else `default`); anything but a number above 0 is a
    `LabError` naming the variable, the value and what it must be."""
    raw = _raw(field)
    if not raw:
        return default
    try:
        number = float(raw)
    except ValueError:
        number = 0.0
    if not number > 0:
        raise LabError(f"{VARIABLES[field]}={raw!r} is not allowed: it must be a number of {unit} above 0.")
    return number
