"""The Compare page's evaluation views: for the runs picked, each one's stored evaluation drawn, and the
paired comparison of two.

Not a page. A thin view over `lab.evaluation` (the stored predictions, their interpretation as plain
data, the calibration, the test-time augmentation's gain, the paired test). Nothing here runs a model: every
view reads files the runs stored, cached by their modification times. Every accuracy carries its 95% interval.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.calibration_views import calibration_section
from app_pages.charts import confusion_heatmap, pr_figure, roc_figure
from app_pages.plain_text import as_text
from lab.errors import LabError
from lab.evaluation.accuracy_text import interval_sentence
from lab.evaluation.calibration import calibration_views, load_calibration
from lab.evaluation.evaluate import evaluation_names, evaluations, evaluations_stamp, tta_evaluations
from lab.evaluation.interpretation import Interpretation
from lab.evaluation.paired import pair
from lab.evaluation.predictions import Predictions
from lab.evaluation.tta import gain_words, tta_gain
from lab.runs.store import Run

EVALUATION_KEY = "compare_evaluation"
GALLERY_COLUMNS, GALLERY_LIMIT = 6, 24
CONFUSION_HELP = "Rows are the true class, columns the model's answer: the diagonal is what it got right."
MCNEMAR_HELP = ("McNemar's test looks only at the images the two runs disagree on, and asks whether one run "
                "wins them more often than luck would allow.")


def evaluation_section(runs: list[Run], names: dict[str, str]) -> None:
    st.subheader("Evaluation")
    stored = {run.id: run_evaluations(run) for run in runs}
    sets = evaluation_names(stored.values())
    if not sets:
        st.info("These runs have no stored predictions yet: a run stores them when it finishes. Train one with a saved "
                "split that has a test share (Dataset page), or run `python -m lab evaluate RUN_DIR --data PATH`.")
        return
    chosen = st.selectbox("Evaluation set", sets, key=EVALUATION_KEY,
                          help="test and validation are each run's own; other names come from `lab evaluate`.")
    for column, run in zip(st.columns(min(len(runs), 3)) * (len(runs) // 3 + 1), runs):
        with column:
            st.markdown(f"#### {as_text(names[run.id])}")
            if chosen in stored[run.id]:
                evaluation_views(views(str(run.path), chosen, evaluations_stamp(run.path)), run.id, chosen)
            else:
                st.info(f"No {chosen} predictions for this run: its data had no {chosen} split. Evaluate it with "
                        "`python -m lab evaluate RUN_FOLDER --data PATH` (`python -m lab runs` lists the folders).")
    if len(runs) == 2 and all(chosen in stored[run.id] for run in runs):
        paired(stored[runs[0].id][chosen], stored[runs[1].id][chosen], names[runs[0].id], names[runs[1].id])


def evaluation_views(found: dict[str, Any], run_id: str, evaluation: str) -> None:
    """One run's evaluation: accuracy (and with TTA, when evaluated so), report, confusion matrix, curves, the
    reliability diagram, top losses, most-confused pairs."""
    accuracy_metrics(found)
    report = found["report"]
    table = {**report["per_class"], "macro average": report["macro_avg"], "weighted average": report["weighted_avg"]}
    st.dataframe(pd.DataFrame(table).T, key=f"report_{run_id}", column_config={
        name: st.column_config.NumberColumn(name, format="%.3f") for name in ("precision", "recall", "f1")})
    st.caption("Precision: of the photos it called X, how many were X. Recall: of the X photos, how many it found.")
    counts, share = st.tabs(["Confusion matrix: counts", "normalised"])
    counts.plotly_chart(confusion_heatmap(found["counts"], found["classes"], normalized=False), key=f"cm_{run_id}")
    share.plotly_chart(confusion_heatmap(found["normalized"], found["classes"], normalized=True), key=f"cmn_{run_id}")
    st.caption(CONFUSION_HELP)
    if found["curves"]:
        roc, pr = st.tabs(["ROC curve", "Precision-recall curve"])
        roc.plotly_chart(roc_figure(found["curves"]["roc"]), key=f"roc_{run_id}")
        pr.plotly_chart(pr_figure(found["curves"]["pr"]), key=f"pr_{run_id}")
        st.caption(f"Area under the curve: 1.0 is perfect, 0.5 is guessing ({found['curves']['positive_class']} "
                   "counted as positive).")
    calibration_section(found["calibration"], run_id, evaluation)
    confused = [f"{true} taken for {predicted}: {count}" for true, predicted, count in found["most_confused"]]
    st.markdown("**Most confused:** " + ("; ".join(confused) if confused else "no mistakes on this set"))
    st.markdown("**Top losses** — the photos it was most confidently wrong about")
    gallery([(row["path"], f"true {row['true']} · said {row['predicted']} ({row['probability']:.0%})")
             for row in found["top_losses"]], columns=3)


def accuracy_metrics(found: dict[str, Any]) -> None:
    """The accuracy, and beside it each TTA evaluation's with its gain in points; each with its 95% interval."""
    plain, *viewed = st.columns(1 + len(found["tta"])) if found["tta"] else (st.container(),)
    plain.metric("Accuracy", f"{found['accuracy']:.1%}", help=f"on {found['n']:,} images")
    plain.caption(interval_sentence(found["accuracy"], found["n"]))
    for column, gain in zip(viewed, found["tta"]):
        column.metric(f"With TTA ({gain['views']})", f"{gain['accuracy']:.1%}", f"{100 * gain['gain']:+.1f} points",
                      help="Test-time augmentation: each photo's answer averaged over its views "
                           "(`python -m lab evaluate --tta`).")
        column.caption(interval_sentence(gain["accuracy"], gain["images"]))
    for gain in found["tta"]:
        st.caption(f"{gain_words(gain)}. The gain's interval is for the same photos answered both ways.")


