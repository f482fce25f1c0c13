"""`python -m lab evaluate RUN_DIR --data PATH`: a finished run on any folder, zip or manifest split.

The result is stored inside the run (`evaluations/<name>/`), so the Compare page shows it without running
the model again, and copied to the run's MLflow copy when tracking is on. With `--json` the last stdout line
is one JSON object: accuracy, n, classes (the model's output order), per_class (precision, recall, f1,
support), confusion_matrix (rows true, columns predicted), macro and weighted averages, ROC AUC and average
precision for two classes, the name it was stored under, and `novelty`: how many photos the run's
out-of-distribution check flags as none of its classes (method, threshold, flagged, share_flagged), or null.
A run made before the check gets one first, fitted on its own training and validation photos (stderr says so);
when those cannot be read any more, the evaluation goes on without it and says why.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lab.cli.progress_line import progress_reporter
from lab.errors import LabError
from lab.evaluation.evaluate import evaluate_run
from lab.evaluation.novelty import NoveltyCheck
from lab.evaluation.novelty_fit import fit_run
from lab.run_files import RunFiles
from lab.runs.tracking import track_into_log


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("evaluate", help="evaluate a finished run on a folder, zip or manifest split",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's folder")
    parser.add_argument("--data", required=True, help="a folder, .zip or saved manifest name")
    parser.add_argument("--split", help="which split to evaluate (default: test when there is one, else all images)")
    parser.add_argument("--name", help="the name to store it under (default: <dataset>-<split>)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the result as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fit_missing_check(args.run_dir, args.batch_size)
    summary = evaluate_run(args.run_dir, args.data, split=args.split, name=args.name, batch_size=args.batch_size,
                           on_progress=progress_reporter())
    track_into_log(args.run_dir)  # the run's MLflow copy gains this evaluation (when tracking is on)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['name']}: accuracy {summary['accuracy']:.4f} on {summary['n']:,} images")
    for label, row in summary["per_class"].items():
        print(f"  {label}: precision {row['precision']:.3f} recall {row['recall']:.3f} f1 {row['f1']:.3f} "
              f"({row['support']} images)")
    print("  confusion (rows true, columns predicted): " + json.dumps(summary["confusion_matrix"]))
    print("  " + flagged_words(summary["novelty"], summary["n"], summary["classes"]))
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
