"""A run's status: the states a run can be in, what each means, and the record `status.json` holds.

The one home of the state names: the store, the queue, the worker, the workspace summary, the pages
and the CLI all import them from here, so a new state is one edit. Plain data only (no files, no
TensorFlow), so anything may import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any, get_args, get_origin, get_type_hints

QUEUED, RUNNING, FINISHED, STOPPED, FAILED = "queued", "running", "finished", "stopped", "failed"
UNKNOWN = "unknown"  # a run folder whose status.json is missing or damaged: shown, never an error
ACTIVE_STATES = (QUEUED, RUNNING)

MEANINGS = {
    QUEUED: "waiting in line for a worker; `lab runs` says its place and when it should start",
    RUNNING: "training in a worker process",
    FINISHED: "trained every epoch (or stopped early by early stopping)",
    STOPPED: "stopped on request (a cancelled run never started); the history and best checkpoint are kept",
    FAILED: "ended with an error, or its worker died; the partial history is kept",
    UNKNOWN: "its status.json is missing or damaged",
}
STATES = tuple(MEANINGS)


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
    `heartbeat` is the last time the worker process proved it is alive and making progress
    (`lab.runs.liveness`); only the worker writes it.
    `task` names the Ray actor a run was handed to (`lab.runs.ray_cluster`; None for a local worker process),
    so any process can ask the cluster about it, and `held` says what a queued run waits for before it may
    start (a study's shared features), or None. `front` is when a person moved a queued run to the front of the
    line ("run next"), None for a run waiting its turn (`lab.runs.queue` orders the line by it).
    A status that cannot be read is `Status.damaged(reason)`: state `unknown`, the reason as its error.
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
    heartbeat: str | None = None
    task: str | None = None
    held: str | None = None
    front: str | None = None

    @classmethod
    def damaged(cls, reason: str, created: str = "") -> Status:
        """What a missing or damaged `status.json` reads as: listed as unknown, with why, never an error."""
        return cls(state=UNKNOWN, created=created, updated=created, error=reason)

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
    def from_dict(cls, value: Any) -> Status:
        """The status `value` (parsed JSON) describes; `ValueError` saying what is wrong when it is not one
        (not an object, a required field missing, a field of the wrong type, an unknown state), so a
        hand edit gone wrong is reported with its reason instead of surfacing later as a `TypeError`."""
        if not isinstance(value, dict):
            raise ValueError(f"it holds {type(value).__name__}, not an object")
        hints = get_type_hints(cls)
        known = {f.name: f for f in fields(cls)}
        missing = [name for name, f in known.items() if f.default is MISSING and name not in value]
        if missing:
            raise ValueError(f"it lacks {', '.join(missing)}")
        for name in known.keys() & value.keys():
            if not isinstance(value[name], _accepted(hints[name])):
                raise ValueError(f"its {name} is {value[name]!r}, not {known[name].type}")
        if value["state"] not in STATES:
            raise ValueError(f"its state {value['state']!r} is not one of {', '.join(STATES)}")
        return cls(**{k: v for k, v in value.items() if k in known})


def _accepted(hint: Any) -> tuple[type, ...]:
    """The runtime types a field's type hint allows: `str | None` -> (str, NoneType), `float` -> (int, float)."""
    accepted: list[type] = []
    for part in get_args(hint) or (hint,):
        kind = get_origin(part) or part
        accepted += [int, float] if kind is float else [kind]
    return tuple(accepted)
