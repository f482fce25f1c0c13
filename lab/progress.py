"""The progress-callback convention shared by every long-running lab function.

`on_progress(done, total, message)` lets the UI draw a progress bar and the CLI a progress line
without either leaking into `lab`.
"""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def __call__(self, done: int, total: int, message: str) -> None: ...


def no_progress(done: int, total: int, message: str) -> None:
    """The default callback: report nothing."""
