"""Executors: the same four tiny runs through the local queue and through a Ray cluster on this machine.

Four tiny runs (MobileNet 0.25 at 128 px on the shared weights, the head on 40 photos' features, 3 epochs,
seeds 1-4), launched at once as the Train page launches them (`jobs.launch`) and polled as the pages poll
(`jobs.reconcile`), each mode in a fresh workspace so every mode extracts its features cold:

- `local x1`: the default, one worker process at a time;
- `local x2`: `TRANSFER_LAB_MAX_RUNNING=2`, two worker processes at once;
- `ray`: a one-node Ray cluster with 2 CPUs (`ray start --head`, started here; 1 CPU per run, so two at once).

Printed per mode, as medians over `--rounds` rounds: the wall time from the first launch to the last run's end,
and for the first run launched (it waits for no other) the time from launch to its end, the training's own
seconds (`metrics.json`, from the start of `train` in the worker, TensorFlow's import included), and the
difference: the executor's overhead per run (a process spawn and Python's start; or Ray's scheduling, actor
creation and worker start, and its removal). Also the cluster's own start-up, paid once per machine. This
machine has 2 cores: no speed-up is expected from Ray over two local workers; the figures say what it costs.

    python bench/executors.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from paths import FILTERED, SHARED

from lab.runs import jobs
from lab.runs.status import ACTIVE_STATES
from lab.runs.store import Run
from lab.settings import load_settings
from lab.training.config import TrainConfig

TINY = TrainConfig(data=str(FILTERED), backbone="mobilenet",
                   weights=str(SHARED / "weights" / "mobilenet_0.25_128_imagenet_no_top.weights.h5"),
                   strategy="feature-extractor", image_size=128, epochs=3, batch_size=10, train_size=40,
                   validation_size=20, seed=1)
MODES = {"local x1": {"TRANSFER_LAB_MAX_RUNNING": "1"}, "local x2": {"TRANSFER_LAB_MAX_RUNNING": "2"},
         "ray": {"TRANSFER_LAB_EXECUTOR": "ray"}}


@contextmanager
def ray_head(cpus: int = 2) -> Iterator[tuple[str, float]]:
    """A one-node Ray cluster on a free loopback port (its address, and the seconds it took to start)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    began = time.perf_counter()
    head = subprocess.Popen(
        [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
         f"--port={port}", f"--num-cpus={cpus}", "--num-gpus=0", "--include-dashboard=false",
         "--disable-usage-stats"], env={**os.environ, "RAY_AUTH_MODE": "disabled"}, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in head.stdout:
        if "will now block" in line:
            break
    try:
        yield f"127.0.0.1:{port}", time.perf_counter() - began
    finally:
        import ray

        ray.shutdown()
        os.killpg(head.pid, signal.SIGKILL)
        head.wait(10)


def seconds_between(start: str, end: str) -> float:
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def one_round(mode: str, address: str) -> dict[str, float]:
    """Launch the four runs in a fresh workspace under `mode`, poll until they end, and time them."""
    with tempfile.TemporaryDirectory(prefix="bench-executors-") as folder:
        os.environ.update({"TRANSFER_LAB_WORKSPACE": folder, "TRANSFER_LAB_EXECUTOR": "local",
                           "TRANSFER_LAB_MAX_RUNNING": "1", "TRANSFER_LAB_RAY_ADDRESS": address,
                           "RAY_AUTH_MODE": "disabled", **MODES[mode]})
        settings = load_settings()
        began = time.perf_counter()
        runs = [jobs.launch(dataclasses.replace(TINY, seed=seed), settings) for seed in (1, 2, 3, 4)]
        while any(run.status().state in ACTIVE_STATES for run in runs):
            time.sleep(0.25)
            jobs.reconcile(settings.runs_dir, settings)
        wall = time.perf_counter() - began
        return {"wall": wall, **timings(runs)}


def timings(runs: list[Run]) -> dict[str, float]:
    """For the first run launched (it waits for no other): launch to end, and the training's own seconds
    (`metrics.json`, from the start of `train` in the worker: TensorFlow's import included)."""
    statuses = [run.status() for run in runs]
    failed = [(run.id, status.error) for run, status in zip(runs, statuses) if status.state != "finished"]
    if failed:
        raise SystemExit(f"runs did not finish: {failed}")
    return {"first run": seconds_between(statuses[0].created, statuses[0].ended),
            "training": runs[0].metrics()["seconds"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(os.popen("uptime").read().strip())
    with ray_head() as (address, cluster_seconds):
        print(f"Ray cluster (1 node, 2 CPUs) started in {cluster_seconds:.1f} s")
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for number in range(args.rounds):
            for mode in MODES:  # interleaved, so a noisy minute falls on every mode alike
                results[mode].append(one_round(mode, address))
                print(f"round {number + 1} {mode:9s} wall {results[mode][-1]['wall']:.1f} s", flush=True)
    print(f"\nmedians over {args.rounds} rounds of 4 runs:")
    baseline = statistics.median(r["wall"] for r in results["local x1"])
    for mode, rounds in results.items():
        wall = statistics.median(r["wall"] for r in rounds)
        first = statistics.median(r["first run"] for r in rounds)
        training = statistics.median(r["training"] for r in rounds)
        overheads = sorted(r["first run"] - r["training"] for r in rounds)
        print(f"{mode:9s} wall {wall:5.1f} s ({wall / baseline:.2f}x local x1) · first run: launch to end "
              f"{first:.1f} s, training {training:.1f} s, overhead {statistics.median(overheads):.2f} s "
              f"(range {overheads[0]:.2f}-{overheads[-1]:.2f})")
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
