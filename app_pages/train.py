"""Train: start from a tutorial experiment or from scratch, see what a run costs, launch it, watch it, stop it.

A thin view over `lab.training.config` (the form is a `TrainConfig`; its widgets' labels, help and
bounds come from the config's table `FIELDS`), `lab.training.form` (what a backbone or strategy change
rules out, what an image size costs, which preset the form holds), `lab.training.cost.estimate_cost`,
`lab.training.preflight` (`problems` disables Launch and says, next to the field and by its label, what
to change; `preflight` is the last guard at launch) and `lab.runs.jobs` (launch, stop, reconcile).
For newcomers: one line of what training does, the experiments as described choices, the essential
fields, the rest under "Advanced". Runs train in worker processes, never in this server, and the live
view polls the run folder, so a reload, a second browser or an app restart re-attaches to what is
running. Session state holds the form's values, whether the image size was typed, and one run id.
A path typed into Data or Weights passes `lab.access`'s allow-lists before anything reads it; in demo
mode the page only says that training is switched off.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.charts import curves
from app_pages.session_keys import DATASET_PATH
from lab.access import TRAINING_OFF, browser_config, refusals
from lab.data.manifest import list_manifests, manifest_path
from lab.data.run_data import resolve_data_path, split_sizes
from lab.errors import LabError
from lab.run_files import MODEL as MODEL_FILE
from lab.runs import jobs
from lab.runs.describe import readable_log, status_fraction, status_text
from lab.runs.status import ACTIVE_STATES, FAILED, FINISHED, MEANINGS, STOPPED, Status, runs_in
from lab.runs.store import Run, RunStore
from lab.settings import Settings, load_settings
from lab.training.backbones import BackboneSpec, get_spec
from lab.training.config import FIELDS, HELD_OUT, WEIGHT_KINDS, TrainConfig
from lab.training.form import matching_preset, overrides_text, parse_overrides_text, repair, size_note
from lab.training.preflight import preflight, problems
from lab.training.presets import DESCRIPTIONS, PRESETS
from lab.training.weights import weights_available
from lab.workspace import dataset_names

RUN_KEY = "train_run_id"
PRESET_KEY = "train_preset"  # + the preset the form holds: the picker's key
CUSTOM = "custom"  # the picker's choice for a form that is no preset (a sentinel, as None reads "Choose an option")
SEEN_DATASET_KEY = "train_seen_dataset_path"
SIZE_CHOSEN_KEY = "train_image_size_chosen"  # set once a person types a size: a new backbone then keeps it
STARTING_PRESET = "mobilenet-v2-quick"
SAMPLE_DATASET = "cats_and_dogs_filtered"
WEIGHTS_FILE_SUFFIX = re.compile(r"(_imagenet)?(_no_top)?(\.weights)?\.h5$")  # what every weights file name says
ACTIVE_POLL, IDLE_POLL = 1.0, 5.0  # seconds between refreshes of the live view
PERSIST = {"persist_state": "session"}
STRATEGY_HELP = {
    "scratch": "random weights, every layer trains (the tutorial's own CNNs)",
    "feature-extractor": "backbone features computed once and cached; only the head trains (fast, no augmentation)",
    "frozen": "frozen backbone inside the model, run on every augmented batch",
    "fine-tune": "train the head, then unfreeze from a boundary at a lower learning rate",
}
INTRO = ("Training shows a network labelled photos until it tells the classes apart. Start from a tutorial's "
         "experiment, check the data and the model, press **Launch**, and watch the accuracy climb below.")

# How an ended run's state is shown: finished in green, stopped in amber, failed in red.
ENDED = {FINISHED: (st.success, ":material/check_circle:"), STOPPED: (st.warning, ":material/pause_circle:"),
         FAILED: (st.error, ":material/error:")}

def key(field: str) -> str:
    return f"train_form_{field}"


# ---- the form ----------------------------------------------------------------------------------


def fill_form(config: TrainConfig, settings: Settings) -> None:
    """Put `config` into the form's widgets (before they are drawn on this rerun); a preset's size is not
    one a person chose, so a new backbone brings its own."""
    for field, value in config.to_dict().items():
        st.session_state[key(field)] = value
    st.session_state[key("data")] = data_value(config.data, settings)
    st.session_state[key("augment_overrides")] = overrides_text(config.augment_overrides)
    st.session_state.pop(SIZE_CHOSEN_KEY, None)


def data_value(source: str, settings: Settings) -> str:
    """A preset's bare folder name (`cats_and_dogs_filtered`) as the folder the Data box lists."""
    folder = resolve_data_path(source, settings)
    return str(folder) if folder is not None and folder.is_absolute() and folder.exists() else source


