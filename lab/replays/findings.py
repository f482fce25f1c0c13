"""The tutorials' findings, each judged by a stated test on the photos: reproduced, not reproduced, too close to call,
or cut short.

Every replay row is tested on the same held-out photos, so two rows are compared photo by photo
(`lab.evaluation.proportions`):

- "A beats B": McNemar's exact test, one-sided (the claim has a direction), at 5%. Reproduced when p < 0.05;
  not reproduced when Newcombe's 95% paired interval of A - B lies below +2 points (A's lead, if any, is
  smaller than a teacher would call a lead); otherwise too close to call.
- "A about equals B": an equivalence statement. Reproduced when the 95% paired interval of the difference
  lies inside +/- 2 points; not reproduced when it lies wholly outside; otherwise too close to call. McNemar's
  two-sided p is given beside it.
- "overfits": training accuracy (Keras's running figure over the last epoch) against validation accuracy at
  that epoch, different photos, so Newcombe's interval for independent proportions. Reproduced when the
  whole 95% interval of the gap is above 5 points, not reproduced when it is wholly below, else too close.

Too close to call says how many photos would tell, at the observed difference (the sample sizes in
`proportions`). With repeats, repeat r of one row is paired with repeat r of the other on the same photos
and the four counts are added up over the repeats (the test then covers the seeds' variation too, but counts
each photo once per repeat, so its p-value is somewhat optimistic about the photos). A finding waits until
every run it needs has finished.

A finding that would be "not reproduced" is "cut short" instead when a row it needs had not finished learning,
so that the quick variant's trimming, not the photos, may be why; the evidence says which row and its numbers.
A row had not finished learning when it ran out of epochs while still improving (it ran every planned epoch and
its validation loss reached a new low in the last few), or when neither its training nor its validation accuracy
ever reached the accuracy the tutorial published for it (a model that has not fit its own training photos that
well cannot be expected to reach that figure on new ones: the quick augmented CNN stopped at 62% training and 57%
validation against the tutorial's 82%). Training accuracy alone would not do: augmentation and dropout hold it
below validation accuracy in a row that has learnt (the quick fine-tuned row: 95% training, 96.6% validation).
The published variant, run in full, tells.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from statistics import mean
from typing import Any

from lab.evaluation.evaluate import evaluations
from lab.evaluation.paired import SIGNIFICANCE, mcnemar_exact, pair
from lab.evaluation.proportions import PairedCounts, independent_difference_interval, independent_photos_to_tell
from lab.runs.status import FINISHED

REPRODUCED, NOT_REPRODUCED, TOO_CLOSE, WAITING = "reproduced", "not reproduced", "too close to call", "waiting"
CUT_SHORT = "cut short"  # against the claim, but a row it needs had not finished learning (see the docstring)
SAME_MARGIN = 0.02  # "about the same": the difference surely within 2 points (the tutorial's 1K vs 20K)
LEAD_MARGIN = 0.02  # "beats": a lead surely under 2 points is no lead a tutorial would report
OVERFIT_GAP = 0.05  # "overfits": training accuracy surely more than 5 points above validation accuracy
IMPROVING_WINDOW = 3  # epochs: a run whose validation loss reached a new low in its last 3 was still improving

Row = dict[str, Any]  # a table row: one experiment, its `runs` (one per repeat)


@dataclass(frozen=True)
class Finding:
    """One claim of the tutorial, its verdict, the test behind it and the numbers, in one sentence."""

    claim: str
    verdict: str = WAITING
    evidence: str = ""
    test: str = ""
    p_value: float | None = None
    interval: tuple[float, float] | None = None  # of the difference, in accuracy (0.01 is one point)
    photos_needed: int | None = None  # when too close to call: photos that would tell, at this difference
    unfinished_rows: tuple[str, ...] = ()  # rows it needs that had not finished learning (the names in evidence)

    def sentence(self) -> str:
        if self.verdict == WAITING:
            return f"{self.claim} (waiting for its runs)."
        return f"{self.claim} — {self.evidence} ({self.verdict})."

    def to_dict(self) -> dict[str, Any]:
        reproduced = {REPRODUCED: True, NOT_REPRODUCED: False}.get(self.verdict)
        return {**vars(self), "reproduced": reproduced, "interval": list(self.interval) if self.interval else None,
                "unfinished_rows": list(self.unfinished_rows)}


def finished(*rows: Row | None) -> bool:
    return all(row is not None and row["runs"] and all(run["status"] == FINISHED for run in row["runs"])
               for row in rows)


def paired_counts(first: Row, second: Row) -> PairedCounts | None:
    """The four counts of `first` against `second` on the shared test photos, added up over the repeats."""
    total = None
    for one, other in zip(first["runs"], second["runs"]):
        tests = [evaluations(Path(run["run_dir"])).get("test") for run in (one, other)]
        if any(test is None or not len(test) for test in tests):
            return None
        counts = pair(tests[0], tests[1]).counts()
        total = counts if total is None else total + counts
    return total


def still_improving(history: list[dict[str, Any]], planned_epochs: int) -> bool:
    """Whether a run ran out of epochs while still learning: it ran every epoch it planned (early stopping, if on,
    never fired) and its validation loss reached a new low within its last `IMPROVING_WINDOW` epochs."""
    losses = [row["val_loss"] for row in history if isinstance(row.get("val_loss"), (int, float))]
    if len(history) < planned_epochs or len(losses) <= IMPROVING_WINDOW:
        return False
    return min(losses[-IMPROVING_WINDOW:]) < min(losses[:-IMPROVING_WINDOW])


def _ran_out(finding: Finding, rows: list[tuple[Row, str]]) -> Finding:
    """`finding`, where it is not reproduced, saying which of its rows had not finished learning, with their
    numbers, and then "cut short": the quick variant, not the photos, may be why."""
    if finding.verdict in (REPRODUCED, WAITING):
        return finding
    notes = {name: note for row, name in rows if (note := _unfinished(row, name))}
    if not notes:
        return finding
    verdict = CUT_SHORT if finding.verdict == NOT_REPRODUCED else finding.verdict
    return replace(finding, verdict=verdict, evidence=f"{finding.evidence}; {'; '.join(notes.values())}",
                   unfinished_rows=tuple(notes))


def _unfinished(row: Row, name: str) -> str:
    """How `row` had not finished learning, in one clause with its numbers ("" when it had)."""
    repeats = len(row["runs"])
    improving = [run for run in row["runs"] if run.get("still_improving")]
    if improving:
        among = f" (in {len(improving)} of {repeats} repeats)" if repeats > 1 else ""
        return (f"{name} was still improving when its epochs ran out{among}: training "
                f"{mean(run['train_accuracy'] for run in improving):.0%}, validation "
                f"{mean(run['last_validation_accuracy'] for run in improving):.0%} and its validation loss still "
                f"falling at epoch {improving[0]['epochs']}")
    published = row.get("published")
    fitted = [run.get("best_train_accuracy") for run in row["runs"]]
    validated = [run.get("validation_accuracy") for run in row["runs"]]
    if published is None or None in fitted + validated or max(fitted + validated) >= published:
        return ""
    return (f"{name} stopped before it had learnt: training accuracy at most {max(fitted):.0%} and validation "
            f"{max(validated):.0%}, against the {published:.0%} the tutorial's model reached on validation photos")


def _points(value: float) -> str:
    return f"{value * 100:+.1f}"


def _photos(first: Row, counts: PairedCounts) -> str:
    repeats = len(first["runs"])
    photos = counts.n // repeats
    return f"the same {photos:,} test photos" + (f", pooled over {repeats} repeats" if repeats > 1 else "")


def _needed(photos: int | None, what: str) -> str:
    """How many photos would tell, at the observed difference ("" when none would, or it is told already)."""
    return f"; about {photos:,} {what} at this difference would tell" if photos else ""


def beats(claim: str, first: Row | None, second: Row | None, names: tuple[str, str]) -> Finding:
    """`first` beats `second` on the shared test photos: McNemar's exact test, one-sided."""
    counts = paired_counts(first, second) if finished(first, second) else None
    if counts is None:
        return Finding(claim)
    p, (low, high) = counts.p_first_better(), counts.interval()
    verdict = REPRODUCED if p < SIGNIFICANCE else NOT_REPRODUCED if high < LEAD_MARGIN else TOO_CLOSE
    needed = counts.photos_to_tell() if verdict == TOO_CLOSE else None
    evidence = (f"on {_photos(first, counts)}, {names[0]} scored {first['test_accuracy']:.1%} and {names[1]} "
                f"{second['test_accuracy']:.1%}; {names[0]} alone got {counts.only_first} right, {names[1]} alone "
                f"{counts.only_second}: {_points(counts.difference)} points (95% interval {_points(low)} to "
                f"{_points(high)}), McNemar's exact test, one-sided, p = {p:.2g}")
    if verdict == TOO_CLOSE:
        evidence += _needed(needed, "test photos") or f"; no number of photos would show {names[0]} ahead"
    if verdict != REPRODUCED:
        evidence += no_room(first, second, names)
    return _ran_out(Finding(claim, verdict, evidence, "McNemar's exact test, one-sided, at 5%; Newcombe's paired "
                            "95% interval", p, (low, high), needed), [(first, names[0])])


