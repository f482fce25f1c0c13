"""Augment: see what random flips, turns, shifts and zooms do to a photo before training with them.

A thin view over `lab.augment`: the grid, each operation alone and the training batch are made by the same
`build_augmenter` that training passes to the tf.data pipeline, so what is shown here is what the model gets.
Parameters use the tutorials' `ImageDataGenerator` names and meanings; the controls show and read a spec
through `lab.augment.form`. Choosing the photo is `app_pages.augment_photo`.

The controls and everything they draw are one fragment (`workbench`): a slider step or a re-roll reruns only
that, with the photo decoded once and each spec's layers built once (cached), and only the images that
changed computed again. Choosing another photo reruns the page.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from app_pages.augment_photo import choose_photo, scanned
from app_pages.plain_text import error_text
from lab.augment import (
    BRIGHTNESS_ON,
    DEFAULT_PRESET,
    FILL_MODES,
    FORM_FIELDS,
    PARAMETERS,
    PRESETS,
    Augmenter,
    AugmentSpec,
    cli_command,
    control_bounds,
    form_values,
    preview,
    single_operations,
    spec_from_form,
    to_uint8,
    training_batch,
)
from lab.augment.legacy import legacy_generator_class, legacy_preview, missing_operations
from lab.errors import LabError
from lab.settings import load_settings
from lab.workspace import dataset_names

SIZES = (96, 128, 160, 192, 224, 299)
GRID_COLUMNS = 3
ALONE_COLUMNS = 9  # "each operation alone" shows every variant of the grid, up to nine to a row
KEPT = "augment_kept"  # session key of the settings' copies (`keep_settings`)
HASH_SPEC = {AugmentSpec: lambda spec: json.dumps(spec.to_dict(), sort_keys=True)}


# ---- cached lab calls: re-runs that change nothing cost nothing -----------------------------------


@st.cache_data(max_entries=32, show_spinner=False)
def original(path: str, size: int) -> np.ndarray:
    """The photo decoded and squashed to the training size exactly as the training pipeline does it."""
    from lab.data.pipeline import load_image  # imports TensorFlow

    return load_image(path, size)


@st.cache_resource(max_entries=64, show_spinner=False, hash_funcs=HASH_SPEC)
def augmenter(spec: AugmentSpec) -> Augmenter:
    """The spec's Keras layers, built once for every seed, photo and session."""
    return Augmenter(spec)


@st.cache_data(max_entries=128, show_spinner=False, hash_funcs=HASH_SPEC)
def variants(path: str, size: int, spec: AugmentSpec, n: int, seed: int) -> np.ndarray:
    """Cached per spec, so the single operations a change left alone are not computed again."""
    return to_uint8(preview(original(path, size), augmenter(spec), n, seed))


@st.cache_data(max_entries=16, show_spinner="Running the training pipeline...", hash_funcs=HASH_SPEC)
def batch_as_trained(dataset: str, size: int, spec: AugmentSpec, n: int, seed: int) -> tuple[np.ndarray, list[str]]:
    report = scanned(dataset)
    images, labels = training_batch(report.records, list(report.classes), spec, image_size=size, n=n, seed=seed)
    return to_uint8(images), labels


@st.cache_resource(show_spinner=False)
def legacy_available() -> bool:
    return legacy_generator_class() is not None


@st.cache_data(max_entries=16, show_spinner=False, hash_funcs=HASH_SPEC)
def legacy_variants(path: str, size: int, spec: AugmentSpec, n: int, seed: int) -> np.ndarray:
    return to_uint8(legacy_preview(original(path, size), spec, n, seed))


# ---- settings that outlive the widgets showing them ---------------------------------------------


def kept_keys() -> list[str]:
    """Every setting of this page: the photo, the size, the preset, each parameter, the grid and the views."""
    return ["augment_source", "augment_dataset", "augment_class", "augment_photo", "augment_size",
            "augment_preset", *(f"augment_{name}" for name in FORM_FIELDS), "augment_n", "augment_seed",
            "augment_show_batch", "augment_show_legacy"]


