"""Before a run folder exists: can this machine find the run's data and weights, and give the images it asks for?

A valid `TrainConfig` can still name data or weights this machine does not have, a subset its manifest
lacks, or more images than the data holds. Caught here, that is one line and no run; caught by the
worker, it is a failed run to clean up.

`preflight` (the CLI and the Train page's Launch call it) is cheap by design: paths and names only, no
TensorFlow, no image decoding (a weights file is hashed once per process, as training records its
digest anyway). `problems` is the form's version: every reason at once, each tied to the field to
change and worded without naming it, so the page says "Training images: ..." where the CLI says
"--train-size: ...". It also counts the images (a folder is scanned, which the scan cache makes cheap
after the first time); `data_problems` is its part about the data alone, for choosing a dataset a config
can run on.
"""

from __future__ import annotations

from lab.data.manifest import list_manifests, manifest_path
from lab.data.run_data import resolve_data_path, size_problems, split_sizes
from lab.errors import LabError
from lab.settings import Settings
from lab.training.backbones import BACKBONES
from lab.training.config import FIELDS, TrainConfig
from lab.training.start_from import check_start
from lab.training.weights import online, resolve_weights


def preflight(config: TrainConfig, settings: Settings) -> None:
    """Raise `LabError` saying what is missing and what to do, unless the data and the weights are here
    (and a saved manifest has the split and the images asked for: one small file to read)."""
    check_data_source(config.data, settings)
    resolve_weights(BACKBONES[config.backbone], config.weights, image_size=config.image_size, settings=settings)
    if config.start_from:
        check_start(config, settings)
    if resolve_data_path(config.data, settings) is None:
        found = size_problems(split_sizes(config.data, settings=settings), train_split=config.train_split,
                              train_size=config.train_size, validation_size=config.validation_size)
    else:
        found = {"train_split": f"{config.data} is a folder, which has the split train only; to train on a "
                                "subset, save a manifest with it on the Dataset page and choose that manifest"
                 } if config.train_split != "train" else {}
    if found:
        field, text = next(iter(found.items()))
        raise LabError(f"{FIELDS[field].cli_flag}: {text}")


def problems(config: TrainConfig, settings: Settings) -> dict[str, str]:
    """Every reason a run of `config` would fail here: field name -> what to change (the field unnamed), in
    the order of the fields."""
    weights = weights_problem(config, settings)
    found = {**data_problems(config, settings), **({"weights": weights} if weights else {})}
    return {field: found[field] for field in FIELDS if field in found}


def data_problems(config: TrainConfig, settings: Settings) -> dict[str, str]:
    """Why `config` cannot run on its data: it is not here, not a dataset, or has too few images for what the
    config asks (field name -> what to change); {} when it can. What a form asks before it picks a dataset."""
    if not data_found(config.data, settings):
        return {"data": f"{config.data!r} is neither a dataset folder nor a saved manifest here; choose one from "
                        "the list, or build a manifest on the Dataset page"}
    try:  # it exists, but may not be a dataset (a file that is no zip, a damaged manifest, no images)
        sizes = split_sizes(config.data, seed=config.seed, settings=settings)
    except LabError as error:
        return {"data": str(error)}
    return size_problems(sizes, train_split=config.train_split, train_size=config.train_size,
                         validation_size=config.validation_size)


def weights_problem(config: TrainConfig, settings: Settings) -> str | None:
    """Why `config`'s weights cannot be had here, in a form's words; None when they can."""
    try:
        resolve_weights(BACKBONES[config.backbone], config.weights, image_size=config.image_size, settings=settings)
    except LabError as error:
        if config.weights == "imagenet" and not online():
            return (f"imagenet weights for {config.backbone} are not on this machine and cannot be downloaded "
                    "(offline); choose random weights (none) or another backbone")
        return str(error)
    return None


def data_found(source: str, settings: Settings) -> bool:
    """Whether `source` is a folder or zip that exists, a saved manifest, or a folder inside a data folder."""
    folder = resolve_data_path(source, settings)
    return folder.exists() if folder is not None else manifest_path(source, settings).is_file()


def check_data_source(source: str, settings: Settings) -> None:
    """`source` must be a folder or zip that exists, a saved manifest, or a folder inside a data folder."""
    if data_found(source, settings):
        return
    folders = ", ".join(map(str, settings.data_dirs)) or "none configured (set TRANSFER_LAB_DATA_DIRS)"
    manifests = ", ".join(list_manifests(settings)) or "none yet"
    raise LabError(
        f"data={source!r} was not found: it is not an existing folder or .zip, nor a folder inside the data "
        f"folders ({folders}), nor a saved manifest ({manifests}); check the path, or build a manifest on the "
        "Dataset page."
    )
