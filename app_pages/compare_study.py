"""The Compare page's "Does more data help?": the dataset-size studies, where a queued one is, and, until a
study has answered, the Keras tutorial's replay's answer to the same question.

Not a page. A thin view over `lab.runs.study` (each study's results, where its runs are in the queue, whether it
has answered), `lab.replays.more_data` (the newest Keras replay's 20K and 1K rows and its finding) and
`lab.training.references` (the tutorial's figure on the chart). The study preset is launched in the button's
callback, before the page is drawn, so the study it queues is on the page the click draws.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app_pages.charts import study_figure
from app_pages.evaluation_views import MCNEMAR_HELP
from app_pages.plain_text import as_text
from app_pages.replay_views import show_finding, table_row
from app_pages.train_queue import current_plan
from lab.access import TRAINING_OFF
from lab.errors import LabError
from lab.evaluation.accuracy_text import accuracy_text
from lab.replays.findings import WAITING
from lab.replays.more_data import replay_answer
from lab.replays.report import study_report
from lab.runs import study
from lab.runs.store import RunStore
from lab.settings import Settings
from lab.training.presets import STUDY_PRESETS
from lab.training.references import study_reference

STUDY_PRESET = "dataset-size-study"  # the Keras tutorial's question, answered on this machine
LAUNCH_ERROR = "compare_study_error"  # why the last "Run the study preset" failed, shown under the button


def study_section(settings: Settings) -> None:
    st.header("Does more data help?")
    st.caption("The Keras tutorial's question: the same model trained on 1,000 photos and on all of them, judged "
               "on the same test photos.")
    found = [study_results(name, settings) for name in study.list_studies(settings)]
    replayed = not any(study.answered(summary) for summary in found) and replay_section(settings)
    for summary in found:
        with st.expander(as_text(summary["title"]), expanded=summary is found[0]):
            show_study(summary, settings)
    if settings.demo:
        st.caption(TRAINING_OFF)
        return
    preset = STUDY_PRESETS[STUDY_PRESET]
    if not found and replayed:
        st.caption("For more sizes and a learning curve, run the study preset below: it queues one run per size, "
                   "and its chart fills in here as they finish.")
    elif not found:
        st.info("No study yet. Run the study preset below: it queues one run per size, and its chart fills in here "
                "as they finish.")
    st.button("Run the study preset", key="compare_study", icon=":material/play_arrow:", on_click=launch_preset,
              args=(settings,),
              help=f"{STUDY_PRESET}: {preset.config.summary()}; sizes {preset.sizes}. The backbone's features "
                   "are computed once, for the largest size, and the smaller sizes read them from the cache.")
    if LAUNCH_ERROR in st.session_state:
        st.error(st.session_state.pop(LAUNCH_ERROR))


def launch_preset(settings: Settings) -> None:
    """The study preset queued (its record saved before the page is drawn again), or why it could not be."""
    preset = STUDY_PRESETS[STUDY_PRESET]
    try:
        launched = study.launch_study(preset.config, study.parse_sizes(preset.sizes), preset.repeats, settings)
    except LabError as error:
        st.session_state[LAUNCH_ERROR] = str(error)
        return
    st.toast(f"Queued the study: {len(launched.runs)} runs, largest first")


def replay_section(settings: Settings) -> bool:
    """The newest Keras replay's 20K and 1K rows and its verdict (shown while no study has answered); False when
    there is no Keras replay."""
    answer = replay_answer(settings)
    if answer is None:
        return False
    started = answer["created"].replace("T", " ")[:16]
    st.markdown(f"**From your Keras replay** ({as_text(answer['variant'])}, started {started})")
    st.dataframe(pd.DataFrame([table_row(row) for row in answer["rows"]]), hide_index=True,
                 key="compare_replay_answer")
    show_finding(answer["finding"])
    if answer["finding"]["verdict"] == WAITING:
        st.caption(answer["paragraph"])  # what is training now and what comes next
    return True


def study_results(name: str, settings: Settings) -> dict[str, Any]:
    """`study.results`, computed again only when one of its runs changes state: its learning curve's interval
    refits the curve a few hundred times (about a second with four sizes)."""
    planned = study.load_study(name, settings)
    states = RunStore(settings.runs_dir).states()
    return _results(planned.to_dict(), tuple(states.get(row["run_id"], "") for row in planned.runs),
                    str(settings.runs_dir))


@st.cache_data(max_entries=32, show_spinner=False)
def _results(record: dict[str, Any], states: tuple[str, ...], runs_dir: str) -> dict[str, Any]:
    """Kept by the study's record, its runs' states (the key only) and where its runs are."""
    return study.results(study.Study.from_dict(record), Path(runs_dir))


def study_row(row: dict[str, Any]) -> dict[str, Any]:
    """A study's run as its table shows it: by its name, not its folder, each accuracy with its 95% interval."""
    shown = {key: value for key, value in row.items() if key != "run_dir"}
    shown["size"] = study.size_text(row["size"])
    for field, images in (("best_val_accuracy", "validation_images"), ("test_accuracy", "test_images")):
        shown[field] = accuracy_text(row.get(field), row.get(images)) if row.get(field) is not None else None
    return shown


def show_study(found: dict[str, Any], settings: Settings) -> None:
    rows = found["runs"]
    if study.under_way(found):
        st.caption("Sizes " + ", ".join(study.size_words(size) for size in found["sizes"]) + ". Where its runs are:")
        st.text("\n".join(study.progress(found, current_plan(settings))))
    if not any(row.get("train_images") for row in rows):
        return
    label, accuracy = study_reference()
    curve = found["learning_curve"]
    st.plotly_chart(study_figure(rows, {label: accuracy}, curve), key=f"study_{found['name']}")
    st.text(curve["images_for"]["sentence"])
    st.caption("The fit: a power law in the error through the sizes measured, dashed where it extrapolates; the "
               "interval comes from refitting on resamples of the test photos.")
    st.dataframe(pd.DataFrame([study_row(row) for row in rows]), hide_index=True, key=f"study_table_{found['name']}",
                 placeholder="—")
    if found["sentence"]:
        st.caption(MCNEMAR_HELP)
        st.markdown(found["sentence"])
    st.download_button("Download the report (HTML, opens offline)", functools.partial(study_report, found),
                       f"{found['name']}.html", "text/html", key=f"study_report_{found['name']}",
                       icon=":material/download:", on_click="ignore")
