"""`python -m lab manifest PATH --name NAME`: cut a dataset into splits and subsets and save them."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.data import build_manifest, scan
from lab.data.export import ExportReport, export_folders
from lab.errors import LabError
from lab.settings import load_settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("manifest", help="save a named split of a dataset (train/validation/test, subsets)")
    parser.add_argument("path", help="a data folder or .zip")
    parser.add_argument("--name", required=True, help="the manifest's name (the Train page and --data use it)")
    parser.add_argument("--validation", type=_amount, default=0.2,
                        help="fraction (0.2) or count (1000) cut from train when there is no validation folder")
    parser.add_argument("--test", type=_amount, default=0.0, help="fraction or count cut from train when there "
                        "is no test folder")
    parser.add_argument("--subset", action="append", default=[], metavar="NAME=SPLIT:COUNT",
                        help="a stratified nested subset, e.g. train_1k=train:1000 (repeatable)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep-duplicates", action="store_true", help="keep exact duplicates (default: one copy)")
    parser.add_argument("--export", type=Path, metavar="DIR", help="also write DIR/<split>/<class>/ folders")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    manifest = build_manifest(scan(args.path, settings=settings), name=args.name, validation=args.validation,
                              test=args.test, subsets=dict(_subset(s) for s in args.subset), seed=args.seed,
                              drop_duplicates=not args.keep_duplicates)
    path = manifest.save(settings)
    summary = {"name": manifest.name, "path": str(path), "content_hash": manifest.content_hash,
               "splits": manifest.counts()}
    exported = export_folders(manifest, args.export) if args.export else None
    if exported:
        summary["export"] = exported.to_dict()
    print(json.dumps(summary, indent=2) if args.json else _table(summary, exported))
    return 0


def _amount(text: str) -> float | int:
    value = float(text)
    return int(value) if value >= 1 else value


def _subset(text: str) -> tuple[str, tuple[str, int]]:
    name, _, rest = text.partition("=")
    split, _, count = rest.partition(":")
    if not (name and split and count.isdigit()):
        raise LabError(f"--subset {text!r} should look like NAME=SPLIT:COUNT, e.g. train_1k=train:1000.")
    return name, (split, int(count))


def _table(summary: dict, exported: ExportReport | None) -> str:
    lines = [f"saved {summary['name']} to {summary['path']}"]
    for split, counts in summary["splits"].items():
        lines.append(f"  {split}: " + ", ".join(f"{label} {n}" for label, n in counts.items()))
    if exported:
        lines.append(exported.summary())
        lines += [f"  renamed {source} -> {target}" for source, target in exported.renamed]
    return "\n".join(lines)