def keep_settings() -> None:
    """Give back the settings Streamlit dropped, and remember the current ones.

    Streamlit deletes a widget's value after any run that does not draw it: the dataset, class and photo
    number while "Upload a photo" is chosen, every control while the upload box is empty, all of them while
    another page is open. A copy under a key of our own survives, and comes back the next time the page runs.
    """
    kept = st.session_state.setdefault(KEPT, {})
    for key in kept_keys():
        if key in st.session_state:
            kept[key] = st.session_state[key]
        elif key in kept:
            st.session_state[key] = kept[key]


# ---- the parameters -----------------------------------------------------------------------------


def apply_preset() -> None:
    """Set every control to the chosen preset's value (a callback, so it runs before the controls draw)."""
    for name, value in form_values(PRESETS[st.session_state["augment_preset"]]).items():
        st.session_state[f"augment_{name}"] = value


def controls() -> AugmentSpec:
    """Preset plus one labelled control per ImageDataGenerator parameter; returns the spec they describe."""
    if "augment_preset" not in st.session_state:
        st.session_state["augment_preset"] = DEFAULT_PRESET
        apply_preset()
    st.selectbox("Preset", list(PRESETS), key="augment_preset", on_change=apply_preset,
                 help="keras-tutorial and five-model-tutorial are the tutorials' ImageDataGenerator settings; "
                      "light is the keras.io transfer-learning guide's flip and small rotation.")
    _slider("rotation_range", 1.0)
    _slider("width_shift_range", 0.01)
    _slider("height_shift_range", 0.01)
    shear = PARAMETERS["shear_range"]
    st.number_input(shear.label, *control_bounds(shear, 0.1), step=0.1, format="%.1f", key="augment_shear_range",
                    help=shear.help)
    _slider("zoom_range", 0.01)
    for name in ("horizontal_flip", "vertical_flip"):
        st.checkbox(PARAMETERS[name].label, key=f"augment_{name}", help=PARAMETERS[name].help)
    fill = PARAMETERS["fill_mode"]
    st.selectbox(fill.label, FILL_MODES, key="augment_fill_mode", help=fill.help)
    _slider("cval", 1.0, disabled=st.session_state["augment_fill_mode"] != "constant")
    brightness = PARAMETERS["brightness_range"]
    on = st.checkbox("Brightness", key=f"augment_{BRIGHTNESS_ON}", help=brightness.help)
    st.slider(brightness.label, 0.0, 2.0, step=0.05, key="augment_brightness_range", disabled=not on)
    _slider("contrast", 0.05)
    _slider("random_erasing", 0.05)
    return spec_from_form({name: st.session_state[f"augment_{name}"] for name in FORM_FIELDS})


def _slider(name: str, step: float, disabled: bool = False) -> None:
    parameter = PARAMETERS[name]
    st.slider(parameter.label, *control_bounds(parameter, step), step=step, key=f"augment_{name}",
              help=parameter.help, disabled=disabled)


# ---- what the model will see --------------------------------------------------------------------


def grid(images: np.ndarray, columns: int, captions: list[str] | None = None, alt: str = "augmented") -> None:
    for start in range(0, len(images), columns):
        for i, column in enumerate(st.columns(columns)):
            if start + i < len(images):
                caption = captions[start + i] if captions else None
                column.image(images[start + i], caption=caption, alt=f"{alt} {start + i + 1}",
                             width="stretch")


def variants_view(path: str, size: int, spec: AugmentSpec) -> tuple[int, int]:
    """Original beside N variants with a re-roll; returns (n, seed) for the other views."""
    n_column, seed_column, button_column = st.columns([2, 1, 1], vertical_alignment="bottom")
    st.session_state.setdefault("augment_n", 9)
    n = n_column.slider("Variants", 3, 16, key="augment_n")
    seed = seed_column.number_input("Seed", 0, 2**31 - 1, key="augment_seed",
                                    help="The same seed gives the same variants, here, in the CLI and in training")
    button_column.button("Re-roll", icon=":material/casino:", on_click=_reroll, type="primary")
    left, right = st.columns([1, GRID_COLUMNS])
    left.image(to_uint8(original(path, size)), caption=f"Original, squashed to {size}x{size}", alt="original",
               width="stretch")
    with right:
        grid(variants(path, size, spec, n, seed), GRID_COLUMNS)
    return n, seed


