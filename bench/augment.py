"""Augmentation speed at 224x224: the lab's Keras layers in tf.data against the tutorials' ImageDataGenerator,
and against what a frozen-MobileNetV2 training step consumes.

All figures come from one run on the same images (medians of `--repeats`), so their ratios are comparable
even on a busy machine:

1. augmentation alone, images already decoded in memory: `build_augmenter(spec)` mapped over batches of a
   `tf.data` pipeline vs `ImageDataGenerator.flow` on the same array;
2. from the files, decoding included: `image_dataset(..., augment=...)` vs `flow_from_dataframe` (the
   tutorials' `flow_from_directory`, limited to the same files), and `image_dataset` without augmentation;
3. a frozen MobileNetV2 training step (forward through the frozen backbone, head update) on in-memory
   batches, and `fit` over the cached pipeline without and with augmentation, and over
   `ImageDataGenerator.flow` as the tutorials train. Augmentation is not the bottleneck when it produces
   images faster than the step consumes them; on a CPU-only machine both still share the same cores, so
   the `fit` rate with augmentation drops by the CPU time augmentation takes.

    python bench/augment.py [--images 512] [--preset five-model-tutorial] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from paths import FILTERED, MOBILENET_V2

DATA = FILTERED / "train"


SIZE, BATCH = 224, 32


def rate(images: int, run: Callable[[], object], repeats: int) -> tuple[float, float]:
    """(images per second, CPU milliseconds per image) of `run`: medians of `repeats` timed runs after one
    untimed warm-up. CPU time counts every thread of this process; unlike wall time it barely moves when
    other work shares the machine, so CPU ratios are the robust comparison on a busy host."""
    run()
    seconds, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        run()
        seconds.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return images / statistics.median(seconds), 1000 * statistics.median(cpu) / images


def drain(dataset) -> None:
    for _ in dataset:
        pass


def training_records(count: int):
    """`count` training images, half cats and half dogs, through the lab's own scan."""
    from lab.data import scan

    report = scan(DATA.parent)
    by_class: dict[str, list] = {}
    for record in report.records:
        if record.split == "train":
            by_class.setdefault(record.label, []).append(record)
    per_class = count // len(by_class)
    return [r for label in sorted(by_class) for r in by_class[label][:per_class]], sorted(by_class)


