"""Where a queued run trains: the contract every executor keeps, so nothing above it asks which one ran a run.

An executor starts a run's worker, says whether that worker lives, and ends it; it also runs a named task of
its own (a study's shared features) and says whether that task lives. Two keep the contract:

- `LocalExecutor` (`lab.runs.local`, the default): a `python -m lab worker RUN_DIR` process per run on this
  machine, at most `Settings.max_running` at once; alive while its pid (with its creation time) names a live process.
- `RayExecutor` (`lab.runs.ray_cluster`, `TRANSFER_LAB_EXECUTOR=ray`): a Ray actor per run, as many at once as
  the cluster has room for; alive while the cluster says so.

`lab.runs.placement` says which one starts a queued run and which one follows a run in flight. Either way the
run is the same folder, written by the same `lab.runs.worker.execute`, and the same `RunWork` (`lab.runs.jobs`'s
`take_turn`) hands on the queue when the run ends.

A leaf of the package: it names no executor, so the executors, the queue and the worker all import it.
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Protocol

import psutil

from lab.runs.status import Status
from lab.runs.store import Run


class RunWork(Protocol):
    """What a worker does with its run: train it, then hand on the queue (`lab.runs.jobs.take_turn`)."""

    def __call__(self, run: Run, *, task: str | None = None) -> object:
        """`task`: the Ray actor doing the work, when the run was handed to a cluster."""


class Executor(Protocol):
    fans_out: bool
    """Whether queued runs train side by side as soon as they are handed over (a cluster), so work they share
    is worth doing once, in a task of its own, before they start."""

    def slots(self, running: int, queued: int) -> int:
        """How many of `queued` runs may start now, `running` of this executor's runs training."""

    def start(self, run: Run, work: RunWork) -> None:
        """Hand a queued run to a worker that does `work` with it, and record in its status who has it. The caller
        holds the queue lock."""

    def alive(self, run: Run, status: Status) -> bool:
        """Whether the worker that has `run` still lives (a worker that cannot be asked counts as alive)."""

    def end_reason(self, run: Run, status: Status) -> str | None:
        """Why a worker that is no longer alive ended, when the executor knows more than the run folder."""

    def end(self, run: Run, status: Status, signum: signal.Signals) -> str:
        """End a worker that ignores its stop file, more firmly for SIGKILL than SIGTERM; returns what was done."""

    def spawn(self, name: str, work: Callable[[], None]) -> None:
        """Start `work` (a picklable callable) as the task `name`, detached from this process."""

    def task_alive(self, name: str) -> bool:
        """Whether the task called `name` still lives."""


def process_identity(pid: int | None = None) -> tuple[int, float]:
    """A process's pid and creation time (this process by default): together they name it uniquely,
    even after the system reuses the pid."""
    process = psutil.Process(pid)
    return process.pid, process.create_time()


