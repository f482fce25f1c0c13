"""The run store: one self-describing folder per training run, readable without the app.

A run is `<runs_dir>/<run-id>/` holding `config.json` (what to train), `status.json` (where it is:
state, worker pid, progress, error), `log.txt`, `estimate.json` (the time expected at launch, when the
launcher knew it), and what `lab.training.train.train` writes (`history.csv`,
`metrics.json`, `model.keras`, `best.keras`, `tensorboard/`, `layers.csv`), and `labels.json` (the name and
tags a person gives it, `lab.runs.labels`), each named by `lab.run_files`. The folder is the only
shared state between the page, the CLI and the worker process, so every JSON file is written
atomically and a reader never sees half of one.

Run ids sort by creation time and say what ran (`20261123-161502-mobilenet_v2-fine-tune-3f2a`), so
`ls runs/` is already a readable history.
"""

from __future__ import annotations

import csv
import os
import secrets
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.evaluation.accuracy_text import interval_bounds
from lab.paths import absolute, same_path
from lab.run_files import CONFIG, METRICS, QUEUE_LOCK, STATUS, RunFiles
from lab.runs.labels import Labels, read_labels
from lab.runs.liveness import not_responding_for
from lab.runs.names import run_name, unique_names
from lab.runs.status import RUNNING, Status, now_iso
from lab.storage import file_lock, read_json, write_json_atomic
from lab.training.config import TrainConfig


