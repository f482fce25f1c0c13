"""Does the label check find wrong labels, and does leaving them out win back the accuracy they cost?

`cats_and_dogs_filtered`'s 2,000 training photos with 3% of their labels flipped (seeded): a saved manifest with
the flipped labels, no photo copied. `lab.inspection.label_issues` ranks them (MobileNetV2, the shared ImageNet
weights, 224 px; 5 heads); printed: the share of the flipped photos in its top 5% (target >= 80%), and how
many it flags. Then a head (the heads' logistic regression) is fitted on the training features three ways, with
the true labels, with the flipped ones, and with the flipped ones less the flagged photos (clean and retrain),
and scored on the untouched validation split: the share of the accuracy the flips cost that cleaning wins back.

`--data FOLDER` checks another dataset's training split instead (the 20K set: `--data
../shared/data/dogs-vs-cats-20k-160px`) and prints what it finds: how many flagged, the top file names with their
given and suggested labels. Features are cached in the workspace (`--workspace`), so a second run takes seconds.

    python bench/label_issues.py [--flip 0.03] [--seed 0] [--workspace DIR]
    python bench/label_issues.py --data ../shared/data/dogs-vs-cats-20k-160px [--image-size 160] [--show 15]
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import time
from pathlib import Path

import numpy as np
from neither_photos import default_cache
from paths import FILTERED, MOBILENET_V2


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, help="check this dataset's training split instead of the flip test")
    parser.add_argument("--flip", type=float, default=0.03, help="share of training labels flipped (0.03)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, help="pixels per side (default: MobileNetV2's 224)")
    parser.add_argument("--show", type=int, default=15, help="findings listed with --data")
    parser.add_argument("--workspace", type=Path, default=default_cache() / "label-issues",
                        help="where the manifests and the feature cache are kept")
    return parser.parse_args()


def main() -> None:
    args = arguments()
    os.environ["TRANSFER_LAB_WORKSPACE"] = str(args.workspace)
    print("load at start:", os.popen("uptime").read().strip())
    started = time.perf_counter()
    if args.data:
        findings(args)
    else:
        flip_test(args)
    print(f"took {time.perf_counter() - started:.0f} s")
    print("load at end:", os.popen("uptime").read().strip())


def flip_test(args: argparse.Namespace) -> None:
    from lab.data.run_data import source_manifest
    from lab.settings import load_settings

    settings = load_settings()
    true = source_manifest(FILTERED, seed=args.seed, settings=settings)
    flipped, chosen = flipped_manifest(true, args.flip, args.seed)
    flipped.save(settings)
    train = flipped.splits["train"]
    print(f"{flipped.name}: {len(chosen)} of {len(train):,} training labels flipped (seed {args.seed}), saved as a "
          "manifest; no photo copied")
    rows, seconds = check(train, settings, args.image_size)
    top = math.ceil(0.05 * len(rows))
    in_top = sum(row.digest in chosen for row in rows[:top])
    flagged = [row for row in rows if row.flagged]
    caught = sum(row.digest in chosen for row in flagged)
    print(f"label check: {seconds:.1f} s (features and 5 heads)")
    print(f"flipped photos in the top 5% ({top} photos): {in_top} of {len(chosen)} = {in_top / len(chosen):.1%} "
          "(target >= 80%)")
    print(f"flagged by confident learning: {len(flagged)}, of which flipped {caught} (precision "
          f"{caught / max(len(flagged), 1):.1%}, recall {caught / len(chosen):.1%})")
    retrain(true, flipped, {row.digest for row in flagged}, settings, args.image_size)


def flipped_manifest(manifest, share: float, seed: int):
    """`manifest` with `share` of its training labels (drawn with `seed`) set to another class, and the
    digests of the photos flipped."""
    from lab.data.records import ImageRecord

    train: list[ImageRecord] = manifest.splits["train"]
    picked = np.random.default_rng(seed).choice(len(train), round(share * len(train)), replace=False)
    other = {label: [c for c in manifest.classes if c != label][0] for label in manifest.classes}
    flips = [dataclasses.replace(train[i], label=other[train[i].label]) for i in picked]
    by_digest = {record.digest: record for record in flips}
    splits = {**manifest.splits, "train": [by_digest.get(r.digest, r) for r in train]}
    name = f"{Path(manifest.root).name}-{share:.0%}-labels-flipped".replace("%", "pct")
    return dataclasses.replace(manifest, name=name, splits=splits), set(by_digest)


def check(records, settings, image_size: int | None):
    from lab.inspection.label_issues import label_issues

    started = time.perf_counter()
    rows = label_issues(records, "mobilenet_v2", weights=str(MOBILENET_V2), settings=settings,
                        image_size=image_size, on_progress=progress_line)
    return rows, time.perf_counter() - started


def retrain(true, flipped, flagged: set[str], settings, image_size: int | None) -> None:
    """Validation accuracy of a head fitted on the true, the flipped and the cleaned training labels."""
    from lab.inspection.out_of_fold import fit_head
    from lab.inspection.photo_features import photo_features

    def features(records):
        return photo_features(records, "mobilenet_v2", weights=str(MOBILENET_V2), settings=settings,
                              image_size=image_size)

    validation = true.splits["validation"]
    x_val, y_val = features(validation), np.array([r.label for r in validation])
    cleaned = [r for r in flipped.splits["train"] if r.digest not in flagged]
    scores = {}
    for name, records in (("true labels", true.splits["train"]), ("flipped", flipped.splits["train"]),
                          ("flipped, flagged left out", cleaned)):
        head = fit_head(features(records), np.array([r.label for r in records]))
        scores[name] = float(np.mean(head.predict(x_val) == y_val))
        print(f"  head on {name} ({len(records):,} photos): validation accuracy {scores[name]:.2%} "
              f"on {len(validation):,}")
    lost = scores["true labels"] - scores["flipped"]
    won = scores["flipped, flagged left out"] - scores["flipped"]
    share = f"{won / lost:.0%} of it" if lost > 0 else "nothing was lost to recover"
    print(f"accuracy lost to the flips: {lost * 100:+.2f} points; cleaning wins back {won * 100:+.2f} points "
          f"({share})")


def findings(args: argparse.Namespace) -> None:
    from lab.data.run_data import source_manifest
    from lab.settings import load_settings

    settings = load_settings()
    train = source_manifest(args.data, seed=args.seed, settings=settings, on_progress=progress_line).splits["train"]
    rows, seconds = check(train, settings, args.image_size)
    flagged = [row for row in rows if row.flagged]
    print(f"{args.data.name}: {len(rows):,} training photos checked in {seconds:.1f} s; {len(flagged)} flagged "
          f"({len(flagged) / len(rows):.2%})")
    for row in rows[:args.show]:
        print(f"  {Path(row.path).name}: given {row.given}, looks like {row.suggested} ({row.confidence:.0%}), "
              f"score {row.score:.2f}{'' if row.flagged else ' (not flagged)'}")


def progress_line(done: int, total: int, message: str) -> None:
    if done == total or done % 1024 == 0:
        print(f"  {message}: {done}/{total}", flush=True)


if __name__ == "__main__":
    main()
