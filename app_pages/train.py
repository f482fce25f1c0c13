"""Train: start from a tutorial experiment or from scratch, see what a run costs, launch it, watch it, stop it.

A thin view over `app_pages.train_form` (the form: every `TrainConfig` field as a widget),
`lab.training.form` (which preset the form holds, the form before anyone touches it),
`lab.training.cost` (what a run or a preset costs), `lab.training.preflight` (`problems` disables Launch and
says, next to the field and by its label, what to change; `preflight` is the last guard at launch),
`lab.runs.jobs` (launch), `app_pages.train_queue` (when a new run would start, and what it waits behind) and
`app_pages.train_runs` (the live view of the runs).
For newcomers: one line of what training does, the experiments as described choices, the essential
fields, the rest under "Advanced". Runs train in worker processes, never in this server.
A path typed into Data or Weights passes `lab.access`'s allow-lists before anything reads it; in demo
mode the page only says that training is switched off.
"""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from app_pages.session_keys import DATASET_PATH
from app_pages.train_form import config_form, fill_form, form_config, key, saved_at
from app_pages.train_queue import as_text, launch_wait
from app_pages.train_runs import RUN_KEY, runs_section
from lab.access import TRAINING_OFF, browser_config, refusals
from lab.errors import LabError
from lab.runs import jobs
from lab.settings import Settings, load_settings
from lab.training.config import FIELDS, TrainConfig
from lab.training.cost import details_text, estimate_cost, preset_seconds, time_in_words
from lab.training.form import config_from_form, matching_preset, starting_config
from lab.training.preflight import preflight, problems
from lab.training.presets import DESCRIPTIONS, PRESETS
from lab.workspace import dataset_names

PRESET_KEY = "train_preset"  # + the preset the form holds: the picker's key
CUSTOM = "custom"  # the picker's choice for a form that is no preset (a sentinel, as None reads "Choose an option")
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
    form(settings)
    runs_section(settings)


def form(settings: Settings) -> None:
    """Experiment, fields, what the run costs, and Launch."""
    if key("backbone") not in st.session_state:
        fill_form(starting_config(dataset_names(settings), st.session_state.get(DATASET_PATH)), settings)
    follow_dataset_page()
    preset_picker(settings)
    values, notes = config_form(settings)
    config, found = checked_config(values, notes, settings)
    if config is not None:
        st.caption(config.summary())
        if set(found) <= {"weights"}:  # the cost needs the images counted; missing weights do not change it
            show_cost(config, settings)
    if st.button("Launch", type="primary", disabled=config is None or bool(found), icon=":material/play_arrow:"):
        try:
            config = browser_config(config, settings)  # the last guards: the allow-lists, and the data or
            preflight(config, settings)  # weights may have gone since the form checked
            launched = jobs.launch(config, settings)
            st.session_state[RUN_KEY] = launched.id
            st.toast(f"Launched {as_text(launched.name())}")
        except LabError as error:
            st.error(str(error))


def apply_preset(picker: str, settings: Settings) -> None:
    name = st.session_state[picker]
    if name != CUSTOM:
        fill_form(PRESETS[name], settings)


def follow_dataset_page() -> None:
    """Train on the dataset the Dataset page chose last, once each time it chooses another."""
    chosen = st.session_state.get(DATASET_PATH)
    if chosen and chosen != st.session_state.get(SEEN_DATASET_KEY):
        st.session_state[SEEN_DATASET_KEY] = st.session_state[key("data")] = chosen
        st.session_state[key("train_split")] = "train"


def preset_picker(settings: Settings) -> None:
    """The tutorials' experiments as described choices, showing the one the form holds (or custom)."""
    config = form_config()
    held = (matching_preset(config, PRESETS) if config else None) or CUSTOM
    options = [*PRESETS, CUSTOM]
    picker = f"{PRESET_KEY}_{held}"  # a new widget whenever the form holds another preset: no stale choice to undo
    name = st.selectbox("Experiment", options, index=options.index(held), key=picker, on_change=apply_preset,
                        args=(picker, settings), format_func=lambda choice: preset_label(choice, settings),
                        help="Fills the form below; change anything before launching (it then reads custom).")
    if name == CUSTOM:
        st.caption("The form holds settings of your own; choose an experiment to start again from one.")
        return
    seconds = preset_time(name, settings)
    took = f"{time_in_words(seconds)} here" if seconds is not None else "time unknown until measured"
    st.caption(f"Preset `{name}` · {took}")


def preset_label(name: str, settings: Settings) -> str:
    if name == CUSTOM:
        return "Custom: your own settings"
    seconds = preset_time(name, settings)
    return DESCRIPTIONS[name] + (f" · {time_in_words(seconds)}" if seconds is not None else "")


@st.cache_data(ttl=300, show_spinner=False)
def preset_time(name: str, _settings: Settings) -> float | None:
    """`lab.training.cost.preset_seconds`, kept five minutes: the picker asks for every preset on each rerun."""
    return preset_seconds(PRESETS[name], _settings)


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
def cost_of(config_json: str, measure: bool, _settings: Settings) -> dict[str, Any]:
    """`estimate_cost` for a config; `measure` times the backbone here (loads TensorFlow, a few seconds).
    Kept briefly, so a run that just finished lends its measured speed to the next estimate."""
    return estimate_cost(TrainConfig.from_dict(json.loads(config_json)), _settings, measure=measure)


def show_cost(config: TrainConfig, settings: Settings) -> None:
    """How long the run takes on this machine and when it would start (the queue's wait, with a warning about a
    replay or study ahead), in words, first; its parts and its work in FLOPs as a detail."""
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    try:
        cost = cost_of(config_json, False, settings)
        if cost["seconds"] is None and st.button("Measure this machine's speed", help="Times a forward pass of "
                                                 "the backbone on random images: a few seconds."):
            cost = cost_of(config_json, True, settings)
    except LabError as error:
        st.warning(f"No estimate: {error}")
        return
    start = launch_wait(settings)
    if cost["seconds"] is None:
        st.markdown(f"**Time:** not known yet on this machine, {start}. It is learned from a first run with this "
                    "backbone and image size, or from a measurement.")
    else:
        st.markdown(f"**{time_in_words(cost['seconds']).capitalize()} of training on this machine, {start}** "
                    f"(from {cost['rate_source']})")
    st.caption(details_text(cost))


page()
