"""A run folder's layout: the one place that names the files a run keeps.

Every module below the pages reads a run's files through these names (Ray Train's `StorageContext` is the
model: one source of truth for paths), so renaming a file, or adding one, is an edit here and nowhere else.
The folder stays self-describing and readable without the lab: plain JSON, CSV and Keras files.

Ground level: imports nothing of the lab's.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CONFIG = "config.json"  # everything needed to repeat the run
STATUS = "status.json"  # state, pid, progress, heartbeat, error
LOG = "log.txt"  # phases, epochs and errors in words
STOP = "stop"  # present once someone asked the run to stop
HISTORY = "history.csv"  # one row per epoch
METRICS = "metrics.json"  # best, final and test figures
ESTIMATE = "estimate.json"  # the time expected at launch, and where that figure came from
MODEL = "model.keras"  # the trained model
BEST_MODEL = "best.keras"  # the checkpoint with the best validation accuracy
LAYERS = "layers.csv"  # which layers trained
PREDICTIONS = "predictions.csv"  # per-image answers on the validation (or test) photos
NOVELTY = "novelty.json"  # the out-of-distribution check: its score, threshold and how it was fitted
NOVELTY_ARRAYS = "novelty.npz"  # that check's fitted statistics (class means and precision, or features)
TTA_PREDICTIONS = "predictions-tta-{views}.csv"  # the same, averaged over test-time views (`lab evaluate --tta`)
CALIBRATION = "calibration.json"  # the temperature fitted on the validation photos when training ended
EVALUATIONS = "evaluations"  # named evaluations, one folder each (`lab evaluate`)
EVALUATION_SUMMARY = "summary.json"  # inside each evaluation's folder
EXPORTS = "exports"  # exported models with their model cards
TENSORBOARD = "tensorboard"  # TensorBoard's event files
MLFLOW_RECORD = "mlflow.json"  # where the run's MLflow copy is
LABELS = "labels.json"  # the name and tags a person gives the run
LABELS_LOCK = ".labels.lock"  # held while the labels change
QUEUE_LOCK = ".queue.lock"  # in the runs folder: held while the queue decides


@dataclass(frozen=True)
class RunFiles:
    """The paths of one run folder's files."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG

    @property
    def status(self) -> Path:
        return self.root / STATUS

    @property
    def log(self) -> Path:
        return self.root / LOG

    @property
    def stop(self) -> Path:
        return self.root / STOP

    @property
    def history(self) -> Path:
        return self.root / HISTORY

    @property
    def metrics(self) -> Path:
        return self.root / METRICS

    @property
    def estimate(self) -> Path:
        return self.root / ESTIMATE

    @property
    def model(self) -> Path:
        return self.root / MODEL

    @property
    def best_model(self) -> Path:
        return self.root / BEST_MODEL

    @property
    def layers(self) -> Path:
        return self.root / LAYERS

    @property
    def predictions(self) -> Path:
        return self.root / PREDICTIONS

    def tta_predictions(self, views: str) -> Path:
        """The run's own validation and test answers with test-time augmentation `views` ("flip", "crops")."""
        return self.root / TTA_PREDICTIONS.format(views=views)

    @property
    def calibration(self) -> Path:
        return self.root / CALIBRATION

    @property
    def novelty(self) -> Path:
        return self.root / NOVELTY

    @property
    def novelty_arrays(self) -> Path:
        return self.root / NOVELTY_ARRAYS

    @property
    def evaluations(self) -> Path:
        return self.root / EVALUATIONS

    def evaluation(self, name: str) -> Path:
        """The folder of the evaluation called `name`."""
        return self.evaluations / name

    @property
    def exports(self) -> Path:
        return self.root / EXPORTS

    @property
    def tensorboard(self) -> Path:
        return self.root / TENSORBOARD

    @property
    def mlflow_record(self) -> Path:
        return self.root / MLFLOW_RECORD

    @property
    def labels(self) -> Path:
        return self.root / LABELS

    @property
    def labels_lock(self) -> Path:
        return self.root / LABELS_LOCK
