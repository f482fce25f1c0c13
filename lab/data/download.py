"""Download the tutorials' sample dataset: Google's `cats_and_dogs_filtered` (2,000 + 1,000 images).

Where there is no internet the download fails within seconds with a message that says so in plain words
and names the copies of the sample already on this server (`local_samples`), instead of hanging a page or
showing a socket error such as "[Errno -2] Name or service not known".

`TRANSFER_LAB_SAMPLE_URL` replaces Google's address, for a classroom that serves the zip on its own
network (and for tests, which point it at an address that cannot answer).

A zip is used as the sample only if the lab downloaded it: downloads are kept in the workspace's cache
(`<workspace>/cache/downloads`), which uploads cannot write (they land in the datasets folder), so an
upload named `cats_and_dogs_filtered.zip` is just an upload. Google's zip is also verified before use:
its published size, and the names, sizes and CRC-32s of its 3,000 JPEGs (`SAMPLE_IMAGES_DIGEST`,
computed from an unpacked copy; Google publishes no SHA-256 of it). A zip that fails is deleted.
"""

from __future__ import annotations

import hashlib
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path

from lab.data.archive import extract_zip
from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.settings import Settings, load_settings

SAMPLE_DATASET_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
TIMEOUT_SECONDS = 10
SAMPLE_ZIP_BYTES = 68_606_236  # the Content-Length Google's storage serves for it
# SHA-256 of the sorted "name<TAB>size<TAB>crc32" lines of the zip's .jpg members (the CRC-32s and sizes
# a zip's directory records), computed from ../shared/data/cats_and_dogs_filtered.
SAMPLE_IMAGES_DIGEST = "82830046ad67af3dec9fd89d79ea3d02d1bb8baf0168463e7ea4f7eff77863cf"


def sample_url() -> str:
    """Where the sample is downloaded from: `TRANSFER_LAB_SAMPLE_URL`, else Google's storage."""
    return load_settings().sample_url or SAMPLE_DATASET_URL


def download_sample(
    settings: Settings, *, url: str | None = None, on_progress: Progress = no_progress
) -> Path:
    """Fetch the zip (from `url`, else `sample_url()`) once into the workspace's datasets folder, unpack it,
    and return the dataset folder."""
    url = url or sample_url()
    archive = settings.downloads_dir / Path(url).name
    if not archive.exists():
        try:
            _fetch(url, archive, on_progress)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise LabError(_unavailable(url, error, local_samples(settings, url=url),
                                        settings.datasets_dir)) from error
    if url == SAMPLE_DATASET_URL:
        verify_sample(archive)
    return extract_zip(archive, settings.datasets_dir, on_progress=on_progress)


def verify_sample(archive: Path) -> None:
    """Delete `archive` and raise `LabError` unless it is Google's published sample zip."""
    problem = _sample_problem(archive)
    if problem:
        archive.unlink(missing_ok=True)
        raise LabError(f"The downloaded {archive.name} is not the published sample ({problem}), so it was deleted. "
                       "Download it again; if this repeats, something between this server and Google changes it.")


def _sample_problem(archive: Path) -> str | None:
    size = archive.stat().st_size
    if size != SAMPLE_ZIP_BYTES:
        return f"{size:,} bytes where the published zip has {SAMPLE_ZIP_BYTES:,}"
    try:
        with zipfile.ZipFile(archive) as bundle:
            rows = sorted(f"{m.filename}\t{m.file_size}\t{m.CRC:08x}" for m in bundle.infolist()
                          if m.filename.lower().endswith(".jpg"))
    except (zipfile.BadZipFile, OSError) as error:
        return f"not a readable zip: {error}"
    if hashlib.sha256("\n".join(rows).encode()).hexdigest() != SAMPLE_IMAGES_DIGEST:
        return f"its {len(rows):,} images are not the published 3,000"
    return None


def local_samples(settings: Settings, *, url: str | None = None) -> list[Path]:
    """Folders named like the sample (`cats_and_dogs_filtered`) directly in the data folders: copies that
    were put on this server by hand, which a machine without internet can scan instead."""
    name = Path(urllib.parse.urlparse(url or sample_url()).path).stem
    return [folder / name for folder in settings.data_dirs if (folder / name).is_dir()]


def _fetch(url: str, archive: Path, on_progress: Progress) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=archive.parent, prefix=".download-", delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                _copy_with_progress(response, partial, int(response.headers.get("Content-Length") or 0),
                                    on_progress)
            Path(partial.name).rename(archive)
        finally:
            Path(partial.name).unlink(missing_ok=True)


def _unavailable(url: str, error: Exception, copies: list[Path], destination: Path) -> str:
    """What went wrong in words, then the way on: a copy on this server if there is one, else by hand."""
    host = urllib.parse.urlparse(url).hostname or url
    if isinstance(error, urllib.error.HTTPError):
        what = f"The download server {host} answered {error.code} {error.reason} for the sample dataset."
    elif isinstance(error, (urllib.error.URLError, TimeoutError, ConnectionError)):
        # the name did not resolve, or the connection was refused, reset or timed out: no network
        what = f"No internet connection: this server could not reach {host} to download the sample dataset."
    else:
        what = f"The sample dataset could not be downloaded ({error})."
    if copies:
        where = ", ".join(f"{copy.name} in {copy.parent}" for copy in copies)
        return (f"{what} This server already has a copy ({where}): scan it instead, on the Dataset page "
                f"or with `python -m lab scan {copies[0]}`.")
    return (f"{what} Download {url} on a machine with internet and upload the zip on the Dataset page, or "
            f"unpack it into {destination}.")


def _copy_with_progress(response, sink, total: int, on_progress: Progress) -> None:
    done = 0
    for block in iter(lambda: response.read(1 << 20), b""):
        sink.write(block)
        done += len(block)
        on_progress(done, max(total, done), "downloading sample dataset")
    sink.flush()
