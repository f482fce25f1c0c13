"""Does more data help? The Keras tutorial's question, answered from what this workspace already holds.

Two things answer it: a dataset-size study (`lab.runs.study`, one configuration at several sizes), once its
smallest and largest sizes are compared on the same test photos (`study.answered`), and the Keras tutorial's
replay, whose 20K and 1K rows are judged by the tutorial's finding (`findings.keras_findings`). Compare shows the
studies; while none of them has answered, it shows the newest Keras replay's two rows and verdict instead, so a
teacher who replayed the tutorial to ask the same question is not told there is nothing yet.
"""

from __future__ import annotations

from typing import Any

from lab.errors import LabError
from lab.replays.catalog import KERAS
from lab.replays.findings import WAITING
from lab.replays.plan import PlannedReplay, list_replays, load_replay
from lab.replays.table import replay_table
from lab.settings import Settings

ROWS = ("20k", "1k")  # the Keras replay's rows that ask the question; the "try these backbones" rows do not


def replay_answer(settings: Settings) -> dict[str, Any] | None:
    """The newest Keras replay's answer: its table (`replay_table`) cut to the 20K and 1K rows, its finding
    (`finding`: claim, verdict, evidence) and when it started (`created`). The newest replay with a verdict, else
    the newest one still training (its finding `waiting`); None without a Keras replay."""
    newest = None
    for planned in _keras_replays(settings):
        table = replay_table(planned, settings.runs_dir)
        answer = {**table, "rows": [row for row in table["rows"] if row["key"] in ROWS],
                  "finding": table["findings"][0], "created": planned.created}
        if answer["finding"]["verdict"] != WAITING:
            return answer
        newest = newest or answer
    return newest


def _keras_replays(settings: Settings) -> list[PlannedReplay]:
    """The Keras tutorial's replays, newest first (a record that cannot be read is left out)."""
    found = []
    for name in list_replays(settings):
        try:
            planned = load_replay(name, settings)
        except (LabError, KeyError, TypeError, ValueError):
            continue
        if planned.replay == KERAS.name:
            found.append(planned)
    return found