def frozen_mobilenet_v2(classes: int):
    from lab.training.backbone_factory import create_backbone
    from lab.training.models import build_model, compile_model

    backbone = create_backbone("mobilenet_v2", weights=str(MOBILENET_V2), image_size=SIZE)
    model = build_model(backbone, "keras_tutorial", classes, "frozen")
    compile_model(model, "adam", 1e-3)
    return model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=512)
    parser.add_argument("--preset", default="five-model-tutorial")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import tensorflow as tf

    from lab.augment import build_augmenter, spec_from
    from lab.augment.legacy import legacy_generator_class, legacy_kwargs
    from lab.data.pipeline import image_dataset, load_image

    spec = spec_from(args.preset)
    records, classes = training_records(args.images)
    n = len(records)
    labels = np.array([classes.index(r.label) for r in records], dtype=np.int32)
    pixels = np.stack([load_image(r.path, SIZE) for r in records])  # float32 in [0, 255]
    generator = legacy_generator_class()(**legacy_kwargs(spec))
    augmenter = build_augmenter(spec, seed=0)
    figures: dict[str, tuple[float, float]] = {}

    in_memory = (tf.data.Dataset.from_tensor_slices(pixels.astype(np.uint8)).batch(BATCH)
                 .map(lambda x: augmenter(tf.cast(x, tf.float32)), num_parallel_calls=tf.data.AUTOTUNE)
                 .prefetch(tf.data.AUTOTUNE))
    figures["lab augment, in memory (tf.data)"] = rate(n, lambda: drain(in_memory), args.repeats)
    flow = generator.flow(pixels, labels, batch_size=BATCH, shuffle=False, seed=0)
    figures["ImageDataGenerator.flow, in memory"] = rate(n, lambda: [flow[i] for i in range(len(flow))], args.repeats)

    from_files = image_dataset(records, classes, SIZE, BATCH, shuffle=True, augment=augmenter)
    plain = image_dataset(records, classes, SIZE, BATCH, shuffle=True)
    frame = pd.DataFrame({"filename": [r.path for r in records], "class": [r.label for r in records]})
    legacy_files = generator.flow_from_dataframe(frame, target_size=(SIZE, SIZE), batch_size=BATCH, shuffle=True,
                                                 seed=0, class_mode="sparse")
    figures["lab image_dataset + augment, from files"] = rate(n, lambda: drain(from_files), args.repeats)
    figures["ImageDataGenerator.flow_from_dataframe, from files"] = rate(
        n, lambda: [legacy_files[i] for i in range(len(legacy_files))], args.repeats)
    figures["lab image_dataset, no augmentation, from files"] = rate(n, lambda: drain(plain), args.repeats)

    model = frozen_mobilenet_v2(len(classes))
    batch_x, batch_y = pixels[:BATCH], labels[:BATCH]
    steps = 4
    figures["frozen MobileNetV2 train step, in memory"] = rate(
        steps * BATCH, lambda: [model.train_on_batch(batch_x, batch_y) for _ in range(steps)], args.repeats)
    fit_images = min(n, 8 * BATCH)
    cached = image_dataset(records[:fit_images], classes, SIZE, BATCH, shuffle=True, cache=True)
    cached_augmented = image_dataset(records[:fit_images], classes, SIZE, BATCH, shuffle=True, cache=True,
                                     augment=augmenter)
    figures["frozen MobileNetV2 fit, no augmentation"] = rate(
        fit_images, lambda: model.fit(cached, epochs=1, verbose=0), args.repeats)
    figures["frozen MobileNetV2 fit, with augmentation"] = rate(
        fit_images, lambda: model.fit(cached_augmented, epochs=1, verbose=0), args.repeats)
    legacy_fit = generator.flow(pixels[:fit_images], labels[:fit_images], batch_size=BATCH, shuffle=True, seed=0)
    figures["frozen MobileNetV2 fit, ImageDataGenerator.flow"] = rate(
        fit_images, lambda: model.fit(legacy_fit, epochs=1, verbose=0), args.repeats)

    print(f"{n} images of {DATA} at {SIZE}x{SIZE}, preset {args.preset} ({', '.join(spec.operations)}), "
          f"batches of {BATCH}, median of {args.repeats}")
    print(f"  {'':<52} {'images/s':>9} {'CPU ms/image':>13}")
    for name, (per_second, cpu_ms) in figures.items():
        print(f"  {name:<52} {per_second:9.1f} {cpu_ms:13.2f}")

    def ratio(a: str, b: str) -> str:
        """a against b: wall-time speed ratio, then CPU-time ratio (how much less CPU a needs per image)."""
        return f"{figures[a][0] / figures[b][0]:.2f}x wall, {figures[b][1] / figures[a][1]:.2f}x CPU"

    print("lab / ImageDataGenerator: in memory "
          + ratio("lab augment, in memory (tf.data)", "ImageDataGenerator.flow, in memory")
          + "; from files " + ratio("lab image_dataset + augment, from files",
                                    "ImageDataGenerator.flow_from_dataframe, from files")
          + "; in fit " + ratio("frozen MobileNetV2 fit, with augmentation",
                                "frozen MobileNetV2 fit, ImageDataGenerator.flow"))
    print("augmentation / frozen MobileNetV2 train step: "
          + ratio("lab augment, in memory (tf.data)", "frozen MobileNetV2 train step, in memory"))
    print("fit with / without augmentation: "
          + ratio("frozen MobileNetV2 fit, with augmentation", "frozen MobileNetV2 fit, no augmentation")
          + " (augmentation and the model share the same CPU cores)")


if __name__ == "__main__":
    main()
