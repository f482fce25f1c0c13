"""A run's status: the states a run can be in, what each means, and the record `status.json` holds.

The one home of the state names: the store, the queue, the worker, the workspace summary, the pages
and the CLI all import them from here, so a new state is one edit. Plain data only (no files, no
TensorFlow), so anything may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
UNKNOWN = "unknown"  # a run folder whose status.json is missing or damaged: shown, never an error
ACTIVE_STATES = (QUEUED, RUNNING)

MEANINGS = {
    QUEUED: "waiting for a worker; starts when the running training ends",
    RUNNING: "training in a worker process",
    FINISHED: "trained every epoch (or stopped early by early stopping)",
    STOPPED: "stopped on request; the history and best checkpoint are kept",
    FAILED: "ended with an error, or its worker died; the partial history is kept",
    UNKNOWN: "its status.json is missing or damaged",
}


def now_iso() -> str:
    """Local time with milliseconds: readable in the JSON, and fine-grained enough to order a queue."""
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def runs_in(states: Mapping[str, str], *wanted: str) -> list[str]:
    """The ids of the runs in any of the `wanted` states, in the order of `states` (run id -> state)."""
    return [run_id for run_id, state in states.items() if state in wanted]


@dataclass(frozen=True)
class Status:
    """What `status.json` says about a run.

    `pid` and `pid_created` (the process's creation time) name the worker together, so a dead worker
    whose pid the system has handed to another process is still recognised as dead.
    `progress` is the last batch event, `epoch` the last epoch event and `phase` the last phase event
    of `lab.training.train.train`; the epochs themselves are in `history.csv`, which training rewrites each epoch.
    """

    state: str
    created: str
    updated: str
    started: str | None = None
    ended: str | None = None
    pid: int | None = None
    pid_created: float | None = None
    phase: dict[str, Any] | None = None
    progress: dict[str, Any] | None = None
    epoch: dict[str, Any] | None = None
    error: str | None = None

    @classmethod
    def queued(cls) -> Status:
        """A new run's status: waiting for a worker."""
        created = now_iso()
        return cls(state=QUEUED, created=created, updated=created)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    def running_in(self, pid: int, pid_created: float) -> Status:
        """This status marked running in the process `pid` created at `pid_created`: the one way a
        launcher, a worker's claim and a foreground run record who trains the run. A run keeps its
        first start time when its worker claims what a launcher already marked."""
        return replace(self, state=RUNNING, pid=pid, pid_created=pid_created, started=self.started or now_iso())

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Status:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in value.items() if k in known})