class Run:
    """One run folder. Cheap to create: every accessor reads the files again, so it is never stale."""

    def __init__(self, path: Path) -> None:
        self.path = absolute(path)
        self.id = self.path.name
        self.files = RunFiles(self.path)

    def __repr__(self) -> str:
        return f"Run({str(self.path)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and same_path(other.path, self.path)

    def __hash__(self) -> int:
        return hash(self.path.resolve())

    def config_dict(self) -> dict[str, Any]:
        return _json_object(self.files.config) or {}

    def config(self) -> TrainConfig:
        return TrainConfig.from_dict(self.config_dict())

    def status(self) -> Status:
        """The run's status. A missing or damaged `status.json` reads as `Status.damaged` with the reason,
        so every reader (the lists, the pages, `reconcile`) shows the run as unknown and carries on."""
        try:
            return self.read_status()
        except LabError as error:
            return Status.damaged(str(error), created=_folder_time(self.path))

    def read_status(self) -> Status:
        """The run's status, or `LabError` saying why `status.json` cannot be read: for writers, which must
        not build on a status they could not read."""
        path = self.files.status
        try:
            value = read_json(path)
        except (OSError, ValueError) as error:
            reason = "it is empty" if _empty(path) else str(error)
            raise LabError(f"{STATUS} is damaged ({reason}); delete the run, or repair the file.") from None
        if value is None:
            raise LabError(f"{STATUS} is missing: not a run folder, or one still being made.")
        try:
            return Status.from_dict(value)
        except ValueError as error:
            raise LabError(f"{STATUS} is damaged ({error}); delete the run, or repair the file.") from None

    def write_status(self, status: Status) -> Status:
        status = replace(status, updated=now_iso())
        write_json_atomic(self.files.status, status.to_dict())
        return status

    def update(self, **changes: Any) -> Status:
        """Read, change and write `status.json`; the worker is its only writer while it lives."""
        return self.write_status(replace(self.read_status(), **changes))

    def mark_running(self, pid: int, pid_created: float) -> Status:
        """Record that the process `pid` (created at `pid_created`) now trains this run."""
        return self.write_status(self.read_status().running_in(pid, pid_created))

    def history(self) -> list[dict[str, Any]]:
        """One row per completed epoch, from `history.csv` (empty before the first epoch ends)."""
        path = self.files.history
        if not path.exists():
            return []
        with path.open(newline="") as handle:
            return [{k: _number(v) for k, v in row.items()} for row in csv.DictReader(handle)]

    def metrics(self) -> dict[str, Any]:
        return _json_object(self.files.metrics) or {}

    def estimate(self) -> dict[str, Any]:
        """What the run was expected to take when launched ("seconds", "rate_source"); {} when none was known."""
        return _json_object(self.files.estimate) or {}

    def damaged_files(self) -> list[str]:
        """The run's JSON files that exist but cannot be read as an object: shown with the run, never an error."""
        return [name for name in (CONFIG, METRICS) if _json_object(self.path / name) is None]

    def labels(self) -> Labels:
        """The name and tags a person gave the run (`lab.runs.labels` changes them)."""
        return read_labels(self.path)

    def name(self) -> str:
        """What people read for this run: the name it was given (when made, or by a person), else the name its
        config gives it (`lab.runs.names`); never its id."""
        return self.labels().name or run_name(self.config_dict())

    def log(self, message: str) -> None:
        """Append one timestamped line to `log.txt` (opened in append mode, so it interleaves safely
        with the worker's own stdout/stderr, which also go there). Best effort: on a full disk the line
        is lost, never the command or the worker that wrote it (what matters goes to `status.json`)."""
        try:
            with self.files.log.open("a") as handle:
                handle.write(f"{datetime.now():%Y-%m-%d %H:%M:%S} {message}\n")
        except OSError:
            pass

    def log_tail(self, lines: int = 40) -> str:
        path = self.files.log
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    def request_stop(self, signal_sent: str = "") -> None:
        """Ask the worker to stop after the current batch; it keeps the history and best checkpoint.
        `signal_sent`: the stop is being enforced with this signal (`lab.runs.jobs`), noted in the file,
        whose modification time says when the request, or its last signal, was made."""
        self.files.stop.write_text(signal_sent)

    def stop_requested(self) -> bool:
        return self.files.stop.exists()

    def stop_request(self) -> tuple[float, str] | None:
        """When the stop was asked for (or last enforced) and the signal sent then ("" for none); None
        when no stop was asked for."""
        try:
            return self.files.stop.stat().st_mtime, self.files.stop.read_text().strip()
        except OSError:
            return None

    def summary(self) -> dict[str, Any]:
        """What `lab runs --json` prints and the runs table shows for this run; each accuracy with its 95%
        interval ([low, high]) for the photos it was measured on, None where they are unknown."""
        status, metrics, config, labels = self.status(), self.metrics(), self.config_dict(), self.labels()
        return {
            "id": self.id,
            "name": labels.name or run_name(config),
            "tags": list(labels.tags),
            "run_dir": str(self.path),
            "status": status.state,
            "not_responding_seconds": _rounded(not_responding_for(status)),
            "created": status.created,
            "started": status.started,
            "ended": status.ended,
            "error": status.error,
            "config": _config_summary(config),
            "backbone": config.get("backbone"),
            "strategy": config.get("strategy"),
            "best_val_accuracy": metrics.get("best_val_accuracy"),
            "best_val_accuracy_interval": interval_bounds(metrics.get("best_val_accuracy"),
                                                          metrics.get("validation_images")),
            "validation_images": metrics.get("validation_images"),
            "test_accuracy": metrics.get("test_accuracy"),
            "test_accuracy_interval": interval_bounds(metrics.get("test_accuracy"), metrics.get("test_images")),
            "test_images": metrics.get("test_images"),
            "epochs_completed": metrics.get("epochs_completed", (status.epoch or {}).get("epoch", 0)),
            "epochs": config.get("epochs"),
            "train_images": metrics.get("train_images"),
            "seconds": metrics.get("seconds"),
            "estimated_seconds": self.estimate().get("seconds"),
            "damaged_files": self.damaged_files(),
        }


