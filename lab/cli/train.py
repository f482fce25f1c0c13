"""`python -m lab train`: train one run in the foreground (this process is its worker), or queue it.

The config comes from `--preset`, then `--config FILE` (a run's `config.json`, or any subset of its
fields), then the flags, each overriding the one before. Progress goes to stderr; the last stdout
line with `--json` is one JSON object describing the run (run_dir, status, best_val_accuracy,
epochs_completed, train_images, seconds, ...). Ctrl-C stops gracefully after the current batch and
keeps the history and best checkpoint; a second Ctrl-C aborts.

Exit codes: 0 finished (or queued with `--background`), 1 failed, 2 invalid config, 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from lab.augment import parse_assignments
from lab.errors import LabError
from lab.runs import jobs, worker
from lab.runs.describe import logs_text, progress_text
from lab.runs.status import FAILED, FINISHED
from lab.runs.store import Run, RunStore
from lab.settings import load_settings
from lab.training.config import PRESETS, TrainConfig

# flag destination -> TrainConfig field, for the flags whose name differs from the field's
_RENAMED = {
    "lr": "learning_rate",
    "fine_tune_lr": "fine_tune_learning_rate",
    "early_stopping": "early_stopping_patience",
}
_FIELDS = (
    "data", "backbone", "weights", "strategy", "head", "image_size", "epochs", "batch_size", "optimizer", "lr",
    "fine_tune_at", "fine_tune_lr", "fine_tune_epochs", "train_size", "validation_size", "augment",
    "early_stopping", "class_weights", "seed", "mixed_precision",
)  # fmt: skip
PROGRESS_INTERVAL = 2.0  # seconds between batch progress lines on stderr


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one run (foreground; --background queues it)",
        description=__doc__.split("\n\n")[0],
    )
    presets = ", ".join(PRESETS)
    parser.add_argument("--preset", choices=sorted(PRESETS), metavar="NAME", help=f"a tutorial experiment: {presets}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="a JSON config (e.g. a run's config.json)")
    parser.add_argument("--data", help="data folder, .zip, manifest name, or a folder name inside a data folder")
    parser.add_argument("--backbone", help="backbone name, e.g. mobilenet_v2, vgg16, basic_cnn")
    parser.add_argument("--weights", help="imagenet | none | a weights file path or name")
    parser.add_argument("--strategy", help="scratch | feature-extractor | frozen | fine-tune")
    parser.add_argument("--head", help="auto | keras_tutorial | five_model_tutorial | linear")
    parser.add_argument("--image-size", type=int, help="square input size in pixels")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--optimizer", help="adam | rmsprop | sgd (with momentum)")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--fine-tune-at", help="named boundary to unfreeze from (fine-tune)")
    parser.add_argument("--fine-tune-lr", type=float, help="learning rate after unfreezing (fine-tune)")
    parser.add_argument("--fine-tune-epochs", type=int, help="epochs after unfreezing (fine-tune)")
    parser.add_argument("--train-size", type=int, help="training images in total, stratified")
    parser.add_argument("--validation-size", type=int, help="validation images in total, stratified")
    parser.add_argument("--augment", help="augmentation preset, or none")
    parser.add_argument("--augment-set", action="append", metavar="KEY=VALUE",
                        help="change one augmentation parameter, e.g. rotation_range=30 (repeatable)")
    parser.add_argument("--early-stopping", type=int, metavar="PATIENCE", help="0 = off")
    parser.add_argument("--class-weights", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--mixed-precision", action=argparse.BooleanOptionalAction, default=None)
    parser.add_argument("--runs-dir", type=Path, help="where the run folder goes (default: the workspace's runs)")
    parser.add_argument("--background", action="store_true", help="queue it for a background worker and return")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    config = config_from_args(args)
    runs_dir = args.runs_dir or settings.runs_dir
    if args.background:
        launched = jobs.launch(config, settings, runs_dir)
        _print_result(launched.summary(), args.json)
        return 0
    foreground = RunStore(runs_dir).create(config, running_in=jobs.process_identity())
    print(f"run {foreground.id} in {foreground.path}", file=sys.stderr)
    final = worker.execute(foreground, settings, on_event=ProgressLines())
    _print_result(result(foreground), args.json)
    if final.state == FAILED:
        print(f"error: {final.error}", file=sys.stderr)
    return {FINISHED: 0, FAILED: 1}.get(final.state, 130)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The validated config: preset, then config file, then flags."""
    values: dict[str, Any] = PRESETS[args.preset].to_dict() if args.preset else {}
    if args.config:
        values.update(_read_config_file(args.config))
    for name in _FIELDS:
        value = getattr(args, name)
        if value is not None:
            values[_RENAMED.get(name, name)] = value
    if args.augment_set:
        values["augment_overrides"] = {**values.get("augment_overrides", {}), **parse_assignments(args.augment_set)}
    if "data" not in values:
        raise LabError("No data: pass --data PATH (or a --preset or --config that names it).")
    return TrainConfig.from_dict(values).validate()


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabError(f"Config file {path} does not exist.") from None
    except json.JSONDecodeError as error:
        raise LabError(f"Config file {path} is not valid JSON: {error}.") from None
    if not isinstance(value, dict):
        raise LabError(f"Config file {path} must hold a JSON object of config fields.")
    return value


def result(finished: Run) -> dict[str, Any]:
    """The run's metrics and summary in one object: the CLI's machine-readable answer."""
    return {**finished.metrics(), **finished.summary()}


def _print_result(value: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(value, default=str))
        return
    for key in ("id", "run_dir", "status", "best_val_accuracy", "epochs_completed", "train_images", "seconds", "error"):
        if value.get(key) is not None:
            print(f"{key}: {value[key]}")


class ProgressLines:
    """Progress on stderr: every phase and epoch, and a batch line every `PROGRESS_INTERVAL` seconds."""

    def __init__(self) -> None:
        self.printed = 0.0

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        if kind == "batch" and time.monotonic() - self.printed >= PROGRESS_INTERVAL:
            print(progress_text(event), file=sys.stderr)
            self.printed = time.monotonic()
        elif kind == "epoch":
            print(f"epoch {event.get('epoch')}/{event.get('epochs')}: {logs_text(event['logs'])}", file=sys.stderr)
        elif kind == "phase":
            print(f"{event.get('phase')}: {event.get('message')}", file=sys.stderr)
