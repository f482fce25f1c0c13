"""`python -m lab export RUN_DIR --format keras|savedmodel|tflite --out PATH`: a checked export with its card.

The model is written to PATH (or named inside PATH when it is a folder) with its model card beside it
(`<name>.md`, `<name>.json`), only after it passed its parity check against the run's Keras model; a
failed check is an error (exit 2) and writes nothing. A file already there is never replaced without
`--overwrite` (exit 2), and nothing is ever written into a run's folder or a data folder. With `--json` the last stdout line is one JSON
object: path, card_markdown, card_json, format, quantize, size_bytes and parity.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

from lab.cli.progress_line import progress_reporter
from lab.evaluation.export import FLOAT_TOLERANCE, FORMATS, QUANTIZATIONS, export_run
from lab.runs.store import Run
from lab.training.backbones import preprocessing_words


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("export", help="export a finished run as .keras, SavedModel or TFLite, with a card",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's folder")
    parser.add_argument("--format", required=True, choices=list(FORMATS))
    parser.add_argument("--quantize", choices=QUANTIZATIONS, help="tflite only: dynamic-range quantisation")
    parser.add_argument("--out", required=True, type=Path, help="the file to write, or a folder to name it in")
    parser.add_argument("--samples", nargs="+", type=Path, metavar="IMAGE",
                        help="photos for the parity check (default: the run's validation images)")
    parser.add_argument("--tolerance", type=float, default=FLOAT_TOLERANCE,
                        help=f"largest probability difference a float export may show (default and most: "
                             f"{FLOAT_TOLERANCE:g})")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace the file at --out and its card (an export never replaces a file otherwise)")
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = export_run(args.run_dir, args.format, args.out, preprocessing=preprocessing_words(
        Run(args.run_dir).config_dict()), quantize=args.quantize, samples=args.samples, tolerance=args.tolerance,
        on_progress=progress_reporter(), overwrite=args.overwrite)
    if args.json:
        fields = {key: value for key, value in asdict(result).items() if key != "card"}
        print(json.dumps(fields, default=str))
        return 0
    parity = result.parity
    print(f"{result.path} ({result.size_bytes:,} bytes), card {result.card_markdown.name} and {result.card_json.name}")
    print(f"parity on {parity.images} images: max difference {parity.max_abs_difference:.2e}, same top class "
          f"{parity.top_class_agreement:.1%} ({parity.criterion})")
    return 0
