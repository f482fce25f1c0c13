"""View parts of the Tutorials page: a replay's summary, its table (mean and spread over repeats), its findings
with their verdicts, and its learning curves (one line per repeat). Compare shows a Keras replay's rows and finding
with the same parts. Names come from the replay's record, never file names, paths or run ids."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.charts import curves
from lab.evaluation.accuracy_text import accuracy_text
from lab.replays.report import replay_report
from lab.runs.store import Run

VERDICT_ICONS = {"reproduced": "✅", "not reproduced": "❌", "too close to call": "⚖️", "cut short": "⏱️",
                 "waiting": "⏳"}


def show_table(table: dict[str, Any]) -> None:
    st.markdown(f"#### {table['title']}")
    st.markdown(f"**What we found:** {table['summary']}")
    st.caption(sentences([table["source"], *table["notes"]]))
    st.dataframe(pd.DataFrame([table_row(row) for row in table["rows"]]), hide_index=True,
                 key=f"replay_table_{table['name']}")
    for finding in table["findings"]:
        show_finding(finding)
    st.markdown(table["paragraph"])
    st.download_button("Download the report (HTML, opens offline)", functools.partial(replay_report, table),
                       f"{table['name']}.html", "text/html", key=f"replay_report_{table['name']}",
                       icon=":material/download:", on_click="ignore")
    histories = {_curve_label(row, run): Run(run["run_dir"]).history()
                 for row in table["rows"] for run in row["runs"] if run["run_dir"]}
    histories = {label: history for label, history in histories.items() if history}
    if histories:
        st.plotly_chart(curves(histories, "accuracy"), key=f"replay_curves_{table['name']}")


def show_finding(finding: dict[str, Any]) -> None:
    """A finding as a line: its verdict's icon and word, the tutorial's claim and the evidence, the test as help."""
    evidence = f" — {finding['evidence']}" if finding["evidence"] else ""
    st.markdown(f"{VERDICT_ICONS[finding['verdict']]} **{finding['verdict'].capitalize()}:** {finding['claim']}"
                + evidence, help=finding["test"] or None)


def _curve_label(row: dict[str, Any], run: dict[str, Any]) -> str:
    return row["experiment"] + (f" · repeat {run['repeat'] + 1}" if row["repeats"] > 1 else "")


PHOTOS = {"validation_accuracy": "validation_images", "test_accuracy": "test_images", "train_accuracy": "train_images"}


def table_row(row: dict[str, Any]) -> dict[str, str]:
    """One experiment as the tutorial's table reads: accuracies as percentages with their 95% interval for one
    run's photos (with repeats, the mean's, and the repeats' min-max after it), a dash where there is none yet."""
    def percent(measure: str) -> str:
        value, spread = row[measure], row["spread"].get(measure)
        if value is None:
            return "–"
        shown = accuracy_text(value, row.get(PHOTOS[measure]))
        return shown + (f", repeats {spread[0]:.1%}–{spread[1]:.1%}" if row["repeats"] > 1 and spread else "")

    return {"experiment": row["experiment"],
            "published (validation)": "–" if row["published"] is None else f"{row['published']:.1%}",
            "validation here": percent("validation_accuracy"), "test here": percent("test_accuracy"),
            "training (last epoch)": percent("train_accuracy"), "status": row["status"],
            "training images": "–" if row["train_images"] is None else f"{row['train_images']:,}"}


def sentences(parts: list[str]) -> str:
    """Notes as prose: each a sentence, capitalised and ended with a full stop."""
    return " ".join(part[:1].upper() + part[1:] + ("" if part.endswith(".") else ".") for part in parts if part)
