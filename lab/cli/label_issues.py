"""`python -m lab label-issues DATA [--backbone NAME] [--weights W] [--split train] [--top N] [--json]
[--save-clean [NAME]]`: the photos of a split whose labels look wrong, most suspect first.

DATA is a dataset folder, a zip or a saved manifest's name, read as `lab train --data` reads it. Each photo's
pooled features come from the feature cache (the backbone runs only on photos it has not seen), k heads give
each photo probabilities from a head that never saw it, and confident learning flags the labels that look wrong
(`lab.inspection.label_issues`). The table lists the flagged photos (`--top N`: the N most suspect instead).
`--save-clean` saves a new manifest without the photos listed (named DATA-without-N-label-issues unless NAME is
given); the photos and DATA stay as they are. With `--json` the last stdout line is one JSON object: data, split,
backbone, photos, flagged, issues (each: path, digest, given, suggested, score, confidence, flagged, reason),
and clean_manifest (name, path, left_out, splits) or null.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.cli.progress_line import progress_reporter
from lab.data.manifest import Manifest
from lab.data.manifest_check import check_recorded_photos
from lab.data.records import ImageRecord
from lab.data.run_data import resolve_data_path, source_manifest
from lab.errors import LabError
from lab.inspection.clean_manifest import clean_name, save_clean_manifest
from lab.inspection.label_issues import LabelIssue, label_issues
from lab.inspection.out_of_fold import FOLDS
from lab.settings import Settings, load_settings


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("label-issues", help="find photos whose labels look wrong (confident learning)",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("data", metavar="DATA", help="a dataset folder, .zip or saved manifest name")
    parser.add_argument("--backbone", default="mobilenet_v2", help="the backbone whose features the heads read")
    parser.add_argument("--weights", default="imagenet", help="imagenet, none, or a weights file (path or name)")
    parser.add_argument("--image-size", type=int, help="pixels per side (default: the backbone's native size)")
    parser.add_argument("--split", default="train", help="which split's labels to check (default: train)")
    parser.add_argument("--top", type=int, help="list the N most suspect photos (default: those flagged)")
    parser.add_argument("--folds", type=int, default=FOLDS, help=f"heads, each fitted without one fold ({FOLDS})")
    parser.add_argument("--seed", type=int, default=0, help="the folds' seed, and a folder's validation split's")
    parser.add_argument("--save-clean", nargs="?", const="", metavar="NAME",
                        help="save a manifest without the photos listed (name: DATA-without-N-label-issues)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.top is not None and args.top < 1:
        raise LabError(f"--top {args.top}: list at least 1 photo, or leave --top out for the flagged ones.")
    settings = load_settings()
    progress = progress_reporter()
    records = split_records(args.data, args.split, seed=args.seed, settings=settings)
    rows = label_issues(records, args.backbone, weights=args.weights, settings=settings,
                        image_size=args.image_size, folds=args.folds, seed=args.seed, on_progress=progress)
    flagged = sum(row.flagged for row in rows)
    listed = rows[:args.top if args.top is not None else flagged]
    clean = None
    if args.save_clean is not None:
        name = args.save_clean or clean_name(args.data, len(listed), "label-issues")
        manifest, path = save_clean_manifest(args.data, [row.digest for row in listed], name=name,
                                             settings=settings, seed=args.seed)
        clean = {"name": manifest.name, "path": str(path), "left_out": len(listed), "splits": manifest.counts()}
    summary = {"data": str(args.data), "split": args.split, "backbone": args.backbone, "photos": len(rows),
               "flagged": flagged, "issues": [row.to_dict() for row in listed], "clean_manifest": clean}
    print(json.dumps(summary) if args.json else _table(summary, listed))
    return 0


def split_records(data: str | Path, split: str, *, seed: int, settings: Settings) -> list[ImageRecord]:
    """The photos of `split` in `data`; a saved manifest's are first checked against what it recorded."""
    manifest: Manifest = source_manifest(data, seed=seed, settings=settings, on_progress=progress_reporter())
    if split not in manifest.splits:
        raise LabError(f"--split {split}: {data} has no split {split!r}; it has {', '.join(manifest.splits)}.")
    records = manifest.splits[split]
    if resolve_data_path(data, settings) is None:
        check_recorded_photos(records, manifest.root, settings, manifest.name)
    return records


def _table(summary: dict, listed: list[LabelIssue]) -> str:
    lines = [f"{summary['photos']:,} photos of {summary['split']} checked; confident learning flags "
             f"{summary['flagged']:,} labels as wrong" + (f", listing the top {len(listed):,}:" if listed else ".")]
    lines += [f"{rank:>5}  {row.score:.2f}  {row.given} -> {row.suggested} ({row.confidence:.0%})"
              f"{'' if row.flagged else ' (not flagged)'}  {row.path}" for rank, row in enumerate(listed, 1)]
    clean = summary["clean_manifest"]
    if clean:
        counts = ", ".join(f"{split} {sum(classes.values()):,}" for split, classes in clean["splits"].items())
        lines.append(f"saved manifest {clean['name']} ({counts}) without these {clean['left_out']:,} photos to "
                     f"{clean['path']}; train on it with --data {clean['name']}")
    return "\n".join(lines)
