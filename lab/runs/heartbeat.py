"""A worker's heartbeat: the one writer of `status.json` while a run trains, beating through silent steps.

What the beats mean, and the figures behind their timing, are in `lab.runs.liveness`, which reads them.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from lab.errors import LabError
from lab.runs.liveness import STALL_SECONDS, Timing, timing
from lab.runs.status import Status, now_iso
from lab.runs.store import Run


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
