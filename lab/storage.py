"""Files the lab writes and shares between processes: atomic writes, an exclusive lock, content hashes.

Atomic writes mean a crash or a concurrent reader never sees half a file. The lock is an OS lock
(`flock`) that its holder's death releases, so a killed worker can never leave one stuck.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from lab.errors import LabError

CHUNK = 1 << 20  # bytes read at a time when hashing, so a large file never sits in memory whole
READABLE = 0o644  # what an ordinary file gets: its owner writes, everyone reads
TEMPORARY_MODEL_SUFFIX = ".tmp.keras"
FULL = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded"}  # write errors space cures


def write_bytes_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename it over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, READABLE)  # mkstemp makes files private; the lab's files are meant to be read and shared
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def temporary_model(path: Path, pid: int) -> Path:
    """Where process `pid` writes a model before renaming it to `path`: `.best.1234.tmp.keras` beside
    `best.keras`. Hidden, and named after its writer, so a killed save's leftover is told from a live one
    (`lab.leftovers`)."""
    return path.with_name(f".{path.stem}.{pid}{TEMPORARY_MODEL_SUFFIX}")


def write_json_atomic(path: Path, value: Any) -> None:
    write_bytes_atomic(path, json.dumps(value, indent=2, sort_keys=True, default=str).encode())


def read_json(path: Path, default: Any = None) -> Any:
    """Read a JSON file, or return `default` when it does not exist."""
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return default


@contextmanager
def writing(what: str) -> Iterator[None]:
    """Turn a write error in the block into a `LabError` naming what was being written and the way on:
    "no space left on device while saving the best checkpoint (best.keras); free space and launch again"."""
    try:
        yield
    except OSError as error:
        if error.errno in FULL:
            raise LabError(f"{FULL[error.errno]} while {what}; free space and launch again") from error
        raise LabError(f"{error.strerror or error} while {what}") from error


STAGING_MARK = "staging-"  # in a registered staging folder's name, before its writer's pid


@contextmanager
def registered_staging(parent: Path, prefix: str, registry: Path) -> Iterator[Path]:
    """A hidden temporary folder in `parent` (beside where its result is renamed into place, so on the same
    disk), entered in `registry` with its writer's pid while it lives: an export may stage anywhere a person
    points it, and `lab.leftovers` finds a killed writer's folder through the registry, never by searching."""
    registry.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=f"{prefix}{STAGING_MARK}{os.getpid()}.") as folder:
        entry = registry / f"{os.getpid()}-{Path(folder).name.lstrip('.')}"
        entry.write_text(folder)
        try:
            yield Path(folder)
        finally:
            entry.unlink(missing_ok=True)


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created if missing) for the `with` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def file_digest(path: str | Path, algorithm: str = "sha256", *, digest_size: int | None = None) -> str:
    """The hex digest of a file's bytes, read in chunks ("sha256"; "blake2b" takes a `digest_size`)."""
    digest = hashlib.new(algorithm, **({"digest_size": digest_size} if digest_size else {}))
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()
