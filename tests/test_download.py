"""The sample-dataset download, over real HTTP on loopback, and its message where there is no network."""

from __future__ import annotations

import http.server
import io
import os
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from lab.data import download_sample, scan
from lab.data.download import SAMPLE_DATASET_URL, SAMPLE_ZIP_BYTES, local_samples
from lab.errors import LabError
from lab.settings import load_settings
from tests import corpus
from tests.conftest import FILTERED

UNRESOLVABLE = "http://sample.invalid/cats_and_dogs_filtered.zip"  # .invalid never resolves (RFC 2606)
CLOSED_PORT = "http://127.0.0.1:9/cats_and_dogs_filtered.zip"  # the discard port: nothing listens


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """A zip of a small split-folder dataset, served by a real HTTP server on 127.0.0.1."""
    site = tmp_path / "site"
    site.mkdir()
    data = corpus.class_folders(tmp_path / "src" / "cats_and_dogs_filtered" / "train", per_class=3)
    corpus.class_folders(data.parent / "validation", per_class=2, seed=500)
    with zipfile.ZipFile(site / "cats_and_dogs_filtered.zip", "w") as bundle:
        for path in sorted((tmp_path / "src").rglob("*.jpg")):
            bundle.write(path, path.relative_to(tmp_path / "src"))
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/cats_and_dogs_filtered.zip"
    server.shutdown()


def test_download_unpacks_a_scannable_dataset_once(served: str, workspace: Path) -> None:
    progress: list[tuple[int, int, str]] = []
    folder = download_sample(load_settings(), url=served, on_progress=lambda *p: progress.append(p))
    report = scan(folder)
    assert report.layout == "split_folders" and report.valid == 10
    assert any(message == "downloading sample dataset" for _, _, message in progress)
    assert download_sample(load_settings(), url=CLOSED_PORT) == folder


def test_no_network_says_so_names_the_copy_on_this_server_and_leaves_nothing_behind(workspace: Path) -> None:
    settings = load_settings()  # its data folders are ../shared/data, which holds cats_and_dogs_filtered
    assert local_samples(settings) == [FILTERED]
    with pytest.raises(LabError) as failure:
        download_sample(settings, url=UNRESOLVABLE)
    message = str(failure.value)
    assert message.startswith("No internet connection: this server could not reach sample.invalid")
    assert f"already has a copy (cats_and_dogs_filtered in {FILTERED.parent})" in message
    assert "Errno" not in message and "Name or service" not in message
    assert list(settings.datasets_dir.iterdir()) == []


def test_no_network_and_no_copy_says_how_to_bring_the_zip(workspace: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(tmp_path / "empty"))
    settings = load_settings()
    assert local_samples(settings) == []
    with pytest.raises(LabError, match="^No internet connection: .* upload the zip on the Dataset page"):
        download_sample(settings, url=CLOSED_PORT)


# The sample is verified: only a zip the lab downloaded, and only Google's published one, is used as the sample.

def _downloaded(settings, data: bytes | None = None, *, size: int | None = None) -> Path:
    """A zip where the lab keeps its downloads, as if it had fetched it."""
    archive = settings.cache_dir / "downloads" / "cats_and_dogs_filtered.zip"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(data or b"")
    if size:
        os.truncate(archive, size)
    return archive


def _sample_like(path: Path, *, forged: str = "") -> Path:
    """The 3,000 photos of ../shared zipped (the one named `forged` replaced by another photo), padded to
    exactly the published zip's size."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        for photo in sorted(FILTERED.rglob("*.jpg")):
            name = photo.relative_to(FILTERED.parent).as_posix()
            if name == forged:
                bundle.writestr(name, corpus.jpeg_bytes(corpus.photo(1)))
            else:
                bundle.write(photo, name)
    name = "cats_and_dogs_filtered/vectorize.py"
    padding = SAMPLE_ZIP_BYTES - path.stat().st_size - 2 * len(name) - 30 - 46
    with zipfile.ZipFile(path, "a", zipfile.ZIP_STORED) as bundle:
        bundle.writestr(name, b"#" * padding)
    assert path.stat().st_size == SAMPLE_ZIP_BYTES
    return path


def test_the_published_sample_is_verified_and_unpacked(workspace: Path) -> None:
    settings = load_settings()
    _sample_like(_downloaded(settings))
    folder = download_sample(settings, url=SAMPLE_DATASET_URL)
    assert len(list(folder.rglob("*.jpg"))) == 3000


@pytest.mark.parametrize("fake, problem", [
    ("corpus zip", "bytes where the published zip has 68,606,236"),
    ("right size, not a zip", "not a readable zip"),
    ("right size, other photos", "are not the published 3,000"),
])
def test_a_fake_sample_zip_is_refused_and_deleted(workspace: Path, tmp_path: Path, fake: str, problem: str) -> None:
    settings = load_settings()
    if fake == "corpus zip":
        archive = _downloaded(settings, _zipped(corpus.class_folders(tmp_path / "src")))
    elif fake == "right size, not a zip":
        archive = _downloaded(settings, size=SAMPLE_ZIP_BYTES)
    else:
        archive = _sample_like(_downloaded(settings), forged="cats_and_dogs_filtered/train/cats/cat.0.jpg")
    with pytest.raises(LabError, match=f"is not the published sample \\(.*{problem}"):
        download_sample(settings, url=SAMPLE_DATASET_URL)
    assert not archive.exists() and list(settings.datasets_dir.iterdir()) == []


def test_an_upload_named_like_the_sample_is_never_taken_for_it(workspace: Path, tmp_path: Path) -> None:
    settings = load_settings()
    upload = settings.datasets_dir / "cats_and_dogs_filtered.zip"  # where the Dataset page saves uploads
    upload.write_bytes(_zipped(corpus.class_folders(tmp_path / "src")))
    with pytest.raises(LabError, match="^No internet connection"):
        download_sample(settings, url=UNRESOLVABLE)
    assert list(settings.datasets_dir.iterdir()) == [upload]


def _zipped(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for path in sorted(folder.rglob("*.jpg")):
            bundle.write(path, path.relative_to(folder.parent))
    return buffer.getvalue()
