"""How long a replay will take here: the sum of its rows' calibrated estimates (`lab.training.cost`).

Rows that share a backbone's features (the Keras tutorial's quick rows) compute them once: the queue runs
the rows in order, so only the first pays for the extraction (the 1K rows' photos lie inside the 20K's).
With repeats every run is counted: a row's repeats multiply its training time, not its features' extraction.
"""

from __future__ import annotations

from collections.abc import Iterable

from lab.replays.catalog import Replay
from lab.replays.plan import PlannedReplay, replay_rows
from lab.settings import Settings
from lab.training.config import TrainConfig


def estimate_seconds(planned: PlannedReplay, settings: Settings, *, measure: bool = False) -> float | None:
    """Seconds for a planned replay's rows one after another, or None while a row's speed here is unknown."""
    return _total(planned.configs(), settings, measure)


def preview_replay(replay: Replay, variant: str, settings: Settings, *, data: str | None = None,
                   measure: bool = False, repeats: int = 1) -> tuple[float | None, list[str]]:
    """Before anything is planned (nothing is written): the seconds it would take on `data` as it is, with
    `repeats` runs per row, and the notes the plan will carry (what stands in for what on this machine)."""
    from lab.training.weights import weights_available

    rows, notes = replay_rows(replay, replay.variants[variant], data or replay.data, weights_available(settings),
                              repeats)
    return _total((TrainConfig.from_dict(row["config"]) for row in rows), settings, measure), notes


def _total(configs: Iterable[TrainConfig], settings: Settings, measure: bool) -> float | None:
    """The rows' estimates added up; a feature extraction another row already made is not paid twice."""
    from lab.training.cost import estimate_cost

    total, extracted = 0.0, set()
    for config in configs:
        cost = estimate_cost(config, settings, measure=measure)
        if cost["seconds"] is None:
            return None
        shared = (config.backbone, config.weights, config.image_size, config.data)
        repeated = config.strategy == "feature-extractor" and shared in extracted
        total += cost["seconds"] - (cost["breakdown"].get("extraction", 0.0) if repeated else 0.0)
        extracted |= {shared} if config.strategy == "feature-extractor" else set()
    return total


def minutes_text(seconds: float | None) -> str:
    """"about 25 minutes on this machine", for people who plan a lesson around it."""
    from lab.training.cost import time_in_words

    if seconds is None:
        return "time unknown until this machine has trained these backbones once, or its speed is measured"
    return f"{time_in_words(seconds)} on this machine"