def apply_preset(picker: str, settings: Settings) -> None:
    name = st.session_state[picker]
    if name != CUSTOM:
        fill_form(PRESETS[name], settings)


def starting_config(settings: Settings) -> TrainConfig:
    """The form before anyone touches it: a fast preset on the dataset the Dataset page scanned last, else
    the shared sample, else the first dataset (never merely what sorts first: a tiny upload cannot run it)."""
    names = dataset_names(settings)
    sample = [str(folder) for folder, name in names.items() if name == SAMPLE_DATASET]
    data = st.session_state.get(DATASET_PATH) or next(iter([*sample, *map(str, names)]), PRESETS[STARTING_PRESET].data)
    return TrainConfig.from_dict({**PRESETS[STARTING_PRESET].to_dict(), "data": data})


def follow_dataset_page() -> None:
    """Train on the dataset the Dataset page chose last, once each time it chooses another."""
    chosen = st.session_state.get(DATASET_PATH)
    if chosen and chosen != st.session_state.get(SEEN_DATASET_KEY):
        st.session_state[SEEN_DATASET_KEY] = st.session_state[key("data")] = chosen
        st.session_state[key("train_split")] = "train"


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


@st.cache_data(ttl=30, show_spinner="Checking the data and the weights...")
def problems_of(config_json: str, saved: int, _settings: Settings) -> dict[str, str]:
    """`lab.training.preflight.problems`: what would make this run fail, per field."""
    return problems(TrainConfig.from_dict(json.loads(config_json)), _settings)


def backbone_changed(available: dict[str, list[str]]) -> None:
    """A new backbone: what it rules out replaced, and its native image size unless a size was typed."""
    repair_form(available, native_size=not st.session_state.get(SIZE_CHOSEN_KEY))


def repair_form(available: dict[str, list[str]], native_size: bool = False) -> None:
    """Show what the new backbone or strategy rules out as replaced (`lab.training.form.repair`)."""
    names = ("backbone", "strategy", "head", "weights", "fine_tune_at", "image_size")
    repaired = repair({name: st.session_state[key(name)] for name in names}, available, native_size=native_size)
    st.session_state.update({key(name): value for name, value in repaired.items()})


def options_with(options: list[Any], current: Any) -> list[Any]:
    """`options` plus the current value, so a preset's or a typed value is never dropped."""
    return options if current in options or current is None else [current, *options]


def weights_label(value: str) -> str:
    """Short enough for a narrow box: "imagenet", "none (random)", "mobilenet_v2_1.0_224 · local file"."""
    if value in WEIGHT_KINDS:
        return {"imagenet": "imagenet", "none": "none (random)"}[value]
    return f"{WEIGHTS_FILE_SUFFIX.sub('', Path(value).name)} · local file"


def backbone_label(name: str, available: dict[str, list[str]]) -> str:
    kinds = ["imagenet" if w == "imagenet" else "file" for w in available.get(name, []) if w != "none"]
    return f"{name} · weights here: {', '.join(dict.fromkeys(kinds)) or 'none'}"


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
        labels[name] = f"{name} · manifest: " + " · ".join(f"{split} {count:,}" for split, count in sizes.items())
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
    chosen = choice(st, "data", options_with([*folders, *manifests], st.session_state.get(key("data"))),
                    accept_new_options=True, format_func=lambda source: data_label(source, folders, manifests),
                    on_change=st.session_state.update, kwargs={key("train_split"): "train"},
                    help=f"{FIELDS['data'].help} ({', '.join(map(str, settings.data_dirs))}).")
    return chosen, splits_of(chosen, 0, saved_at(chosen, settings), settings) if chosen in manifests else {}


def model_fields(available: dict[str, list[str]]) -> dict[str, Any]:
    """Backbone and its weights; strategy, augmentation and image size, each explained below its row."""
    values: dict[str, Any] = {}
    backbone, weights = st.columns(2)
    values["backbone"] = choice(backbone, "backbone", format_func=lambda name: backbone_label(name, available),
                                on_change=backbone_changed, args=(available,))
    usable = ["imagenet", *[w for w in available.get(values["backbone"], ["none"]) if w != "imagenet"]]
    values["weights"] = choice(weights, "weights", options_with(usable, st.session_state.get(key("weights"))),
                               format_func=weights_label, accept_new_options=True)
    strategy, augment, size = st.columns(3)
    values["strategy"] = choice(strategy, "strategy", on_change=repair_form, args=(available,))
    values["augment"] = choice(augment, "augment")
    spec = get_spec(values["backbone"])
    values["image_size"] = number(
        size, "image_size", min_value=spec.min_size, step=8, on_change=st.session_state.update,
        kwargs={SIZE_CHOSEN_KEY: True},
        help=f"{FIELDS['image_size'].help}; {spec.name}'s native size is {spec.native_size} px")
    note = size_note(spec.name, values["image_size"])  # one caption either way: the layout below stays put,
    st.caption(f"**{values['strategy']}**: {STRATEGY_HELP[values['strategy']]}." +  # so Advanced stays open
               (f"  \n{note[0].upper()}{note[1:]}" if note else ""))
    return values


