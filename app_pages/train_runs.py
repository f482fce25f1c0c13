"""The Train page's live view of the runs: the queue reconciled, the chosen run's state, figures, curves and log.

Not a page. A thin view over `lab.runs` (`jobs` to reconcile and stop, `describe` for the words, `store` to
read and delete) and `app_pages.train_queue` (a waiting run's card). It polls the run folders with
`st.fragment(run_every=...)`, so a reload, a second browser or an app restart re-attaches to what is running.
Session state holds one run id: the run the person chose, which no run starting or ending changes. A finished
run's card leads on to Predict and Compare with that run chosen there. A run's card keeps the time expected at
launch (`estimate.json`), beside the time it took once it ended.
"""

from __future__ import annotations

import functools
import zlib
from pathlib import Path

import streamlit as st

from app_pages.charts import curves
from app_pages.session_keys import COMPARE_SELECTED, PREDICT_RUN
from app_pages.train_queue import waiting_card
from lab.evaluation.accuracy_text import interval_sentence, interval_text
from lab.runs import jobs
from lab.runs.describe import (
    estimate_text,
    meanings_text,
    readable_log,
    state_word,
    status_fraction,
    status_text,
)
from lab.runs.names import file_stem
from lab.runs.status import ACTIVE_STATES, FAILED, FINISHED, QUEUED, STOPPED, Status, runs_in
from lab.runs.store import Run, RunStore, run_names
from lab.settings import Settings
from lab.training.cost import duration_text

RUN_KEY = "train_run_id"  # the run the person chose (not a widget's key: see `run_picker`)
FOLLOWING_KEY = "train_run_following"  # True while RUN_KEY is the page's own pick, not the person's
PREDICT_PAGE, COMPARE_PAGE = "app_pages/predict.py", "app_pages/compare.py"
ACTIVE_POLL, IDLE_POLL = 1.0, 5.0  # seconds between refreshes of the live view
# How an ended run's state is shown: finished in green, stopped in amber, failed in red.
ENDED = {FINISHED: (st.success, ":material/check_circle:"), STOPPED: (st.warning, ":material/pause_circle:"),
         FAILED: (st.error, ":material/error:")}


def runs_section(settings: Settings) -> None:
    """The live view, polled fast while a run is under way and slowly otherwise."""
    st.header("Runs")
    busy = bool(runs_in(RunStore(settings.runs_dir).states(), *ACTIVE_STATES))
    st.fragment(watch, run_every=ACTIVE_POLL if busy else IDLE_POLL)(settings, busy)


def watch(settings: Settings, was_active: bool) -> None:
    """The live part of the page: queue, runs, and the selected run, re-read from disk on every poll."""
    jobs.reconcile(settings.runs_dir, settings)
    statuses = RunStore(settings.runs_dir).statuses()
    runs = {run.id: run for run, _ in statuses}
    active = runs_in({run.id: status.state for run, status in statuses}, *ACTIVE_STATES)
    if bool(active) != was_active:
        st.rerun()  # poll faster (or slower) from now on
    if not runs:
        st.info("No runs yet: configure one above and press Launch.")
        return
    if follows(st.session_state.get(RUN_KEY), runs, active):
        st.session_state[RUN_KEY] = active[-1] if active else next(iter(runs))
        st.session_state[FOLLOWING_KEY] = True
    show_run(runs[run_picker(statuses)], settings)
    with st.expander(f"All runs ({len(runs)})"):
        runs_table(list(runs.values()))


def follows(chosen: str | None, runs: dict[str, Run], active: list[str]) -> bool:
    """Whether the page picks the run to show: nothing is chosen (or the chosen run was deleted), or the page
    picked the one shown and a newer run is under way (a tab opened before a run started elsewhere follows it).
    A run the person chose or launched stays chosen when it ends, whatever starts after it."""
    if chosen not in runs:
        return True
    return bool(st.session_state.get(FOLLOWING_KEY)) and bool(active) and active[-1] != chosen


def choose(run_id: str) -> None:
    """The person's choice (the picker, a Launch): kept until they choose another."""
    st.session_state[RUN_KEY] = run_id
    st.session_state[FOLLOWING_KEY] = False


def run_picker(statuses: list[tuple[Run, Status]]) -> str:
    """The run chosen, in a picker whose labels say each run's name and state ("MobileNetV2 features · 1,000
    photos · running"; two runs of one name numbered, `run_names`). The choice is kept in `RUN_KEY`, and the
    widget is made anew on it whenever a label changes: a selectbox whose selected label changes under the
    browser resets itself to its first option (the newest run, often the next in line), which is how a
    finished run's card used to give way to someone else's run and its Stop button."""
    names = run_names(run for run, _ in statuses)
    labels = {run.id: f"{names[run.id]} · {state_word(status, stopping=run.stop_requested())}"
              for run, status in statuses}
    picker = f"{RUN_KEY}_picker_{zlib.crc32(repr(labels).encode())}"
    options = list(labels)
    st.selectbox("Run", options, index=options.index(st.session_state[RUN_KEY]), key=picker,
                 format_func=labels.get, on_change=choose_run, args=(picker,))
    return st.session_state[RUN_KEY]


