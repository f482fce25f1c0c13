"""The Dataset page's first part, not a page: choose the photos (a folder, a zip or the sample) and scan them.

What was scanned is remembered for the rest of the session (and for the Augment and Train pages, through
`DATASET_PATH`), so the page draws the same report on every rerun without scanning again. A typed path
passes `lab.access`'s allow-list; in demo mode only the listed folders can be scanned.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st

from app_pages.session_keys import DATASET_PATH
from lab.access import allowed_data_path, shown_path
from lab.data import ScanReport, download_sample, scan
from lab.data.archive import store_upload
from lab.data.download import local_samples
from lab.errors import LabError
from lab.progress import Progress
from lab.settings import Settings, load_settings
from lab.workspace import dataset_names

FOLDER, UPLOAD, SAMPLE = "A folder on this server", "Upload a zip", "Download the sample"


@st.cache_resource(max_entries=8, show_spinner="Scanning...")
def scanned(path: str, scan_id: float, _report: ScanReport | None = None) -> ScanReport:
    """The scan of `path` made at `scan_id` (the time Scan was pressed), kept across reruns.

    The scan itself runs outside the cache, because a cached function cannot draw into a progress
    bar made outside it: `run_scan` scans with a live bar, then hands the report in as `_report`
    (left out of the cache key) to store it. Only an evicted entry is scanned again here. A resource
    cache rather than a data cache: the report is only read, and copying 20,000 records on every
    rerun would cost more than the rest of the page.
    """
    return _report if _report is not None else scan(path)


def choose_source(settings: Settings) -> str | None:
    """The path to scan when the user asked for a scan on this run, else None."""
    if settings.demo:
        st.caption("Demo mode: the datasets already on this server only; uploads and downloads are switched off.")
        return folder_source(settings)
    kind = st.radio("Where are your photos?", (FOLDER, UPLOAD, SAMPLE), horizontal=True)
    if kind == FOLDER:
        return folder_source(settings)
    if kind == UPLOAD:
        return upload_source(settings)
    return sample_source(settings)


def folder_source(settings: Settings) -> str | None:
    names = {str(folder): name for folder, name in dataset_names(settings).items()}
    folders = sorted(names, key=lambda folder: names[folder].casefold())  # by name, as people look for them
    current = st.session_state.get(DATASET_PATH)
    picked, typed = st.columns([2, 3])
    choice = picked.selectbox(
        "Image folder",
        folders,
        index=folders.index(current) if current in folders else 0,
        format_func=names.get,
        placeholder="No image folders found in the data folders",
    )
    path = "" if settings.demo else typed.text_input(  # demo mode: the configured folders only, no typed paths
        "...or type a folder or .zip inside the data folders",
        placeholder=str(settings.data_dirs[-1] / "my_photos") if settings.data_dirs else "",
        help="Allowed data folders: " + ", ".join(str(folder) for folder in settings.data_dirs),
    )
    if st.button("Scan", type="primary", icon=":material/search:"):
        target = path.strip() or choice
        if not target:
            raise LabError("Choose an image folder or type a path, then press Scan.")
        return str(allowed_data_path(settings, target))
    return None


def upload_source(settings: Settings) -> str | None:
    uploaded = st.file_uploader("A .zip of your photos (class folders, split folders or cat.1.jpg-style names)",
                                type=["zip"])
    if st.button("Unpack and scan", type="primary", disabled=uploaded is None, icon=":material/unarchive:"):
        return str(store_upload(uploaded.getvalue(), uploaded.name, settings.datasets_dir))
    return None


def sample_source(settings: Settings) -> str | None:
    """Download the sample, or, where this server already has a copy (no internet needed), scan that."""
    copies, names = local_samples(settings), dataset_names(settings)
    st.caption("Google's `cats_and_dogs_filtered` (about 65 MB): 2,000 training and 1,000 validation photos, "
               "the set the TensorFlow transfer-learning tutorial uses. Needs an internet connection"
               + (", or use the copy this server already has." if copies else "."))
    with st.container(horizontal=True):
        download = st.button("Download the sample dataset", type="primary", icon=":material/download:")
        used = [copy for copy in copies
                if st.button(f"Use {names.get(copy, copy.name)} from this server", icon=":material/folder_open:",
                             key=f"use_{copy}", help=f"A copy already here, in {copy.parent}: no download needed.")]
    if used:
        return str(used[0])
    if download:
        with progress_bar("Downloading...") as update:
            return str(download_sample(settings, on_progress=update))
    return None


def run_scan(path: str) -> ScanReport:
    """Scan with a progress bar, and remember what was scanned for the next reruns and pages."""
    scan_id = time.time()
    with progress_bar(f"Scanning {shown_path(path, load_settings())}...") as update:
        report = scanned(path, scan_id, _report=scan(path, on_progress=update))
    st.session_state["scan"] = (path, scan_id)
    st.session_state[DATASET_PATH] = str(report.root)
    return report


def current_report() -> ScanReport | None:
    """The last scan of this session, or a fresh scan of the dataset another page was using."""
    if "scan" in st.session_state:
        return scanned(*st.session_state["scan"])
    if DATASET_PATH in st.session_state:
        path = st.session_state.pop(DATASET_PATH)  # put back by a scan that succeeds
        return run_scan(path)
    return None


@contextmanager
def progress_bar(text: str) -> Iterator[Progress]:
    """A progress bar fed by a lab `on_progress` callback, removed when the work ends or fails."""
    bar = st.progress(0.0, text=text)

    def update(done: int, total: int, message: str) -> None:
        bar.progress(done / total if total else 0.0, text=f"{message}: {done:,} of {total:,}")

    try:
        yield update
    finally:
        bar.empty()
