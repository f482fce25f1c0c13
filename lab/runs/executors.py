"""Where a queued run trains: an executor starts its worker, says whether that worker lives, and ends it.

Two executors, one contract, so the queue (`lab.runs.jobs`), the pages and the CLI never ask which one ran a run:

- `LocalExecutor` (the default): a `python -m lab worker RUN_DIR` process per run on this machine, at most
  `Settings.max_running` at once; alive while its pid (with its creation time) names a live process.
- `RayExecutor` (`lab.runs.ray_cluster`, `TRANSFER_LAB_EXECUTOR=ray`): a Ray actor per run, as many at once as
  the cluster has room for; alive while the cluster says so.

The queue starts runs with the executor the settings choose, and follows each run with the executor that started
it (a run handed to Ray has a `task` in its status), so changing the setting never orphans a run in flight.
Either way the run is the same folder, written by the same `lab.runs.worker.execute`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Protocol

import psutil

from lab.runs.status import Status
from lab.runs.store import LOG_FILE, Run
from lab.settings import Settings, worker_environment


class Executor(Protocol):
    def slots(self, running: int, queued: int) -> int:
        """How many of `queued` runs may start now, `running` of this executor's runs training."""

    def start(self, run: Run) -> None:
        """Hand a queued run to a worker, and record in its status who has it. The caller holds the queue lock."""

    def alive(self, run: Run, status: Status) -> bool:
        """Whether the worker that has `run` still lives (a worker that cannot be asked counts as alive)."""

    def end_reason(self, run: Run, status: Status) -> str | None:
        """Why a worker that is no longer alive ended, when the executor knows more than the run folder."""

    def end(self, run: Run, status: Status, signum: signal.Signals) -> str:
        """End a worker that ignores its stop file, more firmly for SIGKILL than SIGTERM; returns what was done."""


def process_identity(pid: int | None = None) -> tuple[int, float]:
    """A process's pid and creation time (this process by default): together they name it uniquely,
    even after the system reuses the pid."""
    process = psutil.Process(pid)
    return process.pid, process.create_time()


def worker_alive(status: Status) -> bool:
    """Whether the process `status` names is still the run's worker, alive and not a zombie."""
    if status.pid is None:
        return False
    try:
        process = psutil.Process(status.pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return False
        created = process.create_time()
    except psutil.Error:
        return False
    return status.pid_created is None or abs(created - status.pid_created) < 1.0


class LocalExecutor:
    """A detached worker process per run on this machine (its own session, output to the run's log)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def slots(self, running: int, queued: int) -> int:
        return max(0, min(queued, self.settings.max_running - running))

    def start(self, run: Run) -> None:
        """Start `python -m lab worker RUN_DIR` and record its pid; the worker's own claim of the run waits for
        the queue lock the caller holds, so it finds this record written."""
        run.log("starting a worker process")
        with (run.path / LOG_FILE).open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "lab", "worker", str(run.path)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env={**os.environ, **worker_environment(self.settings)}, start_new_session=True,
            )
        try:
            pid, created = process_identity(process.pid)
        except psutil.Error:
            pid, created = process.pid, 0.0
        run.mark_running(pid, created)

    def alive(self, run: Run, status: Status) -> bool:
        return worker_alive(status)

    def end_reason(self, run: Run, status: Status) -> str | None:
        return None

    def end(self, run: Run, status: Status, signum: signal.Signals) -> str:
        """Signal the worker, if it is still that process (never one that inherited its pid)."""
        if worker_alive(status):
            try:
                os.kill(status.pid, signum)
            except ProcessLookupError:
                pass  # it ended between the check and the signal
        return signum.name


def executor_for(settings: Settings) -> Executor:
    """The executor that starts queued runs under `settings`."""
    if settings.executor == "ray":
        from lab.runs.ray_cluster import RayExecutor  # Ray is imported only by those who use it

        return RayExecutor(settings)
    return LocalExecutor(settings)


def executor_of(status: Status, settings: Settings) -> Executor:
    """The executor that started the run `status` describes: Ray's when it has a task, else a local process."""
    if status.task is not None:
        from lab.runs.ray_cluster import RayExecutor

        return RayExecutor(settings)
    return LocalExecutor(settings)
