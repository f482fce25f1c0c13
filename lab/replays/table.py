"""A replay's table, read back from its runs: each row's published figure beside this lab's, and the findings.

The tutorials reported validation accuracy, so the published figure sits beside this replay's best validation
accuracy; the test accuracy (every row on the same held-out photos) is the fairer comparison between rows.
With repeats, each experiment's figures are the mean over its runs with their spread as min and max. The
findings (`findings`) are judged by tests on the photos; the paragraph says them one by one (and, while rows
wait, what is training and what comes next), and the summary says in one sentence what we found.
"""

from __future__ import annotations

from pathlib import Path
from statistics import mean
from typing import Any

from lab.replays.findings import (
    CUT_SHORT,
    FINDINGS,
    NOT_REPRODUCED,
    REPRODUCED,
    TOO_CLOSE,
    WAITING,
    Finding,
    still_improving,
)
from lab.replays.plan import PlannedReplay
from lab.runs.status import FINISHED, QUEUED, RUNNING, UNKNOWN
from lab.runs.store import Run, RunStore

MEASURES = ("validation_accuracy", "test_accuracy", "train_accuracy")  # shown as mean and min-max over repeats


def replay_table(planned: PlannedReplay, runs_dir: Path) -> dict[str, Any]:
    """The replay as a table (rows with `experiment`, `published`, `validation_accuracy`, `test_accuracy` (means
    over the repeats), `spread` (min and max), `runs` (one per repeat, with its `run_dir`), ...), its findings,
    the paragraph that says them and the summary a teacher reads first."""
    store = RunStore(runs_dir)
    states = store.states()
    runs: dict[str, list[dict[str, Any]]] = {}
    labels: dict[str, dict[str, Any]] = {}
    for row in planned.rows:
        runs.setdefault(row["key"], []).append(_run_row(row, store, states))
        labels.setdefault(row["key"], row)
    rows = [_experiment_row(labels[key], key_runs) for key, key_runs in runs.items()]
    findings = FINDINGS[planned.replay]({row["key"]: row for row in rows})
    return {"name": planned.name, "replay": planned.replay, "title": planned.title, "source": planned.source,
            "variant": planned.variant, "repeats": planned.repeats, "notes": list(planned.notes),
            "manifest": planned.manifest, "rows": rows, "findings": [f.to_dict() for f in findings],
            "paragraph": paragraph(findings, rows, planned.repeats), "summary": summary(findings, rows)}


def _run_row(row: dict[str, Any], store: RunStore, states: dict[str, str]) -> dict[str, Any]:
    """One run of an experiment (one repeat): its figures as its files hold them."""
    run = Run(store.runs_dir / row["run_id"]) if row.get("run_id") else None
    metrics = run.metrics() if run else {}
    history = run.history() if run else []
    last = history[-1:] or [{}]
    config = row["config"]
    planned = config["epochs"] + (config["fine_tune_epochs"] if config["strategy"] == "fine-tune" else 0)
    return {"repeat": row.get("repeat", 0), "seed": config["seed"],
            "status": states.get(run.id, UNKNOWN) if run else "not started",
            "validation_accuracy": metrics.get("best_val_accuracy"), "test_accuracy": metrics.get("test_accuracy"),
            "train_accuracy": last[0].get("accuracy"), "last_validation_accuracy": last[0].get("val_accuracy"),
            "best_train_accuracy": max((epoch["accuracy"] for epoch in history
                                        if isinstance(epoch.get("accuracy"), (int, float))), default=None),
            "train_images": metrics.get("train_images"), "validation_images": metrics.get("validation_images"),
            "test_images": metrics.get("test_images"), "seconds": metrics.get("seconds"),
            "epochs": len(history), "still_improving": still_improving(history, planned),
            "run_dir": str(run.path) if run else None}


def _experiment_row(row: dict[str, Any], runs: list[dict[str, Any]]) -> dict[str, Any]:
    """An experiment over its repeats: each measure's mean, and its spread as [min, max]."""
    values = {measure: [run[measure] for run in runs if run[measure] is not None] for measure in MEASURES}
    statuses = {run["status"] for run in runs}
    first = runs[0]
    return {"key": row["key"], "experiment": row["experiment"], "published": row["published"],
            "backbone": row["config"]["backbone"], "repeats": len(runs), "runs": runs,
            **{measure: mean(found) if found else None for measure, found in values.items()},
            "spread": {measure: [min(found), max(found)] for measure, found in values.items() if found},
            "status": statuses.pop() if len(statuses) == 1 else
            f"{sum(run['status'] == FINISHED for run in runs)} of {len(runs)} finished",
            "train_images": first["train_images"], "validation_images": first["validation_images"],
            "test_images": first["test_images"],
            "seconds": sum(run["seconds"] or 0 for run in runs) or None, "run_dir": first["run_dir"]}


def paragraph(findings: list[Finding], rows: list[dict[str, Any]], repeats: int = 1) -> str:
    """The findings said one by one; while rows wait, first what is running and what comes next."""
    waiting = [finding for finding in findings if finding.verdict == WAITING]
    judged = [finding.sentence() for finding in findings if finding.verdict != WAITING]
    progress = [progress_sentence(rows, repeats)] if waiting else []
    still = [f"{len(waiting)} of the tutorial's {len(findings)} findings wait for their rows."] if waiting else []
    return " ".join(progress + judged + still)


def progress_sentence(rows: list[dict[str, Any]], repeats: int = 1) -> str:
    """What is training now and what comes next, in the replay's order."""
    runs = [(row["experiment"], run) for row in rows for run in row["runs"]]

    def named(label: str, run: dict[str, Any]) -> str:
        return label + (f" (repeat {run['repeat'] + 1} of {repeats})" if repeats > 1 else "")

    running = [named(label, run) for label, run in runs if run["status"] == RUNNING]
    later = [named(label, run) for label, run in runs if run["status"] in (QUEUED, "not started")]
    now = f"Training now: {', '.join(running)}." if running else "Nothing is training right now."
    following = (f" Next: {later[0]}" + (f", then {len(later) - 1} more." if len(later) > 1 else ".")) if later else ""
    return now + following


def summary(findings: list[Finding], rows: list[dict[str, Any]]) -> str:
    """What we found, in one plain sentence: how many of the tutorial's findings held, failed, or need more photos."""
    verdicts = [finding.verdict for finding in findings]
    if all(verdict == WAITING for verdict in verdicts):
        return "Nothing to report yet: the first finding is judged when the rows it needs have finished."
    photos = next((row["test_images"] for row in rows if row["test_images"]), None)
    close, short = verdicts.count(TOO_CLOSE), verdicts.count(CUT_SHORT)
    parts = [f"{verdicts.count(REPRODUCED)} held on these photos", f"{verdicts.count(NOT_REPRODUCED)} did not",
             f"{close} {'is' if close == 1 else 'are'} too close to call"
             + (f" with {photos:,} test photos" if photos else "")]
    parts += [f"{short} {'was' if short == 1 else 'were'} cut short (a row had not finished learning in the time "
              "this variant gives it)"] if short else []
    waiting = verdicts.count(WAITING)
    return (f"Of the tutorial's {len(findings)} findings, {', '.join(parts[:-1])} and {parts[-1]}"
            + (f"; {waiting} still wait for their rows." if waiting else "."))
