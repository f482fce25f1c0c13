"""The local executor (the default): a detached `python -m lab worker RUN_DIR` process per run on this machine.

At most `Settings.max_running` run at once (one by default: two trainings on a laptop CPU are each slower than one
after the other); a worker is alive while its pid, with its creation time, names a live process that is not a
zombie, so a pid the system handed to another process never passes for the worker. It keeps the contract of
`lab.runs.executors`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

import psutil

from lab.errors import LabError
from lab.run_files import RunFiles
from lab.runs.executors import RunWork, process_identity
from lab.runs.status import Status
from lab.runs.store import Run
from lab.settings import Settings, worker_environment


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

    fans_out = False  # one run after another by default: the largest run of a study computes the shared features

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def slots(self, running: int, queued: int) -> int:
        return max(0, min(queued, self.settings.max_running - running))

    def start(self, run: Run, work: RunWork) -> None:
        """Start `python -m lab worker RUN_DIR` and record its pid; the worker's own claim of the run waits for
        the queue lock the caller holds, so it finds this record written. A callable cannot cross into a new
        process: the command does `work` (`lab.cli.worker` calls `lab.runs.jobs.take_turn`)."""
        run.log("starting a worker process")
        with RunFiles(run.path).log.open("ab") as log:
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

    def spawn(self, name: str, work: Callable[[], None]) -> None:
        """Never asked (`fans_out` is false): runs that train one after another share work by going in order."""
        raise LabError(f"{name}: the local executor runs runs, not tasks of their own; "
                       "set TRANSFER_LAB_EXECUTOR=ray to fan work out over a cluster.")

    def task_alive(self, name: str) -> bool:
        """No local process carries a task's name."""
        return False
