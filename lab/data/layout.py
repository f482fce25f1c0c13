"""Recognise how a folder of labelled images is laid out, and list its images with labels and splits.

The layouts users actually have:

- `class_folders`: `root/<class>/*.jpg` (Microsoft's `PetImages/{Cat,Dog}` is one);
- `split_folders`: `root/{train,validation|val,test}/<class>/*.jpg` (`cats_and_dogs_filtered`);
- `flat_names`: the Kaggle competition's `root/cat.123.jpg`, the label being the name's prefix.

Single wrapping folders (a zip's top folder, `PetImages/`) are looked through, and macOS/hidden junk
(`__MACOSX`, `.DS_Store`, `._x.jpg`) is skipped. A folder that cannot be listed (permissions, a hung or
vanished mount), or that is a link leading outside the dataset, is skipped and named in
`Discovery.unreadable`, so one bad folder never stops the rest and is never passed over silently. Links
to folders are not followed below the class folders, so a link to a parent folder cannot loop.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.data.records import IMAGE_SUFFIXES, SPLIT_ALIASES, FoundImage
from lab.errors import LabError
from lab.paths import absolute

CLASS_FOLDERS = "class_folders"
SPLIT_FOLDERS = "split_folders"
FLAT_NAMES = "flat_names"


@dataclass(frozen=True)
class Discovery:
    """The images found under `root`, how they are laid out, and files that were passed over."""

    root: Path
    layout: str
    images: list[FoundImage]
    ignored: int
    unreadable: list[str]


def discover(path: Path, links_into: Sequence[Path] = ()) -> Discovery:
    """List the images under `path` with their labels; raise `LabError` when it is not a usable dataset.

    Links to folders are followed only into `path` itself and the folders `links_into` (the data folders).
    """
    start = _existing_folder(path)
    skipped = _Skipped(allowed_roots(start, links_into))
    root, entries = _look_through_wrappers(start, skipped)
    folders = skipped.subfolders(entries)
    splits = _split_folders(root, folders)
    if splits:
        images, ignored = _from_split_folders(splits, skipped)
        layout = SPLIT_FOLDERS
    elif folders:
        images, ignored = _from_class_folders(root, folders, entries, None, skipped)
        layout = CLASS_FOLDERS
    else:
        images, ignored = _from_flat_names(entries, split=None)
        layout = FLAT_NAMES
    _require_two_classes(root, images, skipped)
    return Discovery(root=root, layout=layout, images=images, ignored=ignored, unreadable=sorted(skipped.folders))


@dataclass
class _Skipped:
    """Folders a scan passes over and reports: those that cannot be listed, and links to folders outside
    the `allowed` real paths, which are never followed (a browser user could otherwise list any folder)."""

    allowed: list[str]
    folders: set[str] = field(default_factory=set)

    def subfolders(self, entries: list[os.DirEntry]) -> list[Path]:
        """The entries that are folders inside the allowed ones; others are noted, not returned."""
        inside = []
        for entry in (e for e in entries if _is_dir(e)):
            if is_within(entry.path, self.allowed):
                inside.append(Path(entry.path))
            else:
                self.folders.add(entry.path)
        return inside


def allowed_roots(root: Path, links_into: Sequence[Path]) -> list[str]:
    """The real paths a dataset's links may lead into: its own folder and `links_into`."""
    return [os.path.realpath(folder) for folder in (root, *links_into)]


def is_within(path: str, allowed: Sequence[str]) -> bool:
    """Whether `path`, its links resolved, lies in one of the `allowed` real paths."""
    real = os.path.realpath(path)
    return any(os.path.commonpath([real, folder]) == folder for folder in allowed)


def _existing_folder(path: Path) -> Path:
    path = Path(path).expanduser()
    if not path.exists():
        raise LabError(f"{path} does not exist: give a folder of images (or a .zip of one).")
    if not path.is_dir():
        raise LabError(f"{path} is not a folder: give a folder of images, or a .zip file to extract.")
    return absolute(path)


def _is_junk(name: str) -> bool:
    return name.startswith((".", "__MACOSX", "._")) or name in {"Thumbs.db", "desktop.ini"}


def _is_image_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES


def _entries(folder: Path, skipped: _Skipped) -> list[os.DirEntry]:
    """The folder's entries without junk, sorted by name; `os.scandir` avoids a `stat` per file.

    A folder that cannot be listed has no entries and is noted in `skipped`.
    """
    try:
        with os.scandir(folder) as entries:
            return sorted((e for e in entries if not _is_junk(e.name)), key=lambda e: e.name)
    except OSError:
        skipped.folders.add(str(folder))
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    """Whether an entry is a folder (following a link); a link loop or a vanished target is not."""
    try:
        return entry.is_dir()
    except OSError:
        return False


