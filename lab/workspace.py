"""A read-only summary of the workspace: what datasets, manifests and runs exist, and what is running.

The home page shows it on every rerun, so it only lists folders and reads small JSON
files; it never decodes an image, loads a manifest or imports TensorFlow. It also lists the
folders a user may pick as a dataset: those under the configured data folders (`lab.access` checks
what a browser types against them). The runs' states come
from the run store (`lab.runs.store.RunStore.states`), which reads one small file per run. `queue_groups` names
the groups of runs that wait together (a replay's rows, a study's sizes), from their saved records, so a queue
can show, move and cancel a group as one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.data import list_manifests
from lab.data.records import IMAGE_SUFFIXES
from lab.errors import LabError
from lab.paths import within
from lab.replays.plan import list_replays, load_replay, short_name
from lab.runs.queue import QueuePlan
from lab.runs.status import QUEUED, RUNNING, runs_in
from lab.runs.store import RunStore
from lab.runs.study import list_studies, load_study
from lab.settings import Settings
from lab.training.cost import time_in_words

_SEARCH_DEPTH = 3  # root/split/class/image.jpg is the deepest layout the lab recognises
_JUNK = {"__MACOSX"}


@dataclass(frozen=True)
class WorkspaceSummary:
    """What the home page shows: counts, names and the jobs under way."""

    workspace: Path
    datasets: tuple[Path, ...]
    manifests: tuple[str, ...]
    runs: dict[str, str]  # run id -> state (`lab.runs.status`), newest first

    @property
    def running(self) -> list[str]:
        return runs_in(self.runs, RUNNING)

    @property
    def queued(self) -> list[str]:
        return runs_in(self.runs, QUEUED)


def summarize_workspace(settings: Settings) -> WorkspaceSummary:
    """Look at the workspace folders as they are now."""
    return WorkspaceSummary(
        workspace=settings.workspace,
        datasets=tuple(dataset_folders(settings)),
        manifests=tuple(list_manifests(settings)),
        runs=RunStore(settings.runs_dir).states(),
    )


def dataset_folders(settings: Settings) -> list[Path]:
    """The subfolders of the configured data folders that hold images, sorted by path.

    These are what a user can pick on the Dataset page: each data folder's direct subfolders
    (`cats_and_dogs_filtered`, an unpacked upload, ...), kept when an image file lies within a few
    levels of them. The search stops at the first image, so a 20,000-file folder costs one listing. A link
    that leads out of its data folder is left out: every page's pickers read from this list.
    """
    found = []
    for data_dir in settings.data_dirs:
        for child in _subfolders(data_dir):
            if within(child, [data_dir]) and _holds_images(child, _SEARCH_DEPTH):  # not a link leading out
                found.append(child)
    return sorted(set(found))


def dataset_names(settings: Settings) -> dict[Path, str]:
    """Each dataset folder (`dataset_folders`) -> the name a person knows it by, for pickers on every page.

    The folder's name, "(uploaded)" for one unpacked from an upload; where two data folders hold the
    same name, the data folder's own name tells them apart. Never a full path: it is noise to a newcomer
    and, on a shared server, a detail of the machine.
    """
    folders = dataset_folders(settings)
    counts: dict[str, int] = {}
    for folder in folders:
        counts[folder.name] = counts.get(folder.name, 0) + 1
    return {folder: _dataset_name(folder, settings, ambiguous=counts[folder.name] > 1) for folder in folders}


def listed_dataset(source: str | None, folders: Iterable[Path]) -> str | None:
    """`source` as the dataset folder a picker lists (`dataset_folders`): that folder when `source` is it by
    another spelling, or lies inside it (a scan looks through an unpacked zip's wrapper folder and reports the
    inner one); else `source` unchanged. So a picker holding the scanned folder lists it once, by its name."""
    if not source:
        return source
    return next((str(folder) for folder in folders if _wraps(folder, Path(source))), source)


def _wraps(folder: Path, inner: Path) -> bool:
    """Whether `inner` is `folder`, or lies in it through folders that hold nothing else (a zip's top folder)."""
    folder, inner = folder.resolve(), inner.resolve()
    if not inner.is_relative_to(folder):
        return False
    while inner != folder:
        try:
            entries = [e for e in os.scandir(inner.parent) if not e.name.startswith(".") and e.name not in _JUNK]
        except OSError:
            return False
        if len(entries) != 1:
            return False
        inner = inner.parent
    return True


def _dataset_name(folder: Path, settings: Settings, *, ambiguous: bool) -> str:
    if within(folder, [settings.datasets_dir]):
        return f"{folder.name} (uploaded)"
    return f"{folder.name} (in {folder.parent.name})" if ambiguous else folder.name


def describe_device(device: dict[str, Any]) -> str:
    """One line for a `lab.training.devices.list_devices()` entry: "CPU: 2 logical cores, 23.4 GB RAM"."""
    details = [device.get("description", "")]
    if device.get("compute_capability"):
        details.append(f"compute capability {device['compute_capability']}")
    if device.get("memory_bytes"):
        details.append(f"{device['memory_bytes'] / 2**30:.1f} GB RAM")
    return f"{device['type']}: " + ", ".join(detail for detail in details if detail)


def _subfolders(folder: Path) -> list[Path]:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return sorted(
        Path(entry.path)
        for entry in entries
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in _JUNK
    )


def _holds_images(folder: Path, depth: int) -> bool:
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return False
    if any(entry.is_file() and Path(entry.name).suffix.lower() in IMAGE_SUFFIXES for entry in entries):
        return True
    return depth > 1 and any(
        _holds_images(Path(entry.path), depth - 1)
        for entry in entries
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in _JUNK
    )


@dataclass(frozen=True)
class QueueGroup:
    """Runs launched together: `name` is its record's name (what `lab runs cancel --group` takes), `label` what
    a person reads ("five-model replay", "dataset-size study ..."), `run_ids` its runs in their planned order."""

    name: str
    label: str
    run_ids: tuple[str, ...]


def queue_groups(settings: Settings) -> list[QueueGroup]:
    """Every replay's and study's runs as a group, newest first (a record that cannot be read is left out)."""
    replays = [(name, _record(load_replay, name, settings)) for name in list_replays(settings)]
    studies = [(name, _record(load_study, name, settings)) for name in list_studies(settings)]
    return ([QueueGroup(name, short_name(planned), tuple(row["run_id"] for row in planned.rows if row.get("run_id")))
             for name, planned in replays if planned is not None]
            + [QueueGroup(name, f"dataset-size study {name}", tuple(run["run_id"] for run in study.runs))
               for name, study in studies if study is not None])


def _record(load: Callable[[str, Settings], Any], name: str, settings: Settings) -> Any:
    """A saved record, or None when it cannot be read (hand-edited, from an older lab): the queue carries on."""
    try:
        return load(name, settings)
    except (LabError, KeyError, TypeError, ValueError):
        return None


def group_of(groups: list[QueueGroup], run_id: str) -> QueueGroup | None:
    return next((group for group in groups if run_id in group.run_ids), None)


def moved_with(groups: list[QueueGroup], run_id: str) -> list[str]:
    """The runs that move to the front with `run_id`: its whole group in its planned order (a replay's first row
    computes the features its later rows read), or the run alone."""
    group = group_of(groups, run_id)
    return list(group.run_ids) if group else [run_id]


def groups_ahead(plan: QueuePlan, groups: list[QueueGroup]) -> list[str]:
    """The replays and studies with runs waiting in `plan`, each as "the five-model replay (4 runs waiting, done
    in about 30 minutes)": what a run launched now waits behind."""
    waiting = {place.run_id for place in plan.places}
    ahead = []
    for group in groups:
        count = len(waiting.intersection(group.run_ids))
        if count:
            end = plan.group_end(group.run_ids)
            done = f", done in {time_in_words(end)}" if end is not None else ", its time not known yet"
            ahead.append(f"the {group.label} ({count} run{'s' * (count != 1)} waiting{done})")
    return ahead
