"""The Train page's experiment picker: the tutorials' experiments as described choices, each with its time here.

Not a page. A thin view over `lab.training.presets` (the experiments, in words), `lab.training.form` (which one
the form holds) and `lab.training.cost.preset_seconds` (how long one takes here). A preset's time may mean
counting a 20,000-photo dataset, so the picker never waits for it: it shows the times known so far, and
`fill_in_preset_times`, called once the rest of the page is drawn, works out the others and redraws the page
once they are known. The times are kept server-wide, afresh once a speed is measured or a run is added, and at
least every five minutes.
"""

from __future__ import annotations

import time
import zlib

import streamlit as st

from app_pages.train_form import fill_form, form_config
from lab.settings import Settings
from lab.training.cost import preset_seconds, time_in_words
from lab.training.form import matching_preset
from lab.training.measurements import measurements_saved
from lab.training.presets import DESCRIPTIONS, PRESETS

PRESET_KEY = "train_preset"  # + the preset the form holds and its labels: the picker's key
CUSTOM = "custom"  # the picker's choice for a form that is no preset (a sentinel, as None reads "Choose an option")
TIMES_KEPT_SECONDS = 300


def preset_picker(settings: Settings) -> None:
    """The experiments as described choices, showing the one the form holds (or custom), with their times."""
    config = form_config()
    held = (matching_preset(config, PRESETS) if config else None) or CUSTOM
    times = known_preset_times(settings)
    labels = {name: preset_label(name, times) for name in [*PRESETS, CUSTOM]}
    # A new widget whenever the form holds another preset or a label changes (a time worked out): a selectbox
    # whose selected label changes under the browser resets itself to its first option.
    picker = f"{PRESET_KEY}_{held}_{zlib.crc32(repr(labels).encode())}"
    options = list(labels)
    name = st.selectbox("Experiment", options, index=options.index(held), key=picker, on_change=apply_preset,
                        args=(picker, settings), format_func=labels.get,
                        help="Fills the form below; change anything before launching (it then reads custom).")
    if name == CUSTOM:
        st.caption("The form holds settings of your own; choose an experiment to start again from one.")
        return
    if name not in times:
        took = "Working out its time here..."
    else:
        took = f"Takes {time_in_words(times[name])} here" if times[name] is not None else \
            "Time unknown until this machine has measured its speed"
    st.caption(took, help=f"The same experiment on the command line: python -m lab train --preset {name}")


def apply_preset(picker: str, settings: Settings) -> None:
    name = st.session_state[picker]
    if name != CUSTOM:
        fill_form(PRESETS[name], settings)


def preset_label(name: str, times: dict[str, float | None]) -> str:
    if name == CUSTOM:
        return "Custom: your own settings"
    seconds = times.get(name)
    return DESCRIPTIONS[name] + (f" · {time_in_words(seconds)}" if seconds is not None else "")


@st.cache_resource(show_spinner=False)
def _times() -> dict[tuple[str, tuple[str | int, ...]], float | None]:
    """(preset, `_stamp`) -> its seconds here: shared by every session of this server."""
    return {}


def _stamp(settings: Settings) -> tuple[str | int, ...]:
    """What a preset's time depends on: the workspace, a speed measured there, its runs (whose speeds it learns
    from), and the five minutes a time is kept for."""
    runs = settings.runs_dir
    count = sum(1 for _ in runs.iterdir()) if runs.is_dir() else 0
    return str(settings.workspace), measurements_saved(settings), count, int(time.time() // TIMES_KEPT_SECONDS)


def known_preset_times(settings: Settings) -> dict[str, float | None]:
    """The presets whose time here is worked out already (None: unknown until measured); never works one out."""
    stamp, times = _stamp(settings), _times()
    return {name: times[(name, stamp)] for name in PRESETS if (name, stamp) in times}


def fill_in_preset_times(settings: Settings) -> None:
    """Work out the presets' times not known yet (each may count a preset's photos: seconds), after the page is
    drawn, and redraw it with them (the picker's labels, and its caption, which said it was working them out)."""
    stamp, times = _stamp(settings), _times()
    missing = [name for name in PRESETS if (name, stamp) not in times]
    found = {name: preset_seconds(PRESETS[name], settings) for name in missing}
    for old in [key for key in list(times) if key[1][0] == stamp[0] and key[1] != stamp]:  # outdated here
        times.pop(old, None)
    times.update({(name, stamp): seconds for name, seconds in found.items()})
    if found:
        st.rerun()
