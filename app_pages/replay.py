"""Tutorials: reproduce a whole tutorial with one click, its published figures beside this machine's numbers.

A thin view over `lab.replays`: the catalog (the two tutorials and their quick variants), the estimate, the
plan that queues every row, and the table read back from the runs, with the tutorial's findings checked against
them. Runs train in background workers; the table refreshes while they do, and survives reloads and restarts
(the replay is a record in the workspace).
"""

from __future__ import annotations

import streamlit as st

from app_pages.replay_views import sentences, show_table
from app_pages.train_queue import group_in_queue
from lab.access import TRAINING_OFF
from lab.errors import LabError
from lab.replays.catalog import REPLAYS, Replay
from lab.replays.estimate import minutes_text, preview_replay
from lab.replays.plan import PlannedReplay, launch_replay, list_replays, load_replay, plan_replay, short_name
from lab.replays.table import replay_table
from lab.runs.status import ACTIVE_STATES
from lab.runs.store import RunStore
from lab.settings import Settings, load_settings
from lab.workspace import dataset_names, queue_groups

VARIANT_LABELS = {"quick": "Quick (about half an hour here)", "published": "As published"}
MAX_REPEATS = 5  # each repeat trains every row again: five already means a day for the published variants
REFRESH_SECONDS = 3.0  # how often a replay's table re-reads its runs while they train


@st.cache_data(ttl=60, show_spinner="Estimating the time on this machine...")
def preview(replay: str, variant: str, data: str, measure: bool, repeats: int, _settings: Settings
            ) -> tuple[float | None, list[str]]:
    """`preview_replay`, kept a minute: the estimate scans the photos (cached) and checks the weights."""
    return preview_replay(REPLAYS[replay], variant, _settings, data=data, measure=measure, repeats=repeats)


def start_section(settings: Settings) -> None:
    st.subheader("Start a replay")
    for column, replay in zip(st.columns(len(REPLAYS), gap="medium"), REPLAYS.values()):
        with column.container(border=True, height="stretch"):
            replay_card(replay, settings)


def replay_card(replay: Replay, settings: Settings) -> None:
    st.markdown(f"**{replay.title}**")
    st.caption(f"{replay.source}. Rows: " + "; ".join(
        f"{e.label}" + (f" ({e.published:.0%} published)" if e.published else "") for e in replay.experiments))
    variant = st.radio("How", list(replay.variants), key=f"replay_variant_{replay.name}", horizontal=True,
                       format_func=VARIANT_LABELS.get, help=" · ".join(v.note for v in replay.variants.values()))
    data = dataset_choice(replay, settings)
    repeats = int(st.number_input("Repeats", min_value=1, max_value=MAX_REPEATS, value=1,
                                  key=f"replay_repeats_{replay.name}",
                                  help="Train every row this many times with other seeds: the table shows each "
                                       "row's mean and spread, and the findings use every repeat."))
    try:
        seconds, notes = preview(replay.name, variant, data, False, repeats, settings)
        if seconds is None and st.button("Measure this machine's speed", key=f"replay_measure_{replay.name}",
                                         help="Times each backbone on a few random images: some seconds."):
            seconds, notes = preview(replay.name, variant, data, True, repeats, settings)
    except LabError as error:
        st.warning(str(error))
        return
    st.caption(sentences([replay.variants[variant].note, *notes]))
    st.markdown(f"**Time:** {minutes_text(seconds)}")
    if st.button("Start this replay", key=f"replay_start_{replay.name}", type="primary",
                 icon=":material/play_arrow:"):
        start(replay, variant, data, repeats, settings)


def dataset_choice(replay: Replay, settings: Settings) -> str:
    """The tutorial's dataset where this machine has it, else any dataset folder (by its friendly name)."""
    names = {str(folder): name for folder, name in dataset_names(settings).items()}
    own = next((path for path, name in names.items() if name == replay.data), None)
    options = [own or replay.data, *[path for path in names if path != own]]
    return st.selectbox("Photos", options, key=f"replay_data_{replay.name}",
                        format_func=lambda path: names.get(path, f"{path} (not on this machine)"),
                        help="Every row trains and is tested on the same split of these photos.")


def start(replay: Replay, variant: str, data: str, repeats: int, settings: Settings) -> None:
    try:
        with st.spinner("Splitting the photos once for every row, and queueing the runs..."):
            planned = launch_replay(plan_replay(replay, variant, settings, data=data, repeats=repeats), settings)
    except LabError as error:
        st.error(str(error))
        return
    st.toast(f"Queued {len(planned.rows)} runs: {replay.short}")


def replays_section(settings: Settings) -> None:
    names = list_replays(settings)
    if not names:
        st.info("No replay yet: start one above. Its table fills in here as its runs finish.")
        return
    st.subheader("Your replays")
    groups = {group.name: group for group in queue_groups(settings)}
    for index, name in enumerate(names):
        planned = load_replay(name, settings)
        with st.expander(replay_heading(planned), expanded=index == 0):
            group_in_queue(None if settings.demo else groups.get(name), settings)  # a demo cancels nothing
            show_table(replay_table(planned, settings.runs_dir))


def replay_heading(planned: PlannedReplay) -> str:
    """"Five-model replay · quick · 3 repeats · started 2025-05-01 14:02": what it is and when, not its file."""
    short, repeats = short_name(planned), f" · {planned.repeats} repeats" if planned.repeats > 1 else ""
    started = planned.created.replace("T", " ")[:16]
    return f"{short[:1].upper()}{short[1:]} · {planned.variant}{repeats} · started {started}"


def page() -> None:
    settings = load_settings()
    st.title("Reproduce a tutorial")
    st.markdown("Each replay runs a tutorial's experiments one after another on the same photos, and puts the "
                "accuracy the tutorial published beside what this machine measures, with what the tutorial "
                "found and whether it held here.")
    if settings.demo:
        st.info(TRAINING_OFF, icon=":material/block:")  # the replays already made stay readable below
    else:
        start_section(settings)
    st.fragment(replays_section, run_every=REFRESH_SECONDS if training(settings) else None)(settings)


def training(settings: Settings) -> bool:
    """Whether a run of any replay is queued or running, so its table should refresh itself."""
    states = RunStore(settings.runs_dir).states()
    return any(states.get(row["run_id"]) in ACTIVE_STATES
               for name in list_replays(settings) for row in load_replay(name, settings).rows)


page()
