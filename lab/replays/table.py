"""A replay's table, read back from its runs: each row's published figure beside this lab's, and the findings.

The tutorials reported validation accuracy, so the published figure sits beside this replay's best validation
accuracy; the test accuracy (every row on the same held-out photos) is the fairer comparison between rows.
Each tutorial's findings are checked against the numbers, one sentence each, and said as one paragraph: what
the tutorial found, what this replay measured, and whether that reproduces it. A finding waits (says so)
until the rows it needs have finished.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.evaluation.evaluate import evaluations
from lab.evaluation.paired import pair
from lab.replays.plan import PlannedReplay
from lab.runs.status import FINISHED, UNKNOWN
from lab.runs.store import Run, RunStore

OVERFIT_GAP = 0.10  # training accuracy this far above validation accuracy is overfitting
SAME_ACCURACY = 0.02  # two accuracies within 2 points are "about the same" (the tutorial's 1K vs 20K)
BEST_SLACK = 0.005  # "the best" allows half a point: validation sets of 500-1,000 photos are that noisy


@dataclass(frozen=True)
class Finding:
    """One claim of the tutorial, what this replay measured, and whether it agrees (None: not yet known)."""

    claim: str
    observed: str
    reproduced: bool | None

    def sentence(self) -> str:
        verdict = {True: "reproduced", False: "not reproduced here", None: "waiting for its runs"}[self.reproduced]
        return f"{self.claim} — {self.observed} ({verdict})." if self.observed else f"{self.claim} ({verdict})."


def replay_table(planned: PlannedReplay, runs_dir: Path) -> dict[str, Any]:
    """The replay as a table (rows with `experiment`, `published`, `validation_accuracy`, `test_accuracy`,
    `run_dir`, ...), its findings and the paragraph that sums them up."""
    store = RunStore(runs_dir)
    states = store.states()
    rows = [_row(row, store, states) for row in planned.rows]
    findings = FINDINGS[planned.replay]({row["key"]: row for row in rows})
    return {"name": planned.name, "replay": planned.replay, "title": planned.title, "source": planned.source,
            "variant": planned.variant, "notes": list(planned.notes), "manifest": planned.manifest, "rows": rows,
            "findings": [vars(f) for f in findings], "paragraph": paragraph(findings)}


def _row(row: dict[str, Any], store: RunStore, states: dict[str, str]) -> dict[str, Any]:
    run = Run(store.runs_dir / row["run_id"]) if row.get("run_id") else None
    metrics = run.metrics() if run else {}
    history = run.history() if run else []
    return {"key": row["key"], "experiment": row["experiment"], "published": row["published"],
            "validation_accuracy": metrics.get("best_val_accuracy"), "test_accuracy": metrics.get("test_accuracy"),
            "train_accuracy": history[-1].get("accuracy") if history else None,
            "backbone": row["config"]["backbone"], "train_images": metrics.get("train_images"),
            "test_images": metrics.get("test_images"), "seconds": metrics.get("seconds"),
            "status": states.get(run.id, UNKNOWN) if run else "not started", "run_dir": str(run.path) if run else None}


def paragraph(findings: list[Finding]) -> str:
    known = [finding for finding in findings if finding.reproduced is not None]
    count = (f"This replay reproduced {sum(f.reproduced for f in known)} of the tutorial's {len(findings)} findings"
             + (f" ({len(findings) - len(known)} still waiting for runs)" if len(known) < len(findings) else ""))
    return " ".join([count + ":", *(finding.sentence() for finding in findings)])


def _finished(*rows: dict[str, Any] | None) -> bool:
    return all(row is not None and row["status"] == FINISHED and row["validation_accuracy"] is not None
               for row in rows)


def _score(row: dict[str, Any]) -> float:
    """The fairest single figure: test accuracy where the run has a test set, else best validation accuracy."""
    return row["test_accuracy"] if row["test_accuracy"] is not None else row["validation_accuracy"]


def _on(row: dict[str, Any]) -> str:
    return "test" if row["test_accuracy"] is not None else "validation"


# ---- the Keras tutorial ----------------------------------------------------------------------------------


def keras_findings(rows: dict[str, dict[str, Any]]) -> list[Finding]:
    claim = "The tutorial found 1K images about as good as 20K (about 93% each)"
    small, large = rows.get("1k"), rows.get("20k")
    if not _finished(small, large):
        return [Finding(claim, "", None)]
    gap = _score(large) - _score(small)
    direction = "apart" if abs(gap) <= SAME_ACCURACY else f"in favour of {'more' if gap > 0 else 'fewer'} images"
    observed = (f"here {large['train_images']:,} images reached {_score(large):.1%} and {small['train_images']:,} "
                f"reached {_score(small):.1%} {_on(large)} accuracy, {abs(gap) * 100:.1f} points {direction}"
                + _paired_sentence(small, large))
    return [Finding(claim, observed, abs(gap) <= SAME_ACCURACY)]


def _paired_sentence(small: dict[str, Any], large: dict[str, Any]) -> str:
    """McNemar's test on the shared test photos, as the tutorial asks to compare both models on the test set."""
    tests = [evaluations(Path(row["run_dir"])).get("test") for row in (small, large)]
    if any(test is None or not len(test) for test in tests):
        return ""
    sentence = pair(tests[0], tests[1], "1K", "20K").sentence().rstrip(".")
    return "; on the same test photos, " + sentence[:1].lower() + sentence[1:]


