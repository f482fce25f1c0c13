"""The queue in order: which waiting run starts next, each one's place in line, and when it should start.

The order is stored in the runs themselves, so `reconcile` (`lab.runs.jobs`) reads it under the runs folder's
lock with the statuses it already reads: a run moved to the front ("run next") carries the time it was moved
(`Status.front`), and the line is the moved runs, the latest move first, then the others oldest first. The runs
of a group (a replay, a study) moved together share one time, so they keep their planned order among themselves.

The expected start is a simulation of `settings.max_running` workers: each is free when its running run ends
(the larger of what its estimate leaves after the time it has run, and its current phase's ETA), then takes
the next run in line for that run's estimate (`lab.training.cost.estimate_cost`, from earlier runs' speeds).
A run whose time cannot be estimated makes the starts after it unknown (None), never a guess. A Ray cluster
starts as many runs as it has room for, which this machine cannot know: there the plan still assumes
`max_running` workers, so its expected starts are an upper bound. Held runs (a
study's runs on a Ray cluster, waiting for their feature task) and runs handed to the cluster wait outside
the local line: they are placed after it, with no expected start.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from lab.errors import LabError
from lab.runs.status import QUEUED, RUNNING, Status
from lab.runs.store import Run
from lab.settings import Settings
from lab.training.cost import estimate_cost, time_in_words

Estimate = Callable[[Run], "float | None"]  # a run's seconds from start to end, None when unknown


@dataclass(frozen=True)
class Place:
    """A waiting run's place: `position` 1 is next; `wait` the seconds until it should start and `seconds` its
    own estimate (None: unknown); `waits_for` what it waits for besides a free worker (a feature task, the
    cluster), or None."""

    run_id: str
    position: int
    wait: float | None
    seconds: float | None = None
    waits_for: str | None = None

    def expected_start(self, now: datetime) -> str | None:
        """The ISO time it should start, to the second; None when it cannot be estimated."""
        if self.wait is None:
            return None
        return (now + timedelta(seconds=round(self.wait))).isoformat(timespec="seconds")


@dataclass(frozen=True)
class QueuePlan:
    """Every waiting run's place, in line order, how many run, and when a run launched now would start (None:
    unknown)."""

    places: tuple[Place, ...]
    next_start: float | None
    running: int = 0

    def place(self, run_id: str) -> Place | None:
        return next((place for place in self.places if place.run_id == run_id), None)

    @property
    def ahead(self) -> int:
        """How many runs a run launched now would wait behind: those running and those waiting."""
        return self.running + len(self.places)

    def group_end(self, run_ids: Iterable[str]) -> float | None:
        """When the last waiting run of a group (a replay, a study) should end, in seconds from now; None when
        it cannot be estimated or none of them waits."""
        ends = [(place.wait, place.seconds) for place in self.places if place.run_id in set(run_ids)]
        if not ends or any(wait is None or seconds is None for wait, seconds in ends):
            return None
        return max(wait + seconds for wait, seconds in ends)


def startable(status: Status) -> bool:
    """A queued run this machine's queue may start: not held for a feature task, not handed to a cluster."""
    return status.state == QUEUED and status.task is None and status.held is None


def queue_order(statuses: Iterable[tuple[Run, Status]]) -> list[tuple[Run, Status]]:
    """The queued runs in line order: moved to the front first (latest move first), then oldest first, then
    those handed to a cluster, then the held ones. `statuses` newest first, as `RunStore.statuses` gives them."""
    oldest_first = [item for item in reversed(list(statuses)) if item[1].state == QUEUED]
    moved = sorted((item for item in oldest_first if item[1].front), key=lambda item: item[1].front or "",
                   reverse=True)  # a stable sort, reversed or not: a group moved together keeps its order
    rest = [item for item in oldest_first if not item[1].front]
    line = moved + rest
    return ([item for item in line if startable(item[1])] + [item for item in line if item[1].task is not None]
            + [item for item in line if item[1].task is None and item[1].held is not None])