def _reroll() -> None:
    st.session_state["augment_seed"] = st.session_state.get("augment_seed", 0) + 1


def alone_view(path: str, size: int, spec: AugmentSpec, n: int, seed: int) -> None:
    st.subheader("Each operation alone")
    if not spec.operations:
        st.info("No operation is switched on: training would see the photo unchanged.")
        return
    st.caption(f"Same seed as the grid: each row shows the part of each of the {n} variants that one operation "
               "made, in the grid's order.")
    for operation, alone in single_operations(spec).items():
        st.markdown(f"**{operation.replace('_', ' ')}**")
        grid(variants(path, size, alone, n, seed), min(n, ALONE_COLUMNS), alt=operation)


def batch_view(dataset: str | None, size: int, spec: AugmentSpec, n: int, seed: int) -> None:
    st.subheader("A training batch, as the model receives it")
    if dataset is None:
        st.info("Pick a photo from a dataset to see a batch of it as training would draw it.")
        return
    if not st.toggle("Show a training batch", key="augment_show_batch"):
        return
    images, labels = batch_as_trained(dataset, size, spec, n, seed)
    name = dataset_names(load_settings()).get(Path(dataset), Path(dataset).name)
    st.caption(f"Drawn from the training images of {name}, decoded and squashed to {size}x{size} by the "
               "training pipeline, then augmented by the same layers. The model receives these values (0-255) and "
               "scales them itself, so they are shown as they are.")
    grid(images, GRID_COLUMNS, captions=labels, alt="training image")


def legacy_view(path: str, size: int, spec: AugmentSpec, n: int, seed: int) -> None:
    st.subheader("Beside the tutorials' ImageDataGenerator")
    if not legacy_available():
        st.info("This TensorFlow no longer ships the legacy ImageDataGenerator, so there is nothing to compare.")
        return
    if not st.toggle("Compare with ImageDataGenerator", key="augment_show_legacy"):
        return
    missing = missing_operations(spec)
    st.caption("The same parameters through the legacy `ImageDataGenerator`. Its random numbers differ, so "
               "compare how much the photos vary, not photo by photo."
               + (f" It has no {', '.join(missing)}: left out on its side." if missing else ""))
    ours, theirs = st.columns(2, gap="large")
    with ours:
        st.markdown("**This lab (Keras 3 layers)**")
        grid(variants(path, size, spec, n, seed), GRID_COLUMNS)
    with theirs:
        st.markdown("**ImageDataGenerator**")
        grid(legacy_variants(path, size, spec, n, seed), GRID_COLUMNS, alt="ImageDataGenerator")


# ---- the page -----------------------------------------------------------------------------------


@st.fragment
def workbench(path: str, dataset: str | None) -> None:
    """The controls and what they make: a change here reruns this alone, not the page or the app around it."""
    parameters, results = st.columns([1, 3], gap="large")
    with parameters:
        st.session_state.setdefault("augment_size", 224)
        size = st.selectbox("Training input size", SIZES, key="augment_size",
                            help="Photos are squashed to this square size before augmentation, as in training.")
        spec = controls()
    with results:
        try:
            n, seed = variants_view(path, size, spec)
            st.code(cli_command(st.session_state["augment_preset"], spec, image_size=size, seed=seed, n=n),
                    language="bash", wrap_lines=True)
            alone_view(path, size, spec, n, seed)
            batch_view(dataset, size, spec, n, seed)
            legacy_view(path, size, spec, n, seed)
        except LabError as error:
            st.error(error_text(error))


def page() -> None:
    st.title("Augment")
    st.markdown("Training on slightly changed copies of each photo (turned, shifted, zoomed, mirrored) teaches "
                "a model what a cat looks like rather than what these particular pictures look like. Choose how "
                "much change, and see exactly what training will feed the model.")
    keep_settings()
    try:
        with st.container(border=True):
            path, dataset = choose_photo(load_settings())
    except LabError as error:
        st.error(error_text(error))
        return
    if path is not None:
        workbench(path, dataset)


page()
