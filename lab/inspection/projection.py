"""Every photo as a point on a plane: its pooled features projected to two dimensions, photos the backbone
sees alike placed near each other.

Why UMAP (umap-learn) after PCA to 50 dimensions, rather than scikit-learn's t-SNE: on two busy CPU cores (load
7-10) the 3,000 photos of `cats_and_dogs_filtered` (MobileNetV2 features) took 42 s with UMAP (65 s in a fresh
process, which first compiles its numba code) against 173 s with t-SNE, whose n log n growth would take the 20K
set to about 24 minutes (extrapolated, not run). `bench/near_duplicates.py` timed UMAP (MobileNet 0.25 features,
each the first call in its process, numba's compilation included): 3,000 photos in 51 s at load 3, 20,000 in
180 s at load 5. UMAP also keeps more of the global layout (which clusters lie near which), the thing a map is read for. Both are
deterministic with a seed (UMAP then runs on one thread: the figures above are with the seed). The cost is the
install: umap-learn brings numba and llvmlite (about 210 MB); they install cleanly beside TensorFlow in a fresh
virtual environment with this project's requirements (`pip check` clean), so it is in `requirements.txt`.
PCA alone (`method="pca"`) is the quick, linear view (4 s for 3,000 photos, the import included), and the contrast that shows what
UMAP's non-linear layout adds.

Features are scaled to length 1 first, as the near-duplicates and the out-of-distribution check see them: two
photos are alike by the direction of their features, not by how strongly the backbone fired.
"""

from __future__ import annotations

import numpy as np

from lab.errors import LabError
from lab.inspection.near_duplicates import unit_rows
from lab.progress import Progress, Steps, no_progress

METHODS = ("umap", "pca")
PCA_DIMENSIONS = 50  # UMAP's neighbour search on 50 numbers instead of 1,280: faster, and the noise left behind
NEIGHBOURS = 15  # UMAP's default: each photo's 15 nearest shape the layout


def project(features: np.ndarray, *, method: str = "umap", seed: int = 0,
            on_progress: Progress = no_progress) -> np.ndarray:
    """One (x, y) row per row of `features`, the same for the same features and seed."""
    if method not in METHODS:
        raise LabError(f"--projection must be one of {', '.join(METHODS)}, not {method!r}.")
    unit = unit_rows(features)
    if len(unit) < 3:  # too few to project: a line of points in order
        return np.column_stack([np.arange(len(unit)), np.zeros(len(unit))]).astype(np.float32)
    steps = Steps(on_progress, 2 if method == "umap" else 1)
    steps.start("reducing the features with PCA")
    reduced = _pca(unit, 2 if method == "pca" else PCA_DIMENSIONS, seed)
    if method == "umap":
        steps.start("laying the photos out with UMAP")
        reduced = _umap(reduced, seed)
    steps.finish("projected")
    return reduced.astype(np.float32)


def _pca(unit: np.ndarray, dimensions: int, seed: int) -> np.ndarray:
    from sklearn.decomposition import PCA

    return PCA(min(dimensions, *unit.shape), random_state=seed).fit_transform(unit)


def _umap(reduced: np.ndarray, seed: int) -> np.ndarray:
    import warnings

    from umap import UMAP

    with warnings.catch_warnings():  # "n_jobs overridden to 1 by setting random_state": that is the point
        warnings.simplefilter("ignore", UserWarning)
        layout = UMAP(n_components=2, n_neighbors=min(NEIGHBOURS, len(reduced) - 1), random_state=seed)
        return layout.fit_transform(reduced)
