"""The Dataset page's "See the photos as the network sees them", not a page: the photo map of the scanned data.

A thin view over `lab.inspection`: every photo's pooled features through a chosen backbone (`photo_features`,
from the feature cache), projected to a plane (`project`: UMAP, or PCA when time is short), drawn by
`photo_map_figure` (each point's index in `customdata`, names escaped). Selecting points (a click, a box, a lasso)
shows their photos below; the map downloads as one offline HTML file (`map_html`). Also the backbone picker the
label check and the near-duplicates share: only backbones with weights this machine can load without a network.
TensorFlow loads only when a map is computed: `lab.inspection.photo_features` is imported inside the function.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import streamlit as st
from PIL import Image

from app_pages.charts import COLOURS
from app_pages.dataset_source import progress_bar
from app_pages.plain_text import error_text
from lab.data import ScanReport
from lab.data.records import ImageRecord
from lab.data.thumbnail import square_thumbnail
from lab.errors import LabError
from lab.inspection.photo_map import MapPoint, map_html, map_points, photo_map_figure
from lab.settings import Settings, load_settings
from lab.training.backbones import get_spec
from lab.training.form import weights_label
from lab.training.weights import weights_available

PROJECTIONS = {"umap": "UMAP (keeps neighbours together; about a minute for 3,000 photos)",
               "pca": "PCA (fast, linear: a few seconds)"}
MAP_COLOURS = {"class": "class", "split": "split"}
MAX_SELECTED = 24  # photos of a selection drawn below the map; the count says how many were selected
PER_ROW = 6


@st.cache_data(ttl=60, show_spinner=False)
def usable_weights(weights_dirs: tuple[str, ...], _settings: Settings) -> list[tuple[str, str]]:
    """(backbone, weights) pairs that see photos as ImageNet taught them and load here: local files first."""
    found = [(name, weights) for name, choices in weights_available(_settings).items()
             for weights in choices if weights != "none"]
    return sorted(found, key=lambda pair: (pair[1] == "imagenet", pair[0] != "mobilenet_v2", pair[0]))


def network_choice(key: str, settings: Settings) -> tuple[str, str] | None:
    """A picker of (backbone, weights) with pretrained weights usable here; None (and why) when there are none."""
    options = usable_weights(tuple(map(str, settings.weights_dirs)), settings)
    if not options:
        st.info("No pretrained weights on this machine: put a backbone's ImageNet weights file in a weights folder "
                f"({', '.join(map(str, settings.weights_dirs))}) to see the photos through it.")
        return None
    return st.selectbox("Network to see the photos through", options, key=key,
                        format_func=lambda pair: f"{get_spec(pair[0]).display_name} · {weights_label(pair[1])}",
                        help="Its pooled features place each photo: photos it sees alike land near each other.")


@st.cache_resource(max_entries=8, show_spinner=False)
def features_of(root: str, photos: int, backbone: str, weights: str, _records: Sequence[ImageRecord] = (),
                _computed: np.ndarray | None = None) -> np.ndarray:
    """One row of pooled features per photo, kept across reruns; computed with a progress bar by `compute`, or
    (when evicted) again here from the feature cache."""
    if _computed is not None:
        return _computed
    from lab.inspection.photo_features import photo_features

    return photo_features(_records, backbone, weights=weights, settings=load_settings())


@st.cache_data(max_entries=16, show_spinner=False)
def coordinates_of(root: str, photos: int, backbone: str, weights: str, method: str,
                   _features: np.ndarray | None = None, _computed: np.ndarray | None = None) -> np.ndarray:
    """The map's (x, y) per photo, kept across reruns (keyed by dataset, backbone, weights and projection)."""
    if _computed is not None:
        return _computed
    from lab.inspection.projection import project

    return project(_features, method=method)


def compute_features(report: ScanReport, backbone: str, weights: str) -> np.ndarray:
    """The features with a progress bar (the backbone runs only on photos the feature cache has not seen)."""
    from lab.inspection.photo_features import photo_features

    key = (str(report.root), len(report.records), backbone, weights)
    with progress_bar("Seeing the photos through the network...") as update:
        features = photo_features(report.records, backbone, weights=weights, settings=load_settings(),
                                  on_progress=update)
    return features_of(*key, _computed=features)


