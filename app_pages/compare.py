"""Compare: every run in one table, and for the runs picked from it, what differs and what it changed.

A thin view over `lab.runs.table` (the rows), `lab.runs.labels` (rename, tag), `lab.runs.store` (delete),
`lab.evaluation` (stored predictions and their interpretation, the paired comparison) and `lab.runs.study`
(the dataset-size study). Nothing here runs a model: every view reads files the runs stored, cached by
their modification times. Session state holds only run ids. In demo mode (`Settings.demo`) nothing is
renamed, tagged, deleted or launched, and runs and datasets go by name, never by path.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.charts import confusion_heatmap, curves, pr_figure, roc_figure, study_figure
from lab.access import TRAINING_OFF, shown_path
from lab.errors import LabError
from lab.evaluation.evaluate import evaluations
from lab.evaluation.interpretation import Interpretation
from lab.evaluation.paired import pair
from lab.evaluation.predictions import Predictions
from lab.run_files import EVALUATIONS as EVALUATIONS_DIR
from lab.run_files import PREDICTIONS as PREDICTIONS_FILE
from lab.runs import labels, study
from lab.runs.status import MEANINGS, RUNNING
from lab.runs.store import Run, RunStore
from lab.runs.table import run_rows
from lab.settings import Settings, load_settings
from lab.training.presets import STUDY_PRESETS
from lab.training.references import REFERENCES

TABLE_KEY, SELECTED_KEY, EVALUATION_KEY = "compare_table", "compare_selected", "compare_evaluation"
MANAGED_KEY, CONFIRM_KEY = "compare_run", "compare_confirm"
STUDY_PRESET = "dataset-size-study"  # the Keras tutorial's question, answered on this machine
GALLERY_COLUMNS, GALLERY_LIMIT = 6, 24
CONFUSION_HELP = "Rows are the true class, columns the model's answer: the diagonal is what it got right."
MCNEMAR_HELP = ("McNemar's test looks only at the images the two runs disagree on, and asks whether one run "
                "wins them more often than luck would allow.")
COLUMNS = {
    "name": st.column_config.TextColumn("name", pinned=True),
    "train_images": st.column_config.NumberColumn("training images", format="%d"),
    "image_size": st.column_config.NumberColumn("image px", format="%d"),
    "best_val_accuracy": st.column_config.NumberColumn("best val acc", format="percent"),
    "test_accuracy": st.column_config.NumberColumn("test acc", format="percent"),
    "seconds": st.column_config.NumberColumn("training s", format="%.0f"),
    "images_per_second": st.column_config.NumberColumn("images/s", format="%.0f"),
    "status": st.column_config.TextColumn("status", help="; ".join(f"{k}: {v}" for k, v in MEANINGS.items())),
    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
    "tags": st.column_config.ListColumn("tags"),
    "reference": st.column_config.TextColumn("published experiment", help="The tutorial experiment this run repeats"),
    "reference_accuracy": st.column_config.NumberColumn("published acc", format="percent"),
    "mlflow": st.column_config.LinkColumn("MLflow", display_text="open", help="The run's copy in MLflow"),
}
# What a reader scans for first (which run, on how many photos, how good, against the tutorial), then how.
COLUMN_ORDER = ("name", "train_images", "best_val_accuracy", "test_accuracy", "reference_accuracy", "reference",
                "backbone", "strategy", "weights", "image_size", "epochs", "seconds", "images_per_second", "status",
                "created", "tags")


# ---- reading stored files, cached by their modification times ------------------------------------


def stamp(run_dir: Path) -> tuple[float, ...]:
    """The modification times of a run's prediction files: a cache key that changes when they do."""
    files = [run_dir / PREDICTIONS_FILE, *sorted((run_dir / EVALUATIONS_DIR).glob(f"*/{PREDICTIONS_FILE}"))]
    return tuple(path.stat().st_mtime for path in files if path.exists())


@st.cache_data(max_entries=64, show_spinner=False)
def stored_evaluations(run_dir: str, key: tuple[float, ...]) -> dict[str, Predictions]:
    return evaluations(Path(run_dir))


def run_evaluations(run: Run) -> dict[str, Predictions]:
    """Every stored evaluation of `run` by name; a damaged table is an empty result, said on the page."""
    try:
        return stored_evaluations(str(run.path), stamp(run.path))
    except LabError as error:
        st.warning(f"{run.id}: {error}")
        return {}


