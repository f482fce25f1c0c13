"""The on-disk cache of backbone features, so the expensive forward pass runs once per image.

Features are keyed by everything that determines them: backbone, its weights (file SHA-256, or the
seed for random weights), width multiplier, image size, preprocessing, pooling, precision, Keras version, and
each image's content digest (`ImageRecord.digest`, so renaming or copying a file still hits and
editing one misses). A second run on the same images with another head, learning rate or epoch count
reads the cache and never runs the backbone.

Layout: `<cache_dir>/features/<key hash>/` holds `key.json` (readable), `index.json` (digest ->
[shard, row]) and shards `<uuid>.npy` of at most `SHARD_ROWS` rows, written batch by batch through a
memory map, so memory stays bounded by one batch while extracting, whatever the dataset size. The
index is updated under a file lock after each shard is complete: a crash or a stop loses at most the
shard in progress, and two runs sharing a cache never corrupt it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.data.records import ImageRecord
from lab.progress import Progress, no_progress
from lab.settings import Settings
from lab.storage import file_lock, read_json, write_json_atomic
from lab.training.backbone_factory import Backbone

SHARD_ROWS = 1024


@dataclass
class CacheStats:
    """What one `extract_features` call did: `computed` is 0 when every feature came from the cache."""

    hits: int = 0
    computed: int = 0
    seconds: float = 0.0
    stopped: bool = False

    @property
    def images_per_second(self) -> float | None:
        return self.computed / self.seconds if self.computed and self.seconds else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "images_per_second": self.images_per_second}


def cache_key(backbone: Backbone, pooling: str, seed: int = 0) -> dict[str, Any]:
    """Everything besides the image that decides its features."""
    import keras

    weights = backbone.weights
    return {
        "backbone": backbone.spec.name,
        "weights": weights.sha256 if weights.kind != "none" else f"random-seed-{seed}",
        "alpha": weights.alpha,
        "image_size": backbone.image_size,
        "preprocessing": backbone.spec.preprocessing,
        "pooling": pooling,
        "precision": keras.mixed_precision.global_policy().name,
        "keras": keras.__version__,
    }


class FeatureCache:
    """One key's folder: an index of digests and the shards holding their feature rows."""

    def __init__(self, settings: Settings, key: dict[str, Any]) -> None:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:20]
        self.folder = settings.cache_dir / "features" / digest
        self.folder.mkdir(parents=True, exist_ok=True)
        if not (self.folder / "key.json").exists():
            write_json_atomic(self.folder / "key.json", key)

    def index(self) -> dict[str, list]:
        return read_json(self.folder / "index.json", {})

    def missing(self, digests: Sequence[str]) -> list[str]:
        """Digests with no stored features, each once, in first-seen order."""
        known = self.index()
        return list(dict.fromkeys(d for d in digests if d not in known))

    def add_shard(self, digests: Sequence[str], shard: Path) -> None:
        """Publish a complete shard: its rows become visible to every reader at once."""
        with file_lock(self.folder / ".lock"):
            index = self.index()
            index.update({digest: [shard.name, row] for row, digest in enumerate(digests)})
            write_json_atomic(self.folder / "index.json", index)

    def read(self, digests: Sequence[str]) -> np.ndarray:
        """The feature matrix for `digests` in order, gathered shard by shard through memory maps."""
        index = self.index()
        rows_by_shard: dict[str, list[tuple[int, int]]] = {}
        for position, digest in enumerate(digests):
            shard, row = index[digest]
            rows_by_shard.setdefault(shard, []).append((position, row))
        out: np.ndarray | None = None
        for shard, pairs in rows_by_shard.items():
            stored = np.load(self.folder / shard, mmap_mode="r")
            if out is None:
                out = np.empty((len(digests), stored.shape[1]), dtype=np.float32)
            positions, rows = (np.array(column) for column in zip(*pairs))
            order = np.argsort(rows)  # read each shard front to back
            out[positions[order]] = stored[rows[order]]
        return out if out is not None else np.empty((0, 0), dtype=np.float32)


