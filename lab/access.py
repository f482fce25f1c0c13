"""What a browser may reach on this server, and how the server's paths are shown to it.

Anyone who can open the lab's address can type into its pages, so every path that comes from a browser
passes an allow-list here, by where it really leads (links and `..` resolved, `lab.paths.within`): data
(folders and zips inside the data folders, manifests saved in the workspace) and weights (files inside the
weights folders). A refusal reads the same for a path that lies outside and for one that does not exist,
so a visitor cannot use the pages to learn what exists on the disk.

The CLI does not come through here and accepts any path: the person at the shell already owns the machine.

In demo mode (`Settings.demo`, for showing the lab to others) the browser may not train, and no server
path is shown: `shown_path` gives the name a visitor can know instead (a dataset's, a run's).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from lab.data.manifest import manifest_path
from lab.data.run_data import resolve_data_path
from lab.errors import LabError
from lab.paths import absolute, same_path, within
from lab.settings import Settings
from lab.training.config import WEIGHT_KINDS, TrainConfig
from lab.workspace import dataset_names

TRAINING_OFF = "Demo mode: training is switched off on this server."


def allowed_data_path(settings: Settings, raw: str | Path) -> Path:
    """The folder or zip a browser named, if it really lies inside the data folders.

    On a shared server the pages must not become a file browser for the whole disk. A relative path is
    looked up in each data folder in turn, so `cats_and_dogs_filtered` is enough.
    """
    found = _inside(raw, settings.data_dirs, Path.exists)
    if found is None:
        raise LabError(f"{raw} is not a dataset folder this lab can read: datasets live in "
                       f"{_places(settings.data_dirs, settings)}. Pick one from the list, or put the photos (a "
                       "folder or a .zip) into one of those folders.")
    return found


def allowed_data_source(settings: Settings, source: str) -> str:
    """A Train page's Data value made safe to use: a manifest saved in the workspace stays its name; a
    folder or zip becomes its absolute path inside the data folders (`allowed_data_path`), so training
    reads exactly what was checked."""
    if resolve_data_path(source, settings) is None:  # names a manifest
        if within(manifest_path(source, settings), [settings.manifests_dir]):
            return source
        raise LabError(f"{source} is not a saved manifest: manifests are saved by name on the Dataset page.")
    return str(allowed_data_path(settings, source))


def allowed_weights(settings: Settings, weights: str) -> str:
    """'imagenet', 'none', or the absolute path of a weights file (named by path or by file name) that
    really lies inside the weights folders."""
    if weights in WEIGHT_KINDS:
        return weights
    found = _inside(weights, settings.weights_dirs, Path.is_file)
    if found is None:
        raise LabError(f"{weights} is not a weights file this lab can read: weights files live in "
                       f"{_places(settings.weights_dirs, settings)}. Pick one from the list, or put the file "
                       "into one of those folders.")
    return str(found)


def refusals(config: TrainConfig, settings: Settings) -> dict[str, str]:
    """Per field ("data", "weights"), why a page may not use this config's value; empty when both pass."""
    found = {}
    for field, check in (("data", allowed_data_source), ("weights", allowed_weights)):
        try:
            check(settings, getattr(config, field))
        except LabError as error:
            found[field] = str(error)
    return found


def browser_config(config: TrainConfig, settings: Settings) -> TrainConfig:
    """`config` as a page may launch it: its data and weights through the allow-lists; none in demo mode."""
    if settings.demo:
        raise LabError(TRAINING_OFF)
    return dataclasses.replace(config, data=allowed_data_source(settings, config.data),
                               weights=allowed_weights(settings, config.weights))


def shown_path(path: str | Path, settings: Settings) -> str:
    """A server path as a page shows it: as it is, or in demo mode by a name a visitor can know."""
    if not settings.demo:
        return str(path)
    for folder, name in dataset_names(settings).items():
        if within(path, [folder]):
            rest = Path(path).resolve().relative_to(folder.resolve())
            return name if rest == Path() else f"{name}/{rest.as_posix()}"
    if within(path, [settings.runs_dir]):
        return f"run {Path(path).resolve().relative_to(settings.runs_dir.resolve()).as_posix()}"
    return Path(path).name


def shown_message(text: str, settings: Settings) -> str:
    """A message as a page shows it: as it is, or in demo mode with every server path in it by the name
    `shown_path` gives (a damaged run's reason, "No images found in /srv/...", an unpack error)."""
    return _ABSOLUTE_PATH.sub(lambda found: shown_path(found.group(0), settings), text) if settings.demo else text


def shown_config(config: Mapping[str, Any], settings: Settings) -> dict[str, Any]:
    """A run's config as a browser may see it: its data and weights paths through `shown_path` (by name
    in demo mode)."""
    return {field: shown_path(value, settings) if field in ("data", "weights") and value else value
            for field, value in config.items()}


# An absolute path in a message: "/" after a space, a quote or a bracket (not inside an address's "//"), up to a
# space, a quote, a bracket, or a colon, comma or full stop that ends it.
_ABSOLUTE_PATH = re.compile(r"(?<![\w:/.])/[^\s'\"`()\[\]]*[^\s'\"`()\[\]:,.;]")


def _inside(raw: str | Path, folders: Sequence[Path], exists: Callable[[Path], bool]) -> Path | None:
    """`raw` (absolute, or relative to each folder in turn) where `exists` holds and it lies inside `folders`.

    `~` is not expanded: the server's home folder means nothing to a browser. A name the file system
    cannot hold (a NUL byte, too long) is simply not found.
    """
    typed = Path(raw)
    candidates = [typed] if typed.is_absolute() else [folder / typed for folder in folders]
    for candidate in candidates:
        try:
            if exists(candidate) and within(candidate, folders):
                return absolute(candidate)
        except (OSError, ValueError):
            continue
    return None


def _places(folders: Sequence[Path], settings: Settings) -> str:
    """The allowed folders, by path; in demo mode by name ("data", "uploads"), never by path."""
    if not settings.demo:
        return ", ".join(map(str, folders)) or "no folder (none is configured)"
    names = ["uploads" if same_path(folder, settings.datasets_dir) else folder.name for folder in folders]
    return ", ".join(f"the {name} folder" for name in names) or "no folder"
