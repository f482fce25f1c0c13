"""Every photo's pooled backbone features, the one input of the map, the label check and the near-duplicates.

The features come from the training feature cache (`lab.training.features`), keyed by backbone, weights, image
size and each photo's content digest: a dataset seen once through a backbone (by a run or by this module) is
never run through it again, so the 20K set's label check costs seconds after its first pass. Average pooling
gives one vector per photo whatever the backbone (MobileNetV2: 1,280 numbers).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lab.data.records import ImageRecord
from lab.progress import Progress, no_progress
from lab.settings import Settings
from lab.training.backbone_factory import create_backbone
from lab.training.features import extract_features

BATCH_SIZE = 32


def photo_features(records: Sequence[ImageRecord], backbone: str, *, weights: str, settings: Settings,
                   image_size: int | None = None, on_progress: Progress = no_progress) -> np.ndarray:
    """One row of pooled features per record, in order (`image_size`: the backbone's native size by default)."""
    built = create_backbone(backbone, weights, image_size, settings=settings)
    features, _ = extract_features(list(records), built, pooling="avg", batch_size=BATCH_SIZE, settings=settings,
                                   on_progress=on_progress)
    assert features is not None  # nothing asks it to stop
    return features
