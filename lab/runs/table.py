"""The runs table: one row per run, as the Compare page shows it and a CSV download or the CLI prints it.

Each row is flat (numbers, text, a list of tags) so it goes straight into a dataframe. Rows are read from
the run folders on every call; a folder whose files are damaged or half-written still gets a row, marked
`unknown` with what is readable, so one broken folder never hides the others. A row's `name` is what people
read (`Run.name`), its `id` what machines do. Each accuracy has its 95% interval beside it, as text for the
photos it was measured on (`lab.evaluation.accuracy_text`). The CSV download keeps every cell as data: a name or
tag that starts like a spreadsheet formula is written with a leading apostrophe, so it cannot run when opened.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.evaluation.accuracy_text import interval_text
from lab.run_files import MODEL
from lab.runs.names import unique_names
from lab.runs.status import FINISHED, UNKNOWN
from lab.runs.store import Run, RunStore
from lab.runs.tracking import tracked
from lab.spreadsheet import csv_cell
from lab.training.references import reference_for

COLUMNS = ("id", "name", "backbone", "weights", "strategy", "train_images", "image_size", "epochs",
           "best_val_accuracy", "best_val_interval", "validation_images", "test_accuracy", "test_interval",
           "test_images", "seconds", "images_per_second", "status", "created", "tags", "reference",
           "reference_accuracy", "mlflow")


Reference = tuple[str, "float | None"]  # an experiment's label and its published accuracy


def run_rows(runs_dir: Path, references: Mapping[str, Reference] | None = None) -> list[dict[str, Any]]:
    """Every run under `runs_dir`, newest first, as one flat row (`COLUMNS`). `references`: by run id, the
    experiment a run repeats and its published figure, where its maker knows them (a replay's rows,
    `lab.replays.plan.replay_references`); other runs are matched to the tutorials' presets by their config."""
    rows = [run_row(Run(Path(runs_dir) / run_id), state, (references or {}).get(run_id))
            for run_id, state in RunStore(runs_dir).states().items()]
    names = unique_names({row["id"]: row["name"] for row in rows})  # as every picker and legend shows them
    return [{**row, "name": names[row["id"]]} for row in rows]


def rows_csv(rows: list[dict[str, Any]]) -> str:
    """The rows as CSV (`COLUMNS`, tags joined by spaces, empty cells empty), no text cell starting a formula."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({column: csv_cell(" ".join(value) if column == "tags" else value)
                         for column, value in row.items()})
    return buffer.getvalue()


def filter_choices(rows: list[dict[str, Any]], field: str) -> list[str]:
    """What a filter on `field` offers: each value the rows hold, as text, sorted (a run's tags one by one)."""
    if field == "tags":
        return sorted({tag for row in rows for tag in row["tags"]})
    return sorted({str(row[field]) for row in rows if row[field] is not None})


def filter_rows(rows: list[dict[str, Any]], text: str = "", wanted: Mapping[str, Collection[str]] | None = None,
                tags: Collection[str] = ()) -> list[dict[str, Any]]:
    """The rows that hold `text` in any cell (any case), whose `field` is one of `wanted[field]` (an empty
    choice keeps every row), and that carry at least one of `tags` (when any are given)."""
    text = text.lower()
    return [row for row in rows
            if (not text or text in " ".join(map(str, row.values())).lower())
            and all(not values or str(row[field]) in values for field, values in (wanted or {}).items())
            and (not tags or set(tags) & set(row["tags"]))]


def published_figures(rows: list[dict[str, Any]]) -> dict[str, float]:
    """The tutorial experiments these rows repeat, each with its published accuracy (a chart's reference lines)."""
    return {row["reference"]: row["reference_accuracy"] for row in rows if row["reference"]}


def finished_with_model(runs_dir: Path) -> list[dict[str, Any]]:
    """The rows of the finished runs whose model is saved, newest first: the runs a photo can be predicted with."""
    return [row for row in run_rows(runs_dir)
            if row["status"] == FINISHED and (Path(runs_dir) / row["id"] / MODEL).exists()]


def best_first(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows with the best run moved to the front (highest test accuracy, then validation accuracy; a
    missing figure counts as the lowest), the others in their order."""
    if not rows:
        return []
    best = max(rows, key=lambda row: (_number(row.get("test_accuracy")), _number(row.get("best_val_accuracy"))))
    return [best, *(row for row in rows if row is not best)]


def _number(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not math.isnan(value) else -1.0


def run_row(run: Run, state: str, known: Reference | None = None) -> dict[str, Any]:
    """One run's row; unreadable files leave their cells empty and the status `unknown`. `known`: the experiment
    it repeats and its published figure, when its maker said (else it is matched by its config)."""
    try:
        if state == UNKNOWN or run.damaged_files():  # what is readable is shown; the rest stays empty
            raise LabError(f"{run.path} has no readable status, config or metrics")
        summary, config, metrics = run.summary(), run.config_dict(), run.metrics()
    except (LabError, ValueError, TypeError, AttributeError, OSError):
        return {**dict.fromkeys(COLUMNS), "id": run.id, "name": run.name(), "status": UNKNOWN,
                "tags": list(run.labels().tags)}
    reference = reference_for(config, metrics.get("head"))
    label, accuracy = known or ((reference.label, reference.accuracy) if reference else (None, None))
    return {
        "id": run.id,
        "name": summary["name"],
        "backbone": config.get("backbone"),
        "weights": Path(str(config.get("weights"))).name if config.get("weights") else None,
        "strategy": config.get("strategy"),
        "train_images": metrics.get("train_images") or config.get("train_size"),
        "image_size": config.get("image_size"),
        "epochs": summary["epochs_completed"] if metrics else config.get("epochs"),
        "best_val_accuracy": metrics.get("best_val_accuracy"),
        "best_val_interval": interval_text(metrics.get("best_val_accuracy"), metrics.get("validation_images")),
        "validation_images": metrics.get("validation_images"),
        "test_accuracy": metrics.get("test_accuracy"),
        "test_interval": interval_text(metrics.get("test_accuracy"), metrics.get("test_images")),
        "test_images": metrics.get("test_images") or None,
        "seconds": metrics.get("seconds"),
        "images_per_second": metrics.get("images_per_second"),
        "status": state,
        "created": summary["created"],
        "tags": summary["tags"],
        "reference": label,
        "reference_accuracy": accuracy,
        "mlflow": copy.link if (copy := tracked(run.path)) else None,
    }
