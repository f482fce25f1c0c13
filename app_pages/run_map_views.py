"""Compare's "Map of this run's photos", not a page: a chosen run's photos placed by its own backbone (as its
weights made it, before training), coloured by the run's answer or by whether it was wrong.

A thin view over `lab.inspection` (`photo_source` reads the run folder: its data, backbone, weights and stored
answers; `photo_features`, `project`, `photo_map_figure`). Photos the run was not evaluated on (its training
photos) have no answer. TensorFlow loads only when the map is drawn.
"""

from __future__ import annotations

import streamlit as st

from app_pages.dataset_source import progress_bar
from app_pages.photo_map_views import PROJECTIONS, selected_gallery, selected_indices
from app_pages.plain_text import error_text
from lab.errors import LabError
from lab.inspection.photo_map import MapPoint, photo_map_figure
from lab.runs.store import Run
from lab.settings import load_settings

RUN_COLOURS = ("mistake", "prediction")


@st.cache_data(max_entries=8, show_spinner=False)
def run_points(run_path: str, method: str, _computed: list[MapPoint] | None = None) -> list[MapPoint]:
    """The run's photos on the map, kept across reruns (computed with progress by `draw`, or here when evicted)."""
    return _computed if _computed is not None else points_of(run_path, method)


def points_of(run_path: str, method: str, on_progress=None) -> list[MapPoint]:
    from lab.inspection.photo_features import photo_features
    from lab.inspection.photo_map import map_points
    from lab.inspection.photo_source import photo_source
    from lab.inspection.projection import project

    settings, extra = load_settings(), ({"on_progress": on_progress} if on_progress else {})
    source = photo_source(run_path, settings=settings, **extra)
    features = photo_features(source.records, source.backbone, weights=source.weights, settings=settings,
                              image_size=source.image_size, **extra)
    return map_points(source.records, project(features, method=method, **extra), predictions=source.predictions)


def run_map_section(runs: list[Run], names: dict[str, str]) -> None:
    with st.expander("Map of this run's photos", icon=":material/scatter_plot:"):
        st.caption("The run's photos placed by its backbone: wrong answers inside the right class's island are "
                   "the model's slips; wrong answers between islands are photos that are hard for anyone.")
        chosen = st.selectbox("Run", [run.id for run in runs], format_func=names.get, key="run_map_run")
        method_col, colour_col = st.columns(2)
        method = method_col.radio("Projection", list(PROJECTIONS), format_func=PROJECTIONS.get, key="run_map_method")
        colour = colour_col.radio("Colour by", RUN_COLOURS, key="run_map_colour", horizontal=True)
        run = next(run for run in runs if run.id == chosen)
        key = (str(run.path), method)
        if st.button("Draw the run's map", icon=":material/scatter_plot:"):
            try:
                with progress_bar("Seeing the run's photos through its backbone...") as update:
                    run_points(*key, _computed=points_of(*key, on_progress=update))
            except LabError as error:
                st.error(error_text(error))
                return
            st.session_state["run_map_drawn"] = key
        if st.session_state.get("run_map_drawn") != key:
            return
        points = run_points(*key)
        figure = photo_map_figure(points, colour)
        figure.update_layout(height=520, dragmode="lasso")
        event = st.plotly_chart(figure, on_select="rerun", selection_mode=("points", "box", "lasso"),
                                key="run_map_chart")
        answered = sum(point.prediction is not None for point in points)
        st.caption(f"{len(points):,} photos, {answered:,} of them answered by the run (its validation and test "
                   "photos); select points to see their photos below.")
        selected_gallery(points, selected_indices(event))