def no_room(first: Row, second: Row, names: tuple[str, str]) -> str:
    """Where the row to beat already scores within `LEAD_MARGIN` of the figure the tutorial published for the
    winner, the clause that says so: a stronger backbone standing in (MobileNetV2's frozen features score about
    95% on these photos, VGG16's 88-90%) leaves no room for the published lead."""
    published = first.get("published")
    if published is None or second["test_accuracy"] < published - LEAD_MARGIN:
        return ""
    return (f"; {names[1]} already scores {second['test_accuracy']:.1%}, within {LEAD_MARGIN * 100:.0f} points of "
            f"the {published:.0%} the tutorial's {names[0]} reached: no room was left for the lead it found")


def about_equal(claim: str, first: Row | None, second: Row | None, names: tuple[str, str]) -> Finding:
    """`first` about equals `second`: the 95% paired interval of the difference inside +/- 2 points."""
    counts = paired_counts(first, second) if finished(first, second) else None
    if counts is None:
        return Finding(claim)
    low, high = counts.interval()
    inside, outside = -SAME_MARGIN < low and high < SAME_MARGIN, low > SAME_MARGIN or high < -SAME_MARGIN
    verdict = REPRODUCED if inside else NOT_REPRODUCED if outside else TOO_CLOSE
    needed = counts.photos_to_tell(margin=SAME_MARGIN) if verdict == TOO_CLOSE else None
    p = mcnemar_exact(counts.only_first, counts.only_second)
    evidence = (f"on {_photos(first, counts)}, {names[0]} scored {first['test_accuracy']:.1%} and {names[1]} "
                f"{second['test_accuracy']:.1%}: {_points(counts.difference)} points, 95% interval "
                f"{_points(low)} to {_points(high)} against a margin of +/-{SAME_MARGIN * 100:.0f} "
                f"(McNemar's exact test, two-sided, p = {p:.2g})" + _needed(needed, "test photos"))
    return _ran_out(Finding(claim, verdict, evidence, f"equivalence: Newcombe's paired 95% interval within "
                            f"+/-{SAME_MARGIN * 100:.0f} points; McNemar's exact test, two-sided", p, (low, high),
                            needed), [(first, names[0]), (second, names[1])])


