"""How far the Train page's time estimate is from the time a run takes here: estimated vs actual seconds per preset.

The presets that run on this machine (weights in ../shared/weights, or none needed), each trained by
`python -m lab train` in its own process, timed from the process start to its end (what a launch costs,
start-up and extraction included), in a fresh workspace (cold feature cache, no earlier runs):

1. round 1, no earlier runs: the estimate times the backbone now (`measure=True`) and scales it by the
   per-strategy `FACTORS` of `lab.training.speed`;
2. round 2, calibrated: each preset again with one more epoch and another learning rate, estimated from the
   round-1 runs (the feature extractor then finds its features cached, so the estimate must not count them).

Each data folder is scanned once first, as the Dataset page (or an estimate with sizes left empty) does: the
start-up constants assume the scan is cached, and a first scan of a folder adds its time (printed).
Smaller than the presets where they would take over 5 minutes here (said in the table: "resized").
Target: every ratio estimated / actual within 1/1.5 .. 1.5. Also printed, from each round-1 run: the parts
measured in units of the forward pass, the numbers `FACTORS` and `STARTUP_SECONDS` were set from.

    python bench/estimate.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paths import ROOT, SHARED

QUICK = "mobilenet-v2-quick"


def cases() -> list[tuple[str, object]]:
    """(label, config) of every preset that runs here, resized where the preset would take over 5 minutes."""
    from lab.training.presets import PRESETS

    quick = PRESETS[QUICK]
    resized = {"train_size": 400, "validation_size": 200, "epochs": 2}
    return [
        (QUICK, quick),
        ("mobilenet-v2 frozen + light augmentation (resized)",
         dataclasses.replace(quick, strategy="frozen", augment="light", **resized)),
        ("mobilenet-v2 fine-tune from block_13 (resized)",
         dataclasses.replace(quick, strategy="fine-tune", fine_tune_at="block_13", fine_tune_epochs=1,
                             **{**resized, "epochs": 1})),
        ("basic-cnn (resized)", dataclasses.replace(PRESETS["basic-cnn"], train_size=600, validation_size=200,
                                                    epochs=3)),
    ]


def actual_seconds(config, workspace: Path, name: str) -> tuple[float, Path]:
    """Wall seconds of `python -m lab train` on `config`, from process start to exit; and its run folder."""
    path = workspace / f"{name}.json"
    path.write_text(json.dumps(config.to_dict()))
    began = time.perf_counter()
    environment = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)}
    done = subprocess.run([sys.executable, "-m", "lab", "train", "--config", str(path), "--json"], check=False,
                          cwd=ROOT, capture_output=True, text=True, env=environment)
    seconds = time.perf_counter() - began
    if done.returncode:
        raise SystemExit(f"{name} failed:\n{done.stderr[-2000:]}")
    return seconds, Path(json.loads(done.stdout.strip().splitlines()[-1])["run_dir"])


def scan_seconds(config, settings) -> float:
    """Seconds of the first scan of `config`'s data; later reads of it (the runs') hit the scan cache."""
    from lab.data import training_splits

    began = time.perf_counter()
    training_splits(config.data, train_size=config.train_size, validation_size=config.validation_size,
                    seed=config.seed, settings=settings)
    return time.perf_counter() - began


def print_parts(label: str, config, run_dir: Path, rate: float, wall: float) -> None:
    """A finished run's parts in forward passes (`rate`: the forward rate measured right after it) and its
    start-up (wall time less the parts, as `speeds_from_runs` reckons it): what FACTORS and STARTUP_SECONDS
    are set from."""
    from lab.training.speed import PROCESS_SECONDS, FinishedRun, speeds_from_runs

    run = FinishedRun.read(run_dir)
    factors = ", ".join(f"{name} {seconds * rate:.2f}" for name, seconds in run.parts().items())
    residual = speeds_from_runs(config, [run], None).startup - PROCESS_SECONDS
    startup = residual + wall - run.metrics["seconds"]
    print(f"    {label}: forward rate {rate:.0f}/s; in forward passes: {factors}; start-up {startup:.1f} s "
          f"(wall {wall:.1f} s, of which {wall - run.metrics['seconds']:.1f} s before the run's clock)")


def main() -> None:
    workspace = Path(tempfile.mkdtemp(prefix="bench-estimate-"))
    os.environ["TRANSFER_LAB_WORKSPACE"] = str(workspace)
    from lab.settings import load_settings
    from lab.training.backbones import BACKBONES
    from lab.training.cost import estimate_cost
    from lab.training.speed import measure_forward_rate

    settings = load_settings()
    print(os.popen("uptime").read().strip())
    began = time.perf_counter()
    scanned = {config.data: scan_seconds(config, settings) for _, config in cases()}
    print("first scan of each data folder (before any estimate, as the Dataset page does): "
          + ", ".join(f"{Path(data).name} {seconds:.1f} s" for data, seconds in scanned.items()))
    rows = []
    for label, config in cases():
        estimate = estimate_cost(config, settings, runs_dir=workspace / "no-runs", measure=True)
        seconds, run_dir = actual_seconds(config, workspace, "round1")
        rate = measure_forward_rate(BACKBONES[config.backbone], config.image_size,
                                    batch_size=min(config.batch_size, 32))
        print_parts(label, config, run_dir, rate, seconds)
        rows.append(("1 measured", label, estimate, seconds))
    for label, config in cases():
        again = dataclasses.replace(config, epochs=config.epochs + 1, learning_rate=config.learning_rate * 2)
        estimate = estimate_cost(again, settings, measure=False)
        seconds, _ = actual_seconds(again, workspace, "round2")
        rows.append(("2 calibrated", f"{label}, {again.epochs} epochs", estimate, seconds))
    print(f"\nEstimated vs actual wall time ({os.cpu_count()} cores; workspace {workspace}; "
          f"bench {time.perf_counter() - began:.0f} s; weights from {SHARED / 'weights'})")
    print(f"{'round':<13}{'preset':<62}{'estimated':>10}{'actual':>9}{'ratio':>7}  speeds from / breakdown")
    for round_, label, estimate, seconds in rows:
        parts = " ".join(f"{name} {value:.0f}" for name, value in estimate["breakdown"].items())
        ratio = estimate["seconds"] / seconds
        print(f"{round_:<13}{label:<62}{estimate['seconds']:>9.0f}s{seconds:>8.0f}s{ratio:>7.2f}"
              f"  {estimate['rate_source']}; {parts}; cached {estimate['cached_images']}")
    print(os.popen("uptime").read().strip())


if __name__ == "__main__":
    main()
