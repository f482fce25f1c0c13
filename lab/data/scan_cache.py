"""Remember file checks by (path, size, mtime), so a second scan of 20,000 files is near instant.

SQLite rather than a JSON file: many processes (the app, the CLI, training workers) may scan at once,
and a lookup reads only the rows under the scanned folder. One column per `FileCheck` field keeps the
warm path free of parsing. A path that is not valid UTF-8 cannot be SQLite text: it is never stored
(and a folder so named has no rows), so such a file is simply checked again by every scan.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from contextlib import closing
from dataclasses import astuple, fields
from pathlib import Path

from lab.data.records import FileCheck

_COLUMNS = [f.name for f in fields(FileCheck)]
_SCHEMA = f"CREATE TABLE IF NOT EXISTS checks_v1 (path TEXT PRIMARY KEY, {', '.join(_COLUMNS)})"


class ScanCache:
    """A persistent map from a file's path to what checking it found, with the size and mtime it had."""

    def __init__(self, database: Path) -> None:
        database.parent.mkdir(parents=True, exist_ok=True)
        self._database = database
        with closing(self._connect()) as connection, connection:
            connection.execute(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._database, timeout=30)

    def lookup(self, folder: Path) -> dict[str, FileCheck]:
        """Every remembered check for files under `folder` (a range scan over the sorted primary key)."""
        prefix = str(folder).rstrip("/") + "/"
        if not is_utf8(prefix):
            return {}
        with closing(self._connect()) as connection:
            rows = connection.execute(
                f"SELECT path, {', '.join(_COLUMNS)} FROM checks_v1 WHERE path >= ? AND path < ?",
                (prefix, prefix[:-1] + "0"),
            ).fetchall()
        return {row[0]: FileCheck(*row[1:]) for row in rows}

    def store(self, checks: Iterable[tuple[str, FileCheck]]) -> None:
        rows = [(path, *astuple(check)) for path, check in checks if is_utf8(path)]
        placeholders = ", ".join("?" * (len(_COLUMNS) + 1))
        with closing(self._connect()) as connection, connection:
            connection.executemany(f"INSERT OR REPLACE INTO checks_v1 VALUES ({placeholders})", rows)


def is_utf8(path: str) -> bool:
    """Whether `path` is valid UTF-8 text (os.walk keeps undecodable name bytes as lone surrogates)."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
