"""The Train page in Streamlit's AppTest: the form, presets, validation, launch, and re-attaching."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.data import build_manifest, scan
from lab.runs import jobs
from lab.runs.jobs import process_identity
from lab.runs.store import Run, RunStore, run_names
from lab.runs.study import Study, save_study
from lab.settings import load_settings
from lab.storage import write_json_atomic
from lab.training.config import FIELDS, TrainConfig
from lab.training.presets import PRESETS
from tests.apptest import open_page as open_app
from tests.apptest import train_run_picker
from tests.conftest import FILTERED, FLAT_20K, MOBILENET_V2, SHARED, TINY_MOBILENET
from tests.test_queue import queued


def key(field: str) -> str:
    return f"train_form_{field}"


@pytest.fixture
def page(workspace: Path) -> AppTest:
    return open_app("train", timeout=60)


def widget(app: AppTest, field: str):
    """The widget holding a config field, whatever its kind."""
    for kind in (app.selectbox, app.number_input, app.text_input, app.checkbox):
        found = [w for w in kind if w.key == key(field)]
        if found:
            return found[0]
    raise AssertionError(f"no widget for {field}")


def picker(app: AppTest):
    """The preset picker (its key names the preset the form holds, so it is found by its label)."""
    [found] = [box for box in app.selectbox if box.label == "Experiment"]
    return found


def test_every_config_field_has_a_labelled_widget(page: AppTest) -> None:
    for field in fields(TrainConfig):
        assert widget(page, field.name).label, field.name
    assert any(m.value.startswith("**Time:** not known yet on this machine") for m in page.markdown)
    assert any(c.value.startswith("1,000 training + 1,000 validation images") for c in page.caption)
    assert any(b.label == "Launch" and not b.disabled for b in page.button)


def test_labels_help_and_bounds_come_from_the_config_table(page: AppTest) -> None:
    for name in ("epochs", "batch_size", "train_size", "learning_rate", "early_stopping_patience"):
        found = widget(page, name)
        assert (found.label, found.help) == (FIELDS[name].label, FIELDS[name].help), name
        assert (found.min, found.max) == (FIELDS[name].low, FIELDS[name].high), name
    assert widget(page, "strategy").options[0].startswith(FIELDS["strategy"].choices[0])
    widget(page, "backbone").set_value("inception_v3").run()
    assert widget(page, "image_size").min == 75  # the backbone's own minimum


def test_the_backbone_list_says_which_weights_this_machine_has(page: AppTest) -> None:
    options = widget(page, "backbone").options
    assert "MobileNet · ImageNet weights ready" in options
    assert "VGG16 · no ImageNet weights here" in options
    widget(page, "backbone").set_value("mobilenet").run()
    assert "mobilenet_0.25_128 · local file" in widget(page, "weights").options  # TINY_MOBILENET, named short


def test_the_form_follows_the_dataset_page(page: AppTest) -> None:
    assert widget(page, "data").value == str(FILTERED)  # the first image folder in the data folders
    chosen = str(FILTERED.parent / "dogs-vs-cats-20k-160px")
    page.session_state["dataset_path"] = chosen  # what the Dataset page does after a scan
    page.run()
    assert widget(page, "data").value == chosen


def test_a_preset_fills_the_form(page: AppTest) -> None:
    picker(page).set_value("vgg16-fine-tune").run()

    assert not page.exception
    values = {field: widget(page, field).value for field in ("backbone", "strategy", "fine_tune_at", "augment")}
    assert values == {"backbone": "vgg16", "strategy": "fine-tune", "fine_tune_at": "block4",
                      "augment": "five-model-tutorial"}
    assert (widget(page, "epochs").value, widget(page, "fine_tune_epochs").value) == (10, 90)
    assert widget(page, "learning_rate").value == pytest.approx(2e-5)
    assert widget(page, "image_size").value == 150


def test_a_new_backbone_or_strategy_gets_weights_this_machine_has(page: AppTest) -> None:
    widget(page, "backbone").set_value("mobilenet").run()
    assert widget(page, "weights").value == str(TINY_MOBILENET)
    widget(page, "strategy").set_value("scratch").run()
    assert widget(page, "weights").value == "none"
    widget(page, "backbone").set_value("basic_cnn").run()
    assert (widget(page, "strategy").value, widget(page, "weights").value) == ("scratch", "none")
    widget(page, "backbone").set_value("vgg16").run()
    widget(page, "strategy").set_value("fine-tune").run()
    assert widget(page, "weights").value == "imagenet"  # nothing local for VGG16: launching says what to do
    assert not page.error


def test_leaving_fine_tuning_clears_the_boundary_in_the_form(page: AppTest) -> None:
    picker(page).set_value("vgg16-fine-tune").run()
    widget(page, "strategy").set_value("frozen").run()

    assert widget(page, "fine_tune_at").value == "" and widget(page, "fine_tune_at").disabled
    assert not page.error


def test_a_boundary_outside_fine_tuning_is_refused_not_silently_cleared(page: AppTest) -> None:
    picker(page).set_value("vgg16-frozen-augmented").run()
    page.session_state[key("fine_tune_at")] = "block4"  # e.g. left by another page
    page.run()

    assert any("fine_tune_at='block4' only applies" in error.value for error in page.error)
    assert not widget(page, "fine_tune_at").disabled  # so it can be cleared
    assert [b.disabled for b in page.button if b.label == "Launch"] == [True]


def test_data_that_is_not_here_blocks_launch_next_to_the_data_box(page: AppTest) -> None:
    widget(page, "backbone").set_value("mobilenet").run()
    widget(page, "train_size").set_value(40)
    widget(page, "validation_size").set_value(20).run()
    page.session_state["dataset_path"] = "no_such_dataset"  # as if the Dataset page had chosen it
    page.run()

    assert not page.error  # a valid config, which this machine cannot run
    assert any(w.value.startswith("**Data**: 'no_such_dataset' is neither") for w in page.warning)
    assert launch_disabled(page)
    assert RunStore(load_settings().runs_dir).list() == []


def launch_disabled(app: AppTest) -> bool:
    [launch] = [b for b in app.button if b.label == "Launch"]
    return launch.disabled


def warnings_for(app: AppTest, field: str) -> list[str]:
    """What the form says next to a field, by the field's label."""
    return [w.value for w in app.warning if w.value.startswith(f"**{FIELDS[field].label}**: ")]


