"""Runs on a real Ray cluster on loopback (`ray start --head`, 2 CPUs, started here): they finish with the files a
local run has, at the same time, stop, fail with Ray's reason, and a study fans out over one feature task."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.run_files import CONFIG
from lab.runs import jobs, ray_cluster
from lab.runs.status import FAILED, FINISHED, QUEUED, RUNNING, STOPPED
from lab.runs.store import Run
from lab.runs.study import launch_study
from lab.settings import Settings, load_settings
from lab.training.config import TrainConfig

from . import corpus

RAY_CLI = Path(sys.executable).with_name("ray")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def ray_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A one-node Ray cluster with 2 CPUs on a free loopback port, for this module; stopped after it (`--block`
    makes the cluster's life that of one process). Token authentication is off: nothing but loopback reaches it."""
    port = free_port()
    log = tmp_path_factory.mktemp("ray") / "ray.log"
    head = subprocess.Popen(
        [str(RAY_CLI), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
         "--num-cpus=2", "--num-gpus=0", "--include-dashboard=false", "--disable-usage-stats"],
        env={**os.environ, "RAY_AUTH_MODE": "disabled"}, stdout=log.open("w"), stderr=subprocess.STDOUT,
        start_new_session=True)
    deadline = time.monotonic() + 60
    while "will now block" not in log.read_text():
        assert head.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    yield f"127.0.0.1:{port}"
    import ray

    began = time.monotonic()
    ray.shutdown()  # this process joined it (as the app's server does)
    print(f"ray.shutdown {time.monotonic() - began:.1f} s")
    os.killpg(head.pid, signal.SIGTERM)
    try:
        head.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)  # a test cluster: nothing on it to save
        head.wait(10)
    print(f"stopped {time.monotonic() - began:.1f} s")


