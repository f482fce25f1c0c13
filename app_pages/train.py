"""Train: start from a tutorial experiment or from scratch, see what a run costs, launch it, watch it, stop it.

A thin view over `lab.training.config` (the form is a `TrainConfig`; its widgets' labels, help and
bounds come from the config's table `FIELDS`), `lab.training.form` (what a backbone or strategy change
rules out), `lab.training.cost.estimate_cost`, `lab.training.preflight` and `lab.runs.jobs` (launch,
stop, reconcile). Runs train in worker processes, never in this server, and the live view polls the
run folder, so a reload, a second browser or an app restart re-attaches to what is running.
Session state holds the form's values, the chosen preset and one run id.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import streamlit as st

from app_pages.charts import curves
from app_pages.session_keys import DATASET_PATH
from lab.errors import LabError
from lab.evaluation.evaluate import MODEL_FILE
from lab.runs import jobs
from lab.runs.describe import readable_log, status_fraction, status_text
from lab.runs.status import ACTIVE_STATES, FAILED, FINISHED, MEANINGS, STOPPED, Status, runs_in
from lab.runs.store import Run, RunStore
from lab.settings import Settings, load_settings
from lab.training.backbones import BackboneSpec, get_spec
from lab.training.config import FIELDS, TrainConfig
from lab.training.form import overrides_text, parse_overrides_text, repair
from lab.training.preflight import preflight
from lab.training.presets import PRESETS
from lab.training.weights import weights_available
from lab.workspace import dataset_folders

RUN_KEY = "train_run_id"
PRESET_KEY = "train_preset"
SEEN_DATASET_KEY = "train_seen_dataset_path"
STARTING_PRESET = "mobilenet-v2-quick"
ACTIVE_POLL, IDLE_POLL = 1.0, 5.0  # seconds between refreshes of the live view
PERSIST = {"persist_state": "session"}
STRATEGY_HELP = {
    "scratch": "random weights, every layer trains (the tutorial's own CNNs)",
    "feature-extractor": "backbone features computed once and cached; only the head trains (fast, no augmentation)",
    "frozen": "frozen backbone inside the model, run on every augmented batch",
    "fine-tune": "train the head, then unfreeze from a boundary at a lower learning rate",
}

# How an ended run's state is shown: finished in green, stopped in amber, failed in red.
ENDED = {FINISHED: (st.success, ":material/check_circle:"), STOPPED: (st.warning, ":material/pause_circle:"),
         FAILED: (st.error, ":material/error:")}

def key(field: str) -> str:
    return f"train_form_{field}"


# ---- the form ----------------------------------------------------------------------------------


def fill_form(config: TrainConfig) -> None:
    """Put `config` into the form's widgets (before they are drawn on this rerun)."""
    for field, value in config.to_dict().items():
        st.session_state[key(field)] = value
    st.session_state[key("augment_overrides")] = overrides_text(config.augment_overrides)


def apply_preset() -> None:
    name = st.session_state[PRESET_KEY]
    if name:
        fill_form(PRESETS[name])


def starting_config(settings: Settings) -> TrainConfig:
    """The form before anyone touches it: a fast preset on the dataset the Dataset page chose (or the first)."""
    folders = dataset_folders(settings)
    data = st.session_state.get(DATASET_PATH) or (str(folders[0]) if folders else PRESETS[STARTING_PRESET].data)
    return TrainConfig.from_dict({**PRESETS[STARTING_PRESET].to_dict(), "data": data})


def follow_dataset_page() -> None:
    """Train on the dataset the Dataset page chose last, once each time it chooses another."""
    chosen = st.session_state.get(DATASET_PATH)
    if chosen and chosen != st.session_state.get(SEEN_DATASET_KEY):
        st.session_state[SEEN_DATASET_KEY] = st.session_state[key("data")] = chosen


@st.cache_data(ttl=60, show_spinner=False)
def available_weights(weights_dirs: tuple[str, ...], _settings: Settings) -> dict[str, list[str]]:
    """Per backbone, the weights usable here (checks the network once; refreshed every minute)."""
    return weights_available(_settings)


def backbone_or_strategy_changed(available: dict[str, list[str]]) -> None:
    """Show what the new backbone or strategy rules out as replaced (`lab.training.form.repair`)."""
    names = ("backbone", "strategy", "head", "weights", "fine_tune_at", "image_size")
    repaired = repair({name: st.session_state[key(name)] for name in names}, available)
    st.session_state.update({key(name): value for name, value in repaired.items()})


def options_with(options: list[Any], current: Any) -> list[Any]:
    """`options` plus the current value, so a preset's or a typed value is never dropped."""
    return options if current in options or current is None else [current, *options]


