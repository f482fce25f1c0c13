"""The dataset-size study against its largest run alone: what do the smaller sizes cost on top?

Two fresh workspaces, each with a cold feature cache (they share only the scan cache, warmed first, and the
operating system's file cache, warmed by reading every image once):

1. the largest run alone (the whole training split), executed in this process;
2. the study (by default the `dataset-size-study` preset: 1,000 images and the whole training split), executed
   as `lab study` does: largest first, so the 1,000-image run reads its features from the cache.

Both are timed from the first run's start to the last run's end; planning (the scan and the split, the same for
both) and TensorFlow's import are not timed. Target (issue 12): the study <= 1.15x the largest run alone.
Printed too: each size's best validation and test accuracy, the features each run computed, and McNemar's
exact test between the sizes.

    python bench/study.py                 # the preset: ~20,000 images through MobileNetV2 at 224px, twice
    python bench/study.py --limit 2000    # a quick check on 2,000 of the images (sizes 200,all)
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from paths import SHARED

from lab.data.manifest import Manifest
from lab.data.splits import stratified_subset
from lab.runs import jobs
from lab.runs.store import RunStore
from lab.runs.study import Study, parse_sizes, plan_study, results, run_study, study_manifest
from lab.settings import Settings
from lab.training.config import TrainConfig
from lab.training.presets import STUDY_PRESETS


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="dataset-size-study", choices=sorted(STUDY_PRESETS))
    parser.add_argument("--limit", type=int, help="use this many of the images (split 80/10/10), for a quick check")
    parser.add_argument("--sizes", help="override the preset's sizes (default with --limit: limit/10,all)")
    parser.add_argument("--epochs", type=int, help="override the preset's epochs")
    return parser.parse_args()


def workspace(root: Path, name: str, scan_cache: Path) -> Settings:
    """A fresh workspace whose scan cache is the shared one: only its feature cache starts cold."""
    settings = Settings(workspace=root / name, data_dirs=(SHARED / "data",), weights_dirs=(SHARED / "weights",))
    settings.cache_dir.mkdir(parents=True)
    (settings.cache_dir / "scan.sqlite").symlink_to(scan_cache)
    return settings


def limited(config: TrainConfig, limit: int, settings: Settings) -> TrainConfig:
    """`config` on `limit` of its images: a stratified subset of each split of the study's manifest."""
    folder = next(d / config.data for d in settings.data_dirs if (d / config.data).exists())
    full = study_manifest(folder, config.seed, settings)
    total = sum(len(records) for records in full.splits.values())
    splits = {split: stratified_subset(records, round(len(records) * limit / total), seed=config.seed, what=split)
              for split, records in full.splits.items()}
    small = dataclasses.replace(full, name=f"{full.name}-limit{limit}", splits=splits)
    Manifest.save(small, settings)
    return dataclasses.replace(config, data=small.name)


def warm_file_cache(study: Study, settings: Settings) -> None:
    """Read every image once, so neither side pays the first disk read."""
    from lab.data import load_manifest

    for records in load_manifest(study.config.data, settings).splits.values():
        for record in records:
            Path(record.path).read_bytes()


def timed(action) -> tuple[float, object]:
    start = time.perf_counter()
    value = action()
    return time.perf_counter() - start, value


def alone(study: Study, settings: Settings) -> str:
    """The study's largest run by itself, as `lab train` runs it in the foreground."""
    _, _, config = study.configs()[0]
    run = RunStore(settings.runs_dir).create(config, running_in=jobs.process_identity())
    jobs.take_turn(run, settings)
    return run.id


def main() -> None:
    args = arguments()
    preset = STUDY_PRESETS[args.preset]
    config = dataclasses.replace(preset.config, epochs=args.epochs or preset.config.epochs)
    sizes_text = args.sizes or (f"{args.limit // 10},all" if args.limit else preset.sizes)
    with tempfile.TemporaryDirectory(prefix="bench-study-") as tmp:
        root = Path(tmp)
        scan_cache = root / "scan.sqlite"
        sides = {name: workspace(root, name, scan_cache) for name in ("alone", "study")}
        plans = {}
        for name, settings in sides.items():
            side_config = limited(config, args.limit, settings) if args.limit else config
            plans[name] = plan_study(side_config, parse_sizes(sizes_text), 1, settings)
        warm_file_cache(plans["study"], sides["study"])
        import keras  # noqa: F401  (TensorFlow's import is paid before either side's clock starts)

        alone_seconds, _ = timed(lambda: alone(plans["alone"], sides["alone"]))
        study_seconds, study = timed(lambda: run_study(plans["study"], sides["study"]))
        report(study, sides["study"], alone_seconds, study_seconds, sizes_text)


def report(study: Study, settings: Settings, alone_seconds: float, study_seconds: float, sizes: str) -> None:
    summary = results(study, settings.runs_dir)
    ratio = study_seconds / alone_seconds
    print(f"\nstudy {sizes} on {summary['manifest']} ({study.config.backbone}, {study.config.image_size}px, "
          f"{study.config.strategy}, {study.config.epochs} epochs)")
    print(f"largest run alone: {alone_seconds:8.1f} s")
    print(f"the whole study:   {study_seconds:8.1f} s   ratio {ratio:.3f}x (target <= 1.15x): "
          f"{'met' if ratio <= 1.15 else 'NOT met'}")
    for row in summary["runs"]:
        print(f"  {row['train_images']:>6,} training images: best validation {row['best_val_accuracy']:.4f}, "
              f"test {row['test_accuracy']:.4f} on {row['test_images']:,}, features computed "
              f"{row['features_computed']:,}, {row['seconds']:.1f} s")
    print(f"McNemar's exact test, smallest vs largest: p = {summary['mcnemar_p']:.3g}. {summary['sentence']}")


if __name__ == "__main__":
    main()
