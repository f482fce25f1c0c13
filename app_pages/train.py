"""Train: start from a tutorial experiment or from scratch, see what a run costs, launch it, watch it, stop it.

A thin view over `lab.training.config` (the form is a `TrainConfig`), `lab.training.cost.estimate_cost` and `lab.runs.jobs`
(launch, stop, reconcile). Runs train in worker processes, never in this server, and the live view
polls the run folder, so a reload, a second browser or an app restart re-attaches to what is running.
Session state holds the form's values, the chosen preset and one run id.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import streamlit as st

from app_pages.session_keys import DATASET_PATH
from lab.augment import PRESETS as AUGMENT_PRESETS
from lab.augment import parse_assignments
from lab.errors import LabError
from lab.runs import jobs
from lab.runs.store import Run, RunStore, Status, progress_fraction, progress_text
from lab.settings import Settings, load_settings
from lab.training.backbones import BACKBONES, get_spec
from lab.training.config import HEADS, OPTIMIZERS, PRESETS, STRATEGIES, TrainConfig
from lab.training.weights import weights_available
from lab.workspace import dataset_folders

RUN_KEY = "train_run_id"
PRESET_KEY = "train_preset"
SEEN_DATASET_KEY = "train_seen_dataset_path"
STARTING_PRESET = "mobilenet-v2-quick"
ACTIVE_POLL, IDLE_POLL = 1.0, 5.0  # seconds between refreshes of the live view
STRATEGY_HELP = {
    "scratch": "random weights, every layer trains (the tutorial's own CNNs)",
    "feature-extractor": "backbone features computed once and cached; only the head trains (fast, no augmentation)",
    "frozen": "frozen backbone inside the model, run on every augmented batch",
    "fine-tune": "train the head, then unfreeze from a boundary at a lower learning rate",
}


def key(field: str) -> str:
    return f"train_form_{field}"


# ---- the form ----------------------------------------------------------------------------------


def fill_form(config: TrainConfig) -> None:
    """Put `config` into the form's widgets (before they are drawn on this rerun)."""
    for field, value in config.to_dict().items():
        st.session_state[key(field)] = value
    st.session_state[key("augment_overrides")] = ", ".join(f"{k}={v}" for k, v in config.augment_overrides.items())


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


def suggested_weights(backbone: str, strategy: str, available: dict[str, list[str]]) -> str:
    """What a new backbone or strategy should start with: a local file if this machine has one."""
    files = [w for w in available.get(backbone, []) if w not in ("none", "imagenet")]
    if strategy == "scratch" or get_spec(backbone).from_scratch_only:
        return "none"
    return files[-1] if files else "imagenet"


def backbone_or_strategy_changed(available: dict[str, list[str]]) -> None:
    """Keep the form launchable when the backbone or strategy changes: weights this machine has, the
    tutorial CNNs only from scratch, a boundary and an image size the backbone knows."""
    state = st.session_state
    spec = get_spec(state[key("backbone")])
    if spec.from_scratch_only:
        state[key("strategy")], state[key("head")] = "scratch", "auto"
    state[key("weights")] = suggested_weights(spec.name, state[key("strategy")], available)
    if state[key("fine_tune_at")] not in spec.boundaries:
        state[key("fine_tune_at")] = ""
    if (state[key("image_size")] or 0) < spec.min_size:
        state[key("image_size")] = spec.native_size


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


def config_form(settings: Settings) -> dict[str, Any]:
    """Every `TrainConfig` field as a labelled widget; returns the raw values."""
    available = available_weights(tuple(map(str, settings.weights_dirs)), settings)
    persist = {"persist_state": "session"}
    values: dict[str, Any] = {}
    model, data = st.columns(2)
    with data:
        folders = [str(folder) for folder in dataset_folders(settings)]
        values["data"] = st.selectbox(
            "Data", options_with(folders, st.session_state.get(key("data"))), key=key("data"),
            accept_new_options=True, help="A data folder, a .zip, a saved manifest name, or a folder name in "
            "the data folders (" + ", ".join(map(str, settings.data_dirs)) + ").", **persist)
        sizes = st.columns(2)
        values["train_size"] = sizes[0].number_input(
            "Training images", min_value=2, step=100, key=key("train_size"), placeholder="all",
            help="Total training images, stratified; empty = all.", **persist)
        values["validation_size"] = sizes[1].number_input(
            "Validation images", min_value=2, step=100, key=key("validation_size"), placeholder="all",
            help="Total validation images, stratified; empty = all.", **persist)
        values["augment"] = st.selectbox("Augmentation preset", list(AUGMENT_PRESETS), key=key("augment"), **persist)
        values["augment_overrides"] = st.text_input(
            "Augmentation changes", key=key("augment_overrides"), placeholder="rotation_range=30, zoom_range=0.1",
            help="key=value pairs changing the preset (the Augment page previews them).", **persist)
    with model:
        changed = {"on_change": backbone_or_strategy_changed, "args": (available,)}
        values["backbone"] = st.selectbox(
            "Backbone", list(BACKBONES), key=key("backbone"),
            format_func=lambda name: backbone_label(name, available), **changed, **persist)
        choices = ["imagenet", *[w for w in available.get(values["backbone"], ["none"]) if w != "imagenet"]]
        values["weights"] = st.selectbox(
            "Weights", options_with(choices, st.session_state.get(key("weights"))), key=key("weights"),
            format_func=weights_label, accept_new_options=True,
            help="imagenet needs Keras's cached file or a network; a local file can also be typed as a path.",
            **persist)
        values["strategy"] = st.selectbox(
            "Strategy", STRATEGIES, key=key("strategy"), format_func=lambda s: f"{s}: {STRATEGY_HELP[s]}",
            **changed, **persist)
        values["head"] = st.selectbox("Head", HEADS, key=key("head"), help="auto: the Keras tutorial's head "
                                      "(GAP, BatchNorm, Dropout 0.2, softmax) or the CNN's own layers.", **persist)
    values.update(training_fields(values["backbone"], values["strategy"], persist))
    return values


