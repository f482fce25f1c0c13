"""The Train page's form: every `TrainConfig` field as a labelled widget, its state kept in the session.

Not a page. A thin view over `lab.training.config` (labels, help and bounds come from the config's table
`FIELDS`) and `lab.training.form` (what a backbone or strategy change rules out, the pickers' labels, the
form's values as a config). Session state holds the form's values and whether the image size was typed.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from lab.data.manifest import list_manifests, manifest_path
from lab.data.run_data import resolve_data_path, split_sizes
from lab.errors import LabError
from lab.settings import Settings
from lab.training.backbones import BackboneSpec, get_spec
from lab.training.config import FIELDS, HELD_OUT, TrainConfig
from lab.training.form import (
    backbone_label,
    choices_note,
    config_from_form,
    data_choice,
    listed_weights,
    manifest_label,
    overrides_text,
    repair,
    split_label,
    weights_label,
    with_current,
)
from lab.training.weights import weights_available
from lab.workspace import dataset_names

SIZE_CHOSEN_KEY = "train_image_size_chosen"  # set once a person types a size: a new backbone then keeps it
PASSED_OVER_KEY = "train_passed_over"  # the dataset chosen last that the form did not open on, until Data changes
PERSIST = {"persist_state": "session"}


def key(field: str) -> str:
    """The session-state key of a config field's widget."""
    return f"train_form_{field}"


def fill_form(config: TrainConfig, settings: Settings) -> None:
    """Put `config` into the form's widgets (before they are drawn on this rerun); a preset's size is not
    one a person chose, so a new backbone brings its own."""
    for field, value in config.to_dict().items():
        st.session_state[key(field)] = value
    st.session_state[key("data")] = data_choice(config.data, settings)
    st.session_state[key("augment_overrides")] = overrides_text(config.augment_overrides)
    st.session_state.pop(SIZE_CHOSEN_KEY, None)


def form_config() -> TrainConfig | None:
    """The config the form held at the end of the last run (None if invalid), before its widgets are drawn."""
    try:
        return config_from_form({field: st.session_state.get(key(field)) for field in FIELDS})
    except LabError:
        return None


@st.cache_data(ttl=60, show_spinner=False)
def available_weights(weights_dirs: tuple[str, ...], _settings: Settings) -> dict[str, list[str]]:
    """Per backbone, the weights usable here (checks the network once; refreshed every minute)."""
    return weights_available(_settings)


def saved_at(source: str, settings: Settings) -> int:
    """When the manifest `source` names was last saved (0 for a folder): part of the caches' keys, so a
    manifest saved again on the Dataset page is read again."""
    path = manifest_path(source, settings)
    return path.stat().st_mtime_ns if resolve_data_path(source, settings) is None and path.is_file() else 0


@st.cache_data(ttl=60, show_spinner=False)
def splits_of(source: str, seed: int, saved: int, _settings: Settings) -> dict[str, int]:
    """Images per split of a saved manifest or a folder (a folder is scanned; the scan cache makes that quick)."""
    return split_sizes(source, seed=seed, settings=_settings)


def backbone_changed(available: dict[str, list[str]]) -> None:
    """A new backbone: what it rules out replaced, and its native image size unless a size was typed."""
    repair_form(available, native_size=not st.session_state.get(SIZE_CHOSEN_KEY))


def repair_form(available: dict[str, list[str]], native_size: bool = False) -> None:
    """Show what the new backbone or strategy rules out as replaced (`lab.training.form.repair`)."""
    names = ("backbone", "strategy", "head", "weights", "fine_tune_at", "image_size")
    repaired = repair({name: st.session_state[key(name)] for name in names}, available, native_size=native_size)
    st.session_state.update({key(name): value for name, value in repaired.items()})


def data_label(source: str, folders: dict[str, str], manifests: dict[str, str]) -> str:
    """A dataset by the name people know it by; a manifest with its splits and subsets."""
    return folders.get(source) or manifests.get(source) or source


def manifest_labels(settings: Settings) -> dict[str, str]:
    """Saved manifest -> "cats_and_dogs_filtered · manifest: train 2,000 · validation 1,000 · train_1000 1,000"."""
    labels = {}
    for name in list_manifests(settings):
        try:
            sizes = splits_of(name, 0, saved_at(name, settings), settings)
        except LabError:
            continue  # unreadable: the Dataset page says why
        labels[name] = manifest_label(name, sizes)
    return labels


def choice(container: Any, name: str, options: Any = None, **extra: Any) -> Any:
    """A selectbox for a config field: label, help and (unless given) options from `FIELDS`."""
    field = FIELDS[name]
    options = field.choices if options is None else options
    return container.selectbox(field.label, options, key=key(name), **{"help": field.help, **extra}, **PERSIST)


def number(container: Any, name: str, **extra: Any) -> Any:
    """A number input for a config field: label, help and bounds from `FIELDS` (unless given)."""
    field = FIELDS[name]
    bounds = {"min_value": field.low, "max_value": field.high, "help": field.help}
    return container.number_input(field.label, key=key(name), **{**bounds, **extra}, **PERSIST)


def flag(container: Any, name: str) -> bool:
    return container.checkbox(FIELDS[name].label, key=key(name), help=FIELDS[name].help, **PERSIST)


