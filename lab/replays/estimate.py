"""How long a replay will take here: the sum of its rows' calibrated estimates (`lab.training.cost`).

Rows that share a backbone's features (the Keras tutorial's quick rows) compute them once: the queue runs
the rows in order, so only the first pays for the extraction.
"""

from __future__ import annotations

from lab.replays.plan import PlannedReplay
from lab.settings import Settings


def estimate_seconds(planned: PlannedReplay, settings: Settings) -> float | None:
    """Seconds for every row one after another, or None while a row's speed on this machine is unknown."""
    from lab.training.cost import estimate_cost

    total = 0.0
    for config in planned.configs():
        seconds = estimate_cost(config, settings, measure=False)["seconds"]
        if seconds is None:
            return None
        total += seconds
    return total


def minutes_text(seconds: float | None) -> str:
    """"about 25 minutes on this machine", for people who plan a lesson around it."""
    if seconds is None:
        return "time unknown until this machine has trained these backbones once"
    minutes = max(1, round(seconds / 60))
    return f"about {minutes} minute{'s' if minutes > 1 else ''} on this machine"
