"""`python -m lab predict RUN_DIR IMAGE_OR_FOLDER... [--gradcam DIR] [--tta [flip|crops]] --json`: a finished
run on photos.

Images are files, folders or zips. With `--json` the last stdout line is a JSON list with one object per
image: `path`, `label`, `probabilities` (class -> probability, divided by the run's temperature when it has
one), `in_distribution` (false: the photo looks like none of the run's classes, by its out-of-distribution check)
and `score` (how far the photo lies from the training photos; the check's threshold is in the run's
`novelty.json`), both null for a run made before the check; or `path` and `error` for a file that is not a
usable image (the others are still predicted). `--tta` averages each photo's answer with its mirror image's
(`crops`: and its four corner crops'). `--gradcam DIR` writes one Grad-CAM overlay PNG per predicted image into
DIR, drawn over the photo at its own size for the predicted class (or `--class`).
"""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

from lab.cli.progress_line import progress_reporter
from lab.evaluation.predict import FilePrediction, Predictor
from lab.evaluation.tta import VIEWS
from lab.storage import write_bytes_atomic


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("predict", help="predict photos with a finished run, optionally with Grad-CAM",
                                   description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="the run's folder")
    parser.add_argument("images", nargs="+", metavar="IMAGE_OR_FOLDER", help="image files, folders or .zip files")
    parser.add_argument("--gradcam", type=Path, metavar="DIR", help="write a Grad-CAM overlay PNG per image here")
    parser.add_argument("--class", dest="class_name", help="the class Grad-CAM explains (default: the predicted one)")
    parser.add_argument("--tta", nargs="?", const="flip", choices=tuple(VIEWS), metavar="VIEWS",
                        help="test-time augmentation: average with the mirror image (flip, the default) or also "
                             "four corner crops (crops)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--json", action="store_true", help="print the results as one JSON line")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    predictor = Predictor(args.run_dir)
    results = predictor.predict_files(args.images, batch_size=args.batch_size, on_progress=progress_reporter(),
                                      tta=args.tta)
    if args.gradcam:
        write_overlays(predictor, results, args.gradcam, args.class_name)
    if args.json:
        print(json.dumps([result.to_dict() for result in results]))
        return 0
    for result in results:
        print(f"{result.path}: {answer_words(result, predictor.classes)}")
    return 0


def answer_words(result: FilePrediction, classes: list[str]) -> str:
    """"dogs (88.0%)", or for a photo the check flags "not cats or dogs (score ... above ...; closest: ...)"."""
    if result.error is not None:
        return f"error: {result.error}"
    answer = f"{result.label} ({result.confidence:.1%})"
    novelty = result.novelty
    if novelty is None or novelty.in_distribution:
        return answer
    return (f"not {' or '.join(classes)} (out-of-distribution score {novelty.score:.3g}, above {novelty.threshold:.3g}; "
            f"closest: {answer})")


def write_overlays(predictor: Predictor, results: list[FilePrediction], folder: Path, class_name: str | None) -> None:
    """One `<index>-<name>.png` per predicted image: the heatmap over the photo at its own size."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for index, result in enumerate(results, start=1):
        if result.error is not None:
            continue
        buffer = io.BytesIO()
        Image.fromarray(predictor.explain_photo(result.path, class_name).overlay).save(buffer, format="PNG")
        write_bytes_atomic(folder / f"{index:04d}-{Path(result.path).stem}.png", buffer.getvalue())