@st.cache_data(max_entries=64, show_spinner=False)
def views(run_dir: str, name: str, key: tuple[float, ...]) -> dict[str, Any]:
    """The interpretation of one stored evaluation, as plain data for the page."""
    found = Interpretation(stored_evaluations(run_dir, key)[name])  # the tables already read, not read again
    return {"accuracy": found.predictions.accuracy, "n": len(found.predictions), "classes": found.classes,
            "report": found.report(), "counts": found.confusion_matrix().tolist(),
            "normalized": found.confusion_matrix(normalize=True).tolist(), "curves": found.curves(),
            "top_losses": found.top_losses(12), "most_confused": found.most_confused()}


# ---- the runs table ------------------------------------------------------------------------------


def filtered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the search box and the four filters keep."""
    search, status, backbone, strategy, tag = st.columns([3, 2, 2, 2, 2])
    text = search.text_input("Search", placeholder="name, id, backbone, tag...", key="compare_search").lower()
    chosen = {field: column.multiselect(field, sorted({str(r[field]) for r in rows if r[field] is not None}),
                                        key=f"compare_filter_{field}", placeholder="any")
              for field, column in (("status", status), ("backbone", backbone), ("strategy", strategy))}
    tags = tag.multiselect("tag", sorted({t for r in rows for t in r["tags"]}), key="compare_filter_tag",
                           placeholder="any")
    return [row for row in rows
            if (not text or text in " ".join(map(str, row.values())).lower())
            and all(not wanted or str(row[field]) in wanted for field, wanted in chosen.items())
            and (not tags or set(tags) & set(row["tags"]))]


def remember_selection(ids: list[str]) -> None:
    """The rows ticked in the table become the runs compared below."""
    st.session_state[SELECTED_KEY] = [ids[i] for i in st.session_state[TABLE_KEY].selection.rows]


def runs_table(rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows).set_index("id")
    frame["created"] = pd.to_datetime(frame["created"], errors="coerce", utc=True).dt.tz_convert(None)
    frame["reference"] = frame["reference"].fillna("")  # most runs repeat no tutorial experiment
    order = COLUMN_ORDER + (("mlflow",) if frame["mlflow"].notna().any() else ())  # only where runs are copied
    st.dataframe(frame, key=TABLE_KEY, on_select=functools.partial(remember_selection, list(frame.index)),
                 selection_mode="multi-row", hide_index=True, column_config=COLUMNS, column_order=order)
    st.download_button("Download the table as CSV", frame.to_csv().encode(), "runs.csv", "text/csv",
                       icon=":material/download:")


def manage(rows: list[dict[str, Any]], store: RunStore) -> None:
    """Rename, tag or delete one run; a running run cannot be deleted, and deleting asks first."""
    names = {row["id"]: row["name"] for row in rows}
    selected = [run_id for run_id in st.session_state.get(SELECTED_KEY, []) if run_id in names]
    if st.session_state.get(MANAGED_KEY) not in names:
        st.session_state[MANAGED_KEY] = selected[0] if selected else next(iter(names))
    run_id = st.selectbox("Run", list(names), key=MANAGED_KEY, format_func=lambda i: f"{names[i]} ({i})")
    run = store.get(run_id)
    current = run.labels()
    name, tags = st.columns(2)
    new_name = name.text_input("Name", value=current.name, key=f"compare_name_{run_id}",
                               placeholder="e.g. VGG16 on 1K, baseline")
    if name.button("Rename", key="compare_rename"):
        act(labels.rename, run.path, new_name, f"Renamed to {new_name or run_id}")
    typed = tags.text_input("Tags", key=f"compare_tags_{run_id}", placeholder="baseline 20k",
                            help="Words separated by spaces or commas.")
    tags.caption(f"This run's tags: {', '.join(current.tags) or 'none yet'}")
    words = typed.replace(",", " ").split()
    add, remove = tags.columns(2)
    if add.button("Add tags", key="compare_tag"):
        act(labels.tag, run.path, words, f"Tagged {', '.join(words)}")
    if remove.button("Remove tags", key="compare_untag"):
        act(labels.untag, run.path, words, f"Removed {', '.join(words)}")
    delete(run, store)


def act(change, path: Path, value: Any, done: str) -> None:
    try:
        change(path, value)
        st.toast(done)
        st.rerun()
    except LabError as error:
        st.error(str(error))


def delete(run: Run, store: RunStore) -> None:
    if run.status().state == RUNNING:
        st.caption(f"{run.id} is training: stop it on the Train page before deleting it (its worker is still "
                   "writing to the folder).")
        st.button("Delete", key="compare_delete", disabled=True, icon=":material/delete:")
        return
    if st.session_state.get(CONFIRM_KEY) != run.id:
        if st.button("Delete", key="compare_delete", icon=":material/delete:"):
            st.session_state[CONFIRM_KEY] = run.id
            st.rerun()
        return
    st.warning(f"Delete {run.labels().name or run.id}? Its model, checkpoints, predictions and history go for good.")
    yes, no = st.columns(2)
    if yes.button("Yes, delete it", key="compare_delete_yes", type="primary"):
        st.session_state.pop(CONFIRM_KEY)
        try:
            store.delete(run.id)
            st.toast(f"Deleted {run.id}")
        except LabError as error:
            st.error(str(error))
            return
        st.rerun()
    if no.button("Cancel", key="compare_delete_no"):
        st.session_state.pop(CONFIRM_KEY)
        st.rerun()


# ---- the selected runs -----------------------------------------------------------------------------


def compare(runs: list[Run], rows: dict[str, dict[str, Any]]) -> None:
    names = {run.id: rows[run.id]["name"] for run in runs}
    st.subheader("Learning curves")
    references = {row["reference"]: row["reference_accuracy"] for row in rows.values()
                  if row["id"] in names and row["reference"]}
    histories = {names[run.id]: run.history() for run in runs}
    accuracy, loss = st.columns(2)
    accuracy.plotly_chart(curves(histories, "accuracy", references), key="compare_accuracy")
    loss.plotly_chart(curves(histories, "loss"), key="compare_loss")
    st.caption("Dashed: training; solid: validation. A validation curve that stops improving while the training "
               "curve keeps rising means the model has started memorising its training photos."
               + (" Dotted: the tutorial's published figure." if references else ""))
    if len(runs) > 1:
        differences(runs, names, rows)
    evaluation_section(runs, names)


def differences(runs: list[Run], names: dict[str, str], rows: dict[str, dict[str, Any]]) -> None:
    st.subheader("What differs")
    settings = load_settings()
    configs = {names[run.id]: shown_config(run.config_dict(), settings) for run in runs}
    fields = sorted({field for config in configs.values() for field in config})
    changed = [f for f in fields if len({repr(config.get(f)) for config in configs.values()}) > 1]
    if changed:
        st.dataframe(pd.DataFrame({name: [str(c.get(f)) for f in changed] for name, c in configs.items()},
                     index=changed), key="compare_config_diff")
    else:
        st.caption("The configurations are identical: any difference below is run-to-run noise.")
    first = rows[runs[0].id]
    st.caption(f"Metric changes are against the first run picked, {names[runs[0].id]}.")
    for column, run in zip(st.columns(len(runs)), runs):
        row = rows[run.id]
        column.markdown(f"**{names[run.id]}**")
        for field, label in (("best_val_accuracy", "Best validation accuracy"), ("test_accuracy", "Test accuracy")):
            value, base = row[field], first[field]
            delta = f"{(value - base) * 100:+.1f} points" if run is not runs[0] and None not in (value, base) else None
            column.metric(label, f"{value:.1%}" if value is not None else "-", delta)
        seconds = row["seconds"]
        column.metric("Training time", f"{seconds:,.0f} s" if seconds is not None else "-")


def shown_config(config: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """A run's config as the page shows it: its data and weights paths by name in demo mode."""
    return {field: shown_path(value, settings) if field in ("data", "weights") and value else value
            for field, value in config.items()}


