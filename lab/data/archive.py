"""Unpack an uploaded or downloaded zip into the workspace without trusting its member names.

Members with absolute paths, `..` components or symbolic links would write outside the destination
(the "zip slip"), and `__MACOSX/` holds resource-fork junk; all are skipped. Extraction goes to a
temporary folder that is renamed into place only when complete, so a failure leaves nothing half-made,
and the same zip is unpacked once.
"""

from __future__ import annotations

import shutil
import stat
import tempfile
import zipfile
from pathlib import Path, PurePosixPath

from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.storage import file_digest

MAX_UNPACKED_BYTES = 50 * 2**30
MAX_MEMBERS = 2_000_000


def is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def extract_zip(archive: Path, datasets_dir: Path, *, on_progress: Progress = no_progress) -> Path:
    """Extract `archive` under `datasets_dir` (once per distinct zip) and return the folder."""
    destination = datasets_dir / f"{_safe_stem(archive)}-{_fingerprint(archive)}"
    if destination.is_dir():
        return destination
    members = _safe_members(_open(archive), archive)
    datasets_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=datasets_dir, prefix=".extracting-"))
    try:
        with zipfile.ZipFile(archive) as bundle:
            for done, member in enumerate(members, start=1):
                _extract_member(bundle, member, staging)
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


def _open(archive: Path) -> list[zipfile.ZipInfo]:
    try:
        with zipfile.ZipFile(archive) as bundle:
            return bundle.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise LabError(
            f"{archive.name} is not a readable zip file ({error}). Upload a .zip of a folder of images."
        ) from error


def _safe_members(members: list[zipfile.ZipInfo], archive: Path) -> list[zipfile.ZipInfo]:
    safe = [m for m in members if not m.is_dir() and _is_safe(m)]
    if len(members) > MAX_MEMBERS or sum(m.file_size for m in safe) > MAX_UNPACKED_BYTES:
        raise LabError(f"{archive.name} would unpack to more than {MAX_UNPACKED_BYTES // 2**30} GiB or "
                       f"{MAX_MEMBERS:,} files: unpack it on the server and point the lab at the folder.")
    if not safe:
        raise LabError(f"{archive.name} holds no files that can be unpacked safely.")
    return safe


def _is_safe(member: zipfile.ZipInfo) -> bool:
    name = PurePosixPath(member.filename.replace("\\", "/"))
    is_link = stat.S_ISLNK(member.external_attr >> 16)
    return not (name.is_absolute() or ".." in name.parts or is_link or "__MACOSX" in name.parts
                or (name.parts and name.parts[0].endswith(":")))


def _extract_member(bundle: zipfile.ZipFile, member: zipfile.ZipInfo, staging: Path) -> None:
    target = staging.joinpath(*PurePosixPath(member.filename.replace("\\", "/")).parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with bundle.open(member) as source, open(target, "wb") as sink:
        shutil.copyfileobj(source, sink, length=1 << 20)


def _safe_stem(archive: Path) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in archive.stem)[:60] or "dataset"


def _fingerprint(archive: Path) -> str:
    return file_digest(archive, "blake2b", digest_size=6)
