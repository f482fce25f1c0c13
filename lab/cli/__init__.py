"""`python -m lab <command>`: the same engine the pages use, for scripts, GPU servers and CI.

Each command lives in its own module with `add_parser(subparsers)` registering its arguments and
setting `func`, a callable taking the parsed arguments and returning the exit code. A `LabError`
becomes one line on stderr and exit code 2; no traceback for user mistakes.

Must not import Streamlit: the pages are the other door onto the same `lab`, and neither door imports the other.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from lab.cli import (
    augment,
    evaluate,
    export,
    import_zip,
    label_issues,
    manifest,
    near_duplicates,
    photo_map,
    predict,
    replay,
    runs,
    scan,
    study,
    train,
    worker,
)
from lab.errors import LabError
from lab.leftovers import clean_leftovers
from lab.settings import load_settings

COMMANDS = (scan, import_zip, manifest, label_issues, augment, train, study, replay, evaluate, predict, export,
            photo_map, near_duplicates, runs, worker)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lab", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        clean_leftovers(load_settings())  # what killed work left behind: each command is a start of the lab
        return args.func(args)
    except LabError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
