"""Is a worker alive and making progress? Its heartbeat, the "not responding" limit, and the stop's grace periods.

A worker that is alive but not progressing (stopped with SIGSTOP, deadlocked, stuck on a hung filesystem) is
invisible to a pid check: its process exists. So the worker writes a `heartbeat` time into `status.json`
(`Heartbeat`), and a running run whose last sign of life is older than `Timing.limit` is shown as
"not responding": a view of the status, not a state on disk, because it heals by itself when a slow step ends.
`lab.runs.jobs` ends such a run when a stop is asked for: stop file, SIGTERM, SIGKILL.

The figures, measured on this lab's 2-core CPU machine while three other jobs shared it (the slowest steps
that emit no event): VGG16 at 224 px, batch 32, every layer training: its first batch, graph tracing
included, took 24.5 s, a later batch 14.9 s; saving its checkpoint (168 MiB with the optimizer's state)
1.0 s; building it 0.2 s. The heartbeat thread beats through such steps anyway; the limit only has to
outlast a beat that the machine's load delays, so:

- `BEAT_SECONDS = 5`: a write of a ~1 KB file every 5 s costs nothing and is fine-grained for a 60 s limit.
- `NOT_RESPONDING_SECONDS = 60`: twelve missed beats. A busy 2-core machine delays a thread by seconds,
  not a minute; and a person watching a frozen progress bar wants to know within a minute or so.
- `STALL_SECONDS = 900`: the thread beats only while the main thread showed progress (an event or a stop
  poll) within this bound, so a deadlocked main thread becomes "not responding" after 15 min + 60 s
  instead of never. It is far above the slowest silent step measured (24.5 s), so a slow machine or a
  cold scan of a large dataset before training is not taken for a deadlock.
- The stop's grace periods: a responding run gets `limit` seconds to honour its stop file (it polls it
  every batch; the slowest batch measured, 24.5 s, fits twice), then SIGTERM, then `kill_grace`
  (limit / 6: 10 s) to end before SIGKILL. A not-responding run gets SIGTERM at once.

`TRANSFER_LAB_NOT_RESPONDING_SECONDS` sets the limit (the beat and grace periods follow it), so a test
can take seconds rather than minutes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from lab.errors import LabError
from lab.runs.status import RUNNING, Status, now_iso
from lab.settings import NOT_RESPONDING_SECONDS, positive_number

if TYPE_CHECKING:
    from lab.runs.store import Run  # the store imports this module: the type only, no import at run time

BEAT_SECONDS = 5.0
STALL_SECONDS = 900.0


@dataclass(frozen=True)
class Timing:
    """How often a worker beats, when it is not responding, and how long a stop waits before each signal."""

    limit: float = NOT_RESPONDING_SECONDS

    @property
    def beat(self) -> float:
        return min(BEAT_SECONDS, self.limit / 4)

    @property
    def stop_grace(self) -> float:
        """Seconds a responding run has to honour its stop file before SIGTERM."""
        return self.limit

    @property
    def kill_grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL."""
        return max(1.0, self.limit / 6)


def timing() -> Timing:
    """The timing from the environment (`TRANSFER_LAB_NOT_RESPONDING_SECONDS`), else the defaults."""
    return Timing(positive_number("not_responding_seconds", NOT_RESPONDING_SECONDS, "seconds"))


def silence(status: Status) -> float:
    """Seconds since the run's worker last gave a sign of life: its heartbeat, else its last status write."""
    try:
        last = datetime.fromisoformat(status.heartbeat or status.updated).timestamp()
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, time.time() - last)


def age(status: Status) -> float:
    """Seconds since the run was created."""
    try:
        return max(0.0, time.time() - datetime.fromisoformat(status.created).timestamp())
    except (TypeError, ValueError):
        return float("inf")


def not_responding_for(status: Status, limits: Timing | None = None) -> float | None:
    """How long a running run has been silent, when that is longer than the limit; else None."""
    if status.state != RUNNING:
        return None
    quiet = silence(status)
    return quiet if quiet > (limits or timing()).limit else None


class Heartbeat:
    """Keeps the run's `heartbeat` fresh while its worker lives and makes progress; the one way the worker
    writes `status.json` while it trains (`update`), so the beat and the main thread never interleave a read
    and a write.

    Every write beats (phase and epoch events, batches twice a second), and a background thread beats every
    `Timing.beat` seconds, so steps that emit nothing (tracing a first epoch, saving a checkpoint, loading
    weights) do not read as not responding. A thread alone would prove only that the process is alive and
    scheduled, which is what SIGSTOP and a hung filesystem break, and would beat on through a deadlock of the
    main thread; so it beats only while the main thread showed progress (`progressed`: an event or a stop
    poll) within `STALL_SECONDS`.
    """

    def __init__(self, run: Run, limits: Timing | None = None) -> None:
        self.run = run
        self.timing = limits or timing()
        self.lock = threading.Lock()
        self.last_progress = time.monotonic()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat {run.id}", daemon=True)

    def progressed(self) -> None:
        self.last_progress = time.monotonic()

    def update(self, **changes: Any) -> Status:
        """Write `changes` to the run's status with a fresh heartbeat."""
        with self.lock:
            return self.run.update(heartbeat=now_iso(), **changes)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.done.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.done.wait(self.timing.beat):
            if time.monotonic() - self.last_progress < STALL_SECONDS:
                try:
                    self.update()
                except (OSError, LabError):
                    pass  # a full disk or a damaged status: the main thread meets it too, and reports it
