"""Near-duplicates and the photo map on real data: how many pairs, how many across splits, how long; whether
planted copies are found; how long the projection takes.

On `cats_and_dogs_filtered` by default (3,000 photos; `--data` for another folder, e.g. the 20K set): every
photo's pooled features (timed; from the feature cache when a run or an earlier bench computed them), the
near-duplicate pairs by `lab.inspection.near_duplicates`' rule (timed), with a few examples. Then copies of
`--planted` photos, each made three ways (half size, JPEG quality 30, mirrored) in a temporary folder and put in
another split than their original, are added to the photos and the pairs found again: the share of copies paired
with their original (recall, per way), those flagged across splits, and pairs a copy makes with any other photo
(false pairs). Last, the projection (UMAP after PCA) of the dataset's features, timed; `--no-projection` skips it.
`uptime` is printed at the start and the end: the machine's load explains the times.

    python bench/near_duplicates.py [--data FOLDER] [--backbone NAME --weights FILE --image-size N] [--planted N]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from paths import FILTERED, SHARED
from PIL import Image, ImageOps

from lab.data.records import ImageRecord
from lab.data.scan import scan
from lab.inspection.near_duplicates import near_duplicates, similarity_threshold, summary, unit_rows
from lab.inspection.photo_features import photo_features
from lab.inspection.projection import project
from lab.settings import load_settings

TINY_MOBILENET = SHARED / "weights" / "mobilenet_0.25_128_imagenet_no_top.weights.h5"
WAYS = {
    "half": lambda image, path: image.resize((image.width // 2, image.height // 2), Image.LANCZOS).save(path, quality=90),
    "q30": lambda image, path: image.save(path, quality=30),
    "mirror": lambda image, path: ImageOps.mirror(image).save(path, quality=90),
}
EXAMPLES = 5


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=FILTERED)
    parser.add_argument("--backbone", default="mobilenet")
    parser.add_argument("--weights", default=str(TINY_MOBILENET))
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--planted", type=int, default=60, help="photos copied three ways each")
    parser.add_argument("--no-projection", action="store_true")
    return parser.parse_args()


def timed(what: str, step):
    started = time.perf_counter()
    result = step()
    print(f"{what}: {time.perf_counter() - started:.1f} s", flush=True)
    return result


def plant(records: list[ImageRecord], count: int, folder: Path) -> tuple[list[ImageRecord], dict[str, str]]:
    """Copies of `count` photos, three ways each, in `folder`; copy path -> original path. Each copy is given the
    other split than its original (train <-> validation), so finding it is finding leakage."""
    chosen = random.Random(0).sample(records, count)
    for way in WAYS:
        for label in {record.label for record in chosen}:
            (folder / way / label).mkdir(parents=True, exist_ok=True)
    originals = {}
    for number, record in enumerate(chosen):
        with Image.open(record.path) as image:
            image = image.convert("RGB")
            for way, make in WAYS.items():
                path = folder / way / record.label / f"{number}.jpg"
                make(image, path)
                originals[str(path)] = record
    scanned = {str(Path(record.path).resolve()): record for record in scan(folder).records}
    copies = []
    for path, original in originals.items():
        found = scanned[str(Path(path).resolve())]
        split = "train" if original.split != "train" else "validation"
        copies.append(ImageRecord(found.path, original.label, split, found.digest, found.width, found.height))
    return copies, {str(Path(path).resolve()): original.path for path, original in originals.items()}


def planted_figures(pairs, originals: dict[str, str]) -> None:
    found = {way: 0 for way in WAYS}
    crossing, false_pairs = 0, 0
    for pair in pairs:
        for copy, other in ((str(Path(pair.first).resolve()), pair.second),
                            (str(Path(pair.second).resolve()), pair.first)):
            if copy not in originals:
                continue
            if originals[copy] == other:
                found[Path(copy).parent.parent.name] += 1
                crossing += pair.crosses_splits
            elif str(Path(other).resolve()) not in originals:
                false_pairs += 1
    per_way = len(originals) // len(WAYS)
    print("planted copies found with their original: " + ", ".join(f"{way} {count}/{per_way} ({count / per_way:.0%})"
                                                                 for way, count in found.items()))
    print(f"  of those, flagged across splits: {crossing}/{sum(found.values())}; pairs of a copy with another "
          f"photo than its original (false pairs): {false_pairs}")


def main() -> None:
    args = arguments()
    print("uptime at start:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    settings = load_settings()
    records = timed("scan", lambda: scan(args.data, settings=settings).records)
    features = timed(f"features of {len(records):,} photos ({args.backbone}, {args.image_size} px)",
                     lambda: photo_features(records, args.backbone, weights=args.weights, settings=settings,
                                            image_size=args.image_size))
    threshold = similarity_threshold(unit_rows(features))
    pairs = timed(f"near-duplicates among {len(records):,} photos", lambda: near_duplicates(records, features))
    counts = summary(pairs)
    print(f"threshold {threshold:.4f}: {counts['pairs']} pairs, {counts['across_splits']} across splits, "
          f"{counts['exact']} exact copies")
    for pair in pairs[:EXAMPLES]:
        print(f"  {pair.similarity:.4f} {pair.first} ({pair.first_split}) ~ {pair.second} ({pair.second_split})")
    with tempfile.TemporaryDirectory() as folder:
        copies, originals = plant(records, args.planted, Path(folder))
        copy_features = photo_features(copies, args.backbone, weights=args.weights, settings=settings,
                                       image_size=args.image_size)
        planted_pairs = timed(f"near-duplicates with {len(copies)} planted copies",
                              lambda: near_duplicates([*records, *copies], np.vstack([features, copy_features])))
        planted_figures(planted_pairs, originals)
    if not args.no_projection:
        coordinates = timed(f"projection (UMAP after PCA) of {len(records):,} photos", lambda: project(features))
        print(f"  coordinates finite: {bool(np.isfinite(coordinates).all())}")
    print("uptime at end:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