def amount_fields(sizes: dict[str, int]) -> dict[str, Any]:
    """How much training: the split (a manifest's subsets included), how many of its images, epochs."""
    split, images, epochs = st.columns(3)
    trainable = [name for name in sizes if name not in HELD_OUT] or ["train"]
    current = st.session_state.get(key("train_split"))
    return {
        "train_split": choice(split, "train_split", options_with(trainable, current),
                              disabled=trainable == ["train"] and current == "train",
                              format_func=lambda name: f"{name} · {sizes[name]:,} images" if name in sizes else name),
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
        "fine_tune_at": choice(columns[0], "fine_tune_at", options_with(["", *spec.boundaries], boundary),
                               disabled=idle and not boundary,
                               format_func=lambda b: b or f"default ({spec.default_boundary or 'none'})"),
        "fine_tune_learning_rate": number(columns[1], "fine_tune_learning_rate", step=1e-6, format="%.1e",
                                          disabled=idle),
        "fine_tune_epochs": number(columns[2], "fine_tune_epochs", disabled=idle),
    }


def config_from(values: dict[str, Any]) -> TrainConfig:
    """The config the form describes; `LabError` names the first bad field (a stale boundary included)."""
    return TrainConfig.from_dict({**values, "augment_overrides": parse_overrides_text(values["augment_overrides"])})


def form_config() -> TrainConfig | None:
    """The config the form held at the end of the last run (None if invalid), before its widgets are drawn."""
    try:
        return config_from({field: st.session_state.get(key(field)) for field in FIELDS})
    except LabError:
        return None


def preset_picker(settings: Settings) -> None:
    """The tutorials' experiments as described choices, showing the one the form holds (or custom)."""
    config = form_config()
    held = (matching_preset(config, PRESETS) if config else None) or CUSTOM
    options = [*PRESETS, CUSTOM]
    picker = f"{PRESET_KEY}_{held}"  # a new widget whenever the form holds another preset: no stale choice to undo
    name = st.selectbox("Experiment", options, index=options.index(held), key=picker, on_change=apply_preset,
                        args=(picker, settings), format_func=lambda choice: preset_label(choice, settings),
                        help="Fills the form below; change anything before launching (it then reads custom).")
    if name == CUSTOM:
        st.caption("The form holds settings of your own; choose an experiment to start again from one.")
        return
    seconds = preset_seconds(name, settings)
    took = f"{_in_words(seconds)} here" if seconds is not None else "time unknown until measured"
    st.caption(f"Preset `{name}` · {took}")


def preset_label(name: str, settings: Settings) -> str:
    if name == CUSTOM:
        return "Custom: your own settings"
    seconds = preset_seconds(name, settings)
    return DESCRIPTIONS[name] + (f" · {_in_words(seconds)}" if seconds is not None else "")


@st.cache_data(ttl=300, show_spinner=False)
def preset_seconds(name: str, _settings: Settings) -> float | None:
    """Roughly how long a preset takes here, from the speed earlier runs measured; None until one did.

    Asked first with the images counted (no scan of a 20,000-photo folder just to learn the speed is
    unknown), then, when the speed is known, for the preset as it is.
    """
    from lab.training.cost import estimate_cost

    preset = PRESETS[name]
    counted = dataclasses.replace(preset, train_size=preset.train_size or 2,
                                  validation_size=preset.validation_size or 2)
    try:
        if estimate_cost(counted, _settings, measure=False)["seconds"] is None:
            return None
        return estimate_cost(preset, _settings, measure=False)["seconds"]
    except LabError:
        return None


