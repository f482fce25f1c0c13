"""Background training: a queue of runs, workers that take them, stop, and detection of dead workers.

Each run trains in a worker of its own, never a thread of the Streamlit server or a fork of a process that
has loaded TensorFlow: a page rerun, a closed tab or a second browser neither stops nor duplicates it, and
the worker's memory (GPU memory included) is freed when it ends. Where the worker runs is the executor's
business (`lab.runs.executors`): a process on this machine (`python -m lab worker RUN_DIR`, output to the
run's `log.txt`; at most `settings.max_running` at once, one by default: two trainings on a laptop CPU are
each slower than one after the other), or a Ray actor on a cluster (as many as the cluster has room for).
Later launches wait as `queued`.

The queue advances without any page open, because whatever runs a worker (`lab worker`, the foreground
`lab train`, a study or replay in the foreground, a Ray actor) does so through `take_turn`: it executes the run
(`lab.runs.worker`), then starts the next queued run, then copies the run to MLflow.
`reconcile()`, called by pages and the CLI whenever they look, catches what a worker could not report itself:
a worker that was killed (SIGKILL, out of memory, a lost node) is marked failed within one poll, a stop the
worker does not honour is enforced (`enforce_stop`: SIGTERM, then SIGKILL, or Ray's kill), and queued runs
start while there is room. Every queue decision happens under the runs folder's lock.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.runs import liveness, worker
from lab.runs.describe import Event
from lab.runs.executors import Executor, process_identity
from lab.runs.liveness import Timing
from lab.runs.placement import executor_for, executor_of
from lab.runs.queue import queue_order, startable
from lab.runs.status import FAILED, QUEUED, RUNNING, STOPPED, Status, now_iso
from lab.runs.store import Run, RunStore
from lab.runs.tracking import track_into_log
from lab.settings import Settings, load_settings
from lab.storage import write_json_atomic
from lab.training.config import TrainConfig

__all__ = ["cancel", "enforce_stop", "launch", "launch_in_order", "process_identity", "reconcile", "run_next", "stop",
           "take_turn"]

ESTIMATE_KEYS = ("seconds", "rate_source", "breakdown")  # what of an estimate a run keeps (`RunFiles.estimate`)
HELD_GRACE = 60.0  # seconds a held run's releaser has to appear on the cluster
# A cancelled run keeps the stopped state, with this as its reason, rather than a state of its own: every reader
# (the pages' colours and filters, the CLI, the table, `Status.from_dict` of an older copy of the lab) already
# knows "stopped", and the reason says it never started.
CANCELLED = "cancelled (never started)"
DEAD_WORKER = (
    "worker process exited without finishing (killed or out of memory?) — its partial history is kept"
)


def launch(config: TrainConfig, settings: Settings | None = None, runs_dir: Path | None = None, *,
           held: str | None = None, estimate: Mapping[str, Any] | None = None, name: str = "") -> Run:
    """Queue `config` as a new run, and start it if there is room. A `TrainConfig` is valid by construction, so
    nothing here checks it again. `held`: what the run waits for before it may start (a study's feature task,
    which releases it); None to start as soon as there is room. `estimate`: the time the launcher expected
    (`lab.training.cost.estimate_cost`), kept beside the run so its card and the queue say it afterwards.
    `name`: what people read for it ("" = the name its config gives it: `lab.runs.names`)."""
    settings = settings or load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    run = store.create(config, name=name)
    if estimate and estimate.get("seconds") is not None:
        write_json_atomic(run.files.estimate, {key: estimate.get(key) for key in ESTIMATE_KEYS})
    run.log(f"queued: {config.summary()}" + (f"; waits for {held}" if held else ""))
    if held:
        run.update(held=held)  # nothing to start: its releaser may not exist yet
    else:
        reconcile(store.runs_dir, settings, strict=True)
    return run


def launch_in_order(config: TrainConfig, settings: Settings, *, held: str | None = None, name: str = "") -> Run:
    """`launch`, then wait out the millisecond of the run's creation time, so a run launched next is created
    strictly later and the queue (oldest first) cannot take the two in the wrong order: a group of runs
    (a study, a replay) runs in the order it was planned."""
    run = launch(config, settings, held=held, name=name)
    created = run.status().created
    while now_iso() <= created:
        time.sleep(0.001)
    return run


def take_turn(run: Run, settings: Settings | None = None, *, on_event: Callable[[Event], None] | None = None,
              task: str | None = None) -> Status:
    """A worker's turn: execute `run` in this process (`lab.runs.worker.execute`, whose arguments these are), then
    start the next queued run, then copy `run` to MLflow when tracking is on: last, so MLflow being slow or down
    holds up nothing. A Ctrl-C that stopped the run hands on all the same before it is raised again."""
    settings = settings or load_settings()
    try:
        status = worker.execute(run, settings, on_event=on_event, task=task)
    except KeyboardInterrupt:
        _hand_on(run, settings)
        raise
    _hand_on(run, settings)
    return status


def _hand_on(run: Run, settings: Settings) -> None:
    reconcile(run.path.parent, settings)
    track_into_log(run.path)


def release(run: Run, why: str) -> None:
    """Let a held run start (its feature task is done, or gone); the next `reconcile` starts it."""
    if run.status().held is not None:
        run.update(held=None)
        run.log(why)


def stop(run_id: str, runs_dir: Path | None = None, *, wait: bool = False) -> Status:
    """Stop a run: a queued one never starts; a running one stops after its current batch. One that does not
    (not responding, or ignoring the request for `Timing.stop_grace`) is ended with SIGTERM, then SIGKILL,
    by `enforce_stop`, which every `reconcile` applies, so the page's polls finish what its Stop button
    began. `wait`: return once the run has ended, at most both grace periods later (the CLI)."""
    settings = load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    run = store.get(run_id)
    limits = liveness.timing()
    with store.lock():
        status = run.status()
        if status.state == QUEUED:
            return _cancel(run, status, settings)
        if status.state != RUNNING:
            return status
        if not run.stop_requested():
            run.request_stop()
            run.log("stop requested")
    deadline = time.monotonic() + limits.stop_grace + limits.kill_grace + 5
    while True:
        reconcile(store.runs_dir, settings)  # a worker not responding gets its SIGTERM now; a dead one is reported
        status = run.status()
        if not wait or status.state != RUNNING or time.monotonic() >= deadline:
            return status
        time.sleep(min(1.0, limits.kill_grace / 2))


def cancel(run_ids: list[str], runs_dir: Path | None = None) -> list[Status]:
    """Take queued runs out of the line (they never start) and stop those of them already running: a replay or
    a study cancelled as one. Runs that ended are left as they are. Each run's status after, in order."""
    settings = load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    runs = [store.get(run_id) for run_id in run_ids]
    with store.lock():
        statuses = [(run, run.status()) for run in runs]
        ended = [_cancel(run, status, settings) if status.state == QUEUED else status for run, status in statuses]
    return [stop(run.id, store.runs_dir) if status.state == RUNNING else status for run, status in zip(runs, ended)]


