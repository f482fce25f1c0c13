"""`python -m lab map DATA_OR_RUN [--backbone NAME] --out map.html [--json]`: every photo as a point where the
backbone places it, in one HTML file that opens offline.

Hover a point to see its photo; click it for the photo larger with its label and the run's answer. `--colour`
picks what the colours say: class, split, prediction or mistake (the last two need a run's answers: its
validation and test photos). With `--json` the last stdout line is one JSON object: html (the file written),
photos, backbone, weights, projection, and points: one row per photo with path, label, split, x, y (and
prediction and mistake for a run, null where it gave no answer).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cli.photo_source_args import add_source_arguments, source_features
from lab.cli.progress_line import progress_reporter
from lab.errors import LabError
from lab.inspection.photo_map import COLOURS, THUMBNAIL_SIDE, map_html, map_points, map_rows
from lab.inspection.projection import METHODS, project
from lab.storage import write_bytes_atomic, writing


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("map", help="a map of the photos as a backbone sees them, as one HTML file",
                                   description=__doc__.split("\n\n")[0])
    add_source_arguments(parser)
    parser.add_argument("--out", required=True, help="the HTML file to write, e.g. map.html")
    parser.add_argument("--colour", choices=COLOURS[:-1], default="class", help="what the colours say")
    parser.add_argument("--projection", choices=METHODS, default="umap",
                        help="umap (default: neighbours kept together) or pca (instant, linear)")
    parser.add_argument("--seed", type=int, default=0, help="the projection's seed: the same seed, the same map")
    parser.add_argument("--thumbnail-size", type=int, default=THUMBNAIL_SIDE,
                        help=f"pixels of each photo shown on hover (default {THUMBNAIL_SIDE}; the file grows with it)")
    parser.add_argument("--json", action="store_true", help="print the coordinates as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not out.parent.is_dir() or out.is_dir():
        raise LabError(f"--out {out}: give a file in a folder that exists, e.g. --out map.html.")
    if not 16 <= args.thumbnail_size <= 512:
        raise LabError(f"--thumbnail-size must be between 16 and 512 pixels, not {args.thumbnail_size}.")
    source, features = source_features(args)
    if args.colour in ("prediction", "mistake") and not source.predictions:
        raise LabError(f"--colour {args.colour} needs a run's answers: give a finished run folder, or colour by "
                       "class or split.")
    coordinates = project(features, method=args.projection, seed=args.seed, on_progress=progress_reporter())
    points = map_points(source.records, coordinates, predictions=source.predictions)
    page = map_html(points, args.colour, title=f"{len(points):,} photos through {source.backbone}",
                    thumbnail_side=args.thumbnail_size, on_progress=progress_reporter())
    with writing(f"writing {out}"):
        write_bytes_atomic(out, page.encode())
    if args.json:
        print(json.dumps({"html": str(out), "photos": len(points), "backbone": source.backbone,
                          "weights": source.weights, "projection": args.projection, "points": map_rows(points)}))
        return 0
    print(f"{out}: {len(points):,} photos through {source.backbone} ({len(page) / 1e6:.1f} MB); open it in a browser, "
          "hover a point to see its photo, click it to see it larger")
    print(f"projection: {args.projection}, seed {args.seed}", file=sys.stderr)
    return 0
