"""A run's labels: its display name and the tags a person gives it, kept in `labels.json` in the run folder.

A run gets its name when it is made (`lab.runs.names` says it from the config, or a replay or study names its
rows); a person may rename it. Labels are the only part of a run a person edits after it is made, so they live
in their own file: the worker never writes it, and renaming or tagging a run that is training cannot race its
`status.json`.
Names and tags are checked up front (scikit-learn style: the message names the value and what is allowed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.run_files import RunFiles
from lab.storage import file_lock, read_json, write_json_atomic

MAX_NAME = 80
_TAG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,39}$")


@dataclass(frozen=True)
class Labels:
    """A run's display name ("" = none: the name its config gives it is shown) and its tags, sorted and unique."""

    name: str = ""
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "tags": list(self.tags)}


def check_name(name: str) -> str:
    """`name` stripped; one line of at most `MAX_NAME` characters ("" clears the name)."""
    name = name.strip()
    if "\n" in name or "\r" in name or len(name) > MAX_NAME:
        raise LabError(f"Run name {name[:20]!r}...: a name is one line of at most {MAX_NAME} characters.")
    return name


def check_tag(tag: str) -> str:
    tag = tag.strip()
    if not _TAG.match(tag):
        raise LabError(f"Tag {tag!r}: a tag is one word of at most 40 letters, digits, '_', '.', '+' or '-', "
                       "starting with a letter or digit (e.g. baseline, 20k, vgg16-repro).")
    return tag


def read_labels(run_dir: Path) -> Labels:
    """The run's labels; a missing or damaged `labels.json` reads as no labels, never an error."""
    try:
        value = read_json(RunFiles(Path(run_dir)).labels, default={}) or {}
        return Labels(str(value.get("name") or ""), tuple(sorted({str(t) for t in value.get("tags") or ()})))
    except (ValueError, AttributeError, TypeError):
        return Labels()


def rename(run_dir: Path, name: str) -> Labels:
    """Give the run a display name ("" removes it)."""
    return _change(run_dir, lambda labels: Labels(check_name(name), labels.tags))


def tag(run_dir: Path, tags: list[str]) -> Labels:
    """Add `tags` to the run (a tag it has already is kept once)."""
    added = {check_tag(t) for t in _some(tags)}
    return _change(run_dir, lambda labels: Labels(labels.name, tuple(sorted(set(labels.tags) | added))))


def untag(run_dir: Path, tags: list[str]) -> Labels:
    """Remove `tags` from the run (a tag it does not have is ignored)."""
    removed = {t.strip() for t in _some(tags)}
    return _change(run_dir, lambda labels: Labels(labels.name, tuple(t for t in labels.tags if t not in removed)))


def _some(tags: list[str]) -> list[str]:
    if not tags:
        raise LabError("No tags given: name at least one, e.g. baseline.")
    return tags


def _change(run_dir: Path, edit) -> Labels:
    """Read, edit and write `labels.json` under a lock, so two tabs tagging at once both count."""
    files = RunFiles(Path(run_dir))
    with file_lock(files.labels_lock):
        labels = edit(read_labels(files.root))
        write_json_atomic(files.labels, labels.to_dict())
    return labels
