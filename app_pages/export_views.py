"""The Predict page's Export tab, not a page: make a checked export with its steps shown as they happen, and
every export already made with its model card readable on the page beside the downloads.

A TFLite export takes a minute or two on a CPU; `lab.evaluation.export` names its steps (load, build, convert,
check, card) through a progress callback, and `StepLog` shows each one's name and time, so nobody waits
behind a bare spinner. TensorFlow is imported only when an export is made or listed (inside `lab`).
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from lab.errors import LabError
from lab.run_files import RunFiles
from lab.settings import Settings

ROW_PIXELS = 35  # a dataframe row's height in Streamlit's grid
EXPORTS = {"Keras (.keras)": ("keras", None), "SavedModel (zipped)": ("savedmodel", None),
           "TFLite, float32": ("tflite", None), "TFLite, dynamic-range quantised": ("tflite", "dynamic")}
CHOICES = {made: choice for choice, made in EXPORTS.items()}  # (format, quantize) -> the words in the picker


def export_section(run_dir: Path, settings: Settings) -> None:
    from lab.evaluation.export import shipped_exports
    from lab.runs.names import file_stem
    from lab.runs.store import Run

    exports = RunFiles(run_dir).exports
    if settings.demo:  # an export runs for minutes and writes to the server's disk
        st.caption("Demo mode: making exports is switched off on this server; the exports made before can be "
                   "downloaded.")
    else:
        make_export(run_dir, exports)
    stem = file_stem(Run(run_dir).name())
    for index, made in enumerate(shipped_exports(exports)):
        show_export(made, stem, newest=index == 0)


def make_export(run_dir: Path, exports: Path) -> None:
    from lab.evaluation.export import export_run
    from lab.runs.store import Run
    from lab.training.backbones import preprocessing_words

    st.caption("Every export takes raw RGB pixels (0-255) at the run's input size, and is checked against the "
               "run's own model on real photos before it is offered. A TFLite export takes a minute or two.")
    choice = st.selectbox("Format", list(EXPORTS), key="predict_export_format")
    if not st.button("Make the export", key="predict_export", icon=":material/package_2:"):
        return
    format, quantize = EXPORTS[choice]
    exports.mkdir(exist_ok=True)  # a folder, so the export is named after the run and the format
    with st.status(f"Exporting as {choice}...", expanded=True) as status:
        steps = StepLog(status)
        try:
            export_run(run_dir, format, exports, quantize=quantize, on_progress=steps, overwrite=True,
                       preprocessing=preprocessing_words(Run(run_dir).config_dict()))  # its own earlier one
        except LabError as error:
            status.update(label=f"The {choice} export stopped at: {steps.current_name}", state="error")
            st.error(str(error))
            return
        status.update(label=f"{choice}: made and checked in {steps.seconds:.0f} s", state="complete",
                      expanded=True)  # the steps and their times stay in view
    st.success(f"The {choice} export is made and checked: download it below.")


class StepLog:
    """An `on_progress` for `lab.evaluation.export.export_run`: a bar naming the step under way, and a line for
    each finished step with the seconds it took (the TFLite conversion is the long one)."""

    def __init__(self, box: DeltaGenerator) -> None:
        self.finished = box.container()  # above the bar: the bar names the step under way below them
        self.bar = box.progress(0.0, text="Starting...")
        self.began = self.step_began = time.monotonic()
        self.current_name = "the start"

    def __call__(self, done: int, total: int, message: str) -> None:
        now = time.monotonic()
        if done > 0:
            self.finished.markdown(f":material/check: {self.current_name}: {now - self.step_began:.1f} s")
        self.current_name, self.step_began = message, now
        text = f"Step {done + 1} of {total}: {message}..." if done < total else f"Done in {self.seconds:.0f} s"
        self.bar.progress(done / total, text=text)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.began


def show_export(made, stem: str, *, newest: bool) -> None:
    """One export already made: what it is, the check it passed, its card (open for the newest) and its
    downloads, named after the run ("MobileNetV2-features-1000-photos-tflite.tflite"), not its folder's id."""
    parity = made.parity
    key = made.path.name
    kind = CHOICES.get((made.format, made.quantize), made.format)
    name = f"{stem}-{made.format}{'-' + made.quantize if made.quantize else ''}"
    with st.container(border=True):
        st.markdown(f"**{kind}** · {made.size_bytes / 1e6:.1f} MB")
        st.caption(f"Checked on {parity.images} photos: largest difference {parity.max_abs_difference:.1e}, same "
                   f"answer on {parity.top_class_agreement:.0%} ({parity.criterion}).")
        card_table(made.card, key, expanded=newest)
        model, card_md, card_json = st.columns(3)
        model.download_button("Download the model", made.path.read_bytes(), name + made.path.suffix,
                              icon=":material/download:", on_click="ignore", key=f"export_model_{key}")
        card_md.download_button("Model card (Markdown)", made.card_markdown.read_bytes(), f"{name}.md",
                                on_click="ignore", key=f"export_md_{key}")
        card_json.download_button("Model card (JSON)", made.card_json.read_bytes(), f"{name}.json",
                                  on_click="ignore", key=f"export_json_{key}")


def card_table(card: dict, name: str, *, expanded: bool) -> None:
    """The card's fields as a table of plain text (class names come from folders: never Markdown)."""
    from lab.evaluation.model_card import card_fields

    with st.expander("Model card: what it takes, what it says, how good it is, what it is for", expanded=expanded):
        fields = card_fields(card)
        st.dataframe(pd.DataFrame({"field": list(fields), "value": list(fields.values())}), hide_index=True,
                     key=f"export_card_{name}", height=ROW_PIXELS * (len(fields) + 1) + 3,  # every row, no scroll
                     column_config={"field": st.column_config.TextColumn(width=180)})
