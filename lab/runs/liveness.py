"""Is a worker alive and making progress? Its heartbeat, the "not responding" limit, and the stop's grace periods.

A worker that is alive but not progressing (stopped with SIGSTOP, deadlocked, stuck on a hung filesystem) is
invisible to a pid check: its process exists. So the worker writes a `heartbeat` time into `status.json`
(`lab.runs.heartbeat`), and a running run whose last sign of life is older than `Timing.limit` is shown as
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

import time
from dataclasses import dataclass
from datetime import datetime

from lab.runs.status import RUNNING, Status
from lab.settings import NOT_RESPONDING_SECONDS, positive_number

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
