"""What the Predict page and its demo view share: the run's predictor, loaded once per run, and each photo's
answer, cached by the photo's content, the run and whether test-time augmentation is on, so a rerun (a slider
moved, a class picked) never predicts again. Answers are calibrated (the run's temperature,
`lab.evaluation.calibration`), so the words for how sure it is ("Fairly sure") describe how often it is right.

Not a page. TensorFlow is imported only when a predictor is first built (inside `lab.evaluation`).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st

from lab.errors import LabError
from lab.evaluation.accuracy_text import accuracy_text
from lab.evaluation.predict import Explanation, Predictor
from lab.run_files import RunFiles
from lab.runs.table import best_first, finished_with_model

DISPLAY_SIDE = 640  # photos are shown (and overlaid) at most this many pixels a side
UPLOAD_TYPES = ["jpg", "jpeg", "png", "webp", "bmp", "gif"]


@dataclass(frozen=True)
class Photo:
    """A photo to predict: its name and its bytes (an upload, a camera shot, or a file read from disk), and
    for a file the name of the folder it sits in (in a class-folder dataset, what the photo shows)."""

    name: str
    data: bytes
    folder: str | None = None

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @classmethod
    def from_path(cls, path: str | Path) -> Photo:
        return cls(Path(path).name, Path(path).read_bytes(), Path(path).parent.name)


@dataclass(frozen=True)
class Answer:
    """One photo's answer as the page shows it, or `error` saying why the photo could not be used."""

    name: str
    explanation: Explanation | None = None  # probabilities, label, heatmap and the image the model saw
    overlay: np.ndarray | None = None  # the heatmap over `photo`
    photo: np.ndarray | None = None  # the photo at display size, uint8
    error: str | None = None


@st.cache_resource(max_entries=4, show_spinner="Loading the model (once per run)...")
def predictor(run_dir: str) -> Predictor:
    """One `Predictor` per run folder, kept for the server's life: loading a model takes seconds."""
    return Predictor(run_dir)


@st.cache_data(max_entries=64, show_spinner="Loading the model (once per run)...")
def model_problem(run_dir: str, stamp: tuple[int, int]) -> str | None:
    """Why the run's model cannot predict here (the lab refuses it, or cannot read it), None when it loads.
    `stamp` (`model_stamp`) makes a model file replaced since be looked at again."""
    try:
        predictor(run_dir)
    except LabError as error:
        return str(error)
    return None


def model_stamp(run_dir: Path) -> tuple[int, int]:
    """The model file's size and modification time, (0, 0) when it is missing."""
    try:
        stat = RunFiles(run_dir).model.stat()
    except OSError:
        return 0, 0
    return stat.st_size, stat.st_mtime_ns


@st.cache_data(max_entries=256, show_spinner=False)
def answer(run_dir: str, digest: str, name: str, class_name: str | None, tta: str | None, _data: bytes) -> Answer:
    """The calibrated prediction (with `tta`, over test-time views) and Grad-CAM overlay of the photo whose bytes
    hash to `digest` (the bytes themselves are not hashed again); an unusable photo is an `Answer` with the
    reason, cached like any other."""
    try:
        shown = predictor(run_dir).explain_photo(_data, class_name, name=name, side=DISPLAY_SIDE, tta=tta)
    except LabError as error:
        return Answer(name, error=str(error))
    return Answer(name, shown.explanation, shown.overlay, shown.photo)


def answer_for(run_dir: Path, photo: Photo, class_name: str | None = None, tta: str | None = None) -> Answer:
    return answer(str(run_dir), photo.digest, photo.name, class_name, tta, photo.data)


def data_url(jpeg: bytes | None) -> str | None:
    """A JPEG's bytes as a data URL, for a table's image column; None stays None (no preview)."""
    return None if jpeg is None else "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def run_choices(runs_dir: Path) -> dict[str, str]:
    """Run id -> a readable label with its accuracies, for every run a photo can be predicted with, the best
    (`best_first`) first."""
    return {row["id"]: run_label(row) for row in best_first(finished_with_model(runs_dir))}


def run_label(row: dict[str, Any]) -> str:
    """"name (test 97.0% (95.1-98.2%), val ...)": each accuracy with its 95% interval."""
    scores = [f"{name} {accuracy_text(row[key], row.get(images))}" for name, key, images in
              (("test", "test_accuracy", "test_images"), ("val", "best_val_accuracy", "validation_images"))
              if isinstance(row.get(key), (int, float))]
    return f"{row['name']} ({', '.join(scores) or 'no accuracy yet'})"


def display_name(class_name: str) -> str:
    """A class folder's name as an answer: "dogs" -> "Dog", "tabby_cat" -> "Tabby cat"."""
    words = class_name.replace("_", " ").replace("-", " ").strip()
    if words.endswith("s") and not words.endswith("ss") and len(words) > 3:
        words = words[:-1]
    return words[:1].upper() + words[1:]


def sureness(confidence: float, threshold: float) -> str:
    """The confidence (calibrated: "Very sure" is right about 9 times in 10 or more) in words, for people who do
    not read probabilities."""
    if confidence < threshold:
        return "Not sure"
    return "Very sure" if confidence >= 0.9 else "Fairly sure"


def knows_sentence(classes: list[str], checked: bool = False) -> str:
    """What a model can answer, said once under the demo's answer: with an out-of-distribution check (`checked`)
    it says when a photo is none of its classes; without one it picks one of them for any photo, a car's
    included. Class names come from folders: show the sentence as text, never Markdown."""
    names = [name.replace("_", " ").replace("-", " ").strip() for name in classes]
    listed = " and ".join(names) if len(names) <= 2 else f"{', '.join(names[:-1])} and {names[-1]}"
    if checked:
        return f"This model knows {listed}, and says so when a photo looks like none of them."
    return f"This model knows {listed}: it gives one of these answers for any photo."


def neither_sentence(classes: list[str]) -> str:
    """The answer for a photo the run's out-of-distribution check flags, in the run's own class names: "This
    doesn't look like a cat or a dog". Class names come from folders: show it as text, never Markdown."""
    things = [f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name.lower()}"
              for name in map(display_name, classes)]
    listed = " or ".join(things) if len(things) <= 2 else f"{', '.join(things[:-1])} or {things[-1]}"
    return f"This doesn't look like {listed}"


def is_neither(explanation: Explanation) -> bool:
    """Whether the run's out-of-distribution check flags the photo (False for a run without the check)."""
    return explanation.novelty is not None and not explanation.novelty.in_distribution


def folder_verdict(photo: Photo, explanation: Explanation) -> str | None:
    """For a photo from a class folder, whether the model agrees with its folder ("its folder says dogs: the
    model agrees"); None for an upload, or a folder that is not one of the model's classes."""
    if photo.folder not in explanation.probabilities:
        return None
    if photo.folder == explanation.label:
        return f"Its folder says {photo.folder}: the model agrees."
    return f"Its folder says {photo.folder}: the model disagrees (it said {explanation.label})."
