"""Progress for long commands: one rewritten line on an interactive stderr, silence in pipes and CI."""

from __future__ import annotations

import sys

from lab.progress import Progress, no_progress


def progress_reporter() -> Progress:
    """A `Progress` callback that draws `message: done/total` on a terminal, and reports nothing otherwise
    (non-interactive runs keep stderr for errors)."""
    return _progress_line if sys.stderr.isatty() else no_progress


def _progress_line(done: int, total: int, message: str) -> None:
    end = "\n" if done == total else ""
    print(f"\r{message}: {done}/{total}", end=end, file=sys.stderr, flush=True)
