"""Evaluation speed: `lab evaluate`'s path (files -> training pipeline -> model) against `model.predict`
on the same images already decoded in memory. Target: >= 90% of `model.predict`'s rate.

A small MobileNetV2 run (shared weights, 224px) is trained first through `python -m lab train`; its saved
model is then timed both ways on the same validation photos of `cats_and_dogs_filtered`, alternating the
two measurements `--repeats` times and reporting medians, since these machines are noisy.

    python bench/evaluate.py [--images 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from paths import FILTERED, MOBILENET_V2, ROOT
from rates import print_against_predict


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500, help="validation photos to evaluate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    return parser.parse_args()


def train_run(workspace: Path) -> Path:
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)}
    done = subprocess.run(
        [sys.executable, "-m", "lab", "train", "--data", str(FILTERED), "--backbone", "mobilenet_v2",
         "--weights", str(MOBILENET_V2), "--strategy", "feature-extractor", "--image-size", "224",
         "--epochs", "1", "--train-size", "100", "--validation-size", "100", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])


def main() -> None:
    import numpy as np

    from lab.data import scan
    from lab.data.pipeline import load_image
    from lab.evaluation.evaluate import load_model, run_classes
    from lab.evaluation.predictions import predict_records

    args = arguments()
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TRANSFER_LAB_WORKSPACE"] = str(Path(folder) / "workspace")
        run_dir = train_run(Path(folder) / "workspace")
        model, classes = load_model(run_dir), run_classes(run_dir)
        records = [r for r in scan(FILTERED).records if r.split == "validation"][: args.images]
        decoded = np.stack([load_image(r.path, 224) for r in records]).astype("float32")
        model.predict(decoded[: args.batch_size], verbose=0)  # build and warm up
        ours, theirs = [], []
        for _ in range(args.repeats):
            began = time.perf_counter()
            predict_records(model, records, classes, split="bench", image_size=224, batch_size=args.batch_size)
            ours.append(len(records) / (time.perf_counter() - began))
            began = time.perf_counter()
            model.predict(decoded, batch_size=args.batch_size, verbose=0)
            theirs.append(len(records) / (time.perf_counter() - began))
    print_against_predict("evaluation from files", ours, theirs, images=len(records), batch_size=args.batch_size)


if __name__ == "__main__":
    main()
