"""`python -m lab train`: train one run in the foreground (this process is its worker), or queue it.

The config comes from `--preset`, then `--config FILE` (a run's `config.json`, or any subset of its
fields), then the flags, each overriding the one before; the flags are made from the config's table
of fields (`lab.training.config.FIELDS`). A config that is invalid, or names data or weights this
machine does not have, is one line on stderr and no run folder. Progress goes to stderr; the last stdout
line with `--json` is one JSON object describing the run (run_dir, status, best_val_accuracy,
epochs_completed, train_images, seconds, ...). Ctrl-C stops gracefully after the current batch and
keeps the history and best checkpoint; a second Ctrl-C aborts.

Exit codes: 0 finished (or queued with `--background`), 1 failed, 2 invalid config, 130 stopped.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lab.augment import parse_assignments
from lab.errors import LabError
from lab.progress import Throttle
from lab.runs import jobs
from lab.runs.describe import event_text
from lab.runs.status import FAILED, FINISHED
from lab.runs.store import Run, RunStore
from lab.settings import Settings, load_settings
from lab.training.config import FIELDS, FieldSpec, TrainConfig
from lab.training.cost import estimate_cost
from lab.training.preflight import preflight
from lab.training.presets import PRESETS

PROGRESS_INTERVAL = 2.0  # seconds between batch progress lines on stderr
_ARGUMENT_KIND: dict[str, dict[str, Any]] = {  # how argparse reads each kind of config field
    "integer": {"type": int},
    "number": {"type": float},
    "flag": {"action": argparse.BooleanOptionalAction},
    "overrides": {"action": "append", "metavar": "KEY=VALUE"},
}


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train one run (foreground; --background queues it)",
        description=__doc__.split("\n\n")[0],
    )
    add_config_arguments(parser, PRESETS)
    parser.add_argument("--runs-dir", type=Path, help="where the run folder goes (default: the workspace's runs)")
    parser.add_argument("--background", action="store_true", help="queue it for a background worker and return")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def add_config_arguments(parser: argparse.ArgumentParser, presets: Mapping[str, object]) -> None:
    """`--preset` (one of `presets`), `--config FILE` and one flag per config field: what `config_from_args` reads."""
    names = ", ".join(presets)
    parser.add_argument("--preset", choices=sorted(presets), metavar="NAME", help=f"a tutorial experiment: {names}")
    parser.add_argument("--config", type=Path, metavar="FILE", help="a JSON config (e.g. a run's config.json)")
    for field in FIELDS.values():
        parser.add_argument(field.cli_flag, dest=field.name, help=_help(field), **_ARGUMENT_KIND.get(field.kind, {}))


def _help(field: FieldSpec) -> str:
    choices = f" ({' | '.join(field.choices)})" if field.choices else ""
    return (field.help + choices).replace("%", "%%")


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    config = config_from_args(args)
    preflight(config, settings)  # missing data or weights: one line, exit 2, no run folder
    runs_dir = args.runs_dir or settings.runs_dir
    if args.background:
        launched = jobs.launch(config, settings, runs_dir, estimate=_estimate(config, settings, runs_dir))
        _print_result(launched.summary(), args.json)
        return 0
    foreground = RunStore(runs_dir).create(config, running_in=jobs.process_identity())
    print(f"run {foreground.id} in {foreground.path}", file=sys.stderr)
    final = jobs.take_turn(foreground, settings, on_event=ProgressLines())
    _print_result(result(foreground), args.json)
    if final.state == FAILED:
        print(f"error: {final.error}", file=sys.stderr)
    return {FINISHED: 0, FAILED: 1}.get(final.state, 130)


def _estimate(config: TrainConfig, settings: Settings, runs_dir: Path) -> dict[str, Any] | None:
    """What the queued run should take, from the speeds known here (never timing the backbone now), to keep
    beside it as the Train page does; None when its images cannot be counted."""
    try:
        return estimate_cost(config, settings, runs_dir=runs_dir, measure=False)
    except LabError:
        return None


def config_from_args(args: argparse.Namespace, presets: Mapping[str, TrainConfig] = PRESETS) -> TrainConfig:
    """The validated config: preset (from `presets`), then config file, then flags. A size no flag names is the
    backbone's native one (`TrainConfig`), and a `--backbone` that replaces the preset's or the file's brings its
    own native size unless `--image-size` is given, as choosing a backbone does on the Train page."""
    values: dict[str, Any] = presets[args.preset].to_dict() if args.preset else {}
    if args.config:
        values.update(_read_config_file(args.config))
    base = dict(values)
    for field in FIELDS.values():
        value = getattr(args, field.name)
        if value is None:
            continue
        if field.kind == "overrides":  # --augment-set adds to the preset's and the file's changes
            value = {**values.get(field.name, {}), **parse_assignments(value)}
        values[field.name] = value
    if "data" not in values:
        raise LabError("No data: pass --data PATH (or a --preset or --config that names it).")
    if args.backbone and args.image_size is None and args.backbone != base.get("backbone", args.backbone):
        values.pop("image_size", None)  # as on the Train page: a new backbone brings its native size
    return TrainConfig.from_dict(values)


def flags_from_config(config: TrainConfig) -> list[str]:
    """The `lab train` flags that make `config` again: the reverse of `config_from_args`.

    Every field is spelled out, so the command does not lean on today's defaults; only None ("all images")
    has no flag, being the default.
    """
    flags: list[str] = []
    for field in FIELDS.values():
        value = getattr(config, field.name)
        if value is None:
            continue
        if field.kind == "flag":
            flags.append(field.cli_flag if value else field.cli_flag.replace("--", "--no-", 1))
        elif field.kind == "overrides":
            for name, override in value.items():  # `--augment-set` reads str()'s True, None, [0.8, 1.2] back
                flags += [field.cli_flag, f"{name}={override}"]
        else:
            flags += [field.cli_flag, str(value)]
    return flags


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
    """Progress on stderr, in the page's words: every phase and epoch, a batch line every `PROGRESS_INTERVAL` s."""

    def __init__(self) -> None:
        self.throttle = Throttle(PROGRESS_INTERVAL)

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("type") != "batch" or self.throttle.due():
            print(event_text(event), file=sys.stderr)