def extract_features(
    records: Sequence[ImageRecord],
    backbone: Backbone,
    *,
    pooling: str,
    batch_size: int,
    settings: Settings,
    seed: int = 0,
    on_progress: Progress = no_progress,
    should_stop: Callable[[], bool] = lambda: False,
) -> tuple[np.ndarray | None, CacheStats]:
    """Features for `records` (one row each, in order), computing only what the cache lacks.

    Returns (None, stats with stopped=True) when `should_stop` interrupted the extraction; the
    shards completed so far stay in the cache for the next run.
    """
    cache = FeatureCache(settings, cache_key(backbone, pooling, seed))
    digests = [record.digest for record in records]
    todo = cache.missing(digests)
    stats = CacheStats(hits=len(set(digests)) - len(todo))
    if todo:
        by_digest = {record.digest: record for record in records}
        started = time.perf_counter()
        stats.stopped = not _compute(cache, [by_digest[d] for d in todo], backbone, pooling, batch_size,
                                     on_progress, should_stop)
        stats.seconds = time.perf_counter() - started
        stats.computed = len(todo) - len(cache.missing(todo))
    if stats.stopped:
        return None, stats
    return cache.read(digests), stats


def _compute(cache: FeatureCache, records: list[ImageRecord], backbone: Backbone, pooling: str, batch_size: int,
             on_progress: Progress, should_stop: Callable[[], bool]) -> bool:
    """Run the backbone over `records` shard by shard; False if stopped."""
    extractor = feature_extractor(backbone, pooling)
    for start in range(0, len(records), SHARD_ROWS):
        chunk = records[start:start + SHARD_ROWS]
        if not _write_shard(cache, chunk, extractor, backbone.image_size, batch_size, should_stop,
                            lambda n, done=start: on_progress(done + n, len(records), "computing backbone features")):
            return False
    on_progress(len(records), len(records), "backbone features ready")
    return True


def _write_shard(cache: FeatureCache, records: list[ImageRecord], extractor, image_size: int, batch_size: int,
                 should_stop: Callable[[], bool], report: Callable[[int], None]) -> bool:
    from lab.data.pipeline import image_dataset

    labels = sorted({record.label for record in records})
    dataset = image_dataset(records, labels, image_size, batch_size)
    width = extractor.output.shape[-1]
    final = cache.folder / f"{uuid.uuid4().hex}.npy"
    partial = final.with_suffix(".partial")
    shard = np.lib.format.open_memmap(partial, mode="w+", dtype=np.float32, shape=(len(records), width))
    row = 0
    for images, _ in dataset:
        if should_stop():
            del shard
            partial.unlink(missing_ok=True)
            return False
        features = np.asarray(extractor.predict_on_batch(images), dtype=np.float32)
        shard[row:row + len(features)] = features
        row += len(features)
        report(row)
    shard.flush()
    del shard
    partial.rename(final)
    cache.add_shard([record.digest for record in records], final)
    return True


def feature_extractor(backbone: Backbone, pooling: str):
    """Raw images -> preprocessing -> backbone (inference mode) -> `pooling_layer(pooling)`: pooled
    ("avg") or flattened ("flatten") features, or the backbone's output as it is ("none")."""
    import keras

    from lab.training.models import pooling_layer

    size = backbone.image_size
    inputs = keras.Input((size, size, 3))
    x = pooling_layer(pooling)(backbone(inputs, training=False))
    return keras.Model(inputs, x, name=f"{backbone.spec.name}_features")


def cache_size(settings: Settings) -> int:
    """Bytes used by the feature cache."""
    root: Path = settings.cache_dir / "features"
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file()) if root.exists() else 0


def clear_cache(settings: Settings) -> int:
    """Delete every cached feature; returns the number of bytes freed."""
    import shutil

    freed = cache_size(settings)
    shutil.rmtree(settings.cache_dir / "features", ignore_errors=True)
    return freed
