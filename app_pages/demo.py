"""The Predict page's demo view (`?demo=1`): one large, calm layout for an audience that does not code.

A big photo beside the heatmap of what the model looked at, a big answer ("Dog"), how sure it is in words
and as a bar, and a way to give it a photo (upload, or the camera behind a toggle). No technical controls:
the run is the one the link names (`&run=ID`), else the best finished run. Not a page of its own: the
Predict page draws it when the link asks, so one address serves both and the navigation stays one entry
per workflow step.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from app_pages.answers import UPLOAD_TYPES, Answer, Photo, answer_for, display_name, sureness
from app_pages.train_queue import as_text
from app_pages.uploads import one_small_enough, upload_mb
from lab.settings import load_settings

DEMO_THRESHOLD = 0.7  # the demo has no slider: below this the answer says "Not sure"
ANSWER_STYLE = "font-size:5.5rem;font-weight:700;line-height:1.1;margin:0"


def demo_view(run_dir: Path, run_name: str) -> None:
    """The demo for `run_dir`: a photo in, the big answer and the heatmap out. The sidebar starts closed."""
    st.set_page_config(initial_sidebar_state="collapsed")
    st.markdown("<h1 style='text-align:center'>Cat or dog? Show the computer a photo.</h1>",
                unsafe_allow_html=True)
    photo = demo_photo()
    if photo is None:
        st.markdown("<p style='text-align:center;font-size:1.4rem'>Drop a photo above, or switch on the camera. "
                    "The computer will say what it sees, and show where it looked.</p>", unsafe_allow_html=True)
    else:
        show_answer(answer_for(run_dir, photo))
    st.caption(f"Model: {as_text(run_name)}")
    if st.button("Leave the demo view", key="demo_exit", type="tertiary"):
        del st.query_params["demo"]
        st.rerun()


def demo_photo() -> Photo | None:
    """The camera's shot when the camera is on, else the uploaded photo."""
    settings = load_settings()
    upload, camera = st.columns([3, 1], vertical_alignment="center")
    uploaded = upload.file_uploader("Your photo", type=UPLOAD_TYPES, key="demo_upload", label_visibility="collapsed",
                                    max_upload_size=upload_mb(settings))
    uploaded = one_small_enough(uploaded, settings)
    shot = st.camera_input("Take a photo", key="demo_camera") if camera.toggle("Use the camera", key="demo_cam_on") \
        else None
    chosen = shot or uploaded
    return Photo(chosen.name, chosen.getvalue()) if chosen is not None else None


def show_answer(found: Answer) -> None:
    if found.error:
        st.error(f"That photo cannot be used: {found.error}")
        return
    said, confidence = display_name(found.explanation.label), found.explanation.confidence
    words = sureness(confidence, DEMO_THRESHOLD)
    photo, heatmap, verdict = st.columns([2, 2, 3], gap="large", vertical_alignment="center")
    photo.image(found.photo, caption="The photo", width="stretch")
    heatmap.image(found.overlay, caption="Where it looked: red counted most for its answer", width="stretch")
    answer = said if words != "Not sure" else f"Maybe {said.lower()}?"
    verdict.markdown(f"<p style='text-align:center;{ANSWER_STYLE}'>{answer}</p>", unsafe_allow_html=True)
    verdict.progress(confidence, text=f"**{words}**: {confidence:.0%} sure it is {said.lower()}")