def run_names(runs: Iterable[Run]) -> dict[str, str]:
    """Each of `runs` (every run, newest first, as `RunStore` lists them) by id with its name (`Run.name`), numbered
    where two share one (`lab.runs.names.unique_names`): what tables, pickers, legends and the sidebar show, so
    one run reads the same everywhere and no two alike."""
    return unique_names({run.id: run.name() for run in runs})


def _json_object(path: Path) -> dict[str, Any] | None:
    """A run file's JSON object ({} when the file is missing), or None when it is not a readable object.
    Run files are read by every listing, so one damaged file must not hide the other runs."""
    try:
        value = read_json(path, {})
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _config_summary(config: dict[str, Any]) -> str:
    try:
        return TrainConfig.from_dict(config).summary()
    except (LabError, TypeError, ValueError):
        return ", ".join(f"{k}={v}" for k, v in config.items() if k in ("backbone", "strategy", "epochs"))


def _rounded(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds)


def _number(value: str) -> float | str | None:
    """A CSV cell as a number where it is one (`phase` stays text, a missing metric becomes None)."""
    if value == "":
        return None
    try:
        return float(value)
    except ValueError:
        return value


class RunStore:
    """The runs under one folder: create, find, list, delete, and the lock around queue decisions."""

    def __init__(self, runs_dir: Path) -> None:
        self.runs_dir = absolute(runs_dir)

    def create(self, config: TrainConfig, *, name: str = "", running_in: tuple[int, float] | None = None) -> Run:
        """A new run folder holding `config` and its name (`name`, else the one its config gives it), queued; or,
        given `running_in=(pid, pid_created)`, already running in that process (a foreground run), so no queue
        decision can start a worker for it. The name is written before the status, so no reader sees the run
        nameless."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        path = self._new_folder(config)
        write_json_atomic(RunFiles(path).config, config.to_dict())
        write_json_atomic(RunFiles(path).labels, Labels(name or run_name(config.to_dict())).to_dict())
        run = Run(path)
        status = Status.queued()
        run.write_status(status.running_in(*running_in) if running_in else status)
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
        if not run_id or "/" in run_id or not RunFiles(path).status.exists():
            raise LabError(f"No run {run_id!r} in {self.runs_dir}; `python -m lab runs` lists them.")
        return Run(path)

    def list(self) -> list[Run]:
        """Every run folder, newest first; one whose status is damaged too (its state reads `unknown`)."""
        return [run for run, _ in self.statuses()]

    def states(self) -> dict[str, str]:
        """Each run's id and state, newest first, from one small read per run: what the home page and
        the sidebar show on every rerun. A folder without a readable status (being created, or damaged)
        is `unknown` rather than an error, so a summary never stops a page from loading."""
        return {run.id: status.state for run, status in self.statuses()}

    def statuses(self) -> list[tuple[Run, Status]]:
        """Every run folder with its status (`Status.damaged` where unreadable), newest first."""
        found = [(run, run.status()) for run in map(Run, _subfolders(self.runs_dir))]
        return sorted(found, key=lambda item: (_created(item[1]), item[0].id), reverse=True)

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
        with file_lock(self.runs_dir / QUEUE_LOCK):
            yield


def _subfolders(folder: Path) -> list[Path]:
    try:
        return [Path(entry.path) for entry in os.scandir(folder) if entry.is_dir() and not entry.name.startswith(".")]
    except OSError:
        return []


def _empty(path: Path) -> bool:
    try:
        return path.stat().st_size == 0
    except OSError:
        return False


def _folder_time(path: Path) -> str:
    """A folder's modification time in the format of a status's times (empty when it is gone): where a
    damaged run sorts among the others."""
    try:
        return datetime.fromtimestamp(path.stat().st_mtime).astimezone().isoformat(timespec="milliseconds")
    except OSError:
        return ""


def _created(status: Status) -> float:
    """When a run was created, as a timestamp (0 when unknown, so it sorts last)."""
    try:
        return datetime.fromisoformat(status.created).timestamp()
    except (ValueError, TypeError):
        return 0.0
