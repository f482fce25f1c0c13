"""The run store: folders, status round-trip, listing order, deletion rules, atomic status writes; and
what a status says in words."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from lab.cli import main
from lab.errors import LabError
from lab.runs import labels
from lab.runs.describe import event_text, meanings_text, status_fraction, status_text
from lab.runs.differences import config_differences, points_change
from lab.runs.jobs import process_identity
from lab.runs.names import run_name
from lab.runs.status import FAILED, FINISHED, MEANINGS, QUEUED, RUNNING, STOPPED, UNKNOWN, Status, now_iso
from lab.runs.store import Run, RunStore
from lab.runs.table import COLUMNS, filter_choices, filter_rows, published_figures, run_rows
from lab.training.config import TrainConfig
from lab.training.presets import PRESETS


def tiny_config(**changes) -> TrainConfig:
    values = dict(data="cats_and_dogs_filtered", backbone="mobilenet", weights="none", strategy="frozen")
    return TrainConfig(**{**values, **changes})


def test_create_writes_a_self_describing_folder(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    config = tiny_config(epochs=3)
    run = store.create(config)

    assert run.path.parent == store.runs_dir
    assert run.id.split("-")[2:4] == ["mobilenet", "frozen"] and run.id[:8].isdigit()
    assert TrainConfig.from_dict(json.loads((run.path / "config.json").read_text())) == config
    assert run.config() == config
    status = run.status()
    assert status.state == QUEUED and status.pid is None and status.active
    assert json.loads((run.path / "status.json").read_text())["state"] == "queued"


def test_status_round_trips_through_update(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    event = {"type": "epoch", "epoch": 1, "epochs": 3, "logs": {"loss": 0.5}}
    run.update(state=RUNNING, pid=123, pid_created=1.5, epoch=event)

    status = run.status()
    assert (status.state, status.pid, status.pid_created, status.epoch) == (RUNNING, 123, 1.5, event)
    assert Status.from_dict(status.to_dict()) == status


def test_history_reads_history_csv(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    assert run.history() == []
    (run.path / "history.csv").write_text("epoch,phase,loss,val_accuracy\n1,train,0.7,0.6\n2,fine-tune,0.5,\n")
    assert run.history() == [
        {"epoch": 1, "phase": "train", "loss": 0.7, "val_accuracy": 0.6},
        {"epoch": 2, "phase": "fine-tune", "loss": 0.5, "val_accuracy": None},
    ]


def test_list_is_newest_first_and_get_finds_runs(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    first = store.create(tiny_config())
    time.sleep(0.01)
    second = store.create(tiny_config(strategy="fine-tune"))

    assert store.list() == [second, first]
    assert store.get(first.id) == first
    with pytest.raises(LabError, match="No run"):
        store.get("20990101-000000-nothing")
    with pytest.raises(LabError, match="No run"):
        store.get("../elsewhere")


def test_delete_refuses_a_running_run(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    run = store.create(tiny_config())
    run.update(state=RUNNING)
    with pytest.raises(LabError, match="stop it"):
        store.delete(run.id)
    run.update(state=FINISHED)
    store.delete(run.id)
    assert store.list() == [] and not run.path.exists()


def test_summary_has_what_lab_runs_prints(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config(epochs=4))
    (run.path / "metrics.json").write_text(json.dumps({"best_val_accuracy": 0.75, "epochs_completed": 4}))
    summary = run.summary()
    assert summary["id"] == run.id and summary["run_dir"] == str(run.path)
    assert summary["status"] == "queued" and summary["best_val_accuracy"] == 0.75
    assert summary["config"] == tiny_config(epochs=4).summary()


def test_log_and_stop_request(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    for number in range(50):
        run.log(f"line {number}")
    assert run.log_tail(2).splitlines()[-1].endswith("line 49")
    assert len(run.log_tail(2).splitlines()) == 2
    assert not run.stop_requested()
    run.request_stop()
    assert run.stop_requested()


def test_a_reader_never_sees_half_a_status(tmp_path: Path) -> None:
    """The worker rewrites status.json many times a second while pages read it."""
    run = RunStore(tmp_path).create(tiny_config())
    big = {f"metric_{n}": "x" * 200 for n in range(200)}
    done = threading.Event()

    def write() -> None:
        for number in range(300):
            run.update(epoch=big if number % 2 else None, progress={"batch": number})
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    reads = 0
    while not done.is_set():
        assert run.status().created  # raises on a truncated file
        reads += 1
        time.sleep(0)  # let the writer have Python's lock between reads (a tight loop starved it: 29 s for 300 writes)
    writer.join()
    assert reads > 10
    assert not list(run.path.glob(".status.json.*"))  # no temporary files left behind


def test_queue_lock_is_exclusive(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    order: list[str] = []

    def contender() -> None:
        with store.lock():
            order.append("second")

    with store.lock():
        thread = threading.Thread(target=contender)
        thread.start()
        time.sleep(0.2)
        order.append("first")
    thread.join()
    assert order == ["first", "second"]


def test_a_status_with_every_field_set_round_trips(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    written = Status(
        state=FAILED, created="2025-01-02T03:04:05.006+01:00", updated="2025-01-02T03:04:06.007+01:00",
        started="2025-01-02T03:04:07.008+01:00", ended="2025-01-02T03:05:00.009+01:00", pid=4321,
        pid_created=1735783445.25, phase={"type": "phase", "phase": "fine-tune", "message": "unfreezing"},
        progress={"type": "batch", "batch": 3, "batches": 7, "loss": 0.25},
        epoch={"type": "epoch", "epoch": 2, "epochs": 5, "logs": {"val_accuracy": 0.875}}, error="out of memory",
        heartbeat="2025-01-02T03:04:59.010+01:00", task="e7d31c8fcca9ce4af5ebe44502000000", held="features-study-1",
        front="2025-01-02T03:04:08.011+01:00",
    )
    for field in fields(Status):  # a field added later must be set here too
        assert getattr(written, field.name) not in (None, field.default, MISSING), field.name

    run.write_status(written)
    read = run.status()
    for field in fields(Status):
        if field.name == "updated":  # every write stamps its own time
            assert read.updated != written.updated
        else:
            assert getattr(read, field.name) == getattr(written, field.name), field.name


def test_a_foreground_run_is_created_running_in_its_process(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config(), running_in=(os.getpid(), 12.5))
    status = run.status()
    assert (status.state, status.pid, status.pid_created) == (RUNNING, os.getpid(), 12.5)
    assert status.started and status.started >= status.created


def test_mark_running_keeps_the_first_start_time(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    launched = run.mark_running(111, 1.0)  # what the launcher records
    claimed = run.mark_running(222, 2.0)  # what the worker's claim records
    assert launched.started and claimed.started == launched.started
    assert (claimed.state, claimed.pid, claimed.pid_created) == (RUNNING, 222, 2.0)


def test_states_are_newest_first_and_tolerate_damaged_folders(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    first = store.create(tiny_config())
    time.sleep(0.01)
    second = store.create(tiny_config())
    second.update(state=FINISHED)
    damaged = store.create(tiny_config())
    (damaged.path / "status.json").write_text('{"state": "runn')  # e.g. a hand edit gone wrong
    (tmp_path / "half-made").mkdir()  # a run being created: no status.json yet

    assert store.states() == {"half-made": UNKNOWN, second.id: FINISHED, first.id: QUEUED, damaged.id: UNKNOWN}
    assert store.list() == [Run(tmp_path / "half-made"), damaged, second, first]  # damaged ones too, by folder time
    assert damaged.status().state == UNKNOWN and "status.json is damaged" in damaged.status().error
    assert "status.json is missing" in Run(tmp_path / "half-made").status().error
    with pytest.raises(LabError, match="damaged"):
        damaged.read_status()
    with pytest.raises(LabError, match="damaged"):
        damaged.update(state=FINISHED)  # a writer never builds on a status it could not read


def test_a_status_in_words() -> None:
    created = now_iso()  # a running run last heard of long ago would read "not responding"
    queued = Status(state=QUEUED, created=created, updated=created)
    batch = {"type": "batch", "phase": "train", "epoch": 2, "epochs": 4, "batch": 5, "batches": 10, "loss": 0.5}
    running = queued.running_in(1, 1.0)

    assert status_fraction(queued) == 0.0
    assert status_text(queued) == ("queued: waiting in line for a worker; `lab runs` says its place and when it "
                                   "should start")
    assert (status_fraction(running), status_text(running)) == (0.0, "starting the worker...")
    phase = {"type": "phase", "phase": "features", "message": "computing features"}
    assert status_text(Status(**{**running.to_dict(), "phase": phase})) == "computing features"
    with_batch = Status(**{**running.to_dict(), "progress": batch})
    assert status_fraction(with_batch) == pytest.approx(1.5 / 4)
    assert status_text(with_batch) == "train · epoch 2/4 · batch 5/10 · loss 0.5000"
    stopped = Status(state=STOPPED, created=created, updated=created, error="stopped before it started")
    assert (status_fraction(stopped), status_text(stopped)) == (1.0, "stopped: stopped before it started")
    assert status_text(Status(state=FINISHED, created=created, updated=created)) == "finished"


def test_events_in_words() -> None:
    epoch = {"type": "epoch", "epoch": 1, "epochs": 3, "logs": {"loss": 0.41234, "val_accuracy": 0.9}}
    assert event_text(epoch) == "epoch 1/3: loss 0.4123 · val_accuracy 0.9"
    assert event_text({"type": "phase", "phase": "fine-tune", "message": "unfreezing"}) == "fine-tune: unfreezing"
    assert event_text({"type": "batch", "batch": 1, "batches": 2}) == "training · batch 1/2"


def test_lab_runs_says_where_an_active_run_is(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore(workspace / "runs")
    ended = store.create(tiny_config())
    ended.update(state=STOPPED, error="stopped before it started")
    active = store.create(tiny_config(), running_in=process_identity())  # this live process is its worker
    active.update(progress={"type": "batch", "phase": "train", "epoch": 1, "epochs": 2, "batch": 3, "batches": 4})

    assert main(["runs", "--runs-dir", str(store.runs_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{active.id}  running") and lines[1] == "    train · epoch 1/2 · batch 3/4"
    assert lines[2].startswith(f"{ended.id}  stopped") and len(lines) == 3


# ---- labels and the runs table -----------------------------------------------------------------


def test_a_run_is_renamed_and_tagged_in_labels_json(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    named = run.summary()["name"]
    assert named == run_name(tiny_config().to_dict()) != run.id and run.summary()["tags"] == []
    labels.rename(run.path, "  VGG16 on 1K ")
    labels.tag(run.path, ["baseline", "1k", "baseline"])
    labels.untag(run.path, ["1k", "never-there"])
    assert json.loads((run.path / "labels.json").read_text()) == {"name": "VGG16 on 1K", "tags": ["baseline"]}
    assert run.summary()["name"] == "VGG16 on 1K" and run.summary()["tags"] == ["baseline"]
    labels.rename(run.path, "")
    assert run.summary()["name"] == named  # named by its config again, never by its id


def test_bad_names_and_tags_are_clear_errors(tmp_path: Path) -> None:
    run = RunStore(tmp_path).create(tiny_config())
    with pytest.raises(LabError, match="one line of at most 80 characters"):
        labels.rename(run.path, "x" * 81)
    with pytest.raises(LabError, match="a tag is one word"):
        labels.tag(run.path, ["two words"])
    (run.path / "labels.json").write_text("{")
    assert run.labels() == labels.Labels()  # damaged labels read as none, never an error


def test_lab_runs_rename_tag_and_untag(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = RunStore(workspace / "runs")
    run = store.create(tiny_config())
    run.update(state=FINISHED)  # a queued one would be started by the listing below
    where = ["--runs-dir", str(store.runs_dir), "--json"]
    assert main(["runs", "rename", run.id, "frozen", "baseline", *where]) == 0
    assert main(["runs", "tag", run.id, "cpu", "quick", *where]) == 0
    assert main(["runs", "untag", run.id, "cpu", *where]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert answers[-1] == {"id": run.id, "name": "frozen baseline", "tags": ["quick"]}
    assert main(["runs", "tag", run.id, *where]) != 0
    assert "No tags given" in capsys.readouterr().err
    assert main(["runs", "--runs-dir", str(store.runs_dir)]) == 0
    listed = capsys.readouterr().out
    assert listed.startswith(f"{run.id}  finished") and listed.rstrip().endswith("'frozen baseline'  [quick]")


def test_the_runs_table_has_a_row_per_run_and_marks_damaged_folders(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    reproduction = store.create(TrainConfig.from_dict({**PRESETS["keras-tutorial-vgg16-1k"].to_dict(), "epochs": 2}))
    (reproduction.path / "metrics.json").write_text(json.dumps(
        {"best_val_accuracy": 0.9, "test_accuracy": 0.88, "train_images": 1000, "seconds": 60.0,
         "images_per_second": 50.0, "epochs_completed": 2, "head": "keras_tutorial"}))
    labels.tag(reproduction.path, ["repro"])
    damaged = store.create(tiny_config())
    (damaged.path / "config.json").write_text("{")
    rows = {row["id"]: row for row in run_rows(tmp_path)}
    assert set(rows) == {reproduction.id, damaged.id}
    row = rows[reproduction.id]
    assert set(COLUMNS) <= set(row) and row["name"] == "VGG16 frozen, augmented · 1,000 photos"
    assert (row["backbone"], row["strategy"], row["weights"], row["image_size"]) == ("vgg16", "frozen", "imagenet", 224)
    assert (row["train_images"], row["epochs"], row["best_val_accuracy"], row["test_accuracy"]) == (1000, 2, 0.9, 0.88)
    assert (row["reference"], row["reference_accuracy"], row["tags"]) == ("VGG16 frozen, 1K images", 0.93, ["repro"])
    assert rows[damaged.id]["status"] == UNKNOWN and rows[damaged.id]["backbone"] is None


def test_files_the_lab_writes_are_readable_by_others(tmp_path: Path) -> None:
    from lab.storage import write_json_atomic

    write_json_atomic(tmp_path / "card.json", {"classes": ["cats", "dogs"]})
    assert (tmp_path / "card.json").stat().st_mode & 0o777 == 0o644


def test_every_state_is_explained_on_one_line() -> None:
    assert meanings_text() == "; ".join(f"{state}: {meaning}" for state, meaning in MEANINGS.items())
    assert meanings_text().startswith(f"{QUEUED}: waiting in line for a worker") and f"{UNKNOWN}: " in meanings_text()


ROWS = [
    {"id": "1-a", "name": "baseline", "status": FINISHED, "backbone": "vgg16", "strategy": "frozen", "tags": ["k"],
     "reference": "VGG16 frozen, 1K images", "reference_accuracy": 0.93},
    {"id": "2-b", "name": "b", "status": FAILED, "backbone": "mobilenet", "strategy": None, "tags": ["k", "x"],
     "reference": None, "reference_accuracy": None},
    {"id": "3-c", "name": "c", "status": FINISHED, "backbone": "mobilenet", "strategy": "frozen", "tags": [],
     "reference": "Basic CNN from scratch", "reference_accuracy": 0.72},
]


def ids(rows: list[dict]) -> list[str]:
    return [row["id"] for row in rows]


def test_the_runs_table_is_searched_and_filtered_by_any_cell_choice_and_tag() -> None:
    assert filter_rows(ROWS) == ROWS
    assert ids(filter_rows(ROWS, "BASE")) == ["1-a"]  # any cell, any case
    assert ids(filter_rows(ROWS, wanted={"backbone": ["mobilenet"], "status": []})) == ["2-b", "3-c"]
    assert ids(filter_rows(ROWS, wanted={"backbone": ["mobilenet"], "strategy": ["frozen"]})) == ["3-c"]
    assert ids(filter_rows(ROWS, tags=["x", "nowhere"])) == ["2-b"]
    assert ids(filter_rows(ROWS, "mobilenet", tags=["k"])) == ["2-b"]
    assert filter_choices(ROWS, "strategy") == ["frozen"]  # an empty cell offers nothing
    assert filter_choices(ROWS, "backbone") == ["mobilenet", "vgg16"]
    assert filter_choices(ROWS, "tags") == ["k", "x"]


def test_the_published_figures_the_rows_repeat() -> None:
    assert published_figures(ROWS) == {"VGG16 frozen, 1K images": 0.93, "Basic CNN from scratch": 0.72}
    assert published_figures(ROWS[1:2]) == {}


def test_only_the_config_fields_that_differ_are_compared() -> None:
    first = {"backbone": "vgg16", "epochs": 5, "weights": "imagenet", "data": "/srv/photos/cats_and_dogs"}
    second = {"backbone": "vgg16", "epochs": 8, "weights": "imagenet", "class_weights": True, "data": "pets_1k"}
    differing = config_differences({"a": first, "b": second})
    assert differing == {  # by the Train page's labels, in its order; never "None", never a server path
        "a": {"Data": "cats_and_dogs", "Epochs": "5", "Balance class weights": "—"},
        "b": {"Data": "pets_1k", "Epochs": "8", "Balance class weights": "yes"}}
    assert list(differing["a"]) == ["Data", "Epochs", "Balance class weights"]
    assert config_differences({"a": first, "b": dict(first)}) == {"a": {}, "b": {}}
    assert config_differences({"a": {"x": 1}, "b": {"x": 1.5}})["b"] == {"x": "1.5"}


def test_metric_changes_read_in_percentage_points() -> None:
    assert points_change(0.925, 0.9) == "+2.5 points"
    assert points_change(0.8, 0.9) == "-10.0 points"
    assert points_change(None, 0.9) is None and points_change(0.9, None) is None
