"""Train: start from a tutorial experiment or from scratch, see what a run costs, launch it, watch it, stop it.

A thin view over `app_pages.train_presets` (the experiments with their times), `app_pages.train_form` (the
form: every `TrainConfig` field as a widget), `lab.training.form` (the form before anyone touches it: on a
dataset its experiment can run on), `lab.training.cost` (what a run costs, in plain words first),
`lab.training.preflight` (`problems` disables Launch and says, next to the field and by its label, what to
change; `preflight` is the last guard at launch), `lab.runs.jobs` (launch, with the estimate kept beside the
run), `app_pages.train_queue` (when a new run would start, and what it waits behind) and `app_pages.train_runs`
(the live view of the runs).
For newcomers: one line of what training does, the experiments as described choices, the essential
fields, the rest under "Advanced", the run's cost in plain words and its FLOPs under "In technical terms".
The page draws at once: what reads a dataset's photos (the check of the data, the cost, the presets' times)
comes after the form and the runs are drawn. Runs train in worker processes, never in this server.
A path typed into Data or Weights passes `lab.access`'s allow-lists before anything reads it; in demo
mode the page only says that training is switched off.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app_pages.plain_text import as_text
from app_pages.session_keys import DATASET_PATH, TRAIN_DATA
from app_pages.train_form import PASSED_OVER_KEY, config_form, fill_form, form_config, key, saved_at
from app_pages.train_presets import fill_in_preset_times, preset_picker
from app_pages.train_queue import launch_wait
from app_pages.train_runs import choose, runs_section
from lab.access import TRAINING_OFF, browser_config, refusals
from lab.errors import LabError
from lab.runs import jobs
from lab.settings import Settings, load_settings
from lab.training.config import FIELDS, TrainConfig
from lab.training.cost import details_text, estimate_cost, time_in_words, work_in_words
from lab.training.form import config_from_form, starting_config
from lab.training.measurements import measurements_saved
from lab.training.preflight import data_problems, preflight, problems
from lab.workspace import dataset_names, listed_dataset

SEEN_DATASET_KEY = "train_seen_dataset_path"
INTRO = ("Training shows a network labelled photos until it tells the classes apart. Start from a tutorial's "
         "experiment, check the data and the model, press **Launch**, and watch the accuracy climb below.")


def page() -> None:
    """The form, the cost, Launch, and the live view of the runs; in demo mode, only that training is off."""
    settings = load_settings()
    st.title("Train")
    if settings.demo:
        st.info(TRAINING_OFF, icon=":material/block:")
        return
    st.markdown(INTRO)
    values, notes = form(settings)
    below = st.container()  # what the run costs, and Launch: the data is checked first (a first scan takes a while)
    runs_section(settings)
    with below:
        cost_and_launch(values, notes, settings)
    fill_in_preset_times(settings)  # last: a preset's time may mean counting 20,000 photos


def form(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Experiment and fields, drawn at once: nothing here reads a dataset's photos the first time."""
    if key("backbone") not in st.session_state:
        start_form(settings)
    follow_dataset_page(settings)
    preset_picker(settings)
    return config_form(settings)


def cost_and_launch(values: dict[str, Any], notes: dict[str, Any], settings: Settings) -> None:
    """What to change before the run can start (said by each field), what it costs, and Launch."""
    passed_over(notes["data"], settings)
    config, found = checked_config(values, notes, settings)
    cost = None
    if config is not None and set(found) <= {"weights"}:  # the cost needs the images counted; missing weights
        cost = show_cost(config, settings)  # do not change it
    if config is not None:
        with st.expander("In technical terms"):
            st.caption(config.summary())
            if cost:
                st.caption(details_text(cost))
    if st.button("Launch", type="primary", disabled=config is None or bool(found), icon=":material/play_arrow:"):
        try:
            config = browser_config(config, settings)  # the last guards: the allow-lists, and the data or
            preflight(config, settings)  # weights may have gone since the form checked
            launched = jobs.launch(config, settings, estimate=cost)  # kept beside the run for its card
        except LabError as error:
            st.error(str(error))
            return
        choose(launched.id)
        st.toast(f"Launched {as_text(launched.name())}")
        st.rerun()  # the runs below were drawn before the click was handled: draw them with the new run chosen


def start_form(settings: Settings) -> None:
    """The quick preset on a dataset it can run on: the one the Dataset page chose last if it can, else the
    sample (`lab.training.form.starting_config`). A dataset passed over is said next to the Data box."""
    folders = dataset_names(settings)
    chosen = listed_dataset(st.session_state.get(DATASET_PATH), folders)
    config = starting_config(folders, chosen, runs_on=lambda config: not data_problems_of(config, settings))
    fill_form(config, settings)
    st.session_state[SEEN_DATASET_KEY] = st.session_state.get(DATASET_PATH)  # weighed here: not followed again
    st.session_state[PASSED_OVER_KEY] = chosen if chosen and config.data != chosen else None


