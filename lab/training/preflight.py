"""Before a run folder exists: can this machine find the run's data and weights?

A valid `TrainConfig` can still name data or weights this machine does not have. Caught here, that
is one line and no run; caught by the worker, it is a failed run to clean up. Cheap by design: paths
and names only, no TensorFlow, no image decoding (a weights file is hashed once per process, as
training records its digest anyway). The CLI and the Train page call it before they launch.
"""

from __future__ import annotations

from lab.data.manifest import list_manifests, manifest_path
from lab.data.training import resolve_data_path
from lab.errors import LabError
from lab.settings import Settings
from lab.training.backbones import BACKBONES
from lab.training.config import TrainConfig
from lab.training.weights import resolve_weights


def preflight(config: TrainConfig, settings: Settings) -> None:
    """Raise `LabError` saying what is missing and what to do, unless the data and the weights are here."""
    check_data_source(config.data, settings)
    resolve_weights(BACKBONES[config.backbone], config.weights, image_size=config.image_size, settings=settings)


def check_data_source(source: str, settings: Settings) -> None:
    """`source` must be a folder or zip that exists, a saved manifest, or a folder inside a data folder."""
    folder = resolve_data_path(source, settings)
    found = folder.exists() if folder is not None else manifest_path(source, settings).is_file()
    if found:
        return
    folders = ", ".join(map(str, settings.data_dirs)) or "none configured (set TRANSFER_LAB_DATA_DIRS)"
    manifests = ", ".join(list_manifests(settings)) or "none yet"
    raise LabError(
        f"data={source!r} was not found: it is not an existing folder or .zip, nor a folder inside the data "
        f"folders ({folders}), nor a saved manifest ({manifests}); check the path, or build a manifest on the "
        "Dataset page."
    )