def plan_queue(statuses: list[tuple[Run, Status]], slots: int, estimate: Estimate,
               now: datetime | None = None) -> QueuePlan:
    """Each queued run's place and wait with `slots` workers; `estimate` gives a run's seconds (None: unknown)."""
    now = now or datetime.now().astimezone()
    free = [_remaining(status, estimate(run), now) for run, status in statuses if status.state == RUNNING]
    free = [math.inf if left is None else left for left in free] + [0.0] * max(0, slots - len(free))
    heapq.heapify(free)
    while len(free) > max(1, slots):  # more runs running than workers (the limit was lowered): the first ends
        heapq.heappop(free)  # without a new run taking its place
    places = []
    for position, (run, status) in enumerate(queue_order(statuses), start=1):
        if not startable(status):
            waits_for = f"its study's features ({status.held})" if status.held else "room on the Ray cluster"
            places.append(Place(run.id, position, None, estimate(run), waits_for))
            continue
        start = heapq.heappop(free)
        seconds = estimate(run)
        heapq.heappush(free, math.inf if seconds is None else start + seconds)
        places.append(Place(run.id, position, None if math.isinf(start) else start, seconds))
    first_free = free[0] if free else math.inf
    running = sum(status.state == RUNNING for _, status in statuses)
    return QueuePlan(tuple(places), None if math.isinf(first_free) else first_free, running)


def _remaining(status: Status, seconds: float | None, now: datetime) -> float | None:
    """A running run's seconds left: what its estimate leaves after the time it has run, or its current phase's
    ETA when that is longer (a run slower than estimated); None when neither is known."""
    eta = (status.progress or {}).get("eta_seconds")
    left = None
    if seconds is not None and status.started:
        try:
            left = seconds - (now - datetime.fromisoformat(status.started)).total_seconds()
        except ValueError:  # a start time edited by hand: its ETA alone, if any
            left = None
    known = [value for value in (left, eta) if isinstance(value, (int, float))]
    return max(0.0, *known) if known else None


def estimated_seconds(settings: Settings) -> Estimate:
    """`estimate_cost`'s seconds for a run's config, from the speeds earlier runs (or a measurement) gave
    (never timing the backbone now), else the estimate kept with the run at launch; None for a run neither
    can estimate (no speed known, its data gone, a damaged config).
    Remembered per run for the one plan it serves: a replay's rows share their data and scans."""
    known: dict[str, float | None] = {}

    def seconds(run: Run) -> float | None:
        if run.id not in known:
            try:
                known[run.id] = estimate_cost(run.config(), settings, measure=False)["seconds"]
            except (LabError, ValueError, TypeError, KeyError, OSError):
                known[run.id] = None
            if known[run.id] is None and isinstance(run.estimate().get("seconds"), (int, float)):
                known[run.id] = float(run.estimate()["seconds"])
        return known[run.id]

    return seconds


def queue_plan(statuses: list[tuple[Run, Status]], settings: Settings) -> QueuePlan:
    """The queue's plan with this machine's workers and the estimates of earlier runs' speeds."""
    return plan_queue(statuses, settings.max_running, estimated_seconds(settings))


def place_text(place: Place) -> str:
    """A waiting run's place in words: "3rd in line, starts in about 40 minutes"."""
    where = "next in line" if place.position == 1 else f"{_ordinal(place.position)} in line"
    if place.waits_for is not None:
        return f"{where}, waiting for {place.waits_for}"
    return f"{where}, {start_text(place.wait)}"


def launch_text(plan: QueuePlan) -> str:
    """When a run launched now would start, in words: "starting in about 40 minutes (7 runs ahead)"."""
    if plan.next_start is not None and plan.next_start < 10:
        return "starting now"  # a worker is free, or about to be
    ahead = f"{plan.ahead} run{'s' * (plan.ahead != 1)} ahead"
    if plan.next_start is None:
        return f"start time not known yet ({ahead}, one without a time estimate on this machine)"
    return f"starting in {time_in_words(plan.next_start)} ({ahead})"


def start_text(wait: float | None) -> str:
    """When a waiting run starts, in words: "starts in about 40 minutes", "starts now"."""
    if wait is None:
        return "start time not known yet (a run ahead has no time estimate on this machine)"
    return "starts now" if wait < 10 else f"starts in {time_in_words(wait)}"


def _ordinal(number: int) -> str:
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"