def checked_config(values: dict[str, Any], notes: dict[str, Any],
                   settings: Settings) -> tuple[TrainConfig | None, dict[str, str]]:
    """The config the form describes (None when invalid or outside the allow-lists of `lab.access`:
    explained here) and what would make it fail on this machine (data, weights, images), said next to the
    field to change, by its label. A path typed into Data or Weights is checked before it is scanned or read."""
    try:
        config = config_from(values)
    except LabError as error:
        st.error(str(error))
        return None, {}
    refused = refusals(config, settings)  # before anything reads the data or the weights
    for field, text in refused.items():
        notes[field].error(f"**{FIELDS[field].label}**: {text}", icon=":material/block:")
    if refused:
        return None, refused
    config = browser_config(config, settings)  # what was checked is what is read
    found = problems_of(json.dumps(config.to_dict(), sort_keys=True), saved_at(config.data, settings), settings)
    for field, text in found.items():
        notes[field].warning(f"**{FIELDS[field].label}**: {text}.", icon=":material/block:")
    if found:
        labels = ", ".join(FIELDS[field].label for field in found)
        st.warning(f"Launch waits for a change to: {labels} (said next to each field).", icon=":material/block:")
    return config, found


@st.cache_data(max_entries=64, ttl=30, show_spinner="Estimating the cost...")
def cost_of(config_json: str, measure: bool, _settings: Settings) -> dict[str, Any]:
    """`estimate_cost` for a config; `measure` times the backbone here (loads TensorFlow, a few seconds).
    Kept briefly, so a run that just finished lends its measured speed to the next estimate."""
    from lab.training.cost import estimate_cost

    return estimate_cost(TrainConfig.from_dict(json.loads(config_json)), _settings, measure=measure)


def show_cost(config: TrainConfig, settings: Settings) -> None:
    """How long the run takes on this machine, in words, first; its parts and its work in FLOPs as a detail."""
    from lab.training.cost import details_text, time_in_words

    config_json = json.dumps(config.to_dict(), sort_keys=True)
    try:
        cost = cost_of(config_json, False, settings)
        if cost["seconds"] is None and st.button("Measure this machine's speed", help="Times a forward pass of "
                                                 "the backbone on random images: a few seconds."):
            cost = cost_of(config_json, True, settings)
    except LabError as error:
        st.warning(f"No estimate: {error}")
        return
    if cost["seconds"] is None:
        st.markdown("**Time:** not known yet on this machine. It is learned from a first run with this backbone "
                    "and image size, or from a measurement.")
    else:
        st.markdown(f"**{time_in_words(cost['seconds']).capitalize()} on this machine** "
                    f"(from {cost['rate_source']})")
    st.caption(details_text(cost))


def _in_words(seconds: float) -> str:
    """An estimate as a person says it ("about 2 minutes"), not to the second."""
    from lab.training.cost import time_in_words

    return time_in_words(seconds)


def _duration(seconds: float) -> str:
    from lab.training.cost import duration_text

    return duration_text(seconds)


# ---- runs --------------------------------------------------------------------------------------


def runs_table(runs: list[Run]) -> None:
    rows = [{k: s[k] for k in ("id", "status", "best_val_accuracy", "epochs_completed", "config", "created")}
            for s in (run.summary() for run in runs)]
    meanings = "; ".join(f"{state}: {meaning}" for state, meaning in MEANINGS.items())
    st.dataframe(rows, hide_index=True, column_config={
        "status": st.column_config.TextColumn("status", help=meanings),
        "best_val_accuracy": st.column_config.NumberColumn("best val acc", format="percent")})


def show_run(run: Run, runs_dir: Path) -> None:
    status = run.status()
    show_state(run, status, runs_dir)
    metrics = run.metrics()
    if metrics.get("best_val_accuracy") is not None:
        accuracy, test, epochs, images, seconds = st.columns(5)
        accuracy.metric("Best validation accuracy", f"{metrics['best_val_accuracy']:.1%}",
                        help=f"at epoch {metrics.get('best_epoch')}; best.keras holds that model")
        if metrics.get("test_accuracy") is not None:
            test.metric("Test accuracy", f"{metrics['test_accuracy']:.1%}",
                        help=f"the final model on {metrics.get('test_images', 0):,} photos it never saw in training")
        epochs.metric("Epochs", metrics.get("epochs_completed"))
        images.metric("Training images", f"{metrics.get('train_images', 0):,}")
        seconds.metric("Time", _duration(metrics.get("seconds") or 0))
    if status.state in (FINISHED, STOPPED) and (run.path / MODEL_FILE).exists():
        next_steps(run)
    if not status.active:
        st.button("Delete this run", key=f"delete_{run.id}", icon=":material/delete:", on_click=delete_run,
                  args=(run.id, runs_dir), help="Removes the run folder: model, checkpoints, history and log.")
    history = run.history()
    if history:
        loss, accuracy = st.columns(2)
        loss.plotly_chart(curves({"": history}, "loss"), key=f"loss_{run.id}")
        accuracy.plotly_chart(curves({"": history}, "accuracy"), key=f"accuracy_{run.id}")
    st.caption(f"Run folder: {run.path} · {run.config_dict().get('backbone')} · log (TensorFlow's start-up "
               "messages left out; log.txt has everything):")
    st.code(readable_log(run.log_tail(400)) or "(empty)", language=None, wrap_lines=True)