def test_too_few_images_blocks_launch_naming_the_field_by_its_label(page: AppTest) -> None:
    assert not launch_disabled(page)
    widget(page, "train_size").set_value(5000).run()

    [said] = warnings_for(page, "train_size")
    assert "asks for 5,000 images but only 2,000 are available for training" in said and "--train" not in said
    assert launch_disabled(page)
    widget(page, "train_size").set_value(2000).run()
    assert not warnings_for(page, "train_size") and not launch_disabled(page)


def test_weights_not_on_this_machine_block_launch(page: AppTest, monkeypatch: pytest.MonkeyPatch,
                                                  tmp_path: Path) -> None:
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # nothing in Keras's cache
    monkeypatch.setattr("lab.training.weights.online", lambda: False)
    monkeypatch.setattr("lab.training.preflight.online", lambda: False)
    picker(page).set_value("keras-tutorial-vgg16-1k").run()

    assert widget(page, "weights").value == "imagenet"
    [said] = warnings_for(page, "weights")
    assert "imagenet weights for vgg16 are not on this machine and cannot be downloaded (offline)" in said
    assert launch_disabled(page)


def a_manifest_with_a_subset(name: str = "filtered") -> None:
    build_manifest(scan(FILTERED), name=name, subsets={"train_40": ("train", 40)}).save(load_settings())


def test_the_data_box_lists_datasets_and_manifests_with_their_subsets(workspace: Path) -> None:
    a_manifest_with_a_subset()
    page = open_app("train", timeout=60)
    data = widget(page, "data")
    assert "cats_and_dogs_filtered" in data.options and str(FILTERED) not in data.options  # names, not paths
    assert "filtered · manifest: train 2,000 · validation 1,000 · train_40 40" in data.options
    assert widget(page, "train_split").disabled  # a folder has its train split only

    data.set_value("filtered").run()
    split = widget(page, "train_split")
    assert split.options == ["train · 2,000 images", "train_40 · 40 images"] and not split.disabled
    split.set_value("train_40").run()
    assert warnings_for(page, "train_size") and launch_disabled(page)  # the preset's 1,000 images: not in 40
    widget(page, "train_size").set_value(40).run()
    assert not page.warning and not launch_disabled(page)
    assert any("40 train_40" in caption.value for caption in page.caption)  # the config's summary

    build_manifest(scan(FILTERED), name="filtered").save(load_settings())  # saved again, without the subset
    page.run()
    [said] = warnings_for(page, "train_split")
    assert "no split 'train_40'; it has train, validation (subsets" in said and launch_disabled(page)


