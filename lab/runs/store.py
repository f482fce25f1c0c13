"""The run store: one self-describing folder per training run, readable without the app.

A run is `<runs_dir>/<run-id>/` holding `config.json` (what to train), `status.json` (where it is:
state, worker pid, progress, error), `log.txt`, and what `lab.training.train.train` writes (`history.csv`,
`metrics.json`, `model.keras`, `best.keras`, `tensorboard/`, `layers.csv`). The folder is the only
shared state between the page, the CLI and the worker process, so every JSON file is written
atomically and a reader never sees half of one.

Run ids sort by creation time and say what ran (`20261123-161502-mobilenet_v2-fine-tune-3f2a`), so
`ls runs/` is already a readable history.
"""

from __future__ import annotations

import csv
import secrets
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.storage import file_lock, read_json, write_json_atomic
from lab.training.config import TrainConfig

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
STATES = (QUEUED, RUNNING, FINISHED, STOPPED, FAILED)
ACTIVE_STATES = (QUEUED, RUNNING)

CONFIG_FILE, STATUS_FILE, LOG_FILE, STOP_FILE = "config.json", "status.json", "log.txt", "stop"
HISTORY_FILE, METRICS_FILE = "history.csv", "metrics.json"
LOCK_FILE = ".queue.lock"


def now_iso() -> str:
    """Local time with milliseconds: readable in the JSON, and fine-grained enough to order a queue."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Status:
    """What `status.json` says about a run.

    `pid` and `pid_created` (the process's creation time) name the worker together, so a dead worker
    whose pid the system has handed to another process is still recognised as dead.
    `progress` is the last batch event, `epoch` the last epoch event and `phase` the last phase event
    of `lab.training.train.train`; the epochs themselves are in `history.csv`, which training rewrites each epoch.
    """

    state: str
    created: str
    updated: str
    started: str | None = None
    ended: str | None = None
    pid: int | None = None
    pid_created: float | None = None
    phase: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    epoch: dict[str, Any] | None = None
    error: str | None = None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Status:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known})


class Run:
    """One run folder. Cheap to create: every accessor reads the files again, so it is never stale."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).resolve()
        self.id = self.path.name

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def config_dict(self) -> dict[str, Any]:
        return read_json(self.path / CONFIG_FILE, default={})

    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config_dict())

    def status(self) -> Status:
        value = read_json(self.path / STATUS_FILE)
        if value is None:
            raise LabError(f"{self.path} is not a run folder (it has no {STATUS_FILE}).")
        return Status.from_dict(value)

    def write_status(self, status: Status) -> Status:
        status = replace(status, updated=now_iso())
        write_json_atomic(self.path / STATUS_FILE, status.to_dict())
        return status

    def update(self, **changes: Any) -> Status:
        """Read, change and write `status.json`; the worker is its only writer while it lives."""
        return self.write_status(replace(self.status(), **changes))

    def history(self) -> list[dict[str, Any]]:
        """One row per completed epoch, from `history.csv` (empty before the first epoch ends)."""
        path = self.path / HISTORY_FILE
        if not path.exists():
            return []
        with path.open(newline="") as handle:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]

    def metrics(self) -> dict[str, Any]:
        return read_json(self.path / METRICS_FILE, default={})

    def log(self, message: str) -> None:
        """Append one timestamped line to `log.txt` (opened in append mode, so it interleaves safely
        with the worker's own stdout/stderr, which also go there)."""
        with (self.path / LOG_FILE).open("a") as handle:
            handle.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {message}\n")

    def log_tail(self, lines: int = 40) -> str:
        path = self.path / LOG_FILE
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def request_stop(self) -> None:
        """Ask the worker to stop after the current batch; it keeps the history and best checkpoint."""
        (self.path / STOP_FILE).touch()

    def stop_requested(self) -> bool:
        return (self.path / STOP_FILE).exists()

    def summary(self) -> dict[str, Any]:
        """What `lab runs --json` prints and the runs table shows for this run."""
        status, metrics, config = self.status(), self.metrics(), self.config_dict()
        return {
            "id": self.id,
            "run_dir": str(self.path),
            "status": status.state,
            "created": status.created,
            "started": status.started,
            "ended": status.ended,
            "error": status.error,
            "config": _config_summary(config),
            "backbone": config.get("backbone"),
            "strategy": config.get("strategy"),
            "best_val_accuracy": metrics.get("best_val_accuracy"),
            "epochs_completed": metrics.get("epochs_completed", (status.epoch or {}).get("epoch", 0)),
            "epochs": config.get("epochs"),
            "train_images": metrics.get("train_images"),
            "seconds": metrics.get("seconds"),
        }


