"""Prediction speed: one uploaded photo (decode + predict + Grad-CAM) at p50/p95, and batch prediction from
files against `model.predict` on the same images already decoded. Targets: p95 under 1 s; batch >= 90%.

A small MobileNetV2 run (shared weights, 224px, feature-extractor) is trained first through `python -m lab
train`; the run's `Predictor` is loaded once, as the Predict page keeps it, then each photo's bytes are
predicted and explained as an upload would be.

    python bench/predict.py [--photos 100] [--images 500] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from evaluate import train_run
from paths import FILTERED
from rates import print_against_predict


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100, help="uploads to time one by one")
    parser.add_argument("--images", type=int, default=500, help="validation photos for the batch rate")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    return parser.parse_args()


def upload_latencies(predictor, photos: list[Path]) -> list[float]:
    """Seconds per upload: bytes -> decoded image -> probabilities and heatmap (after one warm-up)."""
    predictor.explain(photos[0].read_bytes(), name=photos[0].name)
    latencies = []
    for photo in photos:
        data = photo.read_bytes()
        began = time.perf_counter()
        predictor.explain(data, name=photo.name)
        latencies.append(time.perf_counter() - began)
    return latencies


def batch_rates(predictor, paths: list[Path], repeats: int, batch_size: int) -> tuple[list[float], list[float]]:
    import numpy as np

    decoded = np.stack([predictor.decode(path) for path in paths])
    predictor.model.predict(decoded[:batch_size], verbose=0)  # build and warm up
    ours, theirs = [], []
    for _ in range(repeats):
        began = time.perf_counter()
        predictor.predict_files(paths, batch_size=batch_size)
        ours.append(len(paths) / (time.perf_counter() - began))
        began = time.perf_counter()
        predictor.model.predict(decoded, batch_size=batch_size, verbose=0)
        theirs.append(len(paths) / (time.perf_counter() - began))
    return ours, theirs


def main() -> None:
    import numpy as np

    from lab.evaluation.predict import Predictor

    args = arguments()
    validation = sorted((FILTERED / "validation").glob("*/*.jpg"))
    with tempfile.TemporaryDirectory() as folder:
        os.environ["TRANSFER_LAB_WORKSPACE"] = str(Path(folder) / "workspace")
        predictor = Predictor(train_run(Path(folder) / "workspace"))
        latencies = upload_latencies(predictor, validation[:: max(1, len(validation) // args.photos)][: args.photos])
        ours, theirs = batch_rates(predictor, validation[: args.images], args.repeats, args.batch_size)
    p50, p95 = np.percentile(latencies, [50, 95])
    print(f"one upload, predict + Grad-CAM: p50 {p50 * 1000:6.1f} ms, p95 {p95 * 1000:6.1f} ms "
          f"over {len(latencies)} photos (target p95 < 1000 ms)")
    print_against_predict("batch from files", ours, theirs, images=min(args.images, len(validation)),
                          batch_size=args.batch_size)


if __name__ == "__main__":
    main()
