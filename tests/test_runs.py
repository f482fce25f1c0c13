"""The run store: folders, status round-trip, listing order, deletion rules, atomic status writes."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.runs.store import FINISHED, QUEUED, RUNNING, Run, RunStore, Status, now_iso
from lab.training.config import TrainConfig


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


def test_create_accepts_an_initial_status(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    created = now_iso()
    run = store.create(tiny_config(), status=Status(state=QUEUED, created=created, updated=created))
    assert isinstance(run, Run) and run.status().created == created