def compute_map(report: ScanReport, backbone: str, weights: str, method: str) -> np.ndarray:
    """Features, then the projection, each with its progress; the result cached for the next reruns."""
    from lab.inspection.projection import project

    features = compute_features(report, backbone, weights)
    with progress_bar("Laying the photos out...") as update:
        coordinates = project(features, method=method, on_progress=update)
    return coordinates_of(str(report.root), len(report.records), backbone, weights, method, _computed=coordinates)


def photo_map_section(report: ScanReport, settings: Settings) -> None:
    """The expander: backbone, projection, Draw; then the map, what is selected on it, and the download."""
    with st.expander("See the photos as the network sees them", icon=":material/scatter_plot:"):
        st.caption("Each photo becomes a point: photos the network sees alike land near each other. Classes that "
                   "form separate islands are easy to tell apart; a photo inside the other class's island is worth a "
                   "look (a wrong label, an odd photo).")
        choice = network_choice("map_network", settings)
        if choice is None:
            return
        method_col, colour_col = st.columns(2)
        method = method_col.radio("Projection", list(PROJECTIONS), format_func=PROJECTIONS.get, key="map_method")
        colour = colour_col.radio("Colour by", list(MAP_COLOURS), key="map_colour", horizontal=True)
        key = (str(report.root), len(report.records), *choice, method)
        if st.button("Draw the map", icon=":material/scatter_plot:", type="primary"):
            try:
                compute_map(report, *choice, method)
            except LabError as error:
                st.error(error_text(error))
                return
            st.session_state["map_drawn"] = key
        if st.session_state.get("map_drawn") != key:
            st.caption("Press **Draw the map**: the network looks at every photo once (later maps read its features "
                       "from the cache).")
            return
        points = map_points(report.records, coordinates_of(*key))
        draw_map(points, colour)


def draw_map(points: list[MapPoint], colour: str) -> None:
    """The chart (select points with a click, a box or a lasso), the selected photos, and the download."""
    figure = photo_map_figure(points, colour)
    figure.update_layout(height=560, dragmode="lasso")
    for trace, shade in zip(figure.data, COLOURS):  # the class colours of the page's other charts, not the theme's
        trace.marker.color = shade
    event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box", "lasso"),
                            key="photo_map_chart")
    st.caption(f"{len(points):,} photos. Hover a point for its name; select points (click, box or lasso) to see "
               "their photos below.")
    selected_gallery(points, selected_indices(event))
    st.download_button("Download the map (HTML, works offline)", data=lambda: map_html(points, colour),
                       file_name="photo_map.html", mime="text/html", icon=":material/download:")
    st.caption("The downloaded map shows each photo when you hover its point, and larger when you click it.")


def selected_indices(event) -> list[int]:
    """The photos a chart selection holds, by their index in `customdata` (Plotly may send it in a list)."""
    try:
        chosen = event["selection"]["points"]
    except (KeyError, TypeError):
        return []
    found = []
    for point in chosen:
        data = point.get("customdata")
        if isinstance(data, list):
            data = data[0] if data else None
        if data is not None:
            found.append(int(data))
    return list(dict.fromkeys(found))


def selected_gallery(points: Sequence[MapPoint], indices: Sequence[int]) -> None:
    """The selected photos (at most `MAX_SELECTED`), each captioned with its file name as text."""
    if not indices:
        return
    chosen = [points[i] for i in indices if 0 <= i < len(points)]
    more = f"; the first {MAX_SELECTED} shown" if len(chosen) > MAX_SELECTED else ""
    st.markdown(f"**{len(chosen):,} photos selected**{more}")
    photo_grid([(point.path, f"{point.name} · {point.label}") for point in chosen[:MAX_SELECTED]])


def photo_grid(files: Sequence[tuple[str, str]], per_row: int = PER_ROW) -> None:
    """Thumbnails of (path, caption), `per_row` to a row; a file that does not open says so."""
    for start in range(0, len(files), per_row):
        for column, (path, caption) in zip(st.columns(per_row), files[start:start + per_row]):
            image = thumbnail(path)
            if image is None:
                column.text(f"{caption}: no preview")
            else:
                column.image(image, caption=caption, width="stretch")


@st.cache_data(max_entries=512, show_spinner=False)
def thumbnail(path: str, size: int = 160) -> Image.Image | None:
    return square_thumbnail(path, size)
