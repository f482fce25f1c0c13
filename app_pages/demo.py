"""The Predict page's demo view (`?demo=1`): one large, calm layout for an audience that does not code.

A big answer ("Dog"), how sure it is in words and as a bar, what the model knows ("cats and dogs": it gives
one of them for any photo), the photo beside the heatmap of where the model looked, each half the screen
wide, and a way to give it a photo (upload, or the camera behind a toggle). A photo the run's
out-of-distribution check flags gets "This doesn't look like a cat or a dog" (in the run's class names)
instead of a confident wrong answer, and the class it would have picked only in small print. No technical controls:
the run is the one the link names (`&run=ID`), else the best finished run. Not a page of its own: the
Predict page draws it when the link asks, so one address serves both and the navigation stays one entry
per workflow step.
"""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import streamlit as st

from app_pages.answers import (
    UPLOAD_TYPES,
    Answer,
    Photo,
    answer_for,
    display_name,
    is_neither,
    knows_sentence,
    neither_sentence,
    sureness,
)
from app_pages.plain_text import as_text
from app_pages.uploads import one_small_enough, photo_upload_mb, photo_words
from lab.settings import load_settings

DEMO_THRESHOLD = 0.7  # the demo has no slider: below this the answer says "Not sure"
ANSWER_STYLE = "font-size:5.5rem;font-weight:700;line-height:1.1;margin:0"
NEITHER_STYLE = "font-size:3.5rem;font-weight:700;line-height:1.15;margin:0"  # a sentence, not one word
TALLEST = 640  # pixels: a tall photo's height in the demo (a column, about 600 pixels wide, sets a wide one's)
LEFT_KEY = "demo_left"  # set by "Leave the demo view": the next Predict run opens the sidebar again


def demo_view(run_dir: Path, run_name: str) -> None:
    """The demo for `run_dir`: a photo in, the big answer and the heatmap out. The sidebar starts closed, and
    opens again when the visitor leaves (`restore_sidebar`)."""
    st.set_page_config(initial_sidebar_state="collapsed")
    st.markdown("<h1 style='text-align:center'>Cat or dog? Show the computer a photo.</h1>",
                unsafe_allow_html=True)
    photo = demo_photo()
    if photo is None:
        st.markdown("<p style='text-align:center;font-size:1.4rem'>Drop a photo above, or switch on the camera. "
                    "The computer will say what it sees, and show where it looked.</p>", unsafe_allow_html=True)
        st.caption(f"A photo: {photo_words(load_settings())}.", width="stretch", text_alignment="center")
    else:
        show_answer(answer_for(run_dir, photo))
    st.caption(f"Model: {as_text(run_name)}")
    if st.button("Leave the demo view", key="demo_exit", type="tertiary"):
        del st.query_params["demo"]
        st.session_state[LEFT_KEY] = True
        st.rerun()


def restore_sidebar() -> None:
    """Just after leaving the demo view, the sidebar it closed opens again: "auto" is the app's own start
    (open on a wide screen). Sent once, so a sidebar the user closes on the page afterwards stays closed."""
    if st.session_state.pop(LEFT_KEY, False):
        st.set_page_config(initial_sidebar_state="auto")


def demo_photo() -> Photo | None:
    """The camera's shot when the camera is on, else the uploaded photo."""
    settings = load_settings()
    upload, camera = st.columns([3, 1], vertical_alignment="center")
    uploaded = upload.file_uploader("Your photo", type=UPLOAD_TYPES, key="demo_upload", label_visibility="collapsed",
                                    max_upload_size=photo_upload_mb(settings))
    uploaded = one_small_enough(uploaded, settings)
    shot = st.camera_input("Take a photo", key="demo_camera") if camera.toggle("Use the camera", key="demo_cam_on") \
        else None
    chosen = shot or uploaded
    return Photo(chosen.name, chosen.getvalue()) if chosen is not None else None


def show_answer(found: Answer) -> None:
    """The answer in big letters with how sure it is, what the model knows, then the photo and its heatmap
    side by side, each as wide as half the screen (about 600 pixels on a projector)."""
    if found.error:
        st.error(f"That photo cannot be used: {found.error}")
        return
    said, confidence = display_name(found.explanation.label), found.explanation.confidence
    classes = list(found.explanation.probabilities)
    if is_neither(found.explanation):
        show_neither(classes, said, confidence)
    else:
        words = sureness(confidence, DEMO_THRESHOLD)
        answer = said if words != "Not sure" else f"Maybe {said.lower()}?"
        st.markdown(f"<p style='text-align:center;{ANSWER_STYLE}'>{html.escape(answer)}</p>", unsafe_allow_html=True)
        _, bar, _ = st.columns([1, 2, 1])
        bar.progress(confidence, text=f"**{words}**: {confidence:.0%} sure it is {as_text(said.lower())}")
    st.text(knows_sentence(classes, found.explanation.novelty is not None), width="stretch", text_alignment="center")
    photo, heatmap = st.columns(2, gap="large")
    width = shown_width(found.photo)
    photo.image(found.photo, caption="The photo", width=width)
    heatmap.image(found.overlay, caption="Where it looked: red counted most for its answer", width=width)


def show_neither(classes: list[str], closest: str, confidence: float) -> None:
    """The answer for a photo unlike the training photos: the sentence in large letters, the class the
    classifier alone would have picked in small print (names from folders, escaped)."""
    sentence = html.escape(neither_sentence(classes))
    st.markdown(f"<p style='text-align:center;{NEITHER_STYLE}'>{sentence}</p>", unsafe_allow_html=True)
    st.caption(f"If it had to choose: {as_text(closest.lower())}, {confidence:.0%}. But this photo is unlike "
               "every photo it learned from.", width="stretch", text_alignment="center")


def shown_width(image: np.ndarray) -> int | str:
    """A wide photo fills its column; a tall one is narrowed to `TALLEST` pixels high, so it stays about as
    large as a wide one instead of running off the bottom of a projector's screen."""
    height, width = image.shape[:2]
    return "stretch" if height <= width else max(1, round(TALLEST * width / height))