def config_form(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """Every `TrainConfig` field as a labelled widget, the essential ones first and the rest under
    "Advanced". Returns the raw values, and per field the place below its row where what to change goes."""
    available = available_weights(tuple(map(str, settings.weights_dirs)), settings)
    data, sizes = data_field(settings)
    notes = {"data": st.container()}
    values = {"data": data, **model_fields(available)}
    notes["weights"] = st.container()
    values.update(amount_fields(sizes))
    notes.update({field: st.container() for field in ("train_split", "train_size")})
    with st.expander("Advanced", expanded=False):
        values.update(advanced_fields(values["backbone"], values["strategy"]))
        notes["validation_size"] = st.container()
    return values, notes


def data_field(settings: Settings) -> tuple[str, dict[str, int]]:
    """Data: every dataset folder and saved manifest by name, a whole row wide so a manifest's splits and
    subsets read in full. Returns the choice and, for a manifest, its images per split."""
    folders = {str(folder): name for folder, name in dataset_names(settings).items()}
    manifests = manifest_labels(settings)
    chosen = choice(st, "data", with_current([*folders, *manifests], st.session_state.get(key("data"))),
                    accept_new_options=True, format_func=lambda source: data_label(source, folders, manifests),
                    on_change=st.session_state.update, kwargs={key("train_split"): "train", PASSED_OVER_KEY: None},
                    help=f"{FIELDS['data'].help} ({', '.join(map(str, settings.data_dirs))}).")
    return chosen, splits_of(chosen, 0, saved_at(chosen, settings), settings) if chosen in manifests else {}


def model_fields(available: dict[str, list[str]]) -> dict[str, Any]:
    """Backbone and its weights; strategy, augmentation and image size, each explained below its row."""
    values: dict[str, Any] = {}
    backbone, weights = st.columns(2)
    values["backbone"] = choice(backbone, "backbone", format_func=lambda name: backbone_label(name, available),
                                on_change=backbone_changed, args=(available,))
    usable = ["imagenet", *[w for w in available.get(values["backbone"], ["none"]) if w != "imagenet"]]
    if key("weights") in st.session_state:  # a preset's file name: the file listed, once
        st.session_state[key("weights")] = listed_weights(st.session_state[key("weights")], usable)
    values["weights"] = choice(weights, "weights", with_current(usable, st.session_state.get(key("weights"))),
                               format_func=weights_label, accept_new_options=True)
    strategy, augment, size = st.columns(3)
    values["strategy"] = choice(strategy, "strategy", on_change=repair_form, args=(available,))
    values["augment"] = choice(augment, "augment")
    spec = get_spec(values["backbone"])
    values["image_size"] = number(
        size, "image_size", min_value=spec.min_size, step=8, on_change=st.session_state.update,
        kwargs={SIZE_CHOSEN_KEY: True},
        help=f"{FIELDS['image_size'].help}; {spec.name}'s native size is {spec.native_size} px")
    # One caption either way: the layout below stays put, so Advanced stays open.
    st.caption(choices_note(values["strategy"], spec.name, values["image_size"]))
    return values


def amount_fields(sizes: dict[str, int]) -> dict[str, Any]:
    """How much training: the split (a manifest's subsets included), how many of its images, epochs."""
    split, images, epochs = st.columns(3)
    trainable = [name for name in sizes if name not in HELD_OUT] or ["train"]
    current = st.session_state.get(key("train_split"))
    return {
        "train_split": choice(split, "train_split", with_current(trainable, current),
                              disabled=trainable == ["train"] and current == "train",
                              format_func=lambda name: split_label(name, sizes)),
        "train_size": number(images, "train_size", step=100, placeholder="all"),
        "epochs": number(epochs, "epochs"),
    }


def advanced_fields(backbone: str, strategy: str) -> dict[str, Any]:
    """What the tutorials tune: head and optimizer, fine-tuning, validation size, augmentation changes."""
    spec = get_spec(backbone)
    values: dict[str, Any] = {}
    head, optimizer, batch = st.columns(3)
    values["head"] = choice(head, "head")
    values["optimizer"] = choice(optimizer, "optimizer")
    values["batch_size"] = number(batch, "batch_size")
    rate, patience, seed = st.columns(3)
    values["learning_rate"] = number(rate, "learning_rate", step=1e-4, format="%.1e")
    values["early_stopping_patience"] = number(patience, "early_stopping_patience")
    values["seed"] = number(seed, "seed")
    monitor, best, start = st.columns(3, vertical_alignment="center")
    values["early_stopping_monitor"] = choice(monitor, "early_stopping_monitor")
    values["restore_best_weights"] = flag(best, "restore_best_weights")
    values["start_from"] = start.text_input(FIELDS["start_from"].label, key=key("start_from"), placeholder="a run id",
                                            help=FIELDS["start_from"].help, **PERSIST)
    values.update(fine_tune_fields(spec, strategy, st.columns(3)))
    validation, weights, precision = st.columns(3, vertical_alignment="center")
    values["validation_size"] = number(validation, "validation_size", step=100, placeholder="all")
    values["class_weights"] = flag(weights, "class_weights")
    values["mixed_precision"] = flag(precision, "mixed_precision")
    field = FIELDS["augment_overrides"]
    values["augment_overrides"] = st.text_input(
        field.label, key=key("augment_overrides"), placeholder="rotation_range=30, zoom_range=0.1",
        help=field.help, **PERSIST)
    return values


def fine_tune_fields(spec: BackboneSpec, strategy: str, columns: list[Any]) -> dict[str, Any]:
    """Active for fine-tuning; a boundary left over from elsewhere stays editable, so its error can be fixed."""
    boundary = st.session_state.get(key("fine_tune_at"))
    idle = strategy != "fine-tune"
    return {
        "fine_tune_at": choice(columns[0], "fine_tune_at", with_current(["", *spec.boundaries], boundary),
                               disabled=idle and not boundary,
                               format_func=lambda b: b or f"default ({spec.default_boundary or 'none'})"),
        "fine_tune_learning_rate": number(columns[1], "fine_tune_learning_rate", step=1e-6, format="%.1e",
                                          disabled=idle),
        "fine_tune_epochs": number(columns[2], "fine_tune_epochs", disabled=idle),
    }
