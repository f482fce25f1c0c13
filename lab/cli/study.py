"""`python -m lab study --sizes 1000,all [train flags]`: one configuration at several training-set sizes.

Does 20x more data help? The runs train the same config on nested subsets of one training split (largest first,
so with the feature-extractor strategy the smaller sizes read the largest run's features from the cache), each
`--repeats` times with seeds seed, seed+1, ..., and are all judged on one test set. The config comes from
`--preset` (a training preset, or a study preset that brings its sizes too), `--config FILE` and the `lab train`
flags; a plain data folder is split into train / validation / test once and kept as a manifest. The runs go
one after another in this process (progress on stderr), or with `--background` to the queue of workers.
With `--json` the last stdout line is one JSON object: `runs` (size, repeat, seed, run_dir, status,
train_images, best_val_accuracy, test_accuracy, ...), `mcnemar_p` (smallest against largest size) and
`learning_curve`: `fit` (the law through the sizes, `lab.evaluation.learning_curve`) and `images_for` (the
training photos for `--target` accuracy, with its 95% interval and whether it extrapolates). `--report FILE`
writes the study as one HTML file that opens offline.

Exit codes: 0 every run finished (or all were queued with `--background`), 1 a run failed, 2 a mistake (bad
sizes, a size larger than the training split, data without a test split: no run is made), 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lab.cli.train import ProgressLines, add_config_arguments, config_from_args
from lab.errors import LabError
from lab.evaluation.learning_curve import DEFAULT_TARGET
from lab.replays.report import report_path, study_report, write_report
from lab.runs.status import FAILED, FINISHED
from lab.runs.study import launch_study, parse_sizes, plan_study, results, run_study
from lab.settings import load_settings
from lab.training.presets import PRESETS, STUDY_PRESETS

_CONFIGS = {**PRESETS, **{name: preset.config for name, preset in STUDY_PRESETS.items()}}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("study", help="train one config at several training-set sizes and compare them",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", help="training-set sizes, largest 'all', e.g. 1000,all (default: the study "
                                        f"preset's; study presets: {', '.join(STUDY_PRESETS)})")
    parser.add_argument("--repeats", type=int, help="runs per size, with seeds seed, seed+1, ... (default 1)")
    add_config_arguments(parser, _CONFIGS)
    parser.add_argument("--background", action="store_true", help="queue the runs for background workers and return")
    parser.add_argument("--target", type=float, default=DEFAULT_TARGET * 100,
                        help="the test accuracy, in percent, to estimate the training photos for "
                             f"(default {DEFAULT_TARGET * 100:.0f}%%)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.add_argument("--report", metavar="FILE", help="also write the study as one HTML file that opens offline")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    preset = STUDY_PRESETS.get(args.preset or "")
    sizes = args.sizes or (preset.sizes if preset else None)
    if not sizes:
        raise LabError("No sizes: pass --sizes, e.g. --sizes 1000,all (or --preset dataset-size-study).")
    repeats = args.repeats if args.repeats is not None else (preset.repeats if preset else 1)
    if not 0 < args.target < 100:
        raise LabError(f"--target {args.target:g}: a test accuracy in percent, above 0 and below 100, e.g. 95.")
    if args.report:
        report_path(args.report)
    config = config_from_args(args, _CONFIGS)
    if args.background:
        study = launch_study(config, parse_sizes(sizes), repeats, settings)
    else:
        study = plan_study(config, parse_sizes(sizes), repeats, settings)
        print(f"study {study.name}: {len(study.configs())} runs on manifest {study.config.data}", file=sys.stderr)
        study = run_study(study, settings, on_event=ProgressLines())
    summary = results(study, settings.runs_dir, args.target / 100)
    if args.report:
        print(f"report: {write_report(study_report(summary), args.report)}", file=sys.stderr)
    _print_summary(summary, args.json)
    states = {row["status"] for row in summary["runs"]}
    return 0 if args.background or states == {FINISHED} else 1 if FAILED in states else 130


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(summary, default=str))
        return
    print(f"study {summary['name']} on {summary['manifest']}")
    for row in summary["runs"]:
        print(f"  {row['train_images'] or row['size'] or 'all'} training images (seed {row['seed']}): "
              f"validation {percent(row['best_val_accuracy'])}, test {percent(row['test_accuracy'])} "
              f"[{row['status']}] {row['run_dir']}")
    if summary["sentence"]:
        print(f"McNemar p = {summary['mcnemar_p']:.4g}: {summary['sentence']}")
    print(summary["learning_curve"]["images_for"]["sentence"])


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"