def _cancel(run: Run, status: Status, settings: Settings) -> Status:
    """A queued run out of the line, under the lock: withdrawn from a cluster that accepted it, then stopped."""
    if status.task is not None:  # handed to a cluster, waiting for room there: withdrawn
        executor_of(status, settings).end(run, status, signal.SIGKILL)
    run.log(CANCELLED)
    return run.update(state=STOPPED, ended=now_iso(), error=CANCELLED)


def run_next(run_ids: list[str], runs_dir: Path | None = None) -> list[str]:
    """Move queued runs to the front of the line, together and in their own order (a group's planned order is
    kept), ahead of runs moved earlier. Returns the ids moved; one that is no longer queued is not."""
    settings = load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    runs = [store.get(run_id) for run_id in run_ids]
    with store.lock():
        front = now_iso()
        moved = [run for run in runs if run.status().state == QUEUED]
        for run in moved:
            run.update(front=front)
            run.log("moved to the front of the queue")
    reconcile(store.runs_dir, settings)
    return [run.id for run in moved]


def enforce_stop(run: Run, status: Status, limits: Timing, executor: Executor) -> Status:
    """The next step for a live worker asked to stop: SIGTERM once it is not responding or has ignored
    the stop file for `stop_grace`; SIGKILL `kill_grace` after the SIGTERM, and the run marked failed with
    why. The stop file records what was sent and when, so each poll (under the lock) takes one step."""
    request = run.stop_request()
    if request is None:
        return status
    at, sent = request
    waited, quiet = time.time() - at, liveness.not_responding_for(status, limits)
    if not sent and (quiet is not None or waited >= limits.stop_grace):
        done = executor.end(run, status, signal.SIGTERM)
        run.request_stop(done)
        run.log(f"{_why(quiet, limits)}: sent {done}")
    elif sent and waited >= limits.kill_grace:
        done = executor.end(run, status, signal.SIGKILL)
        error = f"{_why(quiet, limits)}; stopped with {done}"
        run.log(f"failed: {error}")
        return run.update(state=FAILED, ended=now_iso(), error=error)
    return status