def overfits(claim: str, row: Row | None, name: str) -> Finding:
    """Training accuracy more than `OVERFIT_GAP` above validation accuracy at the last epoch, pooled over repeats."""
    runs = row["runs"] if finished(row) else []
    if not runs or any(run["train_accuracy"] is None or run["last_validation_accuracy"] is None for run in runs):
        return Finding(claim)
    trained = sum(round(run["train_accuracy"] * run["train_images"]) for run in runs)
    validated = sum(round(run["last_validation_accuracy"] * run["validation_images"]) for run in runs)
    n_train, n_validation = (sum(run[key] for run in runs) for key in ("train_images", "validation_images"))
    p_train, p_validation = trained / n_train, validated / n_validation
    low, high = independent_difference_interval(trained, n_train, validated, n_validation)
    verdict = REPRODUCED if low > OVERFIT_GAP else NOT_REPRODUCED if high < OVERFIT_GAP else TOO_CLOSE
    needed = independent_photos_to_tell(p_train, p_validation, OVERFIT_GAP) if verdict == TOO_CLOSE else None
    evidence = (f"at its last epoch, training {p_train:.1%} against validation {p_validation:.1%}: a gap of "
                f"{_points(p_train - p_validation)} points (95% interval {_points(low)} to {_points(high)}, "
                f"against {OVERFIT_GAP * 100:.0f} points)" + _needed(needed, "validation photos"))
    return _ran_out(Finding(claim, verdict, evidence, "Newcombe's 95% interval for independent proportions "
                            f"(method 10), gap above {OVERFIT_GAP * 100:.0f} points", None, (low, high), needed),
                    [(row, name)])


def best(rows: list[Row | None]) -> Row | None:
    """The row with the highest mean test accuracy (None while any of them is unfinished)."""
    return max(rows, key=lambda row: row["test_accuracy"]) if finished(*rows) else None


# ---- the tutorials' findings ------------------------------------------------------------------------------


def keras_findings(rows: dict[str, Row]) -> list[Finding]:
    return [about_equal("The tutorial found 1K images about as good as 20K (about 93% each)", rows.get("1k"),
                        rows.get("20k"), ("1K", "20K"))]


def five_model_findings(rows: dict[str, Row]) -> list[Finding]:
    scratch = best([rows.get(key) for key in ("basic-cnn", "dropout", "augmented")])
    others = [row for key, row in rows.items() if key != "fine-tune"]
    strongest = best(others) if others else None
    return [
        overfits("The basic CNN overfits (72% validation while its training accuracy keeps climbing)",
                 rows.get("basic-cnn"), "the basic CNN"),
        beats("Dropout and augmentation lift the CNN (72% to 82%)", rows.get("augmented"), rows.get("basic-cnn"),
              ("the augmented CNN", "the basic CNN")),
        beats("Pretrained features beat every CNN trained from scratch (88% against 82%)", rows.get("features"),
              scratch, ("bottleneck features", f"the best CNN from scratch ({scratch['experiment']})" if scratch
                        else "")),
        beats("Fine-tuning the top blocks is best of all (96%)", rows.get("fine-tune"), strongest,
              ("fine-tuning", f"the best other row ({strongest['experiment']})" if strongest else "")),
    ]


FINDINGS: dict[str, Callable[[dict[str, Row]], list[Finding]]] = {
    "keras-tutorial": keras_findings,
    "five-model-tutorial": five_model_findings,
}
