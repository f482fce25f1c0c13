"""The Dataset page's near-duplicates, not a page: the same picture twice (resized, recompressed, mirrored) by the
network's eye, computed only when asked, and pairs across splits named as leakage, shown side by side.

A thin view over `lab.inspection.near_duplicates` on the features `app_pages.photo_map_views` keeps (the
backbone runs once per photo; a map drawn with the same network makes this instant).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import streamlit as st

from app_pages.photo_map_views import compute_features, features_of, network_choice, thumbnail
from app_pages.plain_text import error_text
from lab.data import ScanReport
from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.inspection.near_duplicates import DuplicatePair, near_duplicates
from lab.settings import Settings

CHECKED_KEY = "near_duplicates_check"  # (dataset, photos, backbone, weights) of the pairs shown
MAX_PAIRS = 12  # pairs drawn side by side; the count says how many there are


@st.cache_data(max_entries=8, show_spinner=False)
def pairs_of(root: str, photos: int, backbone: str, weights: str, _records: Sequence[ImageRecord] = (),
             _computed: list[DuplicatePair] | None = None) -> list[DuplicatePair]:
    """The pairs of a check, kept across reruns; found again (features from the caches) when evicted."""
    if _computed is not None:
        return _computed
    return near_duplicates(_records, features_of(root, photos, backbone, weights, _records=_records))


def near_duplicate_check(report: ScanReport, settings: Settings) -> None:
    """An expander (not inside the scan's tabs: choosing a network reruns the page, which shows the first tab
    again): a network, "Find near-duplicates", then a leakage warning with the pairs across splits side by side."""
    with st.expander("Near-duplicates", icon=":material/join:"):
        pairs_section(report, settings)


def pairs_section(report: ScanReport, settings: Settings) -> None:
    st.caption("The same picture resized, recompressed or mirrored has other bytes, so the scan's duplicate "
               "check misses it; through a network it looks the same. A pair across splits is leakage.")
    choice = network_choice("near_network", settings)
    if choice is None:
        return
    key = (str(report.root), len(report.records), *choice)
    if st.button("Find near-duplicates", icon=":material/join:"):
        try:
            features = compute_features(report, *choice)
        except LabError as error:
            st.error(error_text(error))
            return
        pairs_of(*key, _computed=near_duplicates(report.records, features))
        st.session_state[CHECKED_KEY] = key
    if st.session_state.get(CHECKED_KEY) != key:
        return
    pairs = pairs_of(*key, _records=report.records)
    crossing = [pair for pair in pairs if pair.crosses_splits]
    if crossing:
        st.warning(f"Leakage: {len(crossing):,} near-duplicate pair{'s' if len(crossing) != 1 else ''} across "
                   "splits (the same picture in train and in validation or test). The model is then checked on "
                   "pictures it trained on, and its accuracy looks better than it is. Leave one of each pair out.")
        for pair in crossing[:MAX_PAIRS]:
            side_by_side(pair)
        if len(crossing) > MAX_PAIRS:
            st.caption(f"...and {len(crossing) - MAX_PAIRS:,} more pairs across splits.")
    else:
        st.success("No near-duplicates across splits.")
    within = len(pairs) - len(crossing)
    if within:
        st.caption(f"{within:,} more near-duplicate pair{'s' if within != 1 else ''} within one split "
                   "(not leakage, but the same picture counted twice).")


def side_by_side(pair: DuplicatePair) -> None:
    """Two thumbnails, each with its file name, class and split as text, and the pair's similarity."""
    with st.container(border=True):
        columns = st.columns([2, 2, 3])
        for column, path, label, split in ((columns[0], pair.first, pair.first_label, pair.first_split),
                                           (columns[1], pair.second, pair.second_label, pair.second_split)):
            image = thumbnail(path)
            if image is not None:
                column.image(image, width="stretch")
            column.text(f"{Path(path).name}\n{label} · {split}")
        columns[2].text(f"similarity {pair.similarity:.3f}" + (" (the same bytes)" if pair.exact else ""))