def _why(quiet: float | None, limits: Timing) -> str:
    if quiet is not None:
        return f"not responding for {quiet:.0f} s"
    return f"did not stop within {limits.stop_grace:.0f} s of the stop request"


def reconcile(runs_dir: Path | None = None, settings: Settings | None = None, *, strict: bool = False) -> list[Run]:
    """Mark runs whose worker is gone as failed, enforce stops that live workers ignore, then start queued
    runs in line order (`lab.runs.queue`: moved to the front first, then oldest first) while the executor has
    room. Returns the runs it started. Cheap enough to call on every poll: one small read per run, one `stat`
    (or one question to the Ray cluster) per active one. A status it cannot write (a full disk) is left for the
    next poll, never an error for the page or command that looked. An executor that cannot start runs (a Ray
    cluster out of reach) leaves them queued; `strict` (a launch) raises its `LabError`, so the person who
    launched learns why the run waits."""
    settings = settings or load_settings()
    store = RunStore(runs_dir or settings.runs_dir)
    limits = liveness.timing()
    with store.lock():
        statuses = store.statuses()
        running = sum(_check_running(run, status, limits, settings) for run, status in statuses
                      if status.state == RUNNING)
        for run, status in statuses:
            if status.state == QUEUED and status.task is not None:
                _check_handed_over(run, status, settings)
            elif status.state == QUEUED and status.held is not None:
                _check_held(run, status, settings)
        queued = [run for run, status in queue_order(statuses) if startable(status)]
        executor = executor_for(settings)
        started: list[Run] = []
        try:
            for run in queued[: executor.slots(running, len(queued))]:
                executor.start(run, take_turn)
                started.append(run)
        except LabError:
            if strict:
                raise
    return started


def _check_running(run: Run, status: Status, limits: Timing, settings: Settings) -> bool:
    """Whether a run marked running still occupies a worker, after marking it failed if its worker
    died or was killed for ignoring a stop."""
    try:
        executor = executor_of(status, settings)
        if executor.alive(run, status):
            return enforce_stop(run, status, limits, executor).state == RUNNING
        _fail(run, _ended_by(run) or executor.end_reason(run, status) or DEAD_WORKER)
        return False
    except (OSError, LabError):
        return True


def _check_handed_over(run: Run, status: Status, settings: Settings) -> None:
    """A queued run a cluster accepted but has not started: failed with the cluster's reason if its task died
    before the worker could claim the run (a node that cannot see the workspace, a worker that could not start)."""
    try:
        executor = executor_of(status, settings)
        if not executor.alive(run, status):
            _fail(run, executor.end_reason(run, status) or "its task on the cluster ended before the run started")
    except (OSError, LabError):
        pass  # the cluster cannot be asked now: the next poll asks again


def _check_held(run: Run, status: Status, settings: Settings) -> None:
    """A run held for a study's feature task on the cluster: released if that task is gone without releasing it
    (killed, its node lost), so the run computes what features it lacks itself rather than wait for ever. Not in
    the `HELD_GRACE` seconds after the run was queued, while the task is being created."""
    if liveness.age(status) < HELD_GRACE:
        return
    try:
        if not executor_of(status, settings).task_alive(status.held):
            release(run, f"released: {status.held} ended without finishing; this run computes the features it lacks")
    except (OSError, LabError):
        pass  # the cluster cannot be asked now: the next poll asks again


def _fail(run: Run, error: str) -> None:
    run.log(f"failed: {error}")
    run.update(state=FAILED, ended=now_iso(), error=error)


def _ended_by(run: Run) -> str | None:
    """Why a dead worker ended, when a stop enforced with a signal ended it."""
    request = run.stop_request()
    return f"ended by {request[1]} after a stop request it did not honour" if request and request[1] else None
