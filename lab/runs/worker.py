"""Execute one run: the body of a worker process, and of `python -m lab train` in the foreground.

`execute` claims the run (marks it running with this process's pid), calls `lab.training.train.train` with a
callback that writes progress to `status.json` and a stop check that honours the run's `stop` file,
SIGTERM and Ctrl-C, while a `Heartbeat` keeps the status's heartbeat fresh (`lab.runs.heartbeat`). Then it
records how it ended: finished, stopped (history and best checkpoint kept) or failed (the message of a
`LabError`, a full disk's "no space left on device while ...", or the exception with its traceback in
`log.txt`).

What comes after is not the worker's business but its caller's: whatever runs a worker (`lab worker`, the
foreground `lab train`, a Ray actor) does so through `lab.runs.jobs.take_turn`, which then starts the next
queued run and copies this one to MLflow.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lab.errors import LabError
from lab.progress import Throttle
from lab.run_files import STATUS
from lab.runs.describe import Event, event_text
from lab.runs.executors import process_identity
from lab.runs.heartbeat import Heartbeat
from lab.runs.status import FAILED, FINISHED, QUEUED, RUNNING, STOPPED, Status, now_iso
from lab.runs.store import Run, RunStore
from lab.settings import Settings, load_settings
from lab.storage import writing

STATUS_INTERVAL = 0.5  # seconds between status.json writes for batch events
END_RETRY_SECONDS, END_PATIENCE_SECONDS = 5.0, 600.0  # recording how a run ended on a full disk


def execute(
    run: Run, settings: Settings | None = None, *, on_event: Callable[[Event], None] | None = None,
    task: str | None = None,
) -> Status:
    """Train `run` in this process and return its final status; `on_event` also sees every event. `task`: the
    Ray actor this process is, when the run was handed to a cluster (`lab.runs.ray_cluster`). A first Ctrl-C
    stops the run gracefully and is raised again once its end is recorded."""
    settings = settings or load_settings()
    store = RunStore(run.path.parent)
    claim(run, store, task)
    heartbeat = Heartbeat(run)
    stopper = Stopper(run, heartbeat)
    reporter = Reporter(run, on_event, heartbeat)
    state, error, interrupted = FAILED, None, False
    with stopper.handling_signals(), heartbeat:
        try:
            from lab.training.train import train

            metrics = train(run.config(), run.path, on_event=reporter, should_stop=stopper, settings=settings)
            state = STOPPED if metrics.get("stopped", stopper.requested) else FINISHED
        except LabError as exc:
            error = str(exc)
        except KeyboardInterrupt:
            state, error, interrupted = STOPPED, "interrupted", True
        except Exception as exc:  # a bug, not a user mistake: keep the traceback for whoever fixes it
            error = f"{type(exc).__name__}: {exc}"
            run.log(traceback.format_exc().rstrip())
    run.log(f"{state}" + (f": {error}" if error else ""))
    status = record_end(run, store, state=state, ended=now_iso(), error=error, **reporter.pending())
    if interrupted:
        raise KeyboardInterrupt
    return status


def record_end(run: Run, store: RunStore, **changes: Any) -> Status:
    """Write how the run ended. On a full disk, try again every `END_RETRY_SECONDS` for `END_PATIENCE_SECONDS`:
    the reason ("no space left on device while ...") is what a person needs once space is back, and a
    worker that exits unrecorded would read as "killed or out of memory?". Meanwhile the run shows as
    not responding (its heartbeat has stopped), and a stop ends it."""
    deadline = time.monotonic() + END_PATIENCE_SECONDS
    while True:
        try:
            with store.lock():
                return run.update(**changes)
        except OSError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(END_RETRY_SECONDS)


def claim(run: Run, store: RunStore, task: str | None = None) -> Status:
    """Mark `run` running in this process. Only a queued run, or one a launcher has just started in
    this very process, may be claimed, and a run handed to a Ray task only by that task: a run never gets
    two workers."""
    pid, created = process_identity()
    with store.lock():
        status = run.status()
        if not (status.state == QUEUED or (status.state == RUNNING and status.pid == pid)):
            owner = f" by process {status.pid}" if status.state == RUNNING else ""
            raise LabError(f"Run {run.id} is already {status.state}{owner}; only a queued run can start.")
        if status.task not in (None, task):
            raise LabError(f"Run {run.id} was handed to the Ray task {status.task}; only that task can start it.")
        run.log(f"running in process {pid}" + (f" on {socket.gethostname()} (Ray task {task})" if task else ""))
        return run.mark_running(pid, created)


class Stopper:
    """`should_stop` for `lab.training.train.train`: true once the run's stop file exists, or after SIGTERM or
    a first Ctrl-C. Polled between batches, so a stop is graceful; a second Ctrl-C aborts."""

    def __init__(self, run: Run, heartbeat: Heartbeat | None = None) -> None:
        self.run = run
        self.heartbeat = heartbeat
        self.requested = False

    def __call__(self) -> bool:
        if self.heartbeat:
            self.heartbeat.progressed()  # polled between batches: the main thread is moving
        self.requested = self.requested or self.run.stop_requested()
        return self.requested

    def _on_signal(self, signum: int, frame: object) -> None:
        self.requested = True
        self.run.log(f"{signal.Signals(signum).name}: stopping after the current batch")
        if signum == signal.SIGINT:
            signal.signal(signal.SIGINT, signal.default_int_handler)

    @contextmanager
    def handling_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {s: signal.signal(s, self._on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


class Reporter:
    """`on_event` for `lab.training.train.train`: keeps `status.json` current, and logs phases and epochs.

    Batch events are written at most every `STATUS_INTERVAL` seconds (a fast CPU run reports
    hundreds per second); phase and epoch events always are, and go to `log.txt` as well. Writes go
    through the run's `Heartbeat` (each one beats); a write error fails the run with what was written.
    """

    def __init__(self, run: Run, listener: Callable[[Event], None] | None = None,
                 heartbeat: Heartbeat | None = None) -> None:
        self.run = run
        self.listener = listener
        self.heartbeat = heartbeat or Heartbeat(run)
        self.last_batch: Event | None = None
        self.throttle = Throttle(STATUS_INTERVAL)

    def __call__(self, event: Event) -> None:
        event = plain(event)
        self.heartbeat.progressed()
        kind = event.get("type")
        if kind == "batch":
            self.last_batch = event
            self._write()
        elif kind in ("epoch", "phase"):
            self.run.log(event_text(event))
            self._write(force=True, **{kind: event})
        if self.listener:
            self.listener(event)

    def pending(self) -> dict[str, Any]:
        """The status fields not yet written, for the final status write."""
        return {"progress": self.last_batch}

    def _write(self, *, force: bool = False, **changes: Any) -> None:
        if self.throttle.due(force=force):
            with writing(f"writing the run's status ({STATUS})"):
                self.heartbeat.update(**self.pending(), **changes)


def plain(value: Any) -> Any:
    """`value` with NumPy and TensorFlow scalars turned into Python numbers, so it is valid JSON."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return value.item()
    return value

