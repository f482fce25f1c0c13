"""Download the tutorials' sample dataset: Google's `cats_and_dogs_filtered` (2,000 + 1,000 images).

Where there is no internet the download fails within seconds with a message that says how to bring the
data in by hand, instead of hanging a page.
"""

from __future__ import annotations

import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from lab.data.archive import extract_zip
from lab.errors import LabError
from lab.progress import Progress, no_progress
from lab.settings import Settings

SAMPLE_DATASET_URL = "https://storage.googleapis.com/mledu-datasets/cats_and_dogs_filtered.zip"
TIMEOUT_SECONDS = 10


def download_sample(
    settings: Settings, *, url: str = SAMPLE_DATASET_URL, on_progress: Progress = no_progress
) -> Path:
    """Fetch the zip once into the workspace's datasets folder, unpack it, and return the dataset folder."""
    archive = settings.datasets_dir / Path(url).name
    if not archive.exists():
        _fetch(url, archive, on_progress)
    return extract_zip(archive, settings.datasets_dir, on_progress=on_progress)


def _fetch(url: str, archive: Path, on_progress: Progress) -> None:
    archive.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=archive.parent, prefix=".download-", delete=False) as partial:
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
                _copy_with_progress(response, partial, int(response.headers.get("Content-Length") or 0),
                                    on_progress)
            Path(partial.name).rename(archive)
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise LabError(
                f"Could not download {url} ({_reason(error)}). This machine may have no internet: download "
                f"the zip elsewhere and upload it on the Dataset page, or unpack it into {archive.parent}."
            ) from error
        finally:
            Path(partial.name).unlink(missing_ok=True)


def _copy_with_progress(response, sink, total: int, on_progress: Progress) -> None:
    done = 0
    for block in iter(lambda: response.read(1 << 20), b""):
        sink.write(block)
        done += len(block)
        on_progress(done, max(total, done), "downloading sample dataset")
    sink.flush()


def _reason(error: Exception) -> str:
    return str(getattr(error, "reason", None) or error)