def _config_summary(config: dict[str, Any]) -> str:
    try:
        return TrainConfig.from_dict(config).summary()
    except (LabError, TypeError, ValueError):
        return ", ".join(f"{k}={v}" for k, v in config.items() if k in ("backbone", "strategy", "epochs"))


def _number(value: str) -> float | str | None:
    """A CSV cell as a number where it is one (`phase` stays text, a missing metric becomes None)."""
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


def progress_fraction(event: dict[str, Any]) -> float:
    """How far a batch event is through its phase, 0..1 (feature extraction has no epochs)."""
    batches = max(1, event.get("batches") or 1)
    within = (event.get("batch") or 0) / batches
    if not event.get("epochs"):
        return min(1.0, within)
    return min(1.0, max(0.0, ((event.get("epoch") or 1) - 1 + within) / event["epochs"]))


def logs_text(logs: dict[str, Any]) -> str:
    """An epoch's logs on one line: `loss 0.4123 · val_accuracy 0.9100`."""
    return " · ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items())


def progress_text(event: dict[str, Any]) -> str:
    """One line describing a batch event, for the page's progress bar and the CLI's progress lines."""
    parts = [str(event.get("phase") or "training")]
    if event.get("epochs"):
        parts.append(f"epoch {event.get('epoch')}/{event['epochs']}")
    parts.append(f"batch {event.get('batch')}/{event.get('batches')}")
    for name in ("loss", "accuracy"):
        if isinstance(event.get(name), (int, float)):
            parts.append(f"{name} {event[name]:.4f}")
    if event.get("images_per_second"):
        parts.append(f"{event['images_per_second']:.0f} images/s")
    if event.get("eta_seconds") is not None:
        parts.append(f"ETA {event['eta_seconds']:.0f} s")
    return " · ".join(parts)


class RunStore:
    """The runs under one folder: create, find, list, delete, and the lock around queue decisions."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = Path(runs_dir).expanduser().resolve()

    def create(self, config: TrainConfig, *, status: Status | None = None) -> Run:
        """A new run folder holding `config`, queued unless `status` says otherwise."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self._new_folder(config)
        write_json_atomic(path / CONFIG_FILE, config.to_dict())
        run = Run(path)
        created = now_iso()
        run.write_status(status or Status(state=QUEUED, created=created, updated=created))
        return run

    def _new_folder(self, config: TrainConfig) -> Path:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        slug = f"{config.backbone}-{config.strategy}".replace("/", "_").replace(" ", "_")
        while True:
            path = self.runs_dir / f"{stamp}-{slug}-{secrets.token_hex(2)}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                continue

    def get(self, run_id: str) -> Run:
        path = self.runs_dir / run_id
        if not run_id or "/" in run_id or not (path / STATUS_FILE).exists():
            raise LabError(f"No run {run_id!r} in {self.runs_dir}; `python -m lab runs` lists them.")
        return Run(path)

    def list(self) -> list[Run]:
        """Every run, newest first."""
        if not self.runs_dir.exists():
            return []
        runs = [Run(p) for p in self.runs_dir.iterdir() if (p / STATUS_FILE).exists()]
        return sorted(runs, key=_created_key, reverse=True)

    def delete(self, run_id: str) -> None:
        run = self.get(run_id)
        with self.lock():
            if run.status().state == RUNNING:
                raise LabError(f"Run {run_id} is running; stop it before deleting it.")
            shutil.rmtree(run.path)

    @contextmanager
    def lock(self) -> Iterator[None]:
        """An exclusive lock on this runs folder, held around every queue decision, so two browsers,
        a restarted app and a finishing worker never start two workers for one queue. The OS drops
        it when its holder dies, so a killed worker cannot leave it stuck."""
        with file_lock(self.runs_dir / LOCK_FILE):
            yield


def _created_key(run: Run) -> tuple[datetime, str]:
    try:
        return (datetime.fromisoformat(run.status().created), run.id)
    except (LabError, ValueError, TypeError):
        return (datetime.fromtimestamp(0).astimezone(), run.id)
