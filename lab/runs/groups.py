"""Named JSON records of a group of runs (a study, a replay): saved, read back and listed newest first.

The runs stay ordinary runs; a record only says which runs belong together and why, so a page can show the
group while its runs are still queued, and after a restart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.storage import read_json, write_json_atomic


@dataclass(frozen=True)
class Records:
    """The records of one kind, one JSON file each in `folder`; `kind` names them in messages ("study")."""

    folder: Path
    kind: str

    def save(self, name: str, value: dict[str, Any]) -> Path:
        path = self.folder / f"{name}.json"
        write_json_atomic(path, value)
        return path

    def load(self, name: str) -> dict[str, Any]:
        value = read_json(self.folder / f"{name}.json")
        if value is None:
            raise LabError(f"No {self.kind} {name!r} in {self.folder}.")
        return value

    def names(self) -> list[str]:
        """Every record's name, newest first by its "created" time."""
        paths = self.folder.glob("*.json") if self.folder.is_dir() else []
        created = {path.stem: (read_json(path) or {}).get("created", "") for path in paths}
        return sorted(created, key=lambda name: (created[name], name), reverse=True)
