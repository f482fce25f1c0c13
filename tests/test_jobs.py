"""Background jobs: real worker processes train tiny runs (`tiny_config`), stop, die, and queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from lab.cli.worker import WORKER_NICENESS
from lab.errors import LabError
from lab.runs import jobs
from lab.runs.status import FAILED, FINISHED, QUEUED, RUNNING, STOPPED, Status
from lab.runs.store import Run, RunStore
from lab.runs.worker import Reporter, Stopper
from lab.settings import load_settings
from lab.training.config import TrainConfig


@pytest.fixture
def endless(tiny_config: TrainConfig) -> TrainConfig:
    """Still running when a test interrupts it (an epoch of the head takes ~50 ms)."""
    return replace(tiny_config, epochs=5000)


def wait_for(run: Run, done: Callable[[Status], bool], timeout: float = 120) -> Status:
    """Poll the run's status, as the page does, until `done` holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = run.status()
        if done(status):
            return status
        time.sleep(0.2)
    raise AssertionError(f"{run.id} stuck at {run.status()}; log:\n{run.log_tail()}")


def ended(status: Status) -> bool:
    return not status.active


@pytest.fixture
def runs_dir(workspace: Path) -> Path:
    return load_settings().runs_dir


@pytest.fixture
def sleeper():
    """A live process that is not a worker."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield process
    process.kill()
    process.wait()


def running_as(run: Run, pid: int, created: float) -> None:
    run.mark_running(pid, created)


def test_a_dead_worker_is_reported_failed(runs_dir: Path, tiny_config: TrainConfig) -> None:
    run = RunStore(runs_dir).create(tiny_config)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    created = psutil.Process(gone.pid).create_time()
    gone.wait()
    running_as(run, gone.pid, created)

    jobs.reconcile(runs_dir)

    status = run.status()
    assert status.state == FAILED and status.error == jobs.DEAD_WORKER and status.ended
    assert jobs.DEAD_WORKER in run.log_tail()


def test_a_reused_pid_is_not_taken_for_the_worker(
    runs_dir: Path, sleeper: subprocess.Popen, tiny_config: TrainConfig
) -> None:
    run = RunStore(runs_dir).create(tiny_config)
    pid, created = jobs.process_identity(sleeper.pid)
    running_as(run, pid, created - 100)  # the worker was a process of that pid created earlier

    jobs.reconcile(runs_dir)

    assert run.status().state == FAILED


def test_a_live_worker_keeps_its_run_and_holds_the_queue(
    runs_dir: Path, sleeper: subprocess.Popen, tiny_config: TrainConfig
) -> None:
    store = RunStore(runs_dir)
    busy = store.create(tiny_config)
    running_as(busy, *jobs.process_identity(sleeper.pid))
    waiting = store.create(tiny_config)

    assert jobs.reconcile(runs_dir) == []
    assert busy.status().state == RUNNING and waiting.status().state == QUEUED


def test_stopping_a_queued_run_means_it_never_starts(
    runs_dir: Path, sleeper: subprocess.Popen, tiny_config: TrainConfig
) -> None:
    store = RunStore(runs_dir)
    running_as(store.create(tiny_config), *jobs.process_identity(sleeper.pid))
    waiting = store.create(tiny_config)

    jobs.stop(waiting.id, runs_dir)
    sleeper.kill()
    sleeper.wait()
    assert jobs.reconcile(runs_dir) == []
    assert waiting.status().state == STOPPED and waiting.status().pid is None


def test_max_running_comes_from_the_environment(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRANSFER_LAB_MAX_RUNNING", raising=False)
    assert load_settings().max_running == 1
    monkeypatch.setenv("TRANSFER_LAB_MAX_RUNNING", "3")
    assert load_settings().max_running == 3
    monkeypatch.setenv("TRANSFER_LAB_MAX_RUNNING", "two")
    with pytest.raises(LabError, match="TRANSFER_LAB_MAX_RUNNING='two'"):
        load_settings()


def test_the_reporter_throttles_batches_but_writes_every_epoch(runs_dir: Path, tiny_config: TrainConfig) -> None:
    run = RunStore(runs_dir).create(tiny_config)
    reporter = Reporter(run)
    for number in range(1, 101):  # far faster than one status write per interval
        reporter({"type": "batch", "epoch": 1, "epochs": 1, "batch": number, "batches": 100})
    assert run.status().progress["batch"] == 1  # the first batch, not every one

    reporter({"type": "epoch", "epoch": 1, "epochs": 1, "logs": {"loss": 0.5}})
    status = run.status()
    assert status.epoch["epoch"] == 1 and status.progress["batch"] == 100  # the epoch brings the last batch along
    assert "epoch 1/1: loss 0.5" in run.log_tail()


# ---- real workers ------------------------------------------------------------------------------


@pytest.mark.slow  # two real workers train
def test_stop_keeps_the_history_and_the_queue_moves_on(
    runs_dir: Path, tiny_config: TrainConfig, endless: TrainConfig
) -> None:
    first, second = jobs.launch(endless), jobs.launch(tiny_config)
    assert second.status().state == QUEUED  # one training at a time

    status = wait_for(first, lambda status: status.epoch is not None)
    assert psutil.Process(status.pid).nice() == max(WORKER_NICENESS, os.getpriority(os.PRIO_PROCESS, 0))
    jobs.stop(first.id, runs_dir)

    stopped = wait_for(first, ended)
    assert stopped.state == STOPPED, first.log_tail()
    assert 1 <= len(first.history()) < endless.epochs and first.metrics()["stopped"]
    assert (first.path / "best.keras").exists()
    # nobody calls reconcile(): the first worker starts the second as it ends
    assert_finished(second)


def assert_finished(run: Run) -> None:
    status = wait_for(run, ended)
    assert status.state == FINISHED, run.log_tail()
    assert status.pid != os.getpid() and status.started and status.ended and status.error is None
    assert [row["epoch"] for row in run.history()] == [1] and status.epoch["epoch"] == 1
    assert status.progress["batch"] == status.progress["batches"]  # the last batch event was written
    metrics = run.metrics()
    assert metrics["epochs_completed"] == 1 and metrics["train_images"] == 40 and not metrics["stopped"]
    for name in ("config.json", "status.json", "history.csv", "metrics.json", "model.keras", "best.keras",
                 "layers.csv", "log.txt"):
        assert (run.path / name).exists(), name
    log = run.log_tail(200)
    assert "running in process" in log and "epoch 1/1" in log and "finished" in log


@pytest.mark.parametrize("start", [0, WORKER_NICENESS + 5])
def test_a_worker_yields_the_cores_to_the_app_once_not_again_for_each_run_it_starts(start: int) -> None:
    """The page answers a click at once while a run trains (issue 23's Stop in 3 s); a worker started by a
    worker (the queue moving on) keeps the niceness, never pushes it further."""
    script = ("import os; from lab.cli.worker import yield_to_the_app; yield_to_the_app(); "
              "print(os.getpriority(os.PRIO_PROCESS, 0))")
    shown = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                           preexec_fn=lambda: os.setpriority(os.PRIO_PROCESS, 0, start))
    assert int(shown.stdout) == max(start, WORKER_NICENESS, os.getpriority(os.PRIO_PROCESS, 0))


@pytest.mark.slow  # a real worker trains
def test_a_killed_worker_is_reported_failed_within_seconds(runs_dir: Path, endless: TrainConfig) -> None:
    run = jobs.launch(endless)
    status = wait_for(run, lambda status: status.epoch is not None)

    os.kill(status.pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while run.status().state == RUNNING and time.monotonic() < deadline:
        jobs.reconcile(runs_dir)  # what the page does on every poll
        time.sleep(0.1)

    status = run.status()
    assert status.state == FAILED and status.error == jobs.DEAD_WORKER
    assert len(run.history()) >= 1  # the partial history is kept


def test_sigterm_and_the_stop_file_ask_for_a_graceful_stop(runs_dir: Path, tiny_config: TrainConfig) -> None:
    run = RunStore(runs_dir).create(tiny_config)
    stopper = Stopper(run)
    assert not stopper()
    run.request_stop()
    assert stopper()

    other = Stopper(RunStore(runs_dir).create(tiny_config))
    before = signal.getsignal(signal.SIGTERM)
    with other.handling_signals():
        os.kill(os.getpid(), signal.SIGTERM)  # delivered to this (main) thread before kill returns
        assert other()
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is put back
    assert "SIGTERM: stopping after the current batch" in other.run.log_tail()
