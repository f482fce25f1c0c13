"""The heartbeat and "not responding": a worker stopped with SIGSTOP is shown as not responding, `lab runs stop`
ends it (stop file, SIGTERM, SIGKILL) and the queue moves on; a live worker that ignores its stop file is ended
the same way. The limit is set short through `TRANSFER_LAB_NOT_RESPONDING_SECONDS`, so each test takes seconds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from lab.runs import jobs, liveness
from lab.runs.describe import NOT_RESPONDING, shown_state, status_text
from lab.runs.heartbeat import Heartbeat
from lab.runs.liveness import Timing
from lab.runs.local import worker_alive
from lab.runs.status import FAILED, FINISHED, QUEUED, RUNNING, Status, now_iso
from lab.runs.store import Run, RunStore
from lab.runs.worker import Reporter, Stopper
from lab.settings import VARIABLES, load_settings
from lab.training.config import TrainConfig
from tests.conftest import LabCli
from tests.test_jobs import ended, wait_for

LIMIT = 5.0  # seconds: a beat every 1.25 s, SIGKILL 1 s after SIGTERM


@pytest.fixture
def short_limit(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Timing:
    monkeypatch.setenv(VARIABLES["not_responding_seconds"], str(LIMIT))
    return liveness.timing()


def test_the_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLES["not_responding_seconds"], raising=False)
    assert liveness.timing() == Timing(60.0) and Timing(60.0).beat == 5.0 and Timing(60.0).kill_grace == 10.0
    monkeypatch.setenv(VARIABLES["not_responding_seconds"], "soon")
    with pytest.raises(Exception, match="TRANSFER_LAB_NOT_RESPONDING_SECONDS='soon'"):
        liveness.timing()


def test_a_silent_running_run_reads_not_responding(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(VARIABLES["not_responding_seconds"], raising=False)
    long_ago = "2025-01-02T03:04:05.006+01:00"
    silent = Status(state=RUNNING, created=long_ago, updated=long_ago, pid=42, heartbeat=long_ago)
    assert shown_state(silent) == NOT_RESPONDING and status_text(silent).startswith("not responding: ")
    beating = replace(silent, heartbeat=now_iso())
    assert shown_state(beating) == RUNNING and liveness.not_responding_for(beating) is None
    assert liveness.not_responding_for(replace(silent, state=FAILED)) is None  # only a running run can be


def test_the_heartbeat_thread_beats_only_while_the_main_thread_progresses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_config: TrainConfig
) -> None:
    run = RunStore(tmp_path).create(tiny_config)
    with Heartbeat(run, Timing(0.4)) as heartbeat:  # a beat every 0.1 s
        time.sleep(0.5)
        first = run.status().heartbeat
        time.sleep(0.3)
        assert first and run.status().heartbeat > first  # beats with no event at all: a long step
        heartbeat.last_progress -= liveness.STALL_SECONDS  # the main thread has been stuck for too long
        time.sleep(0.3)
        stalled = run.status().heartbeat
        time.sleep(0.3)
        assert run.status().heartbeat == stalled  # a deadlocked main thread is not covered for ever
    assert run.status().state == QUEUED  # a beat changes the heartbeat only


@pytest.mark.slow  # two real workers train
def test_a_worker_stopped_with_sigstop_is_not_responding_and_stop_kills_it(
    short_limit: Timing, lab_cli: LabCli, tiny_config: TrainConfig
) -> None:
    runs_dir = load_settings().runs_dir
    stuck, waiting = jobs.launch(replace(tiny_config, epochs=5000)), jobs.launch(tiny_config)
    status = wait_for(stuck, lambda status: status.epoch is not None)
    assert status.heartbeat
    os.kill(status.pid, signal.SIGSTOP)
    try:
        time.sleep(LIMIT + 1.5)
        listed = {row["id"]: row for row in json.loads(lab_cli("runs", "--json").stdout)}
        assert listed[stuck.id]["status"] == RUNNING and listed[stuck.id]["not_responding_seconds"] >= LIMIT
        assert f"{stuck.id}  {NOT_RESPONDING}" in lab_cli("runs").stdout
        assert listed[waiting.id]["status"] == QUEUED  # still held by the stuck worker

        stopped = lab_cli("runs", "stop", stuck.id)
        assert stopped.returncode == 0 and stopped.stdout.strip() == f"{stuck.id}: {FAILED}", stopped.stderr
    finally:
        _end(status.pid)
    status = stuck.status()
    assert status.state == FAILED and status.error.endswith("; stopped with SIGKILL"), status.error
    assert status.error.startswith("not responding for ")
    assert not worker_alive(status)
    assert "sent SIGTERM" in stuck.log_tail()

    assert lab_cli("runs", "delete", stuck.id).returncode == 0 and not stuck.path.exists()
    assert wait_for(waiting, ended).state == FINISHED, waiting.log_tail()  # the queue moved on
    assert RunStore(runs_dir).states() == {waiting.id: FINISHED}


@pytest.mark.slow  # waits out the grace
def test_a_responding_worker_that_ignores_its_stop_file_is_killed(short_limit: Timing, workspace: Path,
                                                                  tiny_config: TrainConfig) -> None:
    ignore_sigterm = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
    deaf = subprocess.Popen([sys.executable, "-c", ignore_sigterm])
    try:
        store = RunStore(load_settings().runs_dir)
        run = store.create(tiny_config, running_in=jobs.process_identity(deaf.pid))
        time.sleep(0.5)  # let it install its SIGTERM handler
        jobs.stop(run.id)
        deadline = time.monotonic() + short_limit.stop_grace + short_limit.kill_grace + 10
        while run.status().state == RUNNING and time.monotonic() < deadline:
            run.update(heartbeat=now_iso())  # it keeps beating: alive and responding, only deaf to the stop file
            jobs.reconcile()
            time.sleep(0.2)
        status = run.status()
        assert status.state == FAILED, run.log_tail()
        assert status.error == f"did not stop within {LIMIT:.0f} s of the stop request; stopped with SIGKILL"
        assert deaf.wait(timeout=5) == -signal.SIGKILL
    finally:
        deaf.kill()
        deaf.wait()


def _end(pid: int) -> None:
    """Never leave a stopped process behind, whatever the test found."""
    try:
        psutil.Process(pid).kill()
    except psutil.Error:
        pass


def test_a_run_marked_running_has_a_fresh_heartbeat_or_update(tmp_path: Path, tiny_config: TrainConfig) -> None:
    run: Run = RunStore(tmp_path).create(tiny_config, running_in=jobs.process_identity())
    assert liveness.silence(run.status()) < 5  # just launched: the launcher's write counts as a sign of life


def test_every_status_write_of_the_worker_beats(tmp_path: Path, tiny_config: TrainConfig) -> None:
    run = RunStore(tmp_path).create(tiny_config, running_in=jobs.process_identity())
    heartbeat = Heartbeat(run)
    reporter, stopper = Reporter(run, heartbeat=heartbeat), Stopper(run, heartbeat)
    heartbeat.last_progress = 0.0
    # feature extraction's progress: a batch event with no loss yet, then the stop poll of its next batch
    reporter({"type": "batch", "phase": "features", "epoch": 0, "epochs": 0, "batch": 1, "batches": 9})
    assert run.status().heartbeat and heartbeat.last_progress > 0
    heartbeat.last_progress = 0.0
    stopper()
    assert heartbeat.last_progress > 0  # polled between batches: the main thread is moving