def test_a_new_session_trains_on_the_dataset_scanned_last_else_the_sample(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    upload = tmp_path / "uploads" / "a_small_upload" / "cats"  # sorts before ../shared/data
    upload.mkdir(parents=True)
    (upload / "1.jpg").write_bytes(b"not decoded to be listed")
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", f"{tmp_path / 'uploads'}{os.pathsep}{SHARED / 'data'}")
    assert widget(open_app("train", timeout=60), "data").value == str(FILTERED)

    scanned = open_app("train", timeout=60, run=False)
    scanned.session_state["dataset_path"] = str(FLAT_20K)
    scanned.run()
    assert widget(scanned, "data").value == str(FLAT_20K)


def test_the_image_size_follows_the_backbone_unless_chosen(page: AppTest) -> None:
    assert widget(page, "image_size").value == 160  # the quick preset's size, which it explains
    assert any("160 px instead of MobileNetV2's native 224 px: faster" in c.value and "1-1.5 points" in c.value
               for c in page.caption)
    widget(page, "backbone").set_value("efficientnet_b1").run()
    assert widget(page, "image_size").value == 240
    assert not any("px instead of" in c.value for c in page.caption)
    widget(page, "image_size").set_value(200).run()
    widget(page, "backbone").set_value("inception_v3").run()
    assert widget(page, "image_size").value == 200  # chosen by hand: kept


def test_the_preset_picker_shows_the_preset_the_form_holds_or_custom(page: AppTest) -> None:
    shown = picker(page)
    assert shown.value == "mobilenet-v2-quick"
    assert shown.options[-1] == "Custom: your own settings"
    assert all(option != name for option, name in zip(shown.options, PRESETS))  # described, not bare names
    widget(page, "epochs").set_value(7).run()
    assert picker(page).value == "custom"
    picker(page).set_value("vgg16-fine-tune").run()
    assert picker(page).value == "vgg16-fine-tune"
    assert "Time unknown until this machine has measured its speed" in [c.value for c in page.caption]
    assert not [c.value for c in page.caption if "vgg16-fine-tune" in c.value]  # its name is for the CLI: in help


ADVANCED = {"head", "optimizer", "learning_rate", "fine_tune_at", "fine_tune_learning_rate", "fine_tune_epochs",
            "batch_size", "seed", "early_stopping_patience", "early_stopping_monitor", "restore_best_weights",
            "start_from", "class_weights", "mixed_precision", "augment_overrides", "validation_size"}


def test_the_advanced_section_holds_the_advanced_fields(page: AppTest) -> None:
    [advanced] = [e for e in page.expander if e.label == "Advanced"]
    inside = {w.key for kind in ("selectbox", "number_input", "text_input", "checkbox")
              for w in getattr(advanced, kind)}
    assert inside == {key(name) for name in ADVANCED}
    assert not advanced.proto.expanded


def test_an_impossible_combination_is_explained_and_cannot_launch(page: AppTest) -> None:
    widget(page, "strategy").set_value("scratch").run()  # weights become "none"
    widget(page, "weights").set_value(str(MOBILENET_V2)).run()

    assert any("scratch" in error.value for error in page.error)
    assert [b.disabled for b in page.button if b.label == "Launch"] == [True]


@pytest.mark.slow  # a real worker trains
def test_launch_starts_a_run_that_a_second_browser_sees_finish(page: AppTest) -> None:
    widget(page, "backbone").set_value("mobilenet").run()  # picks the tiny weights file, the only one it has
    tiny = {"data": str(FILTERED), "strategy": "feature-extractor",
            "image_size": 128, "epochs": 1, "batch_size": 8, "train_size": 40, "validation_size": 20}
    for field, value in tiny.items():
        widget(page, field).set_value(value)
    page.run()
    assert not page.error, [e.value for e in page.error]
    next(b for b in page.button if b.label == "Launch").click().run()

    [run] = RunStore(load_settings().runs_dir).list()
    assert run.status().state in ("queued", "running")
    assert page.session_state["train_run_id"] == run.id
    assert run.config().backbone == "mobilenet" and run.config().train_size == 40

    deadline = time.monotonic() + 180
    while run.status().active and time.monotonic() < deadline:
        time.sleep(0.5)
    assert run.status().state == "finished", run.log_tail()

    second = open_app("train", timeout=60)
    assert train_run_picker(second).value == run.id  # re-attached without being told
    assert any(m.label == "Best validation accuracy" for m in second.metric)
    assert any(box.value.startswith("finished") for box in second.success)
    assert "epoch 1/1" in second.code[0].value  # the log tail


def test_an_ended_run_can_be_deleted_from_the_page(page: AppTest) -> None:
    store = RunStore(load_settings().runs_dir)
    run = store.create(TrainConfig(data=str(FILTERED), backbone="mobilenet", weights="none", strategy="frozen"))
    run.update(state="stopped")
    page.run()
    assert train_run_picker(page).value == run.id

    next(b for b in page.button if b.label == "Delete this run").click().run()

    assert not page.exception and store.list() == []
    assert any("No runs yet" in info.value for info in page.info)


@pytest.fixture
def worker_stand_in() -> Iterator[subprocess.Popen]:
    """A live process to stand in for a run's worker, so the run stays "running" while the page looks."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield process
    process.kill()
    process.wait()


def a_run(tiny_config: TrainConfig) -> Run:
    return RunStore(load_settings().runs_dir).create(tiny_config)


def test_stop_says_stopping_at_once(page: AppTest, tiny_config: TrainConfig, worker_stand_in) -> None:
    run = a_run(tiny_config)
    run.mark_running(*process_identity(worker_stand_in.pid))
    page.run()
    stop = next(b for b in page.button if b.label == "Stop training")
    stop.click().run()
    assert run.stop_requested()
    assert page.get("progress")[0].proto.text.startswith("stopping…")
    assert next(b for b in page.button if b.label == "Stop training").disabled


def test_an_ended_run_says_how_it_ended_in_its_colour(page: AppTest, tiny_config: TrainConfig) -> None:
    run = a_run(tiny_config)
    run.update(state="failed", error="no space left on device while saving best.keras")
    page.run()
    assert any("no space left on device" in box.value for box in page.error)
    assert not page.get("progress"), "an ended run has no progress bar"


def test_a_finished_run_says_what_next_in_percentages_with_a_readable_log(page: AppTest,
                                                                          tiny_config: TrainConfig) -> None:
    run = a_run(tiny_config)
    (run.path / "model.keras").write_bytes(b"a model")
    write_json_atomic(run.path / "metrics.json", {"best_val_accuracy": 0.875, "best_epoch": 1, "epochs_completed": 1,
                                                  "train_images": 40, "validation_images": 40, "test_accuracy": 0.9,
                                                  "test_images": 30})
    run.log("epoch 1/1: accuracy 0.8")
    with (run.path / "log.txt").open("a") as log:
        log.write("I0000 00:00:1796045358.079910    2929 cudart_stub.cc:31] Could not find cuda drivers\n"
                  "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    run.update(state="finished")
    page.run()
    shown = {metric.label: metric.value for metric in page.metric}
    assert shown["Best validation accuracy"] == "87.5%" and shown["Test accuracy"] == "90.0%"
    captions = [caption.value for caption in page.caption]  # each with its 95% interval for its photos
    assert "95% interval 73.9-94.5% on 40 photos" in captions and "95% interval 74.4-96.5% on 30 photos" in captions
    table = next(frame.value for frame in page.dataframe if "interval" in frame.value.columns)
    assert table["interval"].tolist() == ["73.9-94.5%"]
    assert any(box.value.startswith("finished") for box in page.success)
    assert {"Try it on photos", "Compare"} <= {button.label for button in page.button}
    assert [button.proto.label for button in page.get("download_button")] == ["Download the model (.keras)"]
    log = page.code[-1].value
    assert "epoch 1/1" in log and "cuda" not in log and "absl" not in log


def test_the_picker_stays_on_a_finished_run_with_its_card_and_both_next_steps(
    page: AppTest, tiny_config: TrainConfig, tiny_run: Path, worker_stand_in
) -> None:
    """Someone else's run running behind yours: yours ends, and the page stays on it, never on theirs."""
    store = RunStore(load_settings().runs_dir)
    mine = store.get(shutil.copytree(tiny_run, store.runs_dir / tiny_run.name).name)
    mine.update(state="running", heartbeat=None)  # the copy's heartbeat is as old as the fixture: not stale
    mine.mark_running(*process_identity(worker_stand_in.pid))
    theirs = a_run(tiny_config)
    theirs.mark_running(*process_identity(worker_stand_in.pid))  # a newer run, first in the picker
    page.session_state["train_run_id"] = mine.id
    page.run()
    assert train_run_picker(page).value == mine.id
    assert train_run_picker(page).options[:2] == ["MobileNet features · 40 photos (2) · running",  # theirs: newer
                                                  "MobileNet features · 40 photos · running"]  # by name, not id

    mine.update(state="finished")  # its worker ended
    page.run()

    assert not page.exception
    assert train_run_picker(page).value == mine.id
    assert "MobileNet features · 40 photos · finished" in train_run_picker(page).options
    assert any(box.value.startswith("finished") for box in page.success)
    assert not [b for b in page.button if b.label == "Stop training"], "no Stop button for someone else's run"
    assert {"Try it on photos", "Compare"} <= {b.label for b in page.button}
    next(b for b in page.button if b.label == "Try it on photos").click().run()
    assert page.session_state["predict_run"] == mine.id


def test_the_compare_button_ticks_the_run_on_compare(page: AppTest, tiny_run: Path) -> None:
    store = RunStore(load_settings().runs_dir)
    run = store.get(shutil.copytree(tiny_run, store.runs_dir / tiny_run.name).name)
    page.run()
    next(b for b in page.button if b.label == "Compare").click().run()
    assert page.session_state["compare_selected"] == [run.id]


def test_a_stopped_or_cancelled_run_is_not_labelled_running(page: AppTest, tiny_config: TrainConfig,
                                                            worker_stand_in) -> None:
    stopping = a_run(tiny_config)
    stopping.mark_running(*process_identity(worker_stand_in.pid))
    stopping.request_stop()
    cancelled = a_run(tiny_config)
    jobs.cancel([cancelled.id])
    page.run()
    names = run_names(RunStore(load_settings().runs_dir).list())
    assert set(train_run_picker(page).options) == {f"{names[stopping.id]} · stopping",
                                                   f"{names[cancelled.id]} · cancelled (never started)"}


def test_a_queued_run_says_its_place_and_can_be_run_next_or_cancelled(
    page: AppTest, tiny_config: TrainConfig, tiny_run: Path, worker_stand_in
) -> None:
    store = RunStore(load_settings().runs_dir)
    shutil.copytree(tiny_run, store.runs_dir / tiny_run.name)  # its speed makes the estimates possible
    running = a_run(tiny_config)
    running.mark_running(*process_identity(worker_stand_in.pid))
    running.update(progress={"eta_seconds": 2400})  # its ETA: 40 minutes left
    first, second = queued(store.runs_dir, tiny_config, 2)
    page.session_state["train_run_id"] = second.id
    page.run()
    # 40 minutes left on the running run, then the first queued run's estimate: seconds from tiny_run's speed,
    # which a loaded machine may have stretched towards a minute
    assert any(re.match(r"Queued: 2nd in line, starts in about 4[01] minutes", box.value) for box in page.info), \
        [box.value for box in page.info]
    assert "(3 runs ahead)" in " ".join(text.value for text in page.markdown)  # the estimate before Launch

    next(b for b in page.button if b.label == "Run it next").click().run()
    assert any(box.value.startswith("Queued: next in line") for box in page.info)
    next(b for b in page.button if b.label == "Cancel this run").click().run()

    assert second.status().state == "stopped" and first.status().state == "queued"
    assert train_run_picker(page).value == second.id
    assert any("cancelled (never started)" in box.value for box in page.warning)


def test_launching_behind_a_study_warns_and_names_it(page: AppTest, tiny_config: TrainConfig) -> None:
    runs = [a_run(tiny_config), a_run(tiny_config)]
    save_study(Study("study-lesson", tiny_config, (40, 20),
                     runs=tuple({"size": 40, "repeat": 0, "run_id": run.id} for run in runs)), load_settings())
    for run in runs:
        run.update(held="features-study-lesson")  # queued, and not started by the page's polls
    page.run()
    warned = [box.value for box in page.warning if "waits behind" in box.value]
    assert warned and "dataset\\-size study study\\-lesson \\(2 runs waiting" in warned[0]