def training_fields(backbone: str, strategy: str, persist: dict[str, Any]) -> dict[str, Any]:
    spec = get_spec(backbone)
    values: dict[str, Any] = {}
    first, second, third, fourth = st.columns(4)
    values["image_size"] = first.number_input(
        "Image size (px)", min_value=spec.min_size, max_value=1024, step=8, key=key("image_size"),
        help=f"{backbone}'s native size is {spec.native_size}px.", **persist)
    values["epochs"] = second.number_input("Epochs", min_value=1, key=key("epochs"), **persist)
    values["batch_size"] = third.number_input("Batch size", min_value=1, max_value=4096, key=key("batch_size"),
                                              **persist)
    values["seed"] = fourth.number_input("Seed", min_value=0, key=key("seed"), **persist)
    values["optimizer"] = first.selectbox("Optimizer", OPTIMIZERS, key=key("optimizer"),
                                          help="sgd uses momentum 0.9.", **persist)
    values["learning_rate"] = second.number_input(
        "Learning rate", min_value=1e-8, max_value=1.0, step=1e-4, format="%.1e", key=key("learning_rate"), **persist)
    values["early_stopping_patience"] = third.number_input(
        "Early stopping patience", min_value=0, key=key("early_stopping_patience"),
        help="Epochs without a better val_accuracy before stopping; 0 = off.", **persist)
    values["class_weights"] = fourth.checkbox("Balance class weights", key=key("class_weights"), **persist)
    values["mixed_precision"] = fourth.checkbox("Mixed precision (GPU)", key=key("mixed_precision"), **persist)
    fine_tuning = strategy != "fine-tune"
    boundaries = ["", *spec.boundaries]
    values["fine_tune_at"] = first.selectbox(
        "Fine-tune from", options_with(boundaries, st.session_state.get(key("fine_tune_at"))),
        key=key("fine_tune_at"), disabled=fine_tuning,
        format_func=lambda b: b or f"default ({spec.default_boundary or 'none'})", **persist)
    values["fine_tune_learning_rate"] = second.number_input(
        "Fine-tune learning rate", min_value=1e-8, max_value=1.0, step=1e-6, format="%.1e", disabled=fine_tuning,
        key=key("fine_tune_learning_rate"), **persist)
    values["fine_tune_epochs"] = third.number_input(
        "Fine-tune epochs", min_value=1, key=key("fine_tune_epochs"), disabled=fine_tuning, **persist)
    return values


def config_from(values: dict[str, Any]) -> TrainConfig:
    """The validated config the form describes; `LabError` names the first bad field."""
    overrides = [part for part in (values["augment_overrides"] or "").split(",") if part.strip()]
    values = {**values, "augment_overrides": parse_assignments(overrides)}
    if values["strategy"] != "fine-tune":
        values["fine_tune_at"] = ""
    return TrainConfig.from_dict(values).validate()


@st.cache_data(max_entries=64, ttl=30, show_spinner="Estimating the cost...")
def cost_of(config_json: str, measure: bool, _settings: Settings) -> dict[str, Any]:
    """`estimate_cost` for a config; `measure` times the backbone here (loads TensorFlow, a few seconds).
    Kept briefly, so a run that just finished lends its measured speed to the next estimate."""
    from lab.training.cost import estimate_cost

    return estimate_cost(TrainConfig.from_dict(json.loads(config_json)), _settings, measure=measure)


