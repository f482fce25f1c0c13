"""Where the benchmarks find the project and the real data and weights in ../shared.

Importing it also puts the project on `sys.path` and imports `lab` (oneDNN on before TensorFlow loads),
so `python bench/<name>.py` works from anywhere.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
FILTERED = SHARED / "data" / "cats_and_dogs_filtered"
FLAT_20K = SHARED / "data" / "dogs-vs-cats-20k-160px"
MOBILENET_V2 = SHARED / "weights" / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"

sys.path.insert(0, str(ROOT))

import lab  # noqa: E402, F401
