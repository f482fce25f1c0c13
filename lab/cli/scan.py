"""`python -m lab scan PATH [--json]`: check every image of a dataset and summarise it."""

from __future__ import annotations

import argparse
import json

from lab.cli.progress_line import progress_reporter
from lab.data.scan import ScanReport, scan


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("scan", help="find, decode and check every image of a dataset")
    parser.add_argument("path", help="a folder of images (class folders, split folders, Kaggle names) or a .zip")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print_report(scan(args.path, on_progress=progress_reporter()), as_json=args.json)
    return 0


def print_report(report: ScanReport, *, as_json: bool) -> None:
    """The `--json` contract (one JSON object, shared by `lab import`), or a summary for people."""
    print(json.dumps(report.to_json(), indent=2) if as_json else _summary(report))


def _summary(report: ScanReport) -> str:
    lines = [f"{report.root} ({report.layout}): {report.valid} valid of {report.total} images"]
    lines += [f"  {name}: {count}" for name, count in report.classes.items()]
    for split, classes in report.splits.items():
        lines.append(f"  {split}: " + ", ".join(f"{label} {count}" for label, count in classes.items()))
    if report.sizes:
        lines.append(f"  sizes: {report.sizes.sentence()}")
    lines += [f"  bad: {item['path']}: {item['reason']}" for item in report.invalid]
    lines += [f"  unreadable folder: {folder}" for folder in report.unreadable]
    if report.duplicates:
        lines.append(f"  {len(report.duplicates)} groups of identical files, {len(report.leakage)} across splits")
    return "\n".join(lines)
