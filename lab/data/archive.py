"""Unpack an uploaded or downloaded zip into the workspace without trusting its member names or sizes.

Members with absolute paths, `..` components or symbolic links would write outside the destination
(the "zip slip"), and `__MACOSX/` holds resource-fork junk; all are skipped. Extraction goes to a
temporary folder that is renamed into place only when complete, so a failure or a refusal leaves
nothing behind, and the same zip is unpacked once.

Zip bombs (a 1 MB zip of zeros that unpacks to 1 GiB) are refused twice over: before extraction from
the central directory (member count, each member's compression ratio, the total unpacked size), and
during it by counting the bytes actually written, since a header can lie about the sizes.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.storage import CHUNK, file_digest, write_bytes_atomic

# Photos barely compress, so an honest zip unpacks to about its own size: 4 x the Dataset page's upload
# limit (server.maxUploadSize = 1024 MB in .streamlit/config.toml) leaves room for PNGs and never
# refuses a real photo collection, while a bomb stops at 4 GiB instead of filling the disk.
MAX_UNPACKED_BYTES = 4 * 2**30
DISK_RESERVE = 2**30  # never unpack into the last GiB of free disk: runs and checkpoints need it too
# The full Kaggle "Dogs vs. Cats" set has 25,000 files; 200,000 is 8x that, far below what makes a
# million empty files' worth of folder entries and scan rows.
MAX_MEMBERS = 200_000
# JPEGs compress about 1:1 and even flat PNGs rarely pass 20:1; zeros compress 1000:1. Members that
# unpack to less than RATIO_FLOOR are never refused for their ratio (a tiny flat icon may compress well).
MAX_RATIO = 100
RATIO_FLOOR = 2**20
# A zip's whole contents against its own size: many members just under RATIO_FLOOR each (1 MiB of zeros is
# 1 KiB zipped) passed the per-member check, and a 1.3 MB zip wrote 1 GiB. Photos unpack to about their zip's
# size; a zip may unpack to MAX_TOTAL_RATIO times its own size, or TOTAL_FLOOR, whichever is more.
MAX_TOTAL_RATIO = 20
TOTAL_FLOOR = 16 * 2**20


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def extract_zip(archive: Path, datasets_dir: Path, *, on_progress: Progress = no_progress) -> Path:
    """Extract `archive` under `datasets_dir` (once per distinct zip) and return the folder."""
    destination = datasets_dir / f"{_safe_stem(archive)}-{_fingerprint(archive)}"
    if destination.is_dir():
        return destination
    datasets_dir.mkdir(parents=True, exist_ok=True)
    budget = _Budget(archive.name, min(unpacked_limit(datasets_dir), ratio_limit(archive.stat().st_size)))
    members = _safe_members(_open(archive), archive, budget)
    staging = Path(tempfile.mkdtemp(dir=datasets_dir, prefix=".extracting-"))
    try:
        with zipfile.ZipFile(archive) as bundle:
            for done, member in enumerate(members, start=1):
                _extract_member(bundle, member, staging, budget)
                if done % 200 == 0 or done == len(members):
                    on_progress(done, len(members), "unpacking zip")
        staging.rename(destination)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise LabError(
            f"Could not unpack {archive.name}: {error}. The zip may be damaged; create it again."
        ) from error
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return destination


def store_upload(data: bytes, name: str, datasets_dir: Path) -> Path:
    """Keep an uploaded zip in `datasets_dir` under its own name, and never over another file.

    The same bytes uploaded again reuse the file already there; different bytes under a taken name go to
    `name-2.zip`, `name-3.zip`, ...: an upload must not replace the zip someone uploaded before it.
    """
    base = Path(_safe_stem(Path(name)))
    for number in range(1, 10_000):
        target = datasets_dir / f"{base}{'' if number == 1 else f'-{number}'}.zip"
        if not target.exists():
            write_bytes_atomic(target, data)
            return target
        if target.stat().st_size == len(data) and target.read_bytes() == data:
            return target
    raise LabError(f"{datasets_dir} already holds 10,000 uploads named {base}: rename the zip, then upload it.")


def unpacked_limit(datasets_dir: Path) -> int:
    """The most bytes one zip may unpack to here: `MAX_UNPACKED_BYTES`, or less when the disk is fuller."""
    free = shutil.disk_usage(datasets_dir).free
    return max(0, min(MAX_UNPACKED_BYTES, free - DISK_RESERVE))


def ratio_limit(archive_bytes: int) -> int:
    """The most bytes a zip of `archive_bytes` may unpack to, whatever the disk holds: `MAX_TOTAL_RATIO` times
    its size, never less than `TOTAL_FLOOR`."""
    return max(TOTAL_FLOOR, MAX_TOTAL_RATIO * archive_bytes)


@dataclass
class _Budget:
    """Bytes a zip may still write; `spend` refuses the zip the moment it would write more."""

    archive: str
    limit: int
    spent: int = 0

    def refusal(self, unpacked: int) -> LabError:
        return LabError(
            f"{self.archive} was refused: it unpacks to {_size(unpacked)} or more, over the {_size(self.limit)} "
            f"it may unpack to here (at most {MAX_TOTAL_RATIO} times its own size, 4 x the upload limit, within "
            "the free disk): a zip bomb, or a dataset too large for an upload. Unpack it yourself on the server "
            "and scan the folder.")

    def spend(self, size: int) -> None:
        self.spent += size
        if self.spent > self.limit:
            raise self.refusal(self.spent)


def _size(count: int) -> str:
    """"1.5 GiB", "40 MiB" or "5,000 bytes"."""
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{count / 2**20:.0f} MiB" if count >= 2**20 else f"{count:,} bytes"


def _open(archive: Path) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(archive) as bundle:
            return bundle.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise LabError(
            f"{archive.name} is not a readable zip file ({error}). Upload a .zip of a folder of images."
        ) from error


def _safe_members(members: list[zipfile.ZipInfo], archive: Path, budget: _Budget) -> list[zipfile.ZipInfo]:
    """The members to unpack, after the central directory's figures pass every limit."""
    if len(members) > MAX_MEMBERS:
        raise LabError(f"{archive.name} was refused: it holds {len(members):,} entries, more than the "
                       f"{MAX_MEMBERS:,} a dataset zip may have. Unpack it yourself on the server and scan the folder.")
    safe = [m for m in members if not m.is_dir() and _is_safe(m)]
    for member in safe:
        if member.file_size > RATIO_FLOOR and member.file_size > MAX_RATIO * max(member.compress_size, 1):
            raise LabError(
                f"{archive.name} was refused: {member.filename} is compressed "
                f"{member.file_size // max(member.compress_size, 1):,}:1, more than the {MAX_RATIO}:1 a photo "
                "ever is (a zip bomb?). Zip the photos themselves.")
    declared = sum(m.file_size for m in safe)
    if declared > budget.limit:
        raise budget.refusal(declared)
    if not safe:
        raise LabError(f"{archive.name} holds no files that can be unpacked safely.")
    return safe


def _is_safe(member: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(member.filename.replace("\\", "/"))
    is_link = stat.S_ISLNK(member.external_attr >> 16)
    return not (name.is_absolute() or ".." in name.parts or is_link or "__MACOSX" in name.parts
                or (name.parts and name.parts[0].endswith(":")))


def _extract_member(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, staging: Path, budget: _Budget) -> None:
    """Copy one member in chunks, counting every byte against the zip's budget.

    `zipfile` never returns more than a member's declared size (a member whose data runs longer fails
    its CRC check and the zip is refused as damaged), so the budget is what stops a directory whose
    figures were wrong in sum, or a disk that filled meanwhile.
    """
    target = staging.joinpath(*PurePosixPath(member.filename.replace("\\", "/")).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with bundle.open(member) as source, open(target, "wb") as sink:
        for block in iter(lambda: source.read(CHUNK), b""):
            budget.spend(len(block))
            sink.write(block)


def _safe_stem(archive: Path) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in archive.stem)[:60] or "dataset"


def _fingerprint(archive: Path) -> str:
    return file_digest(archive, "blake2b", digest_size=6)
