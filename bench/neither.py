"""Does the out-of-distribution check say "neither" for photos that are neither cats nor dogs, and still answer
real cats and dogs? Targets: at most 10% of neither-photos answered as a class, at least 95% of held-out
cats and dogs still answered.

A MobileNetV2 feature-extractor run (shared weights, 224 px) is trained with `python -m lab train` on
`cats_and_dogs_filtered` (all 2,000 training photos; 500 of its 1,000 validation photos, which set the
check's threshold), or `--run` names one. Every score compared (`lab.evaluation.novelty`, and the largest
probability as the baseline a classifier already has) is fitted on the same training features, its threshold
set on the same validation photos (95% pass, the conformal rule), then counted on:

- neither-photos: 58 real photos and 45 patterns and illustrations from packages (`bench/neither_photos.py`,
  built into a cache folder), and a plain blue square;
- held-out cats and dogs: the other 500 validation photos of `cats_and_dogs_filtered`, and the 20K set's photos
  numbered 10000 to 10499 of each class (930 of them are in it; never in the filtered set), squashed to 160 px:
  the same animals, stored otherwise.

Then both scores fitted on fewer or more training photos (for `TRAINING_SAMPLE`), knn with other neighbours
(for `KNN_K`), and the run's own stored check through `Predictor.predict_files`, as `lab predict` answers.
Figures from this machine are in the README's benchmark table and `lab/evaluation/novelty.py`.

    python bench/neither.py [--run RUN_DIR] [--cache DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from neither_photos import build, default_cache
from paths import FILTERED, FLAT_20K, MOBILENET_V2, ROOT, SHARED

FLAT_FIRST = 10000  # the 20K set's photos from this number on: never in cats_and_dogs_filtered
FLAT_PER_CLASS = 500
SAMPLES = (250, 500, 1000, 2000)
KS = (1, 5, 10, 50)


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, help="a finished MobileNetV2 run (default: train one in the cache)")
    parser.add_argument("--cache", type=Path, default=default_cache(), help="where the photos and the run are kept")
    return parser.parse_args()


def train_run(workspace: Path) -> Path:
    """A MobileNetV2 features run on all training photos and 500 validation photos, trained once per cache."""
    made = workspace / "bench-run.txt"
    if made.exists():
        return Path(made.read_text())
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace), "TRANSFER_LAB_DATA_DIRS": str(SHARED / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "lab", "train", "--data", str(FILTERED), "--backbone", "mobilenet_v2",
         "--weights", str(MOBILENET_V2), "--strategy", "feature-extractor", "--image-size", "224", "--epochs", "5",
         "--validation-size", "500", "--seed", "0", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    run_dir = Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])
    made.write_text(str(run_dir))
    return run_dir


def records_of(paths: list[Path], labels: list[str]):
    """Image records for files outside any scan (the pipeline reads a record's size and digest)."""
    from lab.data.check import check_file
    from lab.data.records import ImageRecord

    checks = [check_file(path) for path in paths]
    return [ImageRecord(str(p), label, None, c.digest, c.width, c.height, c.needs_pil)
            for p, label, c in zip(paths, labels, checks) if c.ok]


def blue_square(folder: Path) -> Path:
    from PIL import Image

    path = folder / "blue-square.png"
    Image.new("RGB", (400, 400), (30, 90, 200)).save(path)
    return path


def photo_sets(run_dir: Path, neither: Path, work: Path) -> dict[str, list]:
    """Every set of photos the bench scores, as image records."""
    from lab.data import training_splits
    from lab.storage import read_json

    config = read_json(run_dir / "config.json")
    data = training_splits(config["data"], train_split=config["train_split"], train_size=config["train_size"],
                           validation_size=config["validation_size"], seed=config["seed"])
    chosen = {record.path for record in data.validation}
    others = sorted(p for p in (FILTERED / "validation").glob("*/*.jpg") if str(p) not in chosen)
    flat = [FLAT_20K / f"{kind}.{n}.jpg" for kind in ("cat", "dog") for n in range(FLAT_FIRST, FLAT_FIRST + FLAT_PER_CLASS)]
    outside = {group: sorted((neither / group).glob("*.jpg")) for group in ("photos", "patterns")}
    first = data.classes[0]  # a label the pipeline needs; unused for photos of neither class
    return {"train": data.train, "validation": data.validation,
            "held-out filtered": records_of(others, [p.parent.name for p in others]),
            "held-out 20K 160px": records_of(flat, [f"{p.name.split('.')[0]}s" for p in flat]),
            "neither photos": records_of(outside["photos"], [first] * len(outside["photos"])),
            "patterns": records_of(outside["patterns"], [first] * len(outside["patterns"])),
            "blue square": records_of([blue_square(work)], [first])}


def features_of(predictor, sets: dict[str, list]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Pooled features and probabilities of every set, through the run's own model."""
    from lab.evaluation.pooled_features import predict_with_features

    features, probabilities = {}, {}
    for name, records in sets.items():
        predictions, features[name] = predict_with_features(predictor.with_features, records, predictor.classes,
                                                            split=name, image_size=predictor.image_size)
        probabilities[name] = predictions.probabilities
    return features, probabilities


def answered(scores: dict[str, np.ndarray], threshold: float) -> dict[str, float]:
    """Per set, the share of photos the check lets through (answered as a class)."""
    return {name: float(np.mean(values <= threshold)) for name, values in scores.items()}


def score_table(features: dict[str, np.ndarray], probabilities: dict[str, np.ndarray], labels: np.ndarray,
                rows: np.ndarray) -> dict[str, dict[str, float]]:
    """Each score's share answered per set, fitted on the training rows `rows`."""
    from lab.evaluation.novelty import fit_score, threshold_for

    scorers: dict[str, Callable[[str], np.ndarray]] = {"no check (today)": lambda name: np.zeros(len(features[name])),
                                                       "largest probability": lambda name: 1 - probabilities[name].max(1)}
    for method in ("mahalanobis", "knn"):
        fitted = fit_score(method, features["train"][rows], labels[rows])
        scorers[method] = lambda name, fitted=fitted: fitted.scores(features[name])
    table = {}
    for method, score in scorers.items():
        scores = {name: score(name) for name in features if name != "train"}
        table[method] = answered(scores, threshold_for(scores["validation"]))
    return table


def k_table(features: dict[str, np.ndarray], labels: np.ndarray, rows: np.ndarray) -> dict[str, dict[str, float]]:
    """knn's share answered per set for other neighbours than the shipped `KNN_K`."""
    from lab.evaluation.novelty import NearestNeighbours, threshold_for

    table = {}
    for k in KS:
        fitted = NearestNeighbours.fit(features["train"][rows], labels[rows], k=k)
        scores = {name: fitted.scores(features[name]) for name in features if name != "train"}
        table[f"knn, k={k}"] = answered(scores, threshold_for(scores["validation"]))
    return table


def print_table(title: str, table: dict[str, dict[str, float]], sets: dict[str, list]) -> None:
    columns = [name for name in sets if name not in ("train", "validation")]
    print(f"\n{title}\nshare answered as cat or dog (the rest: \"doesn't look like a cat or a dog\")")
    print(f"{'score':<22}" + "".join(f"{f'{name} ({len(sets[name])})':>26}" for name in columns))
    for method, shares in table.items():
        print(f"{method:<22}" + "".join(f"{shares[name]:>26.1%}" for name in columns))


def shipped(predictor, sets: dict[str, list]) -> None:
    """The run's own stored check, as `lab predict` answers: the share of each set in distribution."""
    check = predictor.novelty
    print(f"\nThe run's stored check ({check.method}, threshold {check.threshold:.3g}, fitted on "
          f"{check.fitted['training_images']} training photos), through Predictor.predict_files:")
    for name in ("held-out filtered", "held-out 20K 160px", "neither photos", "patterns", "blue square"):
        results = predictor.predict_files([record.path for record in sets[name]])
        passed = [r.novelty.in_distribution for r in results if r.error is None]
        print(f"  {name}: {np.mean(passed):.1%} answered ({sum(passed)} of {len(passed)})")


def main() -> None:
    from lab.evaluation.novelty import TRAINING_SAMPLE, sample_rows
    from lab.evaluation.predict import Predictor

    args = arguments()
    os.environ.setdefault("TRANSFER_LAB_WORKSPACE", str(args.cache / "workspace"))
    neither = build(args.cache)
    run_dir = args.run or train_run(args.cache / "workspace")
    predictor = Predictor(run_dir)
    with tempfile.TemporaryDirectory() as work:
        sets = photo_sets(run_dir, neither, Path(work))
        features, probabilities = features_of(predictor, sets)
        index = {label: i for i, label in enumerate(predictor.classes)}
        labels = np.array([index[record.label] for record in sets["train"]])
        rows = sample_rows(len(labels), TRAINING_SAMPLE)
        print(f"run {run_dir.name}: {len(sets['train'])} training photos, threshold on {len(sets['validation'])} "
              "validation photos (95% pass)")
        print_table(f"Scores fitted on {len(rows)} training photos",
                    score_table(features, probabilities, labels, rows), sets)
        for size in SAMPLES:
            sample = sample_rows(len(labels), size)
            table = score_table(features, probabilities, labels, sample)
            print_table(f"Fitted on {len(sample)} training photos", {m: table[m] for m in ("mahalanobis", "knn")},
                        sets)
        print_table(f"knn's k, fitted on {len(rows)} training photos", k_table(features, labels, rows), sets)
        shipped(predictor, sets)


if __name__ == "__main__":
    main()