@pytest.fixture
def on_ray(workspace: Path, ray_address: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("TRANSFER_LAB_EXECUTOR", "ray")
    monkeypatch.setenv("TRANSFER_LAB_RAY_ADDRESS", ray_address)
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    return load_settings()


def wait_for(condition: Callable[[], bool], settings: Settings, seconds: float = 120) -> None:
    """Poll as the pages do (`reconcile`) until `condition` holds."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        jobs.reconcile(settings.runs_dir, settings)
        time.sleep(0.5)


def ended(*runs: Run) -> Callable[[], bool]:
    return lambda: all(run.status().state not in (QUEUED, RUNNING) for run in runs)


def files(run_dir: Path) -> set[str]:
    return {str(path.relative_to(run_dir)).split("/")[0] for path in run_dir.iterdir()}


@pytest.mark.slow  # on the real cluster
def test_two_runs_submitted_together_both_finish_at_once_with_a_local_runs_files(
        on_ray: Settings, tiny_config: TrainConfig, tiny_run: Path, lab_cli, tiny_flags: list[str]) -> None:
    launched = lab_cli("train", *tiny_flags, "--background", "--json")  # a launcher that exits at once
    assert launched.returncode == 0, launched.stderr
    runs = [Run(Path(json.loads(launched.stdout.splitlines()[-1])["run_dir"])),
            jobs.launch(dataclasses.replace(tiny_config, seed=2), on_ray)]
    assert all(run.status().task for run in runs)  # handed to the cluster, not to a local worker
    # From here this process follows both, as a restarted server would: the first is not its own.
    wait_for(ended(*runs), on_ray)
    statuses = [run.status() for run in runs]
    assert [status.state for status in statuses] == [FINISHED, FINISHED], [s.error for s in statuses]
    assert all(files(run.path) == files(tiny_run) for run in runs)
    first, second = statuses
    assert first.started < second.ended and second.started < first.ended  # 2 CPUs, 1 each: side by side
    assert "Ray task" in runs[0].log_tail(80)


@pytest.mark.slow  # on the real cluster
def test_a_run_stopped_midway_is_stopped_with_its_history(on_ray: Settings, tiny_config: TrainConfig) -> None:
    run = jobs.launch(dataclasses.replace(tiny_config, epochs=400), on_ray)
    wait_for(lambda: len(run.history()) >= 2, on_ray)
    status = jobs.stop(run.id, on_ray.runs_dir, wait=True)
    assert status.state == STOPPED, status.error
    assert 2 <= len(run.history()) < 400


@pytest.mark.slow  # on the real cluster
def test_a_task_whose_worker_is_killed_is_failed_with_rays_reason(on_ray: Settings,
                                                                  tiny_config: TrainConfig) -> None:
    run = jobs.launch(dataclasses.replace(tiny_config, epochs=400), on_ray)
    wait_for(lambda: len(run.history()) >= 1, on_ray)
    os.kill(run.status().pid, signal.SIGKILL)  # the actor's process, on this one node
    wait_for(ended(run), on_ray, seconds=60)
    status = run.status()
    assert status.state == FAILED
    assert "Ray task died" in status.error and "worker process has died" in status.error, status.error


@pytest.mark.slow  # on the real cluster
def test_a_study_fans_out_one_feature_task_then_its_sizes_train_side_by_side(
        on_ray: Settings, tiny_config: TrainConfig, tmp_path: Path) -> None:
    photos = corpus.copy_of_sample(tmp_path / "pets", 30)
    config = dataclasses.replace(tiny_config, data=str(photos), train_size=None, validation_size=None)
    study = launch_study(config, (None, 20), 1, on_ray)
    runs = [Run(on_ray.runs_dir / row["run_id"]) for row in study.runs]
    assert all(run.status().held for run in runs)  # waiting for the feature task, not training yet
    wait_for(ended(*runs), on_ray, seconds=180)
    largest, smallest = (run.status() for run in runs)
    assert largest.state == smallest.state == FINISHED, [run.log_tail() for run in runs]
    assert [run.metrics()["features"]["computed"] for run in runs] == [0, 0]  # neither size computed any
    assert "feature task computed 60 images' features" in runs[1].log_tail(80)  # 48 train, 6 validation, 6 test


@pytest.mark.slow  # on the real cluster
def test_a_node_that_cannot_see_the_run_folder_fails_the_run_with_that_reason(
        on_ray: Settings, tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_MAX_RUNNING", "1")
    hidden = jobs.RunStore(on_ray.runs_dir).create(tiny_config)
    (hidden.path / CONFIG).rename(hidden.path / "config.elsewhere")  # as a node without the shared folder sees it
    jobs.reconcile(on_ray.runs_dir, on_ray)
    wait_for(ended(hidden), on_ray, seconds=60)
    status = hidden.status()
    assert status.state == FAILED and "cannot see the run folder" in status.error, status.error


def test_an_unreachable_cluster_leaves_the_run_queued_and_says_what_to_do(
        workspace: Path, tiny_config: TrainConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_EXECUTOR", "ray")
    monkeypatch.setenv("TRANSFER_LAB_RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    settings = load_settings()
    began = time.monotonic()
    with pytest.raises(LabError, match="Cannot reach the Ray cluster.*TRANSFER_LAB_EXECUTOR=local"):
        jobs.launch(tiny_config, settings)
    assert time.monotonic() - began < 10  # not Ray's two minutes of retries
    (run,) = jobs.RunStore(settings.runs_dir).list()
    assert run.status().state == QUEUED and run.status().task is None  # kept, and taken once the cluster is back
    assert jobs.reconcile(settings.runs_dir, settings) == []  # a page's poll: no error, nothing started


def test_an_unreachable_ray_client_address_is_said_at_once(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A `ray://` address nobody answers held every command 32-34 s and the sidebar 36 s (issue 26)."""
    monkeypatch.setenv("TRANSFER_LAB_EXECUTOR", "ray")
    monkeypatch.setenv("TRANSFER_LAB_RAY_ADDRESS", f"ray://127.0.0.1:{free_port()}")
    began = time.monotonic()
    with pytest.raises(LabError, match="Cannot reach the Ray cluster at 'ray://127.0.0.1:.*nothing answers"):
        ray_cluster.connect(load_settings())
    assert time.monotonic() - began < 10


def test_the_executor_setting_is_checked(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_EXECUTOR", "kubernetes")
    with pytest.raises(LabError, match="TRANSFER_LAB_EXECUTOR='kubernetes'.*local or ray"):
        load_settings()
    monkeypatch.setenv("TRANSFER_LAB_EXECUTOR", "ray")
    monkeypatch.setenv("TRANSFER_LAB_RAY_CPUS", "0")
    with pytest.raises(LabError, match="TRANSFER_LAB_RAY_CPUS='0'"):
        load_settings()


@pytest.mark.slow  # on the real cluster
def test_runs_trained_on_the_cluster_reach_the_mlflow_store_with_every_epoch(
        on_ray: Settings, tiny_config: TrainConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Ray and MLflow together (each was once only tested alone): the settings reach the actors, and two runs
    ending side by side both reach a new sqlite store (its first two writers once raced to create its tables, and
    one copy was lost with "Online migration expected to match one row")."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("TRANSFER_LAB_MLFLOW_URI", uri)
    monkeypatch.setenv("TRANSFER_LAB_MLFLOW_EXPERIMENT", "on the cluster")
    runs = [jobs.launch(dataclasses.replace(tiny_config, epochs=2, seed=seed), load_settings()) for seed in (3, 4)]
    wait_for(lambda: all("MLflow:" in run.log_tail(80) for run in runs), on_ray, seconds=300)
    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("on the cluster")
    assert experiment is not None
    for run in runs:
        assert "MLflow: copied to run" in run.log_tail(80), run.log_tail(80)
        copy = client.get_run(json.loads((run.path / "mlflow.json").read_text())["run_id"])
        assert copy.info.run_name == run.id and copy.info.status == "FINISHED"
        assert copy.info.experiment_id == experiment.experiment_id
        assert [m.step for m in client.get_metric_history(copy.info.run_id, "val_accuracy")] == [1, 2]
        assert "Ray task" in run.log_tail(80)
