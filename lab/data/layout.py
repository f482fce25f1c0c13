"""Recognise how a folder of labelled images is laid out, and list its images with labels and splits.

The layouts users actually have:

- `class_folders`: `root/<class>/*.jpg` (Microsoft's `PetImages/{Cat,Dog}` is one);
- `split_folders`: `root/{train,validation|val,test}/<class>/*.jpg` (`cats_and_dogs_filtered`);
- `flat_names`: the Kaggle competition's `root/cat.123.jpg`, the label being the name's prefix.

Single wrapping folders (a zip's top folder, `PetImages/`) are looked through, and macOS/hidden junk
(`__MACOSX`, `.DS_Store`, `._x.jpg`) is skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
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


def discover(path: Path) -> Discovery:
    """List the images under `path` with their labels; raise `LabError` when it is not a usable dataset."""
    root, entries = _look_through_wrappers(_existing_folder(path))
    folders = [Path(e.path) for e in entries if e.is_dir()]
    splits = _split_folders(root, folders)
    if splits:
        images, ignored = _from_split_folders(splits)
        layout = SPLIT_FOLDERS
    elif folders:
        images, ignored = _from_class_folders(root, folders, entries, split=None)
        layout = CLASS_FOLDERS
    else:
        images, ignored = _from_flat_names(entries, split=None)
        layout = FLAT_NAMES
    _require_two_classes(root, images)
    return Discovery(root=root, layout=layout, images=images, ignored=ignored)


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


def _entries(folder: Path) -> list[os.DirEntry]:
    """The folder's entries without junk, sorted by name; `os.scandir` avoids a `stat` per file."""
    with os.scandir(folder) as entries:
        return sorted((e for e in entries if not _is_junk(e.name)), key=lambda e: e.name)


def _image_files(folder: Path) -> Iterator[str]:
    """Every image-named file below `folder`, in a stable order, skipping junk."""
    for current, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _is_junk(d))
        for name in sorted(files):
            if not _is_junk(name) and _is_image_name(name):
                yield os.path.join(current, name)


def _count_other_files(folder: Path) -> int:
    return sum(
        1
        for _, dirs, files in os.walk(folder)
        for name in files
        if not _is_junk(name) and not _is_image_name(name)
    )


def _look_through_wrappers(root: Path) -> tuple[Path, list[os.DirEntry]]:
    """Descend through folders that hold nothing but one subfolder (a zip's top folder, `PetImages/`)."""
    while True:
        entries = _entries(root)
        if len(entries) == 1 and entries[0].is_dir() and SPLIT_ALIASES.get(entries[0].name.lower()) is None:
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


def _from_split_folders(splits: dict[str, Path]) -> tuple[list[FoundImage], int]:
    images: list[FoundImage] = []
    ignored = 0
    for split, folder in splits.items():
        entries = _entries(folder)
        folders = [Path(e.path) for e in entries if e.is_dir()]
        if folders:
            found, skipped = _from_class_folders(folder, folders, entries, split=split)
        else:
            found, skipped = _from_flat_names(entries, split=split)
        images += found
        ignored += skipped
    return images, ignored


def _from_class_folders(
    root: Path, folders: list[Path], entries: list[os.DirEntry], split: str | None
) -> tuple[list[FoundImage], int]:
    """Images inside each class folder (at any depth); loose files beside the folders are passed over."""
    images = [FoundImage(path=path, label=folder.name, split=split) for folder in folders
              for path in _image_files(folder)]
    loose = sum(1 for e in entries if e.is_file())
    return images, loose + sum(_count_other_files(folder) for folder in folders)


def _from_flat_names(entries: list[os.DirEntry], split: str | None) -> tuple[list[FoundImage], int]:
    images: list[FoundImage] = []
    ignored = 0
    for entry in entries:
        label = _name_prefix(entry.name)
        if entry.is_file() and label and _is_image_name(entry.name):
            images.append(FoundImage(path=entry.path, label=label, split=split))
        elif entry.is_file():
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


def _require_two_classes(root: Path, images: list[FoundImage]) -> None:
    if not images:
        raise LabError(
            f"No images found in {root}. Expected class folders (root/cats/*.jpg), split folders "
            f"(root/train/cats/*.jpg) or Kaggle names (root/cat.1.jpg), in JPEG, PNG, BMP, GIF or WebP."
        )
    labels = sorted({image.label for image in images})
    if len(labels) < 2:
        raise LabError(
            f"Only one class ({labels[0]!r}) found in {root}: a classifier needs at least two. "
            f"Put each class in its own folder (root/cats, root/dogs) or name files cat.1.jpg, dog.1.jpg."
        )
