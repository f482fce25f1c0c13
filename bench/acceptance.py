"""Issue 4's acceptance figures on real data, printed: MobileNetV2 (shared weights) on 1,000 training images.

On `cats_and_dogs_filtered` (1,000 stratified training images, all 1,000 validation images), through the same
`lab.training.train.train` the app and the CLI use:

1. feature-extractor, the Keras tutorial's head on cached features: target >= 0.98 validation accuracy;
2. fine-tune: the head on the frozen backbone, then the last blocks unfrozen at a 100x lower learning rate,
   with light augmentation: target >= 0.98;
3. `basic_cnn` from scratch (the five-model tutorial's first model): the tutorial's overfitting, training
   accuracy far above validation accuracy, printed epoch by epoch.

    python bench/acceptance.py [--workspace DIR] [--scratch-epochs 15]
"""

from __future__ import annotations

import argparse
import csv
import os
import tempfile
import time
from pathlib import Path

from paths import FILTERED as DATA
from paths import MOBILENET_V2


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", type=Path, default=None, help="default: a new temporary folder")
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--feature-epochs", type=int, default=20)
    parser.add_argument("--head-epochs", type=int, default=5)
    parser.add_argument("--fine-tune-epochs", type=int, default=3)
    parser.add_argument("--fine-tune-at", default="block_16")
    parser.add_argument("--scratch-epochs", type=int, default=15)
    return parser.parse_args()


def experiments(args: argparse.Namespace) -> dict:
    from lab.training.config import TrainConfig

    common = dict(data=str(DATA), backbone="mobilenet_v2", weights=str(MOBILENET_V2), head="keras_tutorial",
                  image_size=args.image_size, batch_size=32, optimizer="adam", learning_rate=1e-3,
                  train_size=args.train_size, seed=0)
    return {
        "feature-extractor": TrainConfig(**common, strategy="feature-extractor", epochs=args.feature_epochs),
        "fine-tune": TrainConfig(**common, strategy="fine-tune", epochs=args.head_epochs, augment="light",
                                 fine_tune_at=args.fine_tune_at, fine_tune_learning_rate=1e-5,
                                 fine_tune_epochs=args.fine_tune_epochs),
        "basic_cnn scratch": TrainConfig(data=str(DATA), backbone="basic_cnn", weights="none", strategy="scratch",
                                         image_size=150, epochs=args.scratch_epochs, batch_size=30,
                                         optimizer="rmsprop", learning_rate=1e-3, train_size=args.train_size, seed=0),
    }


def history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv") as handle:
        return list(csv.DictReader(handle))


def main() -> None:
    args = arguments()
    workspace = args.workspace or Path(tempfile.mkdtemp(prefix="acceptance-"))
    os.environ["TRANSFER_LAB_WORKSPACE"] = str(workspace)
    from lab.training.train import train

    results = {}
    for name, config in experiments(args).items():
        run_dir = workspace / "runs" / name.replace(" ", "-")
        began = time.perf_counter()
        metrics = train(config, run_dir)
        results[name] = (config, metrics, history(run_dir), time.perf_counter() - began)
        print(f"done: {name} in {results[name][3]:.0f} s", flush=True)

    print(f"\n{DATA.name}: {args.train_size} training images (stratified), all validation images; "
          f"workspace {workspace}")
    for name in ("feature-extractor", "fine-tune"):
        config, metrics, rows, seconds = results[name]
        verdict = "PASS" if metrics["best_val_accuracy"] >= 0.98 else "FAIL"
        print(f"  MobileNetV2 {name:<18} {config.summary()}")
        print(f"      best val accuracy {metrics['best_val_accuracy']:.4f} (epoch {metrics['best_epoch']}), final "
              f"{metrics['final']['val_accuracy']:.4f}, {seconds:.0f} s  [target >= 0.98: {verdict}]")
    config, metrics, rows, seconds = results["basic_cnn scratch"]
    print(f"  basic_cnn scratch  {config.summary()}  ({seconds:.0f} s)")
    print("      epoch  train acc  val acc   gap")
    for row in rows:
        train_acc, val_acc = float(row["accuracy"]), float(row["val_accuracy"])
        print(f"      {row['epoch']:>5}  {train_acc:9.3f}  {val_acc:7.3f}  {train_acc - val_acc:+.3f}")
    last = rows[-1]
    gap = float(last["accuracy"]) - float(last["val_accuracy"])
    print(f"      final: training {float(last['accuracy']):.3f} vs validation {float(last['val_accuracy']):.3f} "
          f"(best {metrics['best_val_accuracy']:.3f}): gap {gap:+.3f} -> "
          f"{'overfits, as in the tutorial' if gap > 0.15 else 'no clear overfitting'}")


if __name__ == "__main__":
    main()