def show_state(run: Run, status: Status, runs_dir: Path) -> None:
    """A progress bar and a Stop button while the run is under way; once it ended, its state in its colour."""
    if not status.active:
        box, icon = ENDED.get(status.state, (st.info, ":material/help:"))
        box(status_text(status), icon=icon)
        return
    stopping = run.stop_requested()
    bar, button = st.columns([5, 1], vertical_alignment="bottom")
    bar.progress(status_fraction(status), text=status_text(status, stopping=stopping))
    # Primary and beside its progress bar: unmistakable next to Streamlit's own small "Stop" in the header,
    # which only interrupts a page refresh.
    button.button("Stop training", key=f"stop_{run.id}", icon=":material/stop_circle:", disabled=stopping,
                  type="primary", on_click=jobs.stop, args=(run.id, runs_dir), width="stretch",
                  help="Stops after the current batch; the history and the best checkpoint are kept.")


def next_steps(run: Run) -> None:
    """What a person can do with a trained model: compare it, and take it away."""
    compare, download = st.columns(2)
    compare.markdown("**Next:** [compare it with your other runs](/compare), its test photos and its mistakes "
                     "included.")
    download.download_button("Download the model (.keras)", data=functools.partial((run.path / MODEL_FILE).read_bytes),
                             file_name=f"{run.id}.keras", mime="application/octet-stream",
                             icon=":material/download:", key=f"download_{run.id}",
                             help="Raw RGB photos (0-255) in, one probability per class out; "
                                  "keras.saving.load_model opens it.")


def delete_run(run_id: str, runs_dir: Path) -> None:
    """Runs before the rerun, so the run selector then simply falls back to another run."""
    RunStore(runs_dir).delete(run_id)
    st.session_state.pop(RUN_KEY, None)


def watch(settings: Settings, was_active: bool) -> None:
    """The live part of the page: queue, runs, and the selected run, re-read from disk on every poll."""
    jobs.reconcile(settings.runs_dir, settings)
    runs = {run.id: run for run in RunStore(settings.runs_dir).list()}
    states = {run_id: run.status().state for run_id, run in runs.items()}
    active = runs_in(states, *ACTIVE_STATES)
    if bool(active) != was_active:
        st.rerun()  # poll faster (or slower) from now on
    if not runs:
        st.info("No runs yet: configure one above and press Launch.")
        return
    if st.session_state.get(RUN_KEY) not in runs:
        st.session_state[RUN_KEY] = active[-1] if active else next(iter(runs))
    chosen = st.selectbox("Run", list(runs), key=RUN_KEY, persist_state="session",
                          format_func=lambda run_id: f"{run_id} · {states[run_id]}")
    show_run(runs[chosen], settings.runs_dir)
    with st.expander(f"All runs ({len(runs)})"):
        runs_table(list(runs.values()))


# ---- the page ----------------------------------------------------------------------------------

def page(settings: Settings) -> None:
    """The form, the cost, Launch, and the live view of the runs."""
    form(settings)
    st.header("Runs")
    busy = bool(runs_in(RunStore(settings.runs_dir).states(), *ACTIVE_STATES))
    st.fragment(watch, run_every=ACTIVE_POLL if busy else IDLE_POLL)(settings, busy)


def form(settings: Settings) -> None:
    """Experiment, fields, what the run costs, and Launch."""
    if key("backbone") not in st.session_state:
        fill_form(starting_config(settings), settings)
    follow_dataset_page()
    preset_picker(settings)
    values, notes = config_form(settings)
    config, found = checked_config(values, notes, settings)
    if config is not None:
        st.caption(config.summary())
        if set(found) <= {"weights"}:  # the cost needs the images counted; missing weights do not change it
            show_cost(config, settings)
    if st.button("Launch", type="primary", disabled=config is None or bool(found), icon=":material/play_arrow:"):
        try:
            config = browser_config(config, settings)  # the last guards: the allow-lists, and the data or
            preflight(config, settings)  # weights may have gone since the form checked
            launched = jobs.launch(config, settings)
            st.session_state[RUN_KEY] = launched.id
            st.toast(f"Launched {launched.id}")
        except LabError as error:
            st.error(str(error))


settings = load_settings()
st.title("Train")
if settings.demo:
    st.info(TRAINING_OFF, icon=":material/block:")
else:
    st.markdown(INTRO)
    page(settings)
