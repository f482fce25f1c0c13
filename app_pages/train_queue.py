"""The Train page's queue: a waiting run's place and expected start with "Run it next" and "Cancel" (its whole
replay or study too), and, before Launch, when a new run would start and what it would wait behind; the
Tutorials page shows a replay's runs in the queue with the same "Cancel the whole" button.

Not a page. A thin view over `lab.runs.queue` (the line, places, expected starts, in words), `lab.runs.jobs`
(run next, cancel) and `lab.workspace` (the replays and studies that queue as groups). A run's estimate is kept
five minutes, so the page's one-second polls read no earlier runs again.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from app_pages.plain_text import as_text
from lab.runs import jobs
from lab.runs.queue import QueuePlan, estimated_seconds, launch_text, place_text, plan_queue
from lab.runs.store import Run, RunStore
from lab.settings import Settings
from lab.workspace import QueueGroup, group_of, groups_ahead, moved_with, queue_groups


@st.cache_data(ttl=300, show_spinner=False)
def run_seconds(run_dir: str, _settings: Settings) -> float | None:
    """`lab.runs.queue.estimated_seconds` for one run, kept five minutes: a run's config does not change."""
    return estimated_seconds(_settings)(Run(Path(run_dir)))


def current_plan(settings: Settings) -> QueuePlan:
    """The queue as it stands: every waiting run's place and expected start."""
    return plan_queue(RunStore(settings.runs_dir).statuses(), settings.max_running,
                      lambda run: run_seconds(str(run.path), settings))


def waiting_card(run: Run, settings: Settings) -> None:
    """A queued run: its place and expected start, and the buttons to run it next or cancel it (or its group)."""
    place = current_plan(settings).place(run.id)
    groups = queue_groups(settings)
    group = group_of(groups, run.id)
    part = f" · part of the {as_text(group.label)}" if group else ""
    st.info(f"Queued: {place_text(place) if place else 'waiting for a worker'}{part}", icon=":material/schedule:")
    first, cancel, whole = st.columns(3)
    first.button(f"Run the {as_text(group.label)} next" if group else "Run it next", key=f"next_{run.id}",
                 icon=":material/vertical_align_top:", on_click=jobs.run_next,
                 args=(moved_with(groups, run.id), settings.runs_dir), disabled=place is None or place.position == 1,
                 help="Moves it to the front of the queue" + (", with its group in its planned order" if group else ""))
    cancel.button("Cancel this run", key=f"cancel_{run.id}", icon=":material/cancel:", on_click=jobs.cancel,
                  args=([run.id], settings.runs_dir), help="It never starts; the runs behind it move up.")
    if group:
        cancel_group(whole, group, settings)


def cancel_group(container: DeltaGenerator, group: QueueGroup, settings: Settings) -> None:
    container.button(f"Cancel the whole {as_text(group.label)}", key=f"cancel_group_{group.name}",
                     icon=":material/playlist_remove:", on_click=jobs.cancel,
                     args=(list(group.run_ids), settings.runs_dir),
                     help=f"Its {len(group.run_ids)} runs: those waiting never start, a running one stops.")


def group_in_queue(group: QueueGroup | None, settings: Settings) -> None:
    """A replay's or study's runs still waiting (how many, when they should be done) and a button that cancels
    them all; nothing once none of them waits."""
    ahead = groups_ahead(current_plan(settings), [group]) if group else []
    if ahead:
        waiting, cancel = st.columns([3, 1], vertical_alignment="center")
        waiting.caption(f"In the queue: {as_text(ahead[0])}")
        cancel_group(cancel, group, settings)


def launch_wait(settings: Settings) -> str:
    """When a run launched now would start ("starting in about 40 minutes (7 runs ahead)"), after warning
    about the replays and studies it would wait behind."""
    plan = current_plan(settings)
    ahead = groups_ahead(plan, queue_groups(settings))
    if ahead:
        st.warning(f"A run launched now waits behind {as_text(', '.join(ahead))}. Cancel or reorder the queue in "
                   "a queued run's card below, or with `python -m lab runs`.", icon=":material/schedule:")
    return launch_text(plan)
