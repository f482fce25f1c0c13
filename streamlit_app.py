"""Transfer Lab: `streamlit run streamlit_app.py`.

The entry point holds the navigation, the sidebar (workspace, compute device, training jobs) and the
home page. Each step of the workflow is a page in `app_pages/`; everything that is not UI lives in `lab`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import streamlit as st

import lab  # noqa: F401  (switches on oneDNN before anything can import TensorFlow)
from app_pages.plain_text import as_text, error_text
from app_pages.script_cleanup import keep_keras_state
from app_pages.session_keys import TUTORIAL_PARAM
from app_pages.train_queue import current_plan
from lab.errors import LabError
from lab.leftovers import clean_leftovers
from lab.replays.catalog import REPLAYS
from lab.runs.describe import NOT_RESPONDING, shown_state
from lab.runs.jobs import reconcile
from lab.runs.queue import start_text
from lab.runs.status import RUNNING, UNKNOWN
from lab.runs.store import Run, RunStore, run_names
from lab.settings import Settings, load_settings
from lab.workspace import describe_device, summarize_workspace

st.set_page_config(page_title="Transfer Lab", layout="wide")
keep_keras_state()

# The workflow, in order: (page file, title, icon, what the step is for, in words a newcomer knows).
# The navigation and the home page's cards both follow it.
WORKFLOW = (
    ("app_pages/dataset.py", "Dataset", ":material/photo_library:",
     "Point the lab at your photos. It counts them per class, finds broken and duplicate files, "
     "and splits them into training and validation sets."),
    ("app_pages/augment.py", "Augment", ":material/auto_awesome:",
     "See how random flips, turns and zooms make each photo look new, so a model learns what a cat "
     "looks like instead of memorising the pictures."),
    ("app_pages/train.py", "Train", ":material/model_training:",
     "Pick a pre-trained network and a strategy, and train it on your photos, with progress and "
     "learning curves updating live."),
    ("app_pages/compare.py", "Compare", ":material/compare_arrows:",
     "Put runs side by side: which network, strategy or amount of data gave the best accuracy."),
    ("app_pages/predict.py", "Predict", ":material/image_search:",
     "Try a trained model on new photos, see what it looked at, and export it."),
)
TUTORIALS = "app_pages/replay.py"  # reproduce a whole tutorial in one click: offered first on the home page
JOB_POLL_SECONDS = 3  # how often every tab's sidebar re-reads the queue (a few small files)
DEVICE_POLL_SECONDS = 1  # how often the home page looks whether the device list has arrived
DEMO_NOTE = "Demo mode: prediction and comparison only."
LIST_DEVICES = "import json, lab, lab.training.devices as d; print(json.dumps(d.list_devices()))"


@st.cache_resource(show_spinner=False)
def clean_leftovers_once() -> None:
    """The leftovers of work killed before this server started, removed once per server."""
    clean_leftovers(load_settings())


@st.cache_resource(show_spinner=False)
def device_search() -> Future[list[dict[str, Any]]]:
    """TensorFlow's CPU and GPUs, listed once for the server's life, without holding up any page.

    Importing TensorFlow takes 10-20 s on a cold server. In the script it would hold every page's run
    (Streamlit's "Running" and Stop in the header, links that answer only afterwards); in a thread of the
    server it would hold Python's lock for seconds at a time, so every tab would stall instead. So a child
    process lists them, and a thread only waits for its answer.
    """
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="device-search")
    search = pool.submit(list_devices_in_child)
    pool.shutdown(wait=False)  # the thread ends with its one task
    return search


def list_devices_in_child() -> list[dict[str, Any]]:
    """`lab.training.devices.list_devices()`, run by a fresh interpreter with this app's environment."""
    listing = subprocess.run([sys.executable, "-c", LIST_DEVICES], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent, timeout=300)
    return json.loads(listing.stdout.strip().splitlines()[-1])


def compute_devices() -> list[dict[str, Any]] | None:
    """The device list, or None while TensorFlow is still loading."""
    search = device_search()
    return search.result() if search.done() else None


def home() -> None:
    st.title("Transfer Lab")
    st.markdown(
        "Teach a computer to tell **cats from dogs** without starting from zero. *Transfer learning* takes a "
        "network that has already learned to see from over a million everyday photos, keeps what it knows "
        "about edges, fur and shapes, and retrains only a small part of it on your pictures. That works "
        "with a few thousand photos and minutes of computing instead of days.\n\n"
        "This lab walks you through it: look at your photos, vary them, train models the way the classic "
        "tutorials do, and compare what works best."
    )
    tutorials()
    workflow()
    state, compute = st.columns([3, 2], gap="large")
    with state:
        workspace_state()
    with compute:
        compute_device()


def tutorials() -> None:
    """The quickest way in: a whole tutorial reproduced in one click, its published figures beside ours."""
    st.subheader("Reproduce a tutorial")
    st.caption("One click runs all of a tutorial's experiments on the same photos and puts the figures it "
               "published beside what this machine measures. The quick version fits a lesson.")
    for column, replay in zip(st.columns(len(REPLAYS)), REPLAYS.values()):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{replay.title}**")
            quick = next(iter(replay.variants.values())).note.split(": ", 1)[-1]
            st.caption(f"{replay.source}. Quick version: {quick}.")
            st.page_link(TUTORIALS, label="Reproduce it", icon=":material/school:",
                         query_params={TUTORIAL_PARAM: replay.name})  # opens with this tutorial's card first


def workflow() -> None:
    st.subheader("Or step by step")
    for number, (column, (page, title, icon, purpose)) in enumerate(
        zip(st.columns(len(WORKFLOW)), WORKFLOW), start=1
    ):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{number}. {title}**")
            st.caption(purpose)
            st.page_link(page, label=f"Open {title}", icon=icon)


def workspace_state() -> None:
    st.subheader("Your workspace")
    settings = load_settings()
    summary = summarize_workspace(settings)
    datasets, manifests, runs, running = st.columns(4)
    datasets.metric("Datasets", len(summary.datasets), help="Image folders found in the data folders.")
    manifests.metric("Saved splits", len(summary.manifests),
                     help="Manifests: named train / validation / test splits, saved on the Dataset page.")
    runs.metric("Training runs", len(summary.runs))
    running.metric("Running now", len(summary.running), help="Training jobs working in the background.")
    names = run_names(Run(settings.runs_dir / run_id) for run_id in summary.runs)  # what people read, not ids
    if summary.running:
        st.info(f"Training now: {as_text(', '.join(names[run_id] for run_id in summary.running))}"
                + (f" · {len(summary.queued)} waiting" if summary.queued else ""))
    for run_id, state in summary.runs.items():
        if state == UNKNOWN:
            reason = Run(settings.runs_dir / run_id).status().error
            st.warning(f"Run {as_text(names[run_id])} (folder `{run_id}`, to repair or delete): "
                       f"{error_text(reason or 'unreadable', settings)}",
                       icon=":material/warning:")
    if summary.datasets:
        st.caption("Datasets: " + ", ".join(f"`{folder.name}`" for folder in summary.datasets))
    if not summary.runs:
        st.caption("No training runs yet: start with step 1, Dataset.")


def compute_device() -> None:
    st.subheader("Compute")
    devices = compute_devices()
    if devices is None:
        st.fragment(devices_pending, run_every=DEVICE_POLL_SECONDS)()
    else:
        devices_found(devices)


def devices_pending() -> None:
    """A placeholder that looks again every second, and redraws the whole page (sidebar too) once the
    device list has arrived."""
    if compute_devices() is not None:
        st.rerun(scope="app")
    st.caption(":material/hourglass_top: Looking for GPUs: TensorFlow loads once per server, which takes "
               "a few seconds. The rest of the lab is ready to use.")


def devices_found(devices: list[dict[str, Any]]) -> None:
    gpus = [device for device in devices if device["type"] == "GPU"]
    for device in devices:
        st.markdown(f"- {describe_device(device)}")
    if gpus:
        st.caption(f"Training uses the GPU{'s' if len(gpus) > 1 else ''} automatically.")
    else:
        st.caption("No GPU found: training runs on the CPU. Small experiments take minutes; "
                   "the 20,000-image ones are for a machine with a GPU.")


def sidebar() -> None:
    """Workspace (in demo mode, what the lab offers instead), the compute device and the training jobs."""
    settings = load_settings()
    if settings.demo:  # a traceback names the server's folders: visitors get a generic message
        st.set_option("client.showErrorDetails", "none")
    with st.sidebar:
        if settings.demo:  # no server path: the workspace's location is a detail of the machine
            st.caption(DEMO_NOTE)
        else:
            st.caption("Workspace")
            st.code(str(settings.workspace), language=None, wrap_lines=True)
        st.fragment(job_status, run_every=JOB_POLL_SECONDS)()


def compute_summary(settings: Settings) -> str:
    """This server's devices, or the Ray cluster that trains the runs instead (its address hidden in demo mode)."""
    if settings.executor == "ray":
        where = "a Ray cluster" if settings.demo else f"the Ray cluster at `{settings.ray_address}`"
        return f"**Compute:** {where} trains the runs"
    devices = compute_devices()
    if devices is None:
        return "**Compute:** looking for GPUs..."
    gpus = sum(device["type"] == "GPU" for device in devices)
    return f"**Compute:** {gpus} GPU{'s' if gpus != 1 else ''}" if gpus else "**Compute:** CPU only"


def job_status() -> None:
    """The compute device, and which training jobs are running or waiting (in line order, with when the first
    should start); re-drawn every few seconds.

    Finding the devices imports TensorFlow (seconds, once per server, in a background thread): until then the
    first line says so, and the next poll after they are found names them, on whatever page is open.

    Every tab polls, whether or not a run was under way when it opened, so the tab that launches a run shows
    it within one poll. Each poll also reconciles the queue, so a worker that died is reported failed on every
    page.
    """
    settings = load_settings()
    reconcile(settings=settings)
    statuses = RunStore(settings.runs_dir).statuses()
    names = run_names(run for run, _ in statuses)  # "Basic CNN from scratch · five-model replay", never an id
    running = [f"{names[run.id]} ({NOT_RESPONDING})" if shown_state(status) == NOT_RESPONDING
               else names[run.id] for run, status in statuses if status.state == RUNNING]
    line = current_plan(settings).places  # the waiting runs in the order they will start
    st.markdown(compute_summary(settings))
    st.markdown("**Training:** " + (as_text(", ".join(running)) if running else "nothing running"))
    if line:
        first = f" · the first {start_text(line[0].wait)}" if line[0].wait is not None else ""
        waiting = ", ".join(names.get(place.run_id, "a run just made") for place in line)
        st.caption(f"{len(line)} waiting, in line: {as_text(waiting)}{first}")


def settings_or_stop() -> None:
    """A bad setting (`TRANSFER_LAB_RAY_ADDRESS` without a port, say) is one message on every page, not a
    traceback in every sidebar: `load_settings` checks each one, and nothing else runs until it is fixed."""
    try:
        load_settings()
    except LabError as error:
        st.error(f"{error} Set it where the app is started, then start the app again.", icon=":material/settings:")
        st.stop()


settings_or_stop()
clean_leftovers_once()
pages = [st.Page(home, title="Home", icon=":material/home:", default=True)]
pages += [st.Page(page, title=title, icon=icon) for page, title, icon, _ in WORKFLOW]
pages += [st.Page(TUTORIALS, title="Tutorials", icon=":material/school:")]
current = st.navigation(pages)
sidebar()
current.run()
