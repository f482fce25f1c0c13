"""Near-duplicates: the same picture twice, resized, recompressed or mirrored, and above all across splits.

The scan already groups files with the same bytes (`lab.data.scan`, by digest); a resized or recompressed copy
has other bytes but, through a backbone, nearly the same pooled features. Two photos are near-duplicates when the
cosine similarity of their L2-normalised features is far above what two different photos of the dataset share.
A pair across splits (train and validation or test) is leakage: the model is tested on a photo it trained on.

Why the threshold is relative (mean + `SPREADS` standard deviations of the dataset's pair similarities, not one
cosine figure): pooled ReLU features are all positive, so every pair is similar and how similar depends on the
backbone. Measured on the 3,000 photos of `cats_and_dogs_filtered` with 60 of them copied five ways
(`bench/near_duplicates.py` plants such copies):

| cosine similarity | MobileNet 0.25/128 | MobileNetV2 224 |
|---|---|---|
| mean, sd of all pairs of different photos | 0.561, 0.083 | 0.366, 0.110 |
| most similar pair of different photos (the one true duplicate, dog.74 = dog.180, left out) | 0.925 | 0.844 |
| copy to its original, 5th percentile: half size / JPEG quality 30 / mirrored | 0.949 / 0.951 / 0.943 | 0.861 / 0.901 / 0.907 |
| the rule, mean + 4.5 sd | **0.936** | **0.861** |
| pairs of different photos above it; copies found (half, q30, mirrored) | 0; 97%, 98%, 98% | 0; 95%, 97%, 98% |

The one rule lands just above the most similar different photos for both backbones, where a figure per
backbone would have had to be measured for each of the registry's 17. What it misses is the copy of a photo
already tiny (100x74 px, halved to 50x37): little is left of it. A copy squashed to another aspect ratio (as
`dogs-vs-cats-20k-160px` holds the filtered set's training photos) is found by MobileNet 0.25 but MobileNetV2
gives it 0.79 at the 5th percentile (63% found); a crop of 90% is found by MobileNetV2 (100%), by MobileNet
0.25 at 82%. Exact duplicates (the same digest) always pair, at similarity 1.

On the 20K set (MobileNet 0.25) the rule says 0.949 (its photos, all 160 px, are more alike: mean 0.579): 24
pairs, 5 of them the same bytes, and the others looked at are the same picture. Between 0.93 and 0.949 lie real
near-duplicates (burst shots of one scene, a shifted crop) mixed with different dogs behind the same chain-link
fence: the rule keeps precision, and `threshold` (`--threshold 0.93`) shows more. Copies planted there are
found less often (half 75%, q30 95%, mirrored 80%): halving a 160 px photo leaves 80 px.

Memory: the similarities are computed `BLOCK` rows at a time against the rows after them (upper triangle), so
20,000 photos hold 1,024 x 20,000 floats (80 MB) at once, never the 20,000 x 20,000 matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.progress import Progress, no_progress

SPREADS = 4.5  # standard deviations above the mean pair similarity (the table above)
LOWEST, HIGHEST = 0.80, 0.99  # bounds for a tiny dataset, whose mean and spread say little
SAMPLED_PAIRS = 200_000  # pairs whose similarities estimate the mean and spread
BLOCK = 1024


@dataclass(frozen=True)
class DuplicatePair:
    """Two photos that are the same picture, as far as the backbone can tell; `exact`: the same bytes."""

    first: str
    second: str
    first_split: str | None
    second_split: str | None
    first_label: str
    second_label: str
    similarity: float
    exact: bool

    @property
    def crosses_splits(self) -> bool:
        """Leakage: the two are in different splits (train and validation, say)."""
        return None not in (self.first_split, self.second_split) and self.first_split != self.second_split

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "crosses_splits": self.crosses_splits}


def unit_rows(features: np.ndarray) -> np.ndarray:
    """Each row scaled to length 1 (a row of zeros stays zero), in float32."""
    features = np.asarray(features, dtype=np.float32)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.where(norms > 0, norms, 1.0)


def similarity_threshold(unit: np.ndarray, *, seed: int = 0) -> float:
    """Mean + `SPREADS` standard deviations of the similarity of pairs of different rows (a seeded sample of
    them), within [`LOWEST`, `HIGHEST`]."""
    n = len(unit)
    if n < 3:
        return HIGHEST
    rng = np.random.default_rng(seed)
    first = rng.integers(0, n, SAMPLED_PAIRS)
    second = (first + rng.integers(1, n, SAMPLED_PAIRS)) % n  # never the row itself
    similarities = np.einsum("ij,ij->i", unit[first], unit[second])
    return float(np.clip(similarities.mean() + SPREADS * similarities.std(), LOWEST, HIGHEST))


def near_duplicates(records: Sequence[ImageRecord], features: np.ndarray, *, threshold: float | None = None,
                    seed: int = 0, on_progress: Progress = no_progress) -> list[DuplicatePair]:
    """Every pair of `records` (one row of `features` each) at or above `threshold` (cosine similarity; by
    default `similarity_threshold`), most similar first, pairs across splits before others of equal similarity."""
    if len(records) != len(features):
        raise ValueError(f"{len(records)} records but {len(features)} rows of features")
    if threshold is not None and not 0.0 < threshold <= 1.0:
        raise LabError(f"--threshold must be a cosine similarity above 0 and at most 1, not {threshold}.")
    unit = unit_rows(features)
    cutoff = similarity_threshold(unit, seed=seed) if threshold is None else threshold
    pairs = [_pair(records[i], records[j], similarity) for i, j, similarity in _similar_rows(unit, cutoff, on_progress)]
    return sorted(pairs, key=lambda pair: (-pair.similarity, not pair.crosses_splits, pair.first, pair.second))


def _similar_rows(unit: np.ndarray, cutoff: float, on_progress: Progress) -> list[tuple[int, int, float]]:
    """(i, j, similarity) with i < j for every pair at or above `cutoff`, a block of rows at a time."""
    found: list[tuple[int, int, float]] = []
    n = len(unit)
    for start in range(0, n, BLOCK):
        block = unit[start:start + BLOCK] @ unit[start:].T  # this block against itself and every later row
        rows, columns = np.nonzero(np.triu(block, k=1) >= cutoff)  # k=1: each row's own column is left out
        found += [(start + i, start + j, float(min(block[i, j], 1.0))) for i, j in zip(rows, columns)]
        on_progress(min(start + BLOCK, n), n, "comparing photos")
    return found


def _pair(first: ImageRecord, second: ImageRecord, similarity: float) -> DuplicatePair:
    exact = first.digest == second.digest
    return DuplicatePair(first.path, second.path, first.split, second.split, first.label, second.label,
                         1.0 if exact else round(similarity, 6), exact)


def summary(pairs: Sequence[DuplicatePair]) -> dict[str, int]:
    """How many pairs, how many across splits (leakage), how many exact copies."""
    return {"pairs": len(pairs), "across_splits": sum(pair.crosses_splits for pair in pairs),
            "exact": sum(pair.exact for pair in pairs)}
