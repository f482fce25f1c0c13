"""Background training: a worker process per run, a queue, stop, and detection of dead workers.

Each run trains in its own process (`python -m lab worker RUN_DIR`, in a new session, output to the
run's `log.txt`), never a fork of a process that has loaded TensorFlow and never a thread of the
Streamlit server: a page rerun, a closed tab or a second browser neither stops nor duplicates it, and
the process's memory (GPU memory included) is freed when it ends.

At most `settings.max_running` runs train at once (one by default: two trainings on a laptop CPU are each
slower than one after the other); later launches wait as `queued`. The queue advances without any
page open, because a worker that ends starts the next queued run. `reconcile()`, called by pages and
the CLI whenever they look, catches what a worker could not report itself: a worker that was killed
(SIGKILL, out of memory) is marked failed within one poll, a stop the worker does not honour is enforced
(`enforce_stop`: SIGTERM, then SIGKILL), and queued runs start when nothing runs.
Every queue decision happens under the runs folder's lock.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from lab.errors import LabError
from lab.runs import liveness
from lab.runs.liveness import Timing
from lab.runs.status import FAILED, QUEUED, RUNNING, STOPPED, Status, now_iso
from lab.runs.store import LOG_FILE, Run, RunStore
from lab.settings import Settings, load_settings
from lab.training.config import TrainConfig

DEAD_WORKER = (
    "worker process exited without finishing (killed or out of memory?) — its partial history is kept"
)
_PROJECT_ROOT = Path(__file__).resolve().parents[2]


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


def launch(config: TrainConfig, settings: Settings | None = None, runs_dir: Path | None = None) -> Run:
    """Queue `config` as a new run, and start it if nothing else is training. A `TrainConfig` is valid
    by construction, so nothing here checks it again."""
    settings = settings or load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    run = store.create(config)
    run.log(f"queued: {config.summary()}")
    reconcile(store.runs_dir, settings)
    return run


def launch_in_order(config: TrainConfig, settings: Settings) -> Run:
    """`launch`, then wait out the millisecond of the run's creation time, so a run launched next is created
    strictly later and the queue (oldest first) cannot take the two in the wrong order: a group of runs
    (a study, a replay) runs in the order it was planned."""
    run = launch(config, settings)
    created = run.status().created
    while now_iso() <= created:
        time.sleep(0.001)
    return run


def stop(run_id: str, runs_dir: Path | None = None, *, wait: bool = False) -> Status:
    """Stop a run: a queued one never starts; a running one stops after its current batch. One that does not
    (not responding, or ignoring the request for `Timing.stop_grace`) is ended with SIGTERM, then SIGKILL,
    by `enforce_stop`, which every `reconcile` applies, so the page's polls finish what its Stop button
    began. `wait`: return once the run has ended, at most both grace periods later (the CLI)."""
    store = RunStore(runs_dir or load_settings().runs_dir)
    run = store.get(run_id)
    limits = liveness.timing()
    with store.lock():
        status = run.status()
        if status.state == QUEUED:
            run.log("stopped before it started")
            return run.update(state=STOPPED, ended=now_iso(), error="stopped before it started")
        if status.state != RUNNING:
            return status
        if not run.stop_requested():
            run.request_stop()
            run.log("stop requested")
    deadline = time.monotonic() + limits.stop_grace + limits.kill_grace + 5
    while True:
        reconcile(store.runs_dir)  # a worker not responding gets its SIGTERM now; a dead one is reported
        status = run.status()
        if not wait or status.state != RUNNING or time.monotonic() >= deadline:
            return status
        time.sleep(min(1.0, limits.kill_grace / 2))


def enforce_stop(run: Run, status: Status, limits: Timing) -> Status:
    """The next step for a live worker asked to stop: SIGTERM once it is not responding or has ignored
    the stop file for `stop_grace`; SIGKILL `kill_grace` after the SIGTERM, and the run marked failed with
    why. The stop file records the signal sent and when, so each poll (under the lock) takes one step."""
    request = run.stop_request()
    if request is None:
        return status
    at, sent = request
    waited, quiet = time.time() - at, liveness.not_responding_for(status, limits)
    if not sent and (quiet is not None or waited >= limits.stop_grace):
        _send(status, signal.SIGTERM)
        run.request_stop(signal.SIGTERM.name)
        run.log(f"{_why(quiet, limits)}: sent SIGTERM")
    elif sent == signal.SIGTERM.name and waited >= limits.kill_grace:
        _send(status, signal.SIGKILL)
        error = f"{_why(quiet, limits)}; stopped with SIGKILL"
        run.log(f"failed: {error}")
        return run.update(state=FAILED, ended=now_iso(), error=error)
    return status


def _why(quiet: float | None, limits: Timing) -> str:
    if quiet is not None:
        return f"not responding for {quiet:.0f} s"
    return f"did not stop within {limits.stop_grace:.0f} s of the stop request"


def _send(status: Status, signum: signal.Signals) -> None:
    """Signal the worker `status` names, if it is still that process (never one that inherited its pid)."""
    if worker_alive(status):
        try:
            os.kill(status.pid, signum)
        except ProcessLookupError:
            pass  # it ended between the check and the signal


def reconcile(runs_dir: Path | None = None, settings: Settings | None = None) -> list[Run]:
    """Mark runs whose worker is gone as failed, enforce stops that live workers ignore, then start queued
    runs (oldest first) while fewer than `settings.max_running` train. Returns the runs it started. Cheap
    enough to call on every poll: one small read per run, one `stat` per running one. A status it cannot
    write (a full disk) is left for the next poll, never an error for the page or command that looked."""
    settings = settings or load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    limits = liveness.timing()
    with store.lock():
        statuses = store.statuses()
        running = sum(_check_running(run, status, limits) for run, status in statuses if status.state == RUNNING)
        queued = [run for run, status in reversed(statuses) if status.state == QUEUED]
        started = queued[: max(0, settings.max_running - running)]
        for run in started:
            _start_worker(run, settings)
    return started


def _check_running(run: Run, status: Status, limits: Timing) -> bool:
    """Whether a run marked running still occupies a worker slot, after marking it failed if its worker
    died or was killed for ignoring a stop."""
    try:
        if worker_alive(status):
            return enforce_stop(run, status, limits).state == RUNNING
        error = _ended_by(run) or DEAD_WORKER
        run.log(f"failed: {error}")
        run.update(state=FAILED, ended=now_iso(), error=error)
        return False
    except (OSError, LabError):
        return True


def _ended_by(run: Run) -> str | None:
    """Why a dead worker ended, when a stop enforced with a signal ended it."""
    request = run.stop_request()
    return f"ended by {request[1]} after a stop request it did not honour" if request and request[1] else None


def _start_worker(run: Run, settings: Settings) -> None:
    """Start `python -m lab worker RUN_DIR` detached, and record its pid; the caller holds the lock,
    so the worker's own claim of the run waits until this record is written."""
    run.log("starting a worker process")
    with (run.path / LOG_FILE).open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "lab", "worker", str(run.path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=worker_environment(settings),
            start_new_session=True,
        )
    try:
        pid, created = process_identity(process.pid)
    except psutil.Error:
        pid, created = process.pid, 0.0
    run.mark_running(pid, created)


def worker_environment(settings: Settings) -> dict[str, str]:
    """This environment plus the settings spelled out, so the worker (and any worker it starts in
    turn) uses the same folders whatever its working directory, and can import `lab`."""
    path = os.environ.get("PYTHONPATH", "")
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in (str(_PROJECT_ROOT), path) if p),
        "TRANSFER_LAB_WORKSPACE": str(settings.workspace),
        "TRANSFER_LAB_DATA_DIRS": os.pathsep.join(map(str, settings.data_dirs)),
        "TRANSFER_LAB_WEIGHTS_DIR": os.pathsep.join(map(str, settings.weights_dirs)),
        "TRANSFER_LAB_MAX_RUNNING": str(settings.max_running),
    }
