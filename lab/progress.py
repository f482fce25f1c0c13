"""The progress-callback convention shared by every long-running lab function, and its throttle.

`on_progress(done, total, message)` lets the UI draw a progress bar and the CLI a progress line
without either leaking into `lab`. A fast CPU run reports hundreds of batches a second; `Throttle`
lets each listener pass on only as many as its reader can use.
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