def follow_dataset_page(settings: Settings) -> None:
    """Train on the dataset the Dataset page chose last, once each time it chooses another (listed once, by
    its name); the experiment stays, and the form says next to its fields if it cannot run on it."""
    chosen = st.session_state.get(DATASET_PATH)
    if chosen and chosen != st.session_state.get(SEEN_DATASET_KEY):
        st.session_state[SEEN_DATASET_KEY] = chosen
        st.session_state[key("data")] = listed_dataset(chosen, dataset_names(settings))
        st.session_state[key("train_split")] = "train"
        st.session_state[PASSED_OVER_KEY] = None
    handed = st.session_state.pop(TRAIN_DATA, None)  # a clean manifest the Dataset page saved: train on it
    if handed:
        st.session_state.update({key("data"): handed, key("train_split"): "train", PASSED_OVER_KEY: None})


def passed_over(note: DeltaGenerator, settings: Settings) -> None:
    """Why the form opened on another dataset than the one the Dataset page chose last (the experiment cannot
    run on it), until the Data box changes."""
    skipped = st.session_state.get(PASSED_OVER_KEY)
    config = form_config()
    found = data_problems_of(dataclasses.replace(config, data=skipped), settings) if skipped and config else {}
    if found:
        name = dataset_names(settings).get(Path(skipped), Path(skipped).name)
        problem = found.get("train_size") or found.get("validation_size")
        note.info(f"Opened on another dataset than {as_text(name)}, the one you scanned last: this experiment "
                  + (problem or "cannot run on it") + ".", icon=":material/info:")


def data_problems_of(config: TrainConfig, settings: Settings) -> dict[str, str]:
    """`lab.training.preflight.data_problems`, kept briefly (a scan, cached, of the dataset)."""
    return _data_problems(json.dumps(config.to_dict(), sort_keys=True), saved_at(config.data, settings), settings)


@st.cache_data(ttl=30, show_spinner=False)
def _data_problems(config_json: str, saved: int, _settings: Settings) -> dict[str, str]:
    return data_problems(TrainConfig.from_dict(json.loads(config_json)), _settings)


@st.cache_data(ttl=30, show_spinner="Checking the data and the weights...")
def problems_of(config_json: str, saved: int, _settings: Settings) -> dict[str, str]:
    """`lab.training.preflight.problems`: what would make this run fail, per field."""
    return problems(TrainConfig.from_dict(json.loads(config_json)), _settings)


def checked_config(values: dict[str, Any], notes: dict[str, Any],
                   settings: Settings) -> tuple[TrainConfig | None, dict[str, str]]:
    """The config the form describes (None when invalid or outside the allow-lists of `lab.access`:
    explained here) and what would make it fail on this machine (data, weights, images), said next to the
    field to change, by its label. A path typed into Data or Weights is checked before it is scanned or read."""
    try:
        config = config_from_form(values)
    except LabError as error:
        st.error(str(error))
        return None, {}
    refused = refusals(config, settings)  # before anything reads the data or the weights
    for field, text in refused.items():
        notes[field].error(f"**{FIELDS[field].label}**: {text}", icon=":material/block:")
    if refused:
        return None, refused
    config = browser_config(config, settings)  # what was checked is what is read
    found = problems_of(json.dumps(config.to_dict(), sort_keys=True), saved_at(config.data, settings), settings)
    for field, text in found.items():
        notes[field].warning(f"**{FIELDS[field].label}**: {text}.", icon=":material/block:")
    if found:
        labels = ", ".join(FIELDS[field].label for field in found)
        st.warning(f"Launch waits for a change to: {labels} (said next to each field).", icon=":material/block:")
    return config, found


@st.cache_data(max_entries=64, ttl=30, show_spinner="Estimating the cost...")
def cost_of(config_json: str, measure: bool, measured: int, _settings: Settings) -> dict[str, Any]:
    """`estimate_cost` for a config; `measure` times the backbone here (loads TensorFlow, a few seconds) and
    remembers it for every page. Kept briefly, so a run that just finished lends its measured speed to the next
    estimate; `measured` (when a speed was last measured here) makes a measurement on another page count at once."""
    return estimate_cost(TrainConfig.from_dict(json.loads(config_json)), _settings, measure=measure)


def show_cost(config: TrainConfig, settings: Settings) -> dict[str, Any] | None:
    """How long the run takes on this machine and what it does, in plain words, with when it would start (the
    queue's wait, with a warning about a replay or study ahead); None when it cannot be estimated."""
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    try:
        cost = cost_of(config_json, False, measurements_saved(settings), settings)
        if cost["seconds"] is None and st.button("Measure this machine's speed", help="Times the network on "
                                                 "random photos, once for every page: a few seconds."):
            cost = cost_of(config_json, True, measurements_saved(settings), settings)
    except LabError as error:
        st.warning(f"No estimate: {error}")
        return None
    start = launch_wait(settings)
    if cost["seconds"] is None:
        st.markdown(f"**Time:** not known yet on this machine, {start}. It is learned from a first run with this "
                    "network and image size, or from a measurement.")
    else:
        st.markdown(f"**{time_in_words(cost['seconds']).capitalize()} on this machine, {start}:** "
                    f"{work_in_words(config, cost)}.")
        st.caption(f"Estimated from {cost['rate_source']}.")
    return cost


page()
