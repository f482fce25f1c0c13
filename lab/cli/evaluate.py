"""`python -m lab evaluate RUN_DIR [--data PATH] [--tta [flip|crops]]`: a finished run on any folder, zip or
manifest split, or on its own validation or test photos.

A result on other photos is stored inside the run (`evaluations/<name>/`), so the Compare page shows it without
running the model again, and copied to the run's MLflow copy when tracking is on. Without `--data` the run's own
split (`--split validation|test`, by default test when it has one) is read from its stored predictions. `--tta`
runs the model on each photo and its mirror image (`crops`: and four corner crops) and keeps the averaged
answers beside the plain ones. With `--json` the last stdout line is one JSON object: accuracy, its
accuracy_interval (95%, Wilson), n, classes (the model's output order), per_class (precision, recall, f1,
support), confusion_matrix (rows true, columns predicted), macro and weighted averages, ROC AUC and average
precision for two classes, the run's temperature (1.0 and calibrated false for a run without one), ece (the
model's own probabilities) and ece_calibrated (divided by the temperature), the name it was stored under, and
tta (null without --tta): views, accuracy, accuracy_interval, plain_accuracy, gain and its gain_interval, and
the photos it fixed and broke, and `novelty`: how many photos the run's out-of-distribution check flags as none of its classes
(method, threshold, flagged, share_flagged), or null. A run made before the check gets one first, fitted on its
own training and validation photos (stderr says so); when those cannot be read any more, the evaluation goes on
without it and says why.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cli.progress_line import progress_reporter
from lab.errors import LabError
from lab.evaluation.accuracy_text import accuracy_text
from lab.evaluation.evaluate import OWN_SPLITS, evaluate_run
from lab.evaluation.novelty import NoveltyCheck
from lab.evaluation.novelty_fit import fit_run
from lab.evaluation.tta import VIEWS, gain_words
from lab.run_files import RunFiles
from lab.runs.tracking import track_into_log


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="evaluate a finished run on a folder, zip or manifest split",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's folder")
    parser.add_argument("--data", help="a folder, .zip or saved manifest name (default: the run's own photos, "
                                       f"{' or '.join(OWN_SPLITS)})")
    parser.add_argument("--split", help="which split to evaluate (default: test when there is one, else all images, "
                                        "or the run's own validation photos)")
    parser.add_argument("--tta", nargs="?", const="flip", choices=tuple(VIEWS), metavar="VIEWS",
                        help="test-time augmentation: average each photo with its mirror image (flip, the default) "
                             "or also four corner crops (crops), and report the gain")
    parser.add_argument("--name", help="the name to store it under (default: <dataset>-<split>)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fit_missing_check(args.run_dir, args.batch_size)
    summary = evaluate_run(args.run_dir, args.data, split=args.split, name=args.name, tta=args.tta,
                           batch_size=args.batch_size, on_progress=progress_reporter())
    track_into_log(args.run_dir)  # the run's MLflow copy gains this evaluation (when tracking is on)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['name']}: accuracy {accuracy_text(summary['accuracy'], summary['n'])} on {summary['n']:,} "
          "images (95% interval in brackets)")
    after = f", {summary['ece_calibrated']:.3f} after" if summary["ece_calibrated"] is not None else ""
    print(f"  confidence: {summary['calibration']}; expected calibration error {summary['ece']:.3f}{after}")
    if summary["tta"]:
        print(f"  {gain_words(summary['tta'])}")
    for label, row in summary["per_class"].items():
        print(f"  {label}: precision {row['precision']:.3f} recall {row['recall']:.3f} f1 {row['f1']:.3f} "
              f"({row['support']} images)")
    print("  confusion (rows true, columns predicted): " + json.dumps(summary["confusion_matrix"]))
    if summary["novelty"] is not None:
        print("  " + flagged_words(summary["novelty"], summary["n"], summary["classes"]))
    if args.data is not None:
        print(f"stored in {RunFiles(Path(args.run_dir)).evaluation(summary['name'])}", file=sys.stderr)
    return 0


def fit_missing_check(run_dir: Path, batch_size: int) -> None:
    """A run made before the out-of-distribution check gets one, from its own photos; if they cannot be read,
    the evaluation goes on without it and stderr says why."""
    if NoveltyCheck.load(run_dir) is not None:
        return
    print("This run has no out-of-distribution check yet: fitting one on its training and validation photos",
          file=sys.stderr)
    try:
        fit_run(run_dir, batch_size=batch_size, on_progress=progress_reporter())
    except LabError as error:
        print(f"No out-of-distribution check for this run: {error}", file=sys.stderr)


def flagged_words(novelty: dict | None, n: int, classes: list[str]) -> str:
    if novelty is None:
        return "no out-of-distribution check for this run"
    return (f"flagged as not {' or '.join(classes)} by the out-of-distribution check: {novelty['flagged']:,} of "
            f"{n:,} ({novelty['share_flagged']:.1%})")
