"""A full disk while training: the run fails with the real reason, the previous best checkpoint stays whole, no
temporary file is left, and `lab runs` keeps working on the full disk.

The first two tests fill a real disk: a small tmpfs mounted over the runs folder (this needs root, as CI runs;
elsewhere they skip). The third injects `OSError(ENOSPC)` where `status.json` is written (the temporary file
`lab.storage.write_bytes_atomic` makes), in a foreground run, so it runs anywhere.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest

from lab.cli import main
from lab.runs import jobs, worker
from lab.runs.status import FAILED, RUNNING
from lab.runs.store import Run, RunStore
from lab.storage import file_digest
from lab.training.config import TrainConfig

FULL = "no space left on device while "
WAY_ON = "; free space and launch again"


@pytest.fixture
def small_disk(workspace: Path) -> Iterator[Path]:
    """The workspace's runs folder on a 16 MB tmpfs of its own."""
    runs = workspace / "runs"
    runs.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(runs)], capture_output=True,
                             text=True, check=False)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {mounted.stderr.strip()}")
    yield runs
    subprocess.run(["umount", "-l", str(runs)], check=False)


def fill(folder: Path, leave: int) -> None:
    """Write zeros into `folder` until only `leave` bytes are free."""
    stats = os.statvfs(folder)
    with (folder / ".filler").open("ab") as handle:
        handle.write(bytes(max(0, stats.f_bavail * stats.f_frsize - leave)))


def foreground(runs_dir: Path, config: TrainConfig) -> Run:
    return RunStore(runs_dir).create(config, running_in=jobs.process_identity())


def test_a_full_disk_fails_the_run_with_the_reason_and_keeps_the_best_checkpoint(
    small_disk: Path, tiny_config: TrainConfig
) -> None:
    run = foreground(small_disk, replace(tiny_config, epochs=4))
    kept: dict[str, str] = {}

    def fill_after_the_first_epoch(event: dict) -> None:
        if event["type"] == "epoch" and not kept:
            kept["best"] = file_digest(run.path / "best.keras")
            fill(small_disk, leave=48 * 1024)  # room for status and history, not for a model

    status = worker.execute(run, on_event=fill_after_the_first_epoch)

    assert status.state == FAILED and run.status().state == FAILED
    assert status.error.startswith(FULL + "saving the ") and status.error.endswith(WAY_ON), status.error
    assert "killed or out of memory" not in status.error
    assert file_digest(run.path / "best.keras") == kept["best"]  # the previous best checkpoint, whole
    assert not list(run.path.glob(".*.tmp*"))  # no temporary file left behind


def test_lab_runs_keeps_working_on_a_full_disk(small_disk: Path, tiny_config: TrainConfig,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    run = RunStore(small_disk).create(tiny_config)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    created = psutil.Process(gone.pid).create_time()
    gone.wait()
    run.mark_running(gone.pid, created)  # its worker died: reconcile must write that, and cannot
    fill(small_disk, leave=0)

    assert main(["runs", "--runs-dir", str(small_disk)]) == 0
    assert run.id in capsys.readouterr().out
    assert run.status().state == RUNNING  # left for a later poll, once there is space again
    run.log("a line that does not fit")  # lost, and nothing else
    assert "a line that does not fit" not in run.log_tail()


def test_a_status_write_that_fails_fails_the_run_with_the_reason(
    workspace: Path, tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = foreground(workspace / "runs", replace(tiny_config, epochs=3))
    make_temporary = tempfile.mkstemp
    disk = {"full": False, "refused": 0}

    def mkstemp(*args, **kwargs):
        if disk["full"] and str(kwargs.get("prefix", "")).startswith(".status.json."):
            disk["refused"] += 1
            disk["full"] = disk["refused"] < 3  # space comes back while the worker waits to record the end
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return make_temporary(*args, **kwargs)

    def full_after_the_first_epoch(event: dict) -> None:
        disk["full"] = disk["full"] or (event["type"] == "epoch" and not disk["refused"])

    monkeypatch.setattr(tempfile, "mkstemp", mkstemp)
    monkeypatch.setattr(worker, "END_RETRY_SECONDS", 0.05)
    status = worker.execute(run, on_event=full_after_the_first_epoch)

    assert disk["refused"] == 3
    assert status.state == FAILED
    assert status.error == f"{FULL}writing the run's status (status.json){WAY_ON}"
    # the epochs that reached history.csv before a status write failed are kept: 2, or 1 when a loaded machine
    # lets the heartbeat's status write be the first one refused, right after epoch 1
    assert len(run.history()) in (1, 2)