def choose_run(picker: str) -> None:
    choose(st.session_state[picker])


def show_run(run: Run, settings: Settings) -> None:
    status, runs_dir = run.status(), settings.runs_dir
    if status.state == QUEUED:
        waiting_card(run, settings)
    else:
        show_state(run, status, runs_dir)
    metrics = run.metrics()
    expected = estimate_text(run.estimate(), None if status.active else metrics.get("seconds"))
    if expected:  # the estimate made at launch stays beside the run, with the time it took once it ended
        st.caption(expected)
    if metrics.get("best_val_accuracy") is not None:
        accuracy, test, epochs, images, seconds = st.columns(5)
        accuracy.metric("Best validation accuracy", f"{metrics['best_val_accuracy']:.1%}",
                        help=f"at epoch {metrics.get('best_epoch')}; best.keras holds that model")
        if interval := interval_sentence(metrics["best_val_accuracy"], metrics.get("validation_images")):
            accuracy.caption(interval)
        if metrics.get("test_accuracy") is not None:
            test.metric("Test accuracy", f"{metrics['test_accuracy']:.1%}",
                        help=f"the final model on {metrics.get('test_images', 0):,} photos it never saw in training")
            test.caption(interval_sentence(metrics["test_accuracy"], metrics.get("test_images")) or "")
        epochs.metric("Epochs", metrics.get("epochs_completed"))
        images.metric("Training images", f"{metrics.get('train_images', 0):,}")
        seconds.metric("Time", duration_text(metrics.get("seconds") or 0))
    if status.state in (FINISHED, STOPPED) and run.files.model.exists():
        next_steps(run, status)
    if not status.active:
        st.button("Delete this run", key=f"delete_{run.id}", icon=":material/delete:", on_click=delete_run,
                  args=(run.id, runs_dir), help="Removes the run folder: model, checkpoints, history and log.")
    history = run.history()
    if history:
        loss, accuracy = st.columns(2)
        loss.plotly_chart(curves({"": history}, "loss"), key=f"loss_{run.id}")
        accuracy.plotly_chart(curves({"": history}, "accuracy"), key=f"accuracy_{run.id}")
    with st.expander("Technical details: the run's folder and log"):  # for whoever runs the CLI, not a lesson
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


def next_steps(run: Run, status: Status) -> None:
    """What a person can do with a trained model: try it on photos (a finished one: Predict offers those),
    compare it, and take it away. Each page opens with this run chosen."""
    photos, compare, download = st.columns(3)
    if status.state == FINISHED and photos.button("Try it on photos", key=f"predict_{run.id}", type="primary",
                                                  icon=":material/photo_camera:", width="stretch",
                                                  help="Opens Predict with this run chosen"):
        st.session_state[PREDICT_RUN] = run.id
        st.switch_page(PREDICT_PAGE)
    if compare.button("Compare", key=f"compare_{run.id}", icon=":material/compare_arrows:", width="stretch",
                      help="Opens Compare with this run ticked: its curves, test photos and mistakes, beside "
                           "your other runs"):
        st.session_state[COMPARE_SELECTED] = [run.id]
        st.switch_page(COMPARE_PAGE)
    download.download_button("Download the model (.keras)", data=functools.partial(run.files.model.read_bytes),
                             file_name=f"{file_stem(run.name())}.keras", mime="application/octet-stream",
                             icon=":material/download:", key=f"download_{run.id}",
                             help="Raw RGB photos (0-255) in, one probability per class out; "
                                  "keras.saving.load_model opens it.")


def delete_run(run_id: str, runs_dir: Path) -> None:
    """Runs before the rerun, so the run selector then simply falls back to another run."""
    RunStore(runs_dir).delete(run_id)
    st.session_state.pop(RUN_KEY, None)


def runs_table(runs: list[Run]) -> None:
    names = run_names(runs)
    rows = [{"name": names[s["id"]], "status": s["status"], "best_val_accuracy": s["best_val_accuracy"],
             "interval": interval_text(s["best_val_accuracy"], s["validation_images"]),
             **{k: s[k] for k in ("epochs_completed", "config", "created")}} for s in (run.summary() for run in runs)]
    st.dataframe(rows, hide_index=True, placeholder="not yet", column_config={  # a running run's accuracy
        "status": st.column_config.TextColumn("status", help=meanings_text()),
        "best_val_accuracy": st.column_config.NumberColumn("best val acc", format="percent"),
        "interval": st.column_config.TextColumn("95% interval", help="Wilson's 95% interval of the best validation "
                                                                     "accuracy, for the validation photos")})