def _walk(folder: Path, skipped: _Skipped) -> Iterator[tuple[str, list[str]]]:
    """(folder, non-junk file names) for `folder` and every folder below it, in a stable order.

    Links to folders below `folder` are not followed (`os.walk`'s default), so a link to a parent
    cannot loop; folders that cannot be listed are noted in `skipped`.
    """
    for current, dirs, files in os.walk(folder, onerror=lambda error: skipped.folders.add(str(error.filename))):
        dirs[:] = sorted(d for d in dirs if not _is_junk(d))
        yield current, sorted(name for name in files if not _is_junk(name))


def _image_files(folder: Path, skipped: _Skipped) -> Iterator[str]:
    """Every image-named file below `folder`, in a stable order, skipping junk."""
    for current, files in _walk(folder, skipped):
        yield from (os.path.join(current, name) for name in files if _is_image_name(name))


def _count_other_files(folder: Path, skipped: _Skipped) -> int:
    return sum(1 for _, files in _walk(folder, skipped) for name in files if not _is_image_name(name))


def _look_through_wrappers(root: Path, skipped: _Skipped) -> tuple[Path, list[os.DirEntry]]:
    """Descend through folders that hold nothing but one subfolder (a zip's top folder, `PetImages/`)."""
    while True:
        entries = _entries(root, skipped)
        wrapper = len(entries) == 1 and skipped.subfolders(entries)
        if wrapper and SPLIT_ALIASES.get(entries[0].name.lower()) is None:
            root = Path(entries[0].path)
        else:
            return root, entries


def _split_folders(root: Path, folders: list[Path]) -> dict[str, Path]:
    splits: dict[str, Path] = {}
    for folder in folders:
        split = SPLIT_ALIASES.get(folder.name.lower())
        if split is None:
            return {}  # a class folder beside split folders: treat every folder as a class instead
        if split in splits:
            raise LabError(f"{root} has two folders for the {split} split ({splits[split].name} and "
                           f"{folder.name}): keep one.")
        splits[split] = folder
    return splits


def _from_split_folders(splits: dict[str, Path], skipped: _Skipped) -> tuple[list[FoundImage], int]:
    images: list[FoundImage] = []
    ignored = 0
    for split, folder in splits.items():
        entries = _entries(folder, skipped)
        folders = skipped.subfolders(entries)
        if folders:
            found, passed_over = _from_class_folders(folder, folders, entries, split, skipped)
        else:
            found, passed_over = _from_flat_names(entries, split=split)
        images += found
        ignored += passed_over
    return images, ignored


def _from_class_folders(
    root: Path, folders: list[Path], entries: list[os.DirEntry], split: str | None, skipped: _Skipped
) -> tuple[list[FoundImage], int]:
    """Images inside each class folder (at any depth); loose files beside the folders are passed over."""
    images = [FoundImage(path=path, label=folder.name, split=split) for folder in folders
              for path in _image_files(folder, skipped)]
    loose = sum(1 for e in entries if not _is_dir(e))
    return images, loose + sum(_count_other_files(folder, skipped) for folder in folders)


def _from_flat_names(entries: list[os.DirEntry], split: str | None) -> tuple[list[FoundImage], int]:
    images: list[FoundImage] = []
    ignored = 0
    for entry in entries:
        label = _name_prefix(entry.name)
        if _is_dir(entry):
            continue
        if label and _is_image_name(entry.name):
            images.append(FoundImage(path=entry.path, label=label, split=split))
        else:
            ignored += 1
    return images, ignored


def _name_prefix(name: str) -> str:
    """`cat.123.jpg` -> `cat`; `dog_7.png` -> `dog`; a name with no prefix -> ``."""
    stem = os.path.splitext(name)[0]
    for separator in (".", "_", "-"):
        head, found, tail = stem.partition(separator)
        if found and head and tail:
            return head.lower()
    return ""


def _require_two_classes(root: Path, images: list[FoundImage], skipped: _Skipped) -> None:
    if not images and skipped.folders:
        raise LabError(f"No images could be read in {root}: {len(skipped.folders)} folders cannot be opened or "
                       f"lead outside it (e.g. {min(skipped.folders)}). Check their permissions, then scan again.")
    if not images:
        raise LabError(
            f"No images found in {root}. Expected class folders (root/cats/*.jpg), split folders "
            f"(root/train/cats/*.jpg) or Kaggle names (root/cat.1.jpg), in JPEG, PNG, BMP, GIF or WebP."
        )
    labels = sorted({image.label for image in images})
    if len(labels) < 2 and skipped.folders:  # the other class's folder is there, but cannot be opened
        raise LabError(
            f"Only one class ({labels[0]!r}) could be read in {root}: {len(skipped.folders)} folder"
            f"{'s' * (len(skipped.folders) > 1)} cannot be opened or lead outside it (e.g. {min(skipped.folders)}). "
            "Check their permissions, then scan again."
        )
    if len(labels) < 2:
        raise LabError(
            f"Only one class ({labels[0]!r}) found in {root}: a classifier needs at least two. "
            f"Put each class in its own folder (root/cats, root/dogs) or name files cat.1.jpg, dog.1.jpg."
        )
