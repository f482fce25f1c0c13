"""Datasets: find and check images, split them into manifests, and feed them to models.

Reads top to bottom as the tutorials do: `scan` a folder (bad files found and excluded; the report also
summarises sizes, classes and folders, `lab.data.summary`), `build_manifest` to cut splits and subsets,
`training_splits` for what one run uses (`lab.data.run_data`), and `lab.data.pipeline.image_dataset` to turn
records into batches. The pipeline lives in its own module because it imports TensorFlow.

Must not import Streamlit, nor `lab.augment`, `lab.evaluation`, `lab.training`, `lab.runs`, `lab.replays`,
`lab.workspace`, `lab.access`, `lab.leftovers` or `lab.cli`: everything else builds on the data, never the
reverse.
"""

from lab.data.download import SAMPLE_DATASET_URL, download_sample
from lab.data.manifest import Manifest, build_manifest, list_manifests, load_manifest
from lab.data.records import ImageRecord
from lab.data.run_data import TrainingData, training_splits
from lab.data.scan import ScanReport, scan

__all__ = [
    "SAMPLE_DATASET_URL",
    "ImageRecord",
    "Manifest",
    "ScanReport",
    "TrainingData",
    "build_manifest",
    "download_sample",
    "list_manifests",
    "load_manifest",
    "scan",
    "training_splits",
]