def gallery(images: list[tuple[str, str]], columns: int = GALLERY_COLUMNS) -> None:
    """Thumbnails with captions, `GALLERY_LIMIT` at most (and a line saying how many were left out)."""
    for column, (path, caption) in zip(st.columns(columns) * (GALLERY_LIMIT // columns + 1), images[:GALLERY_LIMIT]):
        if Path(path).exists():
            column.image(path, caption=caption, width="stretch")
        else:
            column.caption(f"{caption} (image gone: {Path(path).name})")
    if len(images) > GALLERY_LIMIT:
        st.caption(f"Showing {GALLERY_LIMIT} of {len(images):,}.")


def paired(first: Predictions, second: Predictions, first_name: str, second_name: str) -> None:
    st.subheader("Paired comparison")
    try:
        comparison = pair(first, second, first_name, second_name)
    except LabError as error:
        st.info(str(error))
        return
    st.caption(MCNEMAR_HELP)
    st.text(comparison.sentence())  # it names the runs: as text, never Markdown
    changed = comparison.changed()
    for winner, loser in ((first_name, second_name), (second_name, first_name)):
        won = [row for row in changed if row["right"] == winner]
        st.markdown(f"**{len(won)} photos only {as_text(winner)} got right** ({as_text(loser)} said otherwise)")
        gallery([(row["path"], changed_caption(row, first_name, second_name)) for row in won])


def changed_caption(row: dict[str, Any], first_name: str, second_name: str) -> str:
    return f"true {row['true']} · {first_name}: {row[first_name]} · {second_name}: {row[second_name]}"


@st.cache_data(max_entries=64, show_spinner=False)
def stored_evaluations(run_dir: str, key: tuple[float, ...]) -> dict[str, Predictions]:
    return evaluations(Path(run_dir))


def run_evaluations(run: Run) -> dict[str, Predictions]:
    """Every stored evaluation of `run` by name; a damaged table is an empty result, said on the page."""
    try:
        return stored_evaluations(str(run.path), evaluations_stamp(run.path))
    except LabError as error:
        st.warning(f"{as_text(run.name())}: {error}")
        return {}


@st.cache_data(max_entries=64, show_spinner=False)
def views(run_dir: str, name: str, key: tuple[float, ...]) -> dict[str, Any]:
    """The interpretation of one stored evaluation, its calibration before and after the run's temperature, and
    what each stored TTA evaluation of it gained, as plain data for the page."""
    stored = stored_evaluations(run_dir, key)[name]  # the tables already read, not again
    viewed = tta_evaluations(Path(run_dir)).get(name, {})
    return {**Interpretation(stored).views(), "calibration": calibration_views(stored, load_calibration(Path(run_dir))),
            "tta": [tta_gain(stored, predictions, views) for views, predictions in viewed.items()
                    if sorted(predictions.digests) == sorted(stored.digests)]}
