"""The five-model tutorial's feature-extractor and frozen experiments: the lab against a tutorial-style script.

One run, same images, same epochs, same head (Flatten -> 512 -> 512 -> sigmoid), batches of 30:

1. the backbone's forward rate on in-memory tensors (the ceiling for feature extraction) against the lab's
   end-to-end extraction from the files, alternated three times (medians);
2. the lab's feature-extractor (`lab.training.train.train`, strategy feature-extractor) with a cold feature cache,
   then again with the cache warm (another learning rate: the backbone does not run);
3. the tutorial-style script: `ImageDataGenerator.flow_from_dataframe` (the tutorial's flow from files) and
   `model.fit` on the frozen model, which runs the backbone on every image in every epoch;
4. the frozen experiment with the five-model tutorial's augmentation: the lab (tf.data + Keras layers)
   against `ImageDataGenerator(rotation_range=50, ...)` feeding the same frozen model.

Targets (issue 4): the feature-extractor, 20 epochs on 1K images, >= 10x faster than tutorial-style; the lab's
end-to-end feature extraction >= 90% of the backbone's in-memory forward rate.

VGG16 has no offline weights on the development machines: `--weights none` benchmarks its speed (speed does not
depend on the weight values; the accuracies are then meaningless). With a slow backbone, `--baseline-epochs`
runs fewer tutorial-style epochs and projects 20 from the measured per-epoch time (said so in the output).

    python bench/train.py                                    # MobileNetV2 + shared weights, 150px
    python bench/train.py --backbone vgg16 --weights none --train-size 1000 --validation-size 1000 --baseline-epochs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import tempfile
import time
from pathlib import Path

from paths import FILTERED as DATA
from paths import MOBILENET_V2


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--weights", default=str(MOBILENET_V2))
    parser.add_argument("--image-size", type=int, default=150)
    parser.add_argument("--train-size", type=int, default=1000)
    parser.add_argument("--validation-size", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=20, help="feature-extractor epochs, both sides")
    parser.add_argument("--baseline-epochs", type=int, default=None,
                        help="tutorial-style epochs actually run (default: --epochs); fewer are projected")
    parser.add_argument("--frozen-epochs", type=int, default=3, help="epochs of the frozen + augmentation pair")
    parser.add_argument("--batch-size", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


def epoch_timer():
    """A Keras callback collecting the seconds of each epoch, validation included, in `.seconds`."""
    import keras

    class Timer(keras.callbacks.Callback):
        def __init__(self) -> None:
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.began = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.began)

    return Timer()


def extraction_against_forward(args: argparse.Namespace, data, repeats: int = 3) -> tuple[float, float, float]:
    """Median (forward rate, extraction rate, their ratio) over `repeats` alternations, so that both sides of
    each ratio see the same load on a shared machine.

    Forward: the backbone alone on in-memory float32 batches (median of 10 after 3 warm-ups). Extraction:
    `extract_features` end to end on the training images, from the JPEG files into a fresh cache (decoding,
    the traced forward function and the shard writes included).
    """
    import numpy as np

    from lab.settings import load_settings
    from lab.training.backbone_factory import create_backbone
    from lab.training.features import clear_cache, extract_features, feature_extractor

    settings = load_settings()
    backbone = create_backbone(args.backbone, args.weights, args.image_size)
    model = feature_extractor(backbone, "flatten")
    size = args.image_size
    batch = np.random.default_rng(0).uniform(0, 255, (args.batch_size, size, size, 3)).astype("float32")
    for _ in range(3):
        model.predict_on_batch(batch)
    samples = []
    for _ in range(repeats):
        seconds = []
        for _ in range(10):
            began = time.perf_counter()
            model.predict_on_batch(batch)
            seconds.append(time.perf_counter() - began)
        forward = args.batch_size / statistics.median(seconds)
        clear_cache(settings)
        _, stats = extract_features(data.train, backbone, pooling="flatten", batch_size=args.batch_size,
                                    settings=settings)
        samples.append((forward, stats.images_per_second, stats.images_per_second / forward))
    clear_cache(settings)
    return tuple(statistics.median(sample[i] for sample in samples) for i in range(3))


def lab_run(config, name: str, workspace: Path) -> dict:
    from lab.training.train import train

    began = time.perf_counter()
    metrics = train(config, workspace / "runs" / name)
    metrics["wall_seconds"] = time.perf_counter() - began
    return metrics


def tutorial_style(args: argparse.Namespace, data, epochs: int, *, augment: bool, learning_rate: float) -> dict:
    """The tutorial's way: ImageDataGenerator from files, a Sequential of the frozen base and the head, fit."""
    import keras
    import pandas as pd
    from keras import layers

    from lab.augment import spec_from
    from lab.augment.legacy import legacy_generator_class, legacy_kwargs
    from lab.training.backbone_factory import create_backbone

    backbone = create_backbone(args.backbone, args.weights, args.image_size)
    preprocess = _preprocess_function(backbone)
    options = legacy_kwargs(spec_from("five-model-tutorial")) if augment else {}
    generator_class = legacy_generator_class()
    train_generator = generator_class(preprocessing_function=preprocess, **options)
    validation_generator = generator_class(preprocessing_function=preprocess)
    size = (args.image_size, args.image_size)

    def flow(generator, records, shuffle):
        frame = pd.DataFrame({"filename": [r.path for r in records], "class": [r.label for r in records]})
        return generator.flow_from_dataframe(frame, target_size=size, batch_size=args.batch_size,
                                             class_mode="binary", shuffle=shuffle, seed=args.seed)

    base = backbone.model
    base.trainable = False
    model = keras.Sequential([keras.Input((*size, 3)), base, layers.Flatten(), layers.Dense(512, activation="relu"),
                              layers.Dropout(0.3), layers.Dense(512, activation="relu"), layers.Dropout(0.3),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    timer = epoch_timer()
    began = time.perf_counter()
    history = model.fit(flow(train_generator, data.train, True), epochs=epochs,
                        validation_data=flow(validation_generator, data.validation, False), callbacks=[timer],
                        verbose=0)
    return {"wall_seconds": time.perf_counter() - began, "epoch_seconds": timer.seconds,
            "best_val_accuracy": max(history.history["val_accuracy"])}


def _preprocess_function(backbone):
    """The backbone's `keras.applications` preprocess_input, as tutorials pass it to `preprocessing_function`."""
    import keras

    modules = {"caffe": "vgg16", "tf": "mobilenet_v2", "torch": "densenet"}
    mode = backbone.spec.preprocessing
    if mode in modules:
        return getattr(keras.applications, modules[mode]).preprocess_input
    return (lambda image: image / 255.0) if mode == "unit" else None


def projected(result: dict, epochs: int) -> float:
    """Seconds for `epochs` epochs: measured if that many ran, else first epoch + median of the others."""
    seconds = result["epoch_seconds"]
    if len(seconds) >= epochs:
        return result["wall_seconds"]
    steady = statistics.median(seconds[1:]) if len(seconds) > 1 else seconds[0]
    return seconds[0] + steady * (epochs - 1)


def main() -> None:
    args = arguments()
    workspace = Path(tempfile.mkdtemp(prefix="bench-train-"))
    os.environ["TRANSFER_LAB_WORKSPACE"] = str(workspace)  # a cold feature cache
    from lab.data import training_splits
    from lab.training.config import TrainConfig

    baseline_epochs = args.baseline_epochs or args.epochs
    features = TrainConfig(data=str(DATA), backbone=args.backbone, weights=args.weights,
                           strategy="feature-extractor", head="five_model_tutorial", image_size=args.image_size,
                           epochs=args.epochs, batch_size=args.batch_size, optimizer="rmsprop", learning_rate=1e-4,
                           train_size=args.train_size, validation_size=args.validation_size, seed=args.seed)
    frozen = dataclasses.replace(features, strategy="frozen", augment="five-model-tutorial", learning_rate=2e-5,
                                 epochs=args.frozen_epochs)
    data = training_splits(str(DATA), train_size=args.train_size, validation_size=args.validation_size,
                           seed=args.seed)

    forward, extraction, ratio = extraction_against_forward(args, data)
    cold = lab_run(features, "features-cold", workspace)
    warm = lab_run(dataclasses.replace(features, learning_rate=2e-4), "features-warm", workspace)
    baseline = tutorial_style(args, data, baseline_epochs, augment=False, learning_rate=1e-4)
    lab_frozen = lab_run(frozen, "frozen", workspace)
    baseline_frozen = tutorial_style(args, data, args.frozen_epochs, augment=True, learning_rate=2e-5)

    baseline_total = projected(baseline, args.epochs)
    note = "" if baseline_epochs >= args.epochs else f" (projected from {baseline_epochs} measured epochs)"
    print(f"{args.backbone}, weights {Path(args.weights).name}, {args.image_size}px, {len(data.train)} train + "
          f"{len(data.validation)} validation images of {DATA.name}, batch {args.batch_size}, workspace {workspace}")
    if args.weights == "none":
        print("  random weights: speed figures only, accuracies are meaningless")
    print(f"  backbone forward rate, in-memory tensors        {forward:8.1f} images/s")
    print(f"  lab feature extraction, from files (end to end) {extraction:8.1f} images/s; median ratio "
          f"{ratio:.0%} of the forward rate (target >= 90%)")
    print(f"  lab feature-extractor, {args.epochs} epochs, cold cache  {cold['wall_seconds']:8.1f} s  "
          f"best val acc {cold['best_val_accuracy']:.3f}")
    print(f"  lab feature-extractor, {args.epochs} epochs, warm cache  {warm['wall_seconds']:8.1f} s  "
          f"best val acc {warm['best_val_accuracy']:.3f}  (computed {warm['features']['computed']})")
    print(f"  tutorial-style frozen fit, {args.epochs} epochs          {baseline_total:8.1f} s{note}  "
          f"best val acc {baseline['best_val_accuracy']:.3f} over {baseline_epochs} epochs")
    print(f"  speed-up, cold cache: {baseline_total / cold['wall_seconds']:.1f}x (target >= 10x); "
          f"warm cache: {baseline_total / warm['wall_seconds']:.1f}x")
    lab_epoch = statistics.median(_epoch_seconds(workspace / "runs" / "frozen"))
    tutorial_epoch = statistics.median(baseline_frozen["epoch_seconds"])
    print(f"  frozen + five-model augmentation, {args.frozen_epochs} epochs: lab {lab_frozen['wall_seconds']:.1f} s "
          f"(median epoch {lab_epoch:.1f} s, best val acc {lab_frozen['best_val_accuracy']:.3f}); "
          f"ImageDataGenerator {baseline_frozen['wall_seconds']:.1f} s (median epoch {tutorial_epoch:.1f} s, "
          f"best val acc {baseline_frozen['best_val_accuracy']:.3f}); {tutorial_epoch / lab_epoch:.2f}x per epoch")


def _epoch_seconds(run_dir: Path) -> list[float]:
    import csv

    with open(run_dir / "history.csv") as handle:
        return [float(row["seconds"]) for row in csv.DictReader(handle)]


if __name__ == "__main__":
    main()