def weights_label(value: str) -> str:
    if value in ("imagenet", "none"):
        return {"imagenet": "imagenet (Keras download/cache)", "none": "none (random initialisation)"}[value]
    return f"{Path(value).name} (local file)"


def backbone_label(name: str, available: dict[str, list[str]]) -> str:
    usable = [weights_label(w).split(" (")[0] for w in available.get(name, []) if w != "none"]
    return f"{name} — weights here: {', '.join(usable) or 'none (random only)'}"


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


def config_form(settings: Settings) -> dict[str, Any]:
    """Every `TrainConfig` field as a labelled widget; returns the raw values."""
    available = available_weights(tuple(map(str, settings.weights_dirs)), settings)
    values: dict[str, Any] = {}
    model, data = st.columns(2)
    with data:
        folders = [str(folder) for folder in dataset_folders(settings)]
        values["data"] = choice(
            st, "data", options_with(folders, st.session_state.get(key("data"))), accept_new_options=True,
            help=f"{FIELDS['data'].help} ({', '.join(map(str, settings.data_dirs))}).")
        sizes = st.columns(2)
        values["train_size"] = number(sizes[0], "train_size", step=100, placeholder="all")
        values["validation_size"] = number(sizes[1], "validation_size", step=100, placeholder="all")
        values["augment"] = choice(st, "augment")
        overrides = FIELDS["augment_overrides"]
        values["augment_overrides"] = st.text_input(
            overrides.label, key=key("augment_overrides"), placeholder="rotation_range=30, zoom_range=0.1",
            help=overrides.help, **PERSIST)
    with model:
        changed = {"on_change": backbone_or_strategy_changed, "args": (available,)}
        values["backbone"] = choice(st, "backbone", format_func=lambda name: backbone_label(name, available),
                                    **changed)
        weights = ["imagenet", *[w for w in available.get(values["backbone"], ["none"]) if w != "imagenet"]]
        values["weights"] = choice(st, "weights", options_with(weights, st.session_state.get(key("weights"))),
                                   format_func=weights_label, accept_new_options=True)
        values["strategy"] = choice(st, "strategy", format_func=lambda s: f"{s}: {STRATEGY_HELP[s]}", **changed)
        values["head"] = choice(st, "head")
    values.update(training_fields(values["backbone"], values["strategy"]))
    return values


def training_fields(backbone: str, strategy: str) -> dict[str, Any]:
    spec = get_spec(backbone)
    values: dict[str, Any] = {}
    first, second, third, fourth = st.columns(4)
    values["image_size"] = number(first, "image_size", min_value=spec.min_size, step=8,
                                  help=f"{FIELDS['image_size'].help}; {backbone}'s native size is {spec.native_size}px")
    values["epochs"] = number(second, "epochs")
    values["batch_size"] = number(third, "batch_size")
    values["seed"] = number(fourth, "seed")
    values["optimizer"] = choice(first, "optimizer")
    values["learning_rate"] = number(second, "learning_rate", step=1e-4, format="%.1e")
    values["early_stopping_patience"] = number(third, "early_stopping_patience")
    for name in ("class_weights", "mixed_precision"):
        values[name] = fourth.checkbox(FIELDS[name].label, key=key(name), help=FIELDS[name].help, **PERSIST)
    values.update(fine_tune_fields(spec, strategy, [first, second, third]))
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
    button.button("Stop training", key=f"stop_{run.id}", icon=":material/stop_circle:", disabled=stopping,
                  on_click=jobs.stop, args=(run.id, runs_dir), width="stretch",
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

settings = load_settings()
st.title("Train")
if key("backbone") not in st.session_state:
    fill_form(starting_config(settings))
follow_dataset_page()
st.selectbox("Start from a tutorial experiment", [None, *PRESETS], key=PRESET_KEY, on_change=apply_preset,
             format_func=lambda name: name or "(keep the form as it is)", persist_state="session",
             help="Fills the form below; change anything before launching.")
values = config_form(settings)
try:
    config = config_from(values)
except LabError as error:
    config = None
    st.error(str(error))
if config is not None:
    st.caption(config.summary())
    show_cost(config, settings)
if st.button("Launch", type="primary", disabled=config is None, icon=":material/play_arrow:"):
    try:
        preflight(config, settings)
        launched = jobs.launch(config, settings)
        st.session_state[RUN_KEY] = launched.id
        st.toast(f"Launched {launched.id}")
    except LabError as error:
        st.error(str(error))

st.header("Runs")
busy = bool(runs_in(RunStore(settings.runs_dir).states(), *ACTIVE_STATES))
st.fragment(watch, run_every=ACTIVE_POLL if busy else IDLE_POLL)(settings, busy)