def evaluation_section(runs: list[Run], names: dict[str, str]) -> None:
    st.subheader("Evaluation")
    stored = {run.id: run_evaluations(run) for run in runs}
    sets = [name for name in ("test", "validation") if any(name in found for found in stored.values())]
    sets += sorted({name for found in stored.values() for name in found} - set(sets))
    if not sets:
        st.info("These runs have no stored predictions yet: a run stores them when it finishes. Train one with a saved "
                "split that has a test share (Dataset page), or run `python -m lab evaluate RUN_DIR --data PATH`.")
        return
    chosen = st.selectbox("Evaluation set", sets, key=EVALUATION_KEY,
                          help="test and validation are each run's own; other names come from `lab evaluate`.")
    for column, run in zip(st.columns(min(len(runs), 3)) * (len(runs) // 3 + 1), runs):
        with column:
            st.markdown(f"#### {names[run.id]}")
            if chosen in stored[run.id]:
                evaluation_views(views(str(run.path), chosen, stamp(run.path)), run.id)
            else:
                st.info(f"No {chosen} predictions for this run: its data had no {chosen} split. Evaluate it with "
                        f"`python -m lab evaluate {shown_path(run.path, load_settings())} --data PATH`.")
    if len(runs) == 2 and all(chosen in stored[run.id] for run in runs):
        paired(stored[runs[0].id][chosen], stored[runs[1].id][chosen], names[runs[0].id], names[runs[1].id])


def evaluation_views(found: dict[str, Any], run_id: str) -> None:
    """One run's evaluation: accuracy, report, confusion matrix, curves, top losses, most-confused pairs."""
    st.metric("Accuracy", f"{found['accuracy']:.1%}", help=f"on {found['n']:,} images")
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
    confused = [f"{true} taken for {predicted}: {count}" for true, predicted, count in found["most_confused"]]
    st.markdown("**Most confused:** " + ("; ".join(confused) if confused else "no mistakes on this set"))
    st.markdown("**Top losses** — the photos it was most confidently wrong about")
    gallery([(row["path"], f"true {row['true']} · said {row['predicted']} ({row['probability']:.0%})")
             for row in found["top_losses"]], columns=3)


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
    st.markdown(comparison.sentence())
    changed = comparison.changed()
    for winner, loser in ((first_name, second_name), (second_name, first_name)):
        won = [row for row in changed if row["right"] == winner]
        st.markdown(f"**{len(won)} photos only {winner} got right** ({loser} said otherwise)")
        gallery([(row["path"], changed_caption(row, first_name, second_name)) for row in won])


def changed_caption(row: dict[str, Any], first_name: str, second_name: str) -> str:
    return f"true {row['true']} · {first_name}: {row[first_name]} · {second_name}: {row[second_name]}"


# ---- the dataset-size study --------------------------------------------------------------------------


def study_section(settings: Settings) -> None:
    st.header("Does more data help?")
    st.caption("The Keras tutorial's question: the same model trained on 1,000 photos and on all of them, judged "
               "on the same test photos.")
    names = study.list_studies(settings)
    for name in names:
        with st.expander(name, expanded=name == names[0]):
            show_study(study.results(study.load_study(name, settings), settings.runs_dir), settings)
    if settings.demo:
        st.caption(TRAINING_OFF)
        return
    preset = STUDY_PRESETS[STUDY_PRESET]
    if not names:
        st.info("No study yet. Run the study preset below: it queues one run per size, and its chart fills in here "
                "as they finish.")
    if st.button("Run the study preset", key="compare_study", icon=":material/play_arrow:",
                 help=f"{STUDY_PRESET}: {preset.config.summary()}; sizes {preset.sizes}. The backbone's features "
                      "are computed once, for the largest size, and the smaller sizes read them from the cache."):
        try:
            launched = study.launch_study(preset.config, study.parse_sizes(preset.sizes), preset.repeats, settings)
            st.toast(f"Queued study {launched.name}: {len(launched.runs)} runs, largest first")
        except LabError as error:
            st.error(str(error))


def show_study(found: dict[str, Any], settings: Settings) -> None:
    rows = found["runs"]
    if not any(row.get("train_images") for row in rows):
        st.caption("Its runs have not finished yet: " + ", ".join(f"{row['size'] or 'all'}: {row['status']}"
                                                                   for row in rows))
        return
    published = next(r for r in REFERENCES if r.preset == "keras-tutorial-vgg16-20k")
    line = {f"Keras tutorial, VGG16 on 1K and on 20K: {published.accuracy:.0%}": published.accuracy}
    st.plotly_chart(study_figure(rows, line), key=f"study_{found['name']}")
    table = [{**row, "run_dir": shown_path(row["run_dir"], settings)} for row in rows]
    st.dataframe(pd.DataFrame(table), hide_index=True, key=f"study_table_{found['name']}")
    if found["sentence"]:
        st.caption(MCNEMAR_HELP)
        st.markdown(found["sentence"])


# ---- the page ------------------------------------------------------------------------------------


def page() -> None:
    settings = load_settings()
    st.title("Compare")
    rows = run_rows(settings.runs_dir)
    if not rows:
        st.info("No runs yet: train one on the Train page (in the sidebar), then come back to compare it with others.")
    else:
        runs_section(rows, settings)
    study_section(settings)


def runs_section(rows: list[dict[str, Any]], settings: Settings) -> None:
    st.caption("Tick runs in the table to compare them below. Click a column header to sort.")
    runs_table(filtered(rows))
    by_id = {row["id"]: row for row in rows}
    st.session_state[SELECTED_KEY] = [i for i in st.session_state.get(SELECTED_KEY, []) if i in by_id]
    picked = st.multiselect("Runs to compare", list(by_id), key=SELECTED_KEY,
                            format_func=lambda i: by_id[i]["name"], placeholder="tick rows above, or pick here")
    store = RunStore(settings.runs_dir)
    if settings.demo:
        st.caption("Demo mode: renaming, tagging and deleting runs is switched off on this server.")
    else:
        with st.expander("Rename, tag or delete a run"):
            manage(rows, store)
    readable = [store.get(i) for i in picked if by_id[i]["status"] != "unknown"]
    if readable:
        compare(readable, by_id)
    else:
        st.info("Pick one run to see its curves and evaluation, two to see which photos changed between them.")


page()
