"""Which executor has a run: the one the settings choose for a queued run, and the one that started a run in flight.

A run handed to Ray has a `task` in its status, and a run held for a study's feature task was held because it
fans out on Ray, so changing `TRANSFER_LAB_EXECUTOR` never orphans a run in flight: each is followed by the
executor that has it. Ray is imported only by those who use it.
"""

from __future__ import annotations

from lab.runs.executors import Executor
from lab.runs.local import LocalExecutor
from lab.runs.status import Status
from lab.settings import Settings


def executor_for(settings: Settings) -> Executor:
    """The executor that starts queued runs under `settings`."""
    if settings.executor == "ray":
        from lab.runs.ray_cluster import RayExecutor

        return RayExecutor(settings)
    return LocalExecutor(settings)


def executor_of(status: Status, settings: Settings) -> Executor:
    """The executor that has the run `status` describes: Ray's when it has a task or waits for one, else a local
    process."""
    if status.task is not None or status.held is not None:
        from lab.runs.ray_cluster import RayExecutor

        return RayExecutor(settings)
    return LocalExecutor(settings)
