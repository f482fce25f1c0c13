"""Predict: try a finished run on new photos, see why it decided (Grad-CAM, feature maps), predict a whole
folder or zip, and export the model with its card. `?demo=1` shows the demo view (`app_pages.demo`).

A thin view over `lab.evaluation` (predict, export, stored evaluations). The model is loaded once per run
and each photo's answer cached by its content (`app_pages.answers`); session state holds only ids. Answers
are calibrated by the run's temperature (said under the threshold), and the TTA toggle averages each answer
with the photo's mirror image.
In demo mode (`Settings.demo`, not the `?demo=1` view) uploads are small (`app_pages.uploads`), no export
is made, and files go by their dataset's name.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
import streamlit as st

from app_pages.answers import (
    UPLOAD_TYPES,
    Answer,
    Photo,
    answer_for,
    data_url,
    display_name,
    folder_verdict,
    is_neither,
    model_problem,
    model_stamp,
    neither_sentence,
    predictor,
    run_choices,
    sureness,
)
from app_pages.charts import probability_bars
from app_pages.demo import demo_view, restore_sidebar
from app_pages.export_views import export_section
from app_pages.plain_text import as_text, error_text
from app_pages.session_keys import PREDICT_RUN
from app_pages.uploads import one_small_enough, photo_upload_mb, photo_words, small_enough, upload_mb
from lab.access import shown_path
from lab.errors import LabError
from lab.evaluation.calibration import load_calibration
from lab.evaluation.evaluate import evaluations
from lab.evaluation.interpretation import Interpretation
from lab.evaluation.predict import folder_images
from lab.paths import within
from lab.settings import Settings, load_settings
from lab.spreadsheet import frame_csv
from lab.workspace import dataset_folders

THRESHOLD_KEY, SOURCE_KEY, TTA_KEY = "predict_threshold", "predict_source", "predict_tta"
UNUSABLE_KEY = "predict_unusable_runs"  # ids of runs whose model was found unusable, said in the picker
BATCH_KEY = "predict_batch_results"  # (run id, what was predicted, results): kept until the next batch
THUMBNAIL_SIDE = 64  # a batch table's photo column: made while an uploaded zip's photos are still there
SOURCES = ("Upload photos", "Photos from a dataset", "The run's top losses")
NO_CHECK = ("No out-of-distribution check for this run (trained before it existed): it names one of its classes "
            "for any photo. `python -m lab evaluate` on the run fits one.")
TTA_HELP = ("Test-time augmentation: the model also looks at the photo's mirror image, and the two answers are "
            "averaged. Twice the work; `python -m lab evaluate RUN --tta` measures what it gains on the run's own "
            "photos.")
FEATURE_MAPS_HELP = ("Each small square is one filter of the chosen layer: bright where that filter found its "
                     "pattern (an edge, a texture, an eye) in the photo; early layers see edges, later ones parts.")


def page() -> None:
    settings = load_settings()
    runs = run_choices(settings.runs_dir)
    if st.query_params.get("demo") == "1" and runs:
        run_id = st.query_params.get("run") if st.query_params.get("run") in runs else next(iter(runs))
        if not unusable(settings.runs_dir / run_id, settings):
            demo_view(settings.runs_dir / run_id, runs[run_id])
        return
    restore_sidebar()
    st.title("Predict")
    if not runs:
        st.info("No finished run yet: train one on the Train page, then come back to try it on new photos.")
        return
    run_dir = choose_run(runs, settings)
    if unusable(run_dir, settings):
        return
    slider, toggle = st.columns([3, 1], vertical_alignment="bottom")
    threshold = slider.slider("Say \"not sure\" below this confidence", 0.5, 1.0, 0.7, 0.05, key=THRESHOLD_KEY,
                              help="When the top probability is under this line, the answer is marked as a guess.")
    tta = "flip" if toggle.toggle("Also look at its mirror image", key=TTA_KEY, help=TTA_HELP) else None
    st.caption(f"Confidence {load_calibration(run_dir).words()}.")
    photos, batch, export = st.tabs(["Photos", "A folder or zip", "Export"])
    with photos:
        photos_section(run_dir, settings, threshold, tta)
    with batch:
        batch_section(run_dir, settings, tta)
    with export:
        export_section(run_dir, settings)


def choose_run(runs: dict[str, str], settings: Settings) -> Path:
    """The run picker; a run whose model was found unusable (this run's, or an earlier pick's) says so in it."""
    if st.session_state.get(PREDICT_RUN) not in runs:
        st.session_state[PREDICT_RUN] = next(iter(runs))
    refused = st.session_state.setdefault(UNUSABLE_KEY, set())
    chosen = settings.runs_dir / st.session_state[PREDICT_RUN]
    if model_problem(str(chosen), model_stamp(chosen)):
        refused.add(chosen.name)
    pick, demo = st.columns([4, 1], vertical_alignment="bottom")
    run_id = pick.selectbox("Run", list(runs), key=PREDICT_RUN,
                            format_func=lambda run: runs[run] + (" · not usable" if run in refused else ""),
                            help="Finished runs; the best by test accuracy, then validation accuracy, comes first.")
    if demo.button("Open the demo view", icon=":material/slideshow:", key="predict_demo",
                   help="A big, simple view for an audience. Its link (?demo=1) can be shared."):
        st.query_params.update({"demo": "1", "run": run_id})
        st.rerun()
    return settings.runs_dir / run_id


def unusable(run_dir: Path, settings: Settings) -> bool:
    """Whether the run's model cannot predict here (refused by safe mode, damaged, not matching its classes);
    if so, why, in place of the page."""
    problem = model_problem(str(run_dir), model_stamp(run_dir))
    if problem:
        st.error(f"This run's model cannot be used to predict: {error_text(problem, settings)} Choose another "
                 "run in the Predict page's picker.", icon=":material/block:")
    return bool(problem)


# ---- one photo at a time -------------------------------------------------------------------------


def photos_section(run_dir: Path, settings: Settings, threshold: float, tta: str | None) -> None:
    source = st.radio("Photos from", SOURCES, key=SOURCE_KEY, horizontal=True)
    photos = (uploaded_photos(settings) if source == SOURCES[0] else
              dataset_photos(settings) if source == SOURCES[1] else top_loss_photos(run_dir))
    if not photos:
        return
    answers = [answer_for(run_dir, photo, tta=tta) for photo in photos]
    for photo, found in zip(photos, answers):
        with st.container(border=True):
            show_photo(run_dir, photo, found, threshold, tta)
    usable = [found for found in answers if not found.error]
    if usable:
        feature_maps(run_dir, usable)


def uploaded_photos(settings: Settings) -> list[Photo]:
    files = small_enough(st.file_uploader(f"Photos: {photo_words(settings)}", type=UPLOAD_TYPES,
                                          accept_multiple_files=True, key="predict_upload",
                                          max_upload_size=photo_upload_mb(settings)), settings)
    shot = st.camera_input("Take a photo", key="predict_camera") if st.toggle(
        "Use the camera", key="predict_camera_on", help="Off by default, so the browser asks for the camera only "
                                                        "when you want it.") else None
    return [Photo(f.name, f.getvalue()) for f in [*files, *([shot] if shot else [])]]


def dataset_photos(settings: Settings) -> list[Photo]:
    folders = dataset_folders(settings)
    if not folders:
        st.info("No datasets in the data folders: add one on the Dataset page.")
        return []
    folder = st.selectbox("Dataset", folders, key="predict_dataset", format_func=lambda p: p.name)
    files = [str(p.relative_to(folder)) for p in folder_images(folder)]
    chosen = st.multiselect("Photos", files, default=files[:2], key=f"predict_files_{folder.name}",
                            max_selections=12, placeholder="type part of a file name")
    return [Photo.from_path(folder / name) for name in chosen]


def top_loss_photos(run_dir: Path) -> list[Photo]:
    try:
        stored = evaluations(run_dir)
    except LabError as error:
        st.warning(str(error))
        return []
    if not stored:
        st.info("This run has no stored evaluation, so no top losses: pick photos from a dataset instead.")
        return []
    name = st.selectbox("Evaluation set", list(stored), key="predict_evaluation")
    rows = [row for row in Interpretation(stored[name]).top_losses(6) if Path(row["path"]).exists()]
    st.caption("The photos this run was most confidently wrong about, worst first.")
    return [Photo.from_path(row["path"]) for row in rows]


def show_photo(run_dir: Path, photo: Photo, found: Answer, threshold: float, tta: str | None) -> None:
    if found.error:
        st.error(error_text(found.error))
        return
    said = found.explanation
    other = st.session_state.get(f"predict_class_{photo.digest}")
    shown = answer_for(run_dir, photo, other, tta) if other and other != said.label else found
    picture, heatmap, verdict = st.columns([2, 2, 3])
    picture.image(found.photo, caption=photo.name, width="stretch")
    heatmap.image(shown.overlay, caption=f"Grad-CAM for {shown.explanation.explained}: red counted most",
                  width="stretch")
    words = sureness(said.confidence, threshold)
    classes = list(said.probabilities)
    if is_neither(said):
        verdict.markdown(f"### {as_text(neither_sentence(classes))}")
        verdict.caption(f"If it had to choose: {as_text(display_name(said.label))}, {said.confidence:.1%}. Its "
                        f"out-of-distribution score {said.novelty.score:.3g} is above this run's threshold "
                        f"{said.novelty.threshold:.3g}: the photo is unlike its training photos.")
    else:
        verdict.markdown(f"### {as_text(display_name(said.label))}" + (" — not sure" if words == "Not sure" else ""))
        verdict.caption(f"{words}: {said.confidence:.1%} (not sure below {threshold:.0%})"
                        + (", with its mirror image" if tta else ""))
    if checked := folder_verdict(photo, said):
        verdict.caption(as_text(checked))
    if said.novelty is None:
        verdict.caption(NO_CHECK)
    verdict.plotly_chart(probability_bars(said.probabilities, threshold), key=f"bars_{photo.digest}")
    classes = list(said.probabilities)
    verdict.selectbox("Heatmap for class", classes, index=classes.index(said.label),
                      key=f"predict_class_{photo.digest}")


def feature_maps(run_dir: Path, answers: list[Answer]) -> None:
    with st.expander("Feature maps: what the network sees inside"):
        st.caption(FEATURE_MAPS_HELP)
        model = predictor(str(run_dir))
        layers = model.feature_layers()
        photo, layer = st.columns(2)
        index = photo.selectbox("Photo", range(len(answers)), format_func=lambda i: answers[i].name,
                                key="predict_maps_photo")
        chosen = layer.selectbox("Backbone layer", layers, index=len(layers) // 2, key="predict_maps_layer")
        maps = model.feature_maps(answers[index].explanation.image, chosen)
        st.image(maps, caption=f"{chosen}: one square per filter")


# ---- a folder or a zip ------------------------------------------------------------------------------


def batch_section(run_dir: Path, settings: Settings, tta: str | None) -> None:
    folders = [sub for folder in dataset_folders(settings) for sub in [folder, *sorted(folder.glob("*/*/"))]
               if within(sub, [folder])]  # a link inside a dataset does not lead the batch out of it
    source, upload = st.columns(2)
    folder = source.selectbox("A folder from the data folders", folders, index=None, key="predict_batch_folder",
                              format_func=lambda p: folder_label(p, settings))
    archive = upload.file_uploader("or a zip of photos", type=["zip"], key="predict_batch_zip",
                                   max_upload_size=upload_mb(settings))
    archive = one_small_enough(archive, settings)
    if st.button("Predict them all", key="predict_batch", icon=":material/play_arrow:",
                 disabled=folder is None and archive is None):
        results = predict_batch(run_dir, settings, folder, archive, tta)
        st.session_state[BATCH_KEY] = (run_dir.name, archive.name if archive else str(folder), results)
    kept = st.session_state.get(BATCH_KEY)
    if kept and kept[0] == run_dir.name and kept[2] is not None:
        st.caption(f"Results for {Path(kept[1]).name}")
        batch_table(kept[2], settings)


def folder_label(folder: Path, settings: Settings) -> str:
    """The path below the disk's root, or in demo mode the dataset's name and the subfolder."""
    return shown_path(folder, settings) if settings.demo else str(folder.relative_to(folder.anchor))


def predict_batch(run_dir: Path, settings: Settings, folder: Path | None, archive, tta: str | None) -> list | None:
    """Every photo in the folder or the uploaded zip, predicted; None (with the reason shown) if it failed."""
    bar = st.progress(0.0, text="Predicting...")
    try:
        with tempfile.TemporaryDirectory(prefix="lab-batch-") as work:  # the zip itself; its photos are
            target = folder if archive is None else Path(work) / archive.name  # unpacked and removed by lab
            if archive is not None:
                target.write_bytes(archive.getvalue())
            return predictor(str(run_dir)).predict_files(
                target, settings=settings, tta=tta, thumbnail_side=THUMBNAIL_SIDE,
                on_progress=lambda done, total, _: bar.progress(done / max(total, 1)))
    except LabError as error:
        st.error(error_text(error, settings))
        return None
    finally:
        bar.empty()


def batch_table(results: list, settings: Settings) -> None:
    good = [r for r in results if r.error is None]
    frame = pd.DataFrame({"photo": [data_url(r.thumbnail) for r in good],
                          "file": [shown_path(r.path, settings) for r in good],
                          "predicted": [r.label for r in good], "confidence": [r.confidence for r in good],
                          "looks like none of them": [None if r.novelty is None else not r.novelty.in_distribution
                                                      for r in good]})
    st.markdown(f"**{len(good):,} photos predicted**" + (f", {len(results) - len(good)} unreadable" if
                                                          len(good) < len(results) else ""))
    st.dataframe(frame, hide_index=True, key="predict_batch_table", column_config={
        "photo": st.column_config.ImageColumn("photo", width="small"),
        "confidence": st.column_config.ProgressColumn("confidence", format="percent", min_value=0, max_value=1)})
    st.download_button("Download as CSV", frame_csv(frame.drop(columns="photo")).encode(),
                       "predictions.csv", "text/csv", icon=":material/download:", on_click="ignore")
    for bad in (r for r in results if r.error is not None):
        st.warning(error_text(f"{Path(bad.path).name}: {bad.error}", settings))


page()
