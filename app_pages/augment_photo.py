"""The Augment page's first part, not a page: choose the photo to augment, from a dataset or an upload.

A dataset newly scanned on the Dataset page is followed (`DATASET_PATH`); a photo is picked by class and
number (`lab.data.samples.class_photos`), and an uploaded one is kept in the workspace by its content
(`lab.data.photo_upload`). Choices another dataset no longer offers move to its first option.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from app_pages.session_keys import DATASET_PATH
from app_pages.uploads import one_small_enough, photo_upload_mb
from lab.data import ScanReport, scan
from lab.data.photo_upload import store_photo
from lab.data.samples import class_photos
from lab.errors import LabError
from lab.settings import Settings
from lab.workspace import dataset_names

DATASET, UPLOAD = "A photo from a dataset", "Upload a photo"


@st.cache_data(max_entries=4, show_spinner="Scanning the dataset (once; later visits are instant)...")
def scanned(path: str) -> ScanReport:
    return scan(path)


def choose_photo(settings: Settings) -> tuple[str | None, str | None]:
    """(the photo's path, None while the upload box is empty; the dataset folder it came from, None for an upload)."""
    st.session_state.setdefault("augment_source", DATASET)
    if st.radio("Photo", (DATASET, UPLOAD), horizontal=True, label_visibility="collapsed",
                key="augment_source") == UPLOAD:
        return uploaded_photo(settings), None
    return dataset_photo(settings)


def dataset_photo(settings: Settings) -> tuple[str, str]:
    names = {str(folder): name for folder, name in dataset_names(settings).items()}
    current = st.session_state.get(DATASET_PATH)  # set by the Dataset page
    if current and current not in names:
        names = {current: Path(current).name, **names}
    if not names:
        raise LabError("No image folders found in the data folders: add one on the Dataset page, or upload a photo.")
    if current and st.session_state.get("augment_followed") != current:  # a dataset newly scanned: follow it
        st.session_state["augment_dataset"] = st.session_state["augment_followed"] = current
    keep_choice("augment_dataset", list(names))
    folder_column, class_column, number_column = st.columns([3, 1, 1], vertical_alignment="bottom")
    folder = folder_column.selectbox("Dataset", list(names), format_func=names.get, key="augment_dataset")
    report = scanned(folder)
    if not report.records:
        raise LabError(f"{names[folder]} holds no usable images: pick another dataset, or upload a photo.")
    keep_choice("augment_class", list(report.classes))
    label = class_column.selectbox("Class", list(report.classes), key="augment_class")
    photos = class_photos(report.records, label)
    if st.session_state.get("augment_photo", 1) > len(photos):  # another class may hold fewer photos
        st.session_state["augment_photo"] = 1
    number = number_column.number_input("Photo number", 1, len(photos), key="augment_photo",
                                        help=f"1 to {len(photos)}: the {label} photos in file-name order")
    st.button("Another photo", icon=":material/shuffle:", on_click=_random_photo, args=(len(photos),))
    return photos[number - 1].path, folder


def keep_choice(key: str, options: list[str]) -> None:
    """Move a choice the options no longer hold (another dataset's classes) to the first option.

    Set, not dropped: the browser keeps showing a keyed selectbox's old value until the server sends a new one.
    """
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]


def _random_photo(count: int) -> None:
    st.session_state["augment_photo"] = int(np.random.default_rng().integers(1, count + 1))


def uploaded_photo(settings: Settings) -> str | None:
    upload = st.file_uploader("A photo of a cat or a dog", type=["jpg", "jpeg", "png", "bmp", "gif", "webp"],
                              max_upload_size=photo_upload_mb(settings))
    upload = one_small_enough(upload, settings)
    if upload is None:
        st.info("Drop a photo on the box above, or press Upload (JPEG, PNG, BMP, GIF or WebP), to see what "
                "training would make of it. Your settings are kept, and \"A photo from a dataset\" brings its "
                "photo back.",
                icon=":material/add_photo_alternate:")
        return None
    return str(store_photo(upload.getvalue(), upload.name, settings.workspace))
