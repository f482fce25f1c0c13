"""`python -m lab import ZIP [--dest DIR] [--json]`: unpack a zip safely and scan what it held.

The same `extract_zip` as the Dataset page's upload (zip slip, bombs and forged sizes refused, nothing
left behind by a refusal), then the same report as `python -m lab scan ZIP`: with `--json`, exactly
the object `lab scan --json` prints. A refused or damaged zip is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from lab.cli.progress_line import progress_reporter
from lab.cli.scan import print_report
from lab.data.archive import is_zip
from lab.data.scan import scan
from lab.errors import LabError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("import", help="unpack a .zip of images safely, then scan it")
    parser.add_argument("zip", type=Path, help="a .zip of a dataset (class folders, split folders or Kaggle names)")
    parser.add_argument("--dest", type=Path, help="folder to unpack into (default: the workspace's datasets)")
    parser.add_argument("--json", action="store_true", help="print the scan as one JSON object (as `lab scan`)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not is_zip(args.zip):
        raise LabError(f"{args.zip} is not a .zip file: give a zip of a folder of images (or scan a folder "
                       "with `python -m lab scan`).")
    print_report(scan(args.zip, unpack_to=args.dest, on_progress=progress_reporter()), as_json=args.json)
    return 0
