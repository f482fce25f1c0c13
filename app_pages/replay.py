"""Tutorials: reproduce a whole tutorial with one click, its published figures beside this machine's numbers.

A thin view over `lab.replays`: the catalog (the two tutorials and their quick variants), the estimate, the
plan that queues every row, and the table read back from the runs, with the tutorial's findings checked against
them. Runs train in background workers; the table refreshes while they do, and survives reloads and restarts
(the replay is a record in the workspace).

The cards show at once: a card's time is estimated in a thread of its own (the first look at the Keras tutorial's
20,000 photos reads every one of them) and filled in when it arrives, as the home page does for the devices. The
home page's "Reproduce it" names its tutorial in the address (`?replay=keras-tutorial`): that card comes first,
marked as the one chosen.
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor, wait

import streamlit as st

from app_pages.plain_text import as_text
from app_pages.replay_views import sentences, show_table
from app_pages.session_keys import TUTORIAL_PARAM
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

VARIANT_LABELS = {"quick": "Quick", "published": "As published"}  # how long each takes here: the card's Time line
MAX_REPEATS = 5  # each repeat trains every row again: five already means a day for the published variants
REFRESH_SECONDS = 3.0  # how often a replay's table re-reads its runs while they train
ESTIMATE_GRACE_SECONDS = 0.5  # a time that arrives this fast is drawn with its card, not a moment after it
ESTIMATE_POLL_SECONDS = 1.0  # how often a card waiting for its time looks whether it has arrived
Preview = tuple[float | None, list[str]]  # `preview_replay`'s seconds (None: unknown here) and notes


@st.cache_resource(ttl=60, max_entries=32, show_spinner=False)
def estimate(replay: str, variant: str, data: str, repeats: int, workspace: str, _settings: Settings
             ) -> Future[Preview]:
    """`preview_replay` in a thread of its own, kept a minute (`workspace` only keys it).

    On a fresh workspace the estimate of the Keras tutorial scans its 20,000 photos (many seconds; cached after);
    in the script it would hold the whole page blank. The scan decodes in threads that release Python's lock, so
    the page and other tabs carry on meanwhile."""
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="replay-estimate")
    job = pool.submit(preview_replay, REPLAYS[replay], variant, _settings, data=data, repeats=repeats)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return job


@st.cache_data(ttl=60, show_spinner="Timing each backbone on a few random images...")
def measured(replay: str, variant: str, data: str, repeats: int, _settings: Settings) -> Preview:
    """`preview_replay` with this machine's speed measured (asked for with a button, so it may hold the page)."""
    return preview_replay(REPLAYS[replay], variant, _settings, data=data, measure=True, repeats=repeats)


def start_section(settings: Settings, chosen: str | None) -> None:
    st.subheader("Start a replay")
    replays = sorted(REPLAYS.values(), key=lambda replay: replay.name != chosen)  # the one chosen comes first
    for column, replay in zip(st.columns(len(replays), gap="medium"), replays):
        with column.container(border=True, height="stretch", key=f"replay_card_{replay.name}"):
            replay_card(replay, settings, chosen=replay.name == chosen)


def chosen_replay() -> str | None:
    """The tutorial the home page's "Reproduce it" chose (`?replay=...`); None for none, or for a name that is no
    tutorial (said, with both cards shown)."""
    name = st.query_params.get(TUTORIAL_PARAM)
    if name is None or name in REPLAYS:
        return name
    st.warning(f"There is no tutorial called \"{as_text(name)}\" (the link's `{TUTORIAL_PARAM}=`): choose one of "
               "the two below.", icon=":material/help:")
    return None


def replay_card(replay: Replay, settings: Settings, *, chosen: bool = False) -> None:
    st.markdown(f"**{replay.title}**")
    if chosen:
        st.badge("The one you chose", icon=":material/school:", color="blue")
    st.caption(f"{replay.source}. Rows: " + "; ".join(
        f"{e.label}" + (f" ({e.published:.0%} published)" if e.published else "") for e in replay.experiments))
    variant = st.radio("How", list(replay.variants), key=f"replay_variant_{replay.name}", horizontal=True,
                       format_func=VARIANT_LABELS.get, help=" · ".join(v.note for v in replay.variants.values()))
    data = dataset_choice(replay, settings)
    repeats = int(st.number_input("Repeats", min_value=1, max_value=MAX_REPEATS, value=1,
                                  key=f"replay_repeats_{replay.name}",
                                  help="Train every row this many times with other seeds: the table shows each "
                                       "row's mean and spread, and the findings use every repeat."))
    if not time_estimate(replay, variant, data, repeats, settings):
        return
    if st.button("Start this replay", key=f"replay_start_{replay.name}", type="primary",
                 icon=":material/play_arrow:"):
        start(replay, variant, data, repeats, settings)


def time_estimate(replay: Replay, variant: str, data: str, repeats: int, settings: Settings) -> bool:
    """The variant's notes and its time here, or a placeholder that fills in when the estimate arrives; False
    when the replay cannot run on `data` (said as a warning)."""
    job = estimate(replay.name, variant, data, repeats, str(settings.workspace), settings)
    wait([job], timeout=ESTIMATE_GRACE_SECONDS)
    if not job.done():
        st.fragment(estimate_pending, run_every=ESTIMATE_POLL_SECONDS)(job)
        return True
    try:
        seconds, notes = job.result()
        if seconds is None and st.button("Measure this machine's speed", key=f"replay_measure_{replay.name}",
                                         help="Times each backbone on a few random images: some seconds."):
            seconds, notes = measured(replay.name, variant, data, repeats, settings)
    except LabError as error:
        st.warning(str(error))
        return False
    st.caption(sentences([replay.variants[variant].note, *notes]))
    st.markdown(f"**Time:** {minutes_text(seconds)}")
    return True


def estimate_pending(job: Future[Preview]) -> None:
    """Where a card's time will be: looks again every second, and redraws the page once the time has arrived."""
    if job.done():
        st.rerun(scope="app")
    st.caption(":material/hourglass_top: Estimating the time on this machine: the first look at these photos reads "
               "every one of them once. Everything else on the card is ready to use.")


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
        start_section(settings, chosen_replay())
    st.fragment(replays_section, run_every=REFRESH_SECONDS if training(settings) else None)(settings)


def training(settings: Settings) -> bool:
    """Whether a run of any replay is queued or running, so its table should refresh itself."""
    states = RunStore(settings.runs_dir).states()
    return any(states.get(row["run_id"]) in ACTIVE_STATES
               for name in list_replays(settings) for row in load_replay(name, settings).rows)


page()
