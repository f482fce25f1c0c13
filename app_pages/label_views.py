"""The Dataset page's "Labels that look wrong", not a page: the training photos whose labels look wrong, and a
clean manifest without the ones a person ticks.

A thin view over `lab.inspection`: `label_issues` ranks the training split's photos (the split a run would train
on: `lab.data.run_data.source_manifest`, seed 0), flagged first; each flagged photo is shown with its given label,
the class it looks like and why, under a checkbox ticked to leave it out; `save_clean_manifest` saves the same
splits without the ticked photos (the photos and the dataset are never touched), and "Train the same on it"
opens the Train page with that manifest as Data (`TRAIN_DATA`). TensorFlow loads only when the check runs.
"""

from __future__ import annotations

import streamlit as st

from app_pages.dataset_source import progress_bar
from app_pages.photo_map_views import network_choice, thumbnail
from app_pages.plain_text import as_text, error_text
from app_pages.session_keys import TRAIN_DATA
from lab.data import ScanReport
from lab.errors import LabError
from lab.inspection.clean_manifest import clean_name, save_clean_manifest
from lab.inspection.label_issues import LabelIssue
from lab.settings import Settings, load_settings

CHECKED_KEY = "label_check"  # (dataset, backbone, weights) of the check shown
SAVED_KEY = "label_clean_saved"  # (name, photos left out) of the clean manifest saved last
MAX_LISTED = 60  # flagged photos drawn; the count says how many were flagged
TRAIN_PAGE = "app_pages/train.py"


@st.cache_data(max_entries=8, show_spinner=False)
def issues_of(root: str, photos: int, backbone: str, weights: str,
              _computed: list[LabelIssue] | None = None) -> list[LabelIssue]:
    """The ranked rows of a check, kept across reruns; computed with a progress bar by `run_check`, or (when
    evicted) again here, the features read from the cache."""
    return _computed if _computed is not None else check(root, backbone, weights)


def check(root: str, backbone: str, weights: str, on_progress=None) -> list[LabelIssue]:
    from lab.data.run_data import source_manifest
    from lab.inspection.label_issues import label_issues

    settings = load_settings()
    records = source_manifest(root, seed=0, settings=settings).splits.get("train", [])
    if not records:
        raise LabError("This dataset has no training photos to check.")
    extra = {"on_progress": on_progress} if on_progress else {}
    return label_issues(records, backbone, weights=weights, settings=settings, **extra)


def label_issues_section(report: ScanReport, settings: Settings) -> None:
    with st.expander("Labels that look wrong", icon=":material/label_off:"):
        st.caption("Small heads, each fitted without the photo it judges, say which class each training photo "
                   "looks like; confident learning flags the labels it doubts. Untick a photo to keep it.")
        choice = network_choice("labels_network", settings)
        if choice is None:
            return
        key = (str(report.root), len(report.records), *choice)
        if st.button("Check the labels", icon=":material/fact_check:"):
            try:
                with progress_bar("Checking the labels...") as update:
                    rows = check(str(report.root), *choice, on_progress=update)
            except LabError as error:
                st.error(error_text(error))
                return
            issues_of(*key, _computed=rows)
            st.session_state[CHECKED_KEY] = key
        if st.session_state.get(CHECKED_KEY) != key:
            return
        rows = issues_of(*key)
        flagged = [row for row in rows if row.flagged]
        if not flagged:
            st.success(f"{len(rows):,} training photos checked: no label looks wrong.")
            return
        st.warning(f"{len(flagged):,} of {len(rows):,} training photos look mislabelled, most suspect first"
                   + (f"; the first {MAX_LISTED} shown." if len(flagged) > MAX_LISTED else "."))
        ticked = [row for row in flagged[:MAX_LISTED] if issue_row(row)]
        clean_manifest_form(str(report.root), ticked, settings)


def issue_row(row: LabelIssue) -> bool:
    """A flagged photo: thumbnail, name, given label -> looks like, the reason; True when ticked to leave out."""
    picture, words = st.columns([1, 5])
    image = thumbnail(row.path)
    if image is not None:
        picture.image(image, width="stretch")
    leave = words.checkbox(f"Leave out {as_text(row.path.rsplit('/', 1)[-1])}", value=True,
                           key=f"label_leave_{row.digest}")
    words.markdown(f"labelled **{as_text(row.given)}** → looks like **{as_text(row.suggested)}** "
                   f"({row.confidence:.0%}) · score {row.score:.2f}")
    words.caption(as_text(row.reason))
    return leave


def clean_manifest_form(source: str, ticked: list[LabelIssue], settings: Settings) -> None:
    """A name (a default from `clean_name`), Save, and once saved, "Train the same on it"."""
    if settings.demo:
        st.caption("Demo mode: saving manifests is switched off on this server.")
        return
    name = st.text_input("Clean manifest name", value=clean_name(source, len(ticked), "label-issues"))
    if st.button("Save a clean manifest", type="primary", icon=":material/save:", disabled=not ticked,
                 help="The same splits without the ticked photos; the photos and this dataset stay as they are."):
        try:
            manifest, _ = save_clean_manifest(source, [row.digest for row in ticked], name=name.strip(),
                                              settings=settings)
        except LabError as error:
            st.error(error_text(error))
            return
        st.session_state[SAVED_KEY] = (manifest.name, len(ticked))
    if not st.session_state.get(SAVED_KEY):
        return
    saved, left_out = st.session_state[SAVED_KEY]
    st.success(f"Saved manifest **{as_text(saved)}** without {left_out:,} photos. The photos and the dataset "
               "are untouched.")
    if st.button("Train the same on it", icon=":material/model_training:",
                 help="Opens the Train page with this manifest as Data"):
        st.session_state[TRAIN_DATA] = saved
        st.switch_page(TRAIN_PAGE)
    st.caption("Train a run on the dataset and one on the clean manifest with the same settings: Compare's paired "
               "test then says whether leaving these photos out made a difference.")
