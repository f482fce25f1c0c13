"""Paths as the user gave them, compared by where they really lead.

A data folder may be a link to a mounted disk, and `../shared` may itself be a link. The lab keeps and
shows every path the way the user or the settings named it — made absolute, `~` and `..` folded, links
left in place — so the page shows what was typed. Whenever two paths are compared, or a path is checked
against the folders the lab may read, both sides are resolved first, so a link and its target agree.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def absolute(path: str | Path) -> Path:
    """`path` made absolute without resolving links (`~` expanded, `.` and `..` folded by name)."""
    return Path(os.path.abspath(Path(path).expanduser()))


def same_path(first: str | Path, second: str | Path) -> bool:
    """Whether two paths lead to the same place (through any links)."""
    return Path(first).resolve() == Path(second).resolve()


def within(path: str | Path, folders: Iterable[str | Path]) -> bool:
    """Whether `path` really lies inside one of `folders` (resolved on both sides)."""
    real = Path(path).resolve()
    return any(real.is_relative_to(Path(folder).resolve()) for folder in folders)
