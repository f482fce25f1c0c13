"""The progress-callback convention shared by every long-running lab function, its throttle, and named steps.

`on_progress(done, total, message)` lets the UI draw a progress bar and the CLI a progress line
without either leaking into `lab`. A fast CPU run reports hundreds of batches a second; `Throttle`
lets each listener pass on only as many as its reader can use. `Steps` reports a function made of a few
slow named steps (an export: build, convert, check), so a listener can show each step's name and time.
"""

from __future__ import annotations

import time
from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int, total: int, message: str) -> None: ...


def no_progress(done: int, total: int, message: str) -> None:
    """The default callback: report nothing."""


class Throttle:
    """True at most once every `interval` seconds (always when forced): `if throttle.due(): report()`."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.last = float("-inf")

    def due(self, *, force: bool = False) -> bool:
        now = time.monotonic()
        if force or now - self.last >= self.interval:
            self.last = now
            return True
        return False


class Steps:
    """A long function made of named steps, reported as each starts: `on_progress(steps finished, steps in
    all, the step's name)`, then `(total, total, message)` at the end, so a listener can name and time each."""

    def __init__(self, on_progress: Progress, total: int) -> None:
        self.on_progress, self.total, self.started = on_progress, total, 0

    def start(self, name: str) -> None:
        """Step `name` begins, and the one before it (if any) has finished."""
        self.on_progress(self.started, self.total, name)
        self.started += 1

    def finish(self, message: str = "done") -> None:
        self.on_progress(self.total, self.total, message)