def show_cost(config: TrainConfig, settings: Settings) -> None:
    """Work in images x epochs x FLOPs, and time from the speed earlier runs measured (or a measurement now)."""
    config_json = json.dumps(config.to_dict(), sort_keys=True)
    try:
        cost = cost_of(config_json, False, settings)
        if cost["seconds"] is None and st.button("Measure this machine's speed", help="Times a forward pass of "
                                                 "the backbone on random images: a few seconds."):
            cost = cost_of(config_json, True, settings)
    except LabError as error:
        st.warning(f"No estimate: {error}")
        return
    speed = (f"{cost['images_per_second']:,.0f} images/s (from {cost['rate_source']}) → about "
             f"**{_duration(cost['seconds'])}**" if cost["images_per_second"] else
             "speed unknown until a run with this backbone and image size (or a measurement)")
    st.markdown(
        f"**Cost:** {cost['train_images']:,} training + {cost['validation_images']:,} validation images · "
        f"{cost['forward_passes']:,.0f} forward passes over {cost['epochs']} epochs × "
        f"{cost['flops_per_image'] / 1e9:.2f} GFLOPs = **{cost['total_flops'] / 1e12:,.2f} TFLOPs** · {speed}"
    )


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min {seconds} s" if minutes else f"{seconds} s"


# ---- runs --------------------------------------------------------------------------------------


def progress_of(status: Status) -> tuple[float, str]:
    """The progress bar's fraction and text for a run."""
    if not status.active:
        return 1.0, status.state + (f": {status.error}" if status.error else "")
    if status.state == "queued":
        return 0.0, "queued: starts when the running training ends"
    if status.progress:
        return progress_fraction(status.progress), progress_text(status.progress)
    phase = status.phase or {}
    return 0.0, phase.get("message") or "starting the worker..."


def curves(history: list[dict[str, float]], metric: str) -> go.Figure:
    figure = go.Figure()
    epochs = list(range(1, len(history) + 1))
    for name in (metric, f"val_{metric}"):
        if any(name in row for row in history):
            figure.add_scatter(x=epochs, y=[row.get(name) for row in history], mode="lines+markers", name=name)
    phases = [row.get("phase") for row in history]
    if "fine-tune" in phases:
        figure.add_vline(x=phases.index("fine-tune") + 0.5, line_dash="dot", annotation_text="fine-tuning")
    figure.update_layout(title=metric, xaxis_title="epoch", height=300, margin=dict(t=40, b=10, l=10, r=10))
    return figure


def runs_table(runs: list[Run]) -> None:
    rows = [{k: s[k] for k in ("id", "status", "best_val_accuracy", "epochs_completed", "config", "created")}
            for s in (run.summary() for run in runs)]
    st.dataframe(rows, hide_index=True, column_config={
        "best_val_accuracy": st.column_config.NumberColumn("best val acc", format="%.4f")})


def show_run(run: Run, runs_dir: Path) -> None:
    status = run.status()
    fraction, text = progress_of(status)
    st.progress(fraction, text=text)
    if status.state == "failed" and status.error:
        st.error(status.error)
    metrics = run.metrics()
    if metrics.get("best_val_accuracy") is not None:
        accuracy, epochs, images, seconds = st.columns(4)
        accuracy.metric("Best validation accuracy", f"{metrics['best_val_accuracy']:.4f}",
                        help=f"at epoch {metrics.get('best_epoch')}; best.keras holds that model")
        epochs.metric("Epochs", metrics.get("epochs_completed"))
        images.metric("Training images", f"{metrics.get('train_images', 0):,}")
        seconds.metric("Time", _duration(metrics.get("seconds") or 0))
    if status.active and st.button("Stop", key=f"stop_{run.id}", icon=":material/stop:"):
        jobs.stop(run.id, runs_dir)
        st.toast(f"Stopping {run.id} after its current batch")
    if not status.active:
        st.button("Delete this run", key=f"delete_{run.id}", icon=":material/delete:", on_click=delete_run,
                  args=(run.id, runs_dir), help="Removes the run folder: model, checkpoints, history and log.")
    history = run.history()
    if history:
        loss, accuracy = st.columns(2)
        loss.plotly_chart(curves(history, "loss"), key=f"loss_{run.id}")
        accuracy.plotly_chart(curves(history, "accuracy"), key=f"accuracy_{run.id}")
    st.caption(f"Run folder: {run.path} · {run.config_dict().get('backbone')} · log:")
    st.code(run.log_tail(30) or "(empty)", language=None, wrap_lines=True)


def delete_run(run_id: str, runs_dir: Path) -> None:
    """Runs before the rerun, so the run selector then simply falls back to another run."""
    RunStore(runs_dir).delete(run_id)
    st.session_state.pop(RUN_KEY, None)


def watch(settings: Settings, was_active: bool) -> None:
    """The live part of the page: queue, runs, and the selected run, re-read from disk on every poll."""
    jobs.reconcile(settings.runs_dir, settings)
    runs = {run.id: run for run in RunStore(settings.runs_dir).list()}
    states = {run_id: run.status().state for run_id, run in runs.items()}
    active = [run_id for run_id, state in states.items() if state in ("queued", "running")]
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
        launched = jobs.launch(config, settings)
        st.session_state[RUN_KEY] = launched.id
        st.toast(f"Launched {launched.id}")
    except LabError as error:
        st.error(str(error))

st.header("Runs")
busy = any(run.status().active for run in RunStore(settings.runs_dir).list())
st.fragment(watch, run_every=ACTIVE_POLL if busy else IDLE_POLL)(settings, busy)
