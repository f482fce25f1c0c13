"""`python -m lab near-duplicates DATA_OR_RUN [--backbone NAME] [--json]`: the same picture twice, resized,
recompressed or mirrored, found by a backbone; pairs across splits are leakage.

A command of its own rather than part of `lab scan`: a scan reads bytes and is cheap, this runs a backbone over
every photo (once: the features are cached). Exact copies, which the scan also finds, are included. With
`--json` the last stdout line is one JSON object: threshold (the cosine similarity used), photos, pairs,
across_splits, exact, and duplicates: each pair's first and second path, their splits and labels, similarity,
exact and crosses_splits, most similar first.
"""

from __future__ import annotations

import argparse
import json

from lab.cli.photo_source_args import add_source_arguments, source_features
from lab.cli.progress_line import progress_reporter
from lab.inspection.near_duplicates import near_duplicates, similarity_threshold, summary, unit_rows

SHOWN = 20  # pairs listed without --json


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("near-duplicates", help="photos that are the same picture resized, recompressed "
                                                           "or mirrored, and which cross splits",
                                   description=__doc__.split("\n\n")[0])
    add_source_arguments(parser)
    parser.add_argument("--threshold", type=float,
                        help="cosine similarity from which two photos pair (default: 4.5 standard deviations above "
                             "the dataset's mean pair, about 0.94 for MobileNet 0.25 and 0.86 for MobileNetV2)")
    parser.add_argument("--json", action="store_true", help="print the pairs as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    source, features = source_features(args)
    threshold = args.threshold if args.threshold is not None else similarity_threshold(unit_rows(features))
    pairs = near_duplicates(source.records, features, threshold=threshold, on_progress=progress_reporter())
    counts = summary(pairs)
    if args.json:
        print(json.dumps({"threshold": round(threshold, 6), "photos": len(source.records), **counts,
                          "duplicates": [pair.to_dict() for pair in pairs]}))
        return 0
    print(f"{counts['pairs']:,} near-duplicate pairs among {len(source.records):,} photos through {source.backbone} "
          f"(cosine similarity >= {threshold:.3f}): {counts['across_splits']:,} across splits, {counts['exact']:,} "
          "exact copies")
    for pair in pairs[:SHOWN]:
        where = "ACROSS SPLITS" if pair.crosses_splits else (pair.first_split or "no split")
        print(f"  {pair.similarity:.3f}  {where}: {pair.first} ({pair.first_split}) ~ {pair.second} "
              f"({pair.second_split})" + (" [same bytes]" if pair.exact else ""))
    if len(pairs) > SHOWN:
        print(f"  ... and {len(pairs) - SHOWN:,} more (--json lists them all)")
    return 0
