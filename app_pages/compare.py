"""Compare: every run in one table, and for the runs picked from it, what differs and what it changed.

A thin view over `lab.runs.table` (the rows and their filters), `lab.runs.differences` (what differs
between the runs picked), `lab.runs.labels` (rename, tag), `lab.runs.store` (delete),
`app_pages.evaluation_views` (each run's stored evaluation and the paired comparison) and
`app_pages.compare_study` ("Does more data help?": the dataset-size studies, and a Keras replay's answer until a
study has one). Nothing here runs a model: every view reads files the runs stored.
Session state holds only run ids. In demo mode (`Settings.demo`) nothing is renamed, tagged, deleted or
launched, and runs and datasets go by name, never by path.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.charts import curves
from app_pages.compare_study import study_section
from app_pages.evaluation_views import evaluation_section
from app_pages.plain_text import as_text
from app_pages.run_map_views import run_map_section
from app_pages.session_keys import COMPARE_SELECTED
from lab.access import shown_config
from lab.errors import LabError
from lab.evaluation.accuracy_text import interval_sentence
from lab.replays.plan import replay_references
from lab.runs import labels
from lab.runs.describe import meanings_text
from lab.runs.differences import config_differences, points_change
from lab.runs.status import RUNNING
from lab.runs.store import Run, RunStore
from lab.runs.table import filter_choices, filter_rows, published_figures, rows_csv, run_rows
from lab.settings import Settings, load_settings

TABLE_KEY, SELECTED_KEY = "compare_table", COMPARE_SELECTED
INTERVAL_HELP = ("Where the accuracy would likely be on many more photos like these: Wilson's 95% interval for the "
                 "photos it was measured on. Two runs whose intervals overlap a lot may not differ at all.")
MANAGED_KEY, CONFIRM_KEY = "compare_run", "compare_confirm"
COLUMNS = {
    "name": st.column_config.TextColumn("name", pinned=True),
    "train_images": st.column_config.NumberColumn("training images", format="%d"),
    "image_size": st.column_config.NumberColumn("image px", format="%d"),
    "best_val_accuracy": st.column_config.NumberColumn("best val acc", format="percent"),
    "best_val_interval": st.column_config.TextColumn("val 95% interval", help=INTERVAL_HELP),
    "test_accuracy": st.column_config.NumberColumn("test acc", format="percent"),
    "test_interval": st.column_config.TextColumn("test 95% interval", help=INTERVAL_HELP),
    "seconds": st.column_config.NumberColumn("training s", format="%.0f"),
    "images_per_second": st.column_config.NumberColumn("images/s", format="%.0f"),
    "status": st.column_config.TextColumn("status", help=meanings_text()),
    "created": st.column_config.DatetimeColumn("created", format="YYYY-MM-DD HH:mm"),
    "tags": st.column_config.ListColumn("tags"),
    "reference": st.column_config.TextColumn("published experiment", help="The tutorial experiment this run repeats"),
    "reference_accuracy": st.column_config.NumberColumn("published acc", format="percent"),
    "mlflow": st.column_config.LinkColumn("MLflow", display_text="open", help="The run's copy in MLflow"),
}
# What a reader scans for first (which run, on how many photos, how good, against the tutorial), then how.
COLUMN_ORDER = ("name", "train_images", "best_val_accuracy", "best_val_interval", "test_accuracy", "test_interval",
                "reference_accuracy", "reference",
                "backbone", "strategy", "weights", "image_size", "epochs", "seconds", "images_per_second", "status",
                "created", "tags")


# ---- the runs table ------------------------------------------------------------------------------


def filtered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the search box and the four filters keep."""
    search, status, backbone, strategy, tag = st.columns([3, 2, 2, 2, 2])
    text = search.text_input("Search", placeholder="name, id, backbone, tag...", key="compare_search")
    chosen = {field: column.multiselect(field, filter_choices(rows, field), key=f"compare_filter_{field}",
                                        placeholder="any")
              for field, column in (("status", status), ("backbone", backbone), ("strategy", strategy))}
    tags = tag.multiselect("tag", filter_choices(rows, "tags"), key="compare_filter_tag", placeholder="any")
    return filter_rows(rows, text, chosen, tags)


def remember_selection(ids: list[str]) -> None:
    """The rows ticked in the table become the runs compared below."""
    st.session_state[SELECTED_KEY] = [ids[i] for i in st.session_state[TABLE_KEY].selection.rows]