# ---- the five-model tutorial -----------------------------------------------------------------------------


def five_model_findings(rows: dict[str, dict[str, Any]]) -> list[Finding]:
    return [_overfits(rows.get("basic-cnn")), _augmentation_helps(rows.get("basic-cnn"), rows.get("augmented")),
            _transfer_wins(rows), _fine_tuning_best(rows)]


def _overfits(cnn: dict[str, Any] | None) -> Finding:
    claim = "The basic CNN overfits (72% validation while its training accuracy keeps climbing)"
    if not _finished(cnn) or cnn["train_accuracy"] is None:
        return Finding(claim, "", None)
    gap = cnn["train_accuracy"] - cnn["validation_accuracy"]
    return Finding(claim, f"here training {cnn['train_accuracy']:.2f} vs validation {cnn['validation_accuracy']:.2f}",
                   gap >= OVERFIT_GAP)


def _augmentation_helps(cnn: dict[str, Any] | None, augmented: dict[str, Any] | None) -> Finding:
    claim = "Dropout and augmentation lift the CNN (72% to 82%)"
    if not _finished(cnn, augmented):
        return Finding(claim, "", None)
    return Finding(claim, f"here {cnn['validation_accuracy']:.1%} to {augmented['validation_accuracy']:.1%}",
                   augmented["validation_accuracy"] > cnn["validation_accuracy"])


def _transfer_wins(rows: dict[str, dict[str, Any]]) -> Finding:
    claim = "Pretrained features beat every CNN trained from scratch (88% against 82%)"
    scratch = [rows.get(key) for key in ("basic-cnn", "dropout", "augmented")]
    features = rows.get("features")
    if not _finished(features, *scratch):
        return Finding(claim, "", None)
    best = max(row["validation_accuracy"] for row in scratch)
    return Finding(claim, f"here {features['validation_accuracy']:.1%} against {best:.1%}",
                   features["validation_accuracy"] > best)


def _fine_tuning_best(rows: dict[str, dict[str, Any]]) -> Finding:
    claim = "Fine-tuning the top blocks is best of all (96%)"
    tuned, others = rows.get("fine-tune"), [row for key, row in rows.items() if key != "fine-tune"]
    if not _finished(tuned, *others):
        return Finding(claim, "", None)
    best_other = max(others, key=lambda row: row["validation_accuracy"])
    return Finding(claim, f"here {tuned['validation_accuracy']:.1%}; the best other row, {best_other['experiment']}, "
                          f"{best_other['validation_accuracy']:.1%}",
                   tuned["validation_accuracy"] >= best_other["validation_accuracy"] - BEST_SLACK)


FINDINGS: dict[str, Callable[[dict[str, dict[str, Any]]], list[Finding]]] = {
    "keras-tutorial": keras_findings,
    "five-model-tutorial": five_model_findings,
}
