"""The sample-dataset download, over real HTTP on loopback, and its message where there is no network."""

from __future__ import annotations

import http.server
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from lab.data import download_sample, scan
from lab.data.download import local_samples
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