def runs_table(rows: list[dict[str, Any]]) -> None:
    frame = pd.DataFrame(rows).set_index("id")
    frame["created"] = pd.to_datetime(frame["created"], errors="coerce", utc=True).dt.tz_convert(None)
    order = COLUMN_ORDER + (("mlflow",) if frame["mlflow"].notna().any() else ())  # only where runs are copied
    st.dataframe(frame, key=TABLE_KEY, on_select=functools.partial(remember_selection, list(frame.index)),
                 selection_mode="multi-row", hide_index=True, column_config=COLUMNS, column_order=order,
                 placeholder="—")  # an empty cell (no test split, no published figure yet) is a dash, not "None"
    st.download_button("Download the table as CSV", rows_csv(rows).encode(), "runs.csv", "text/csv",
                       icon=":material/download:")


def manage(rows: list[dict[str, Any]], store: RunStore) -> None:
    """Rename, tag or delete one run; a running run cannot be deleted, and deleting asks first."""
    names = {row["id"]: row["name"] for row in rows}
    selected = [run_id for run_id in st.session_state.get(SELECTED_KEY, []) if run_id in names]
    if st.session_state.get(MANAGED_KEY) not in names:
        st.session_state[MANAGED_KEY] = selected[0] if selected else next(iter(names))
    run_id = st.selectbox("Run", list(names), key=MANAGED_KEY, format_func=names.get)
    run = store.get(run_id)
    current = run.labels()
    name, tags = st.columns(2)
    new_name = name.text_input("Name", value=current.name, key=f"compare_name_{run_id}",
                               placeholder="e.g. VGG16 on 1K, baseline")
    if name.button("Rename", key="compare_rename"):
        act(labels.rename, run.path, new_name, f"Renamed to {as_text(new_name)}" if new_name.strip() else
            "Name cleared: the run is named after its config again")
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
        st.caption(f"{as_text(run.name())} is training: stop it on the Train page before deleting it (its worker "
                   "is still writing to the folder).")
        st.button("Delete", key="compare_delete", disabled=True, icon=":material/delete:")
        return
    if st.session_state.get(CONFIRM_KEY) != run.id:
        if st.button("Delete", key="compare_delete", icon=":material/delete:"):
            st.session_state[CONFIRM_KEY] = run.id
            st.rerun()
        return
    st.warning(f"Delete {as_text(run.name())}? Its model, checkpoints, predictions and history go for good.")
    yes, no = st.columns(2)
    if yes.button("Yes, delete it", key="compare_delete_yes", type="primary"):
        st.session_state.pop(CONFIRM_KEY)
        try:
            store.delete(run.id)
            st.toast(f"Deleted {as_text(run.name())}")
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
    references = published_figures([row for row in rows.values() if row["id"] in names])
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
    run_map_section(runs, names)


def differences(runs: list[Run], names: dict[str, str], rows: dict[str, dict[str, Any]]) -> None:
    st.subheader("What differs")
    settings = load_settings()
    differing = config_differences({names[run.id]: shown_config(run.config_dict(), settings) for run in runs})
    if any(differing.values()):
        st.dataframe(pd.DataFrame(differing), key="compare_config_diff")
    else:
        st.caption("The configurations are identical: any difference below is run-to-run noise.")
    first = rows[runs[0].id]
    st.caption(f"Metric changes are against the first run picked, {as_text(names[runs[0].id])}.")
    for column, run in zip(st.columns(len(runs)), runs):
        row = rows[run.id]
        column.markdown(f"**{as_text(names[run.id])}**")
        for field, images, label in (("best_val_accuracy", "validation_images", "Best validation accuracy"),
                                     ("test_accuracy", "test_images", "Test accuracy")):
            value, base = row[field], first[field]
            delta = points_change(value, base) if run is not runs[0] else None
            column.metric(label, f"{value:.1%}" if value is not None else "—", delta)
            if interval := interval_sentence(value, row[images]):
                column.caption(interval)
        seconds = row["seconds"]
        column.metric("Training time", f"{seconds:,.0f} s" if seconds is not None else "—")


# ---- the page ------------------------------------------------------------------------------------


def page() -> None:
    settings = load_settings()
    st.title("Compare")
    rows = run_rows(settings.runs_dir, replay_references(settings))
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
