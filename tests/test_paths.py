"""A data folder and a weights folder reached through symbolic links: the lab keeps the paths the user
gave, and compares and allow-lists them by where they really lead."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.access import allowed_data_path
from lab.data import scan
from lab.errors import LabError
from lab.runs import jobs
from lab.settings import load_settings
from lab.training.backbones import BACKBONES
from lab.training.config import TrainConfig
from lab.training.weights import resolve_weights, weights_available
from lab.workspace import dataset_folders
from tests.conftest import FILTERED, TINY_MOBILENET

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """`linked/` is a symbolic link to `real/`, which holds `data/pets/{cats,dogs}` of real photos and
    `weights/` with the tiny MobileNet file; the settings name the folders through the link."""
    real = tmp_path / "real"
    for label in ("cats", "dogs"):
        (real / "data" / "pets" / label).mkdir(parents=True)
        for photo in sorted((FILTERED / "train" / label).iterdir())[:20]:
            (real / "data" / "pets" / label / photo.name).write_bytes(photo.read_bytes())
    (real / "weights").mkdir()
    (real / "weights" / TINY_MOBILENET.name).write_bytes(TINY_MOBILENET.read_bytes())
    (real / "outside").mkdir()
    (real / "data" / "escape").symlink_to(real / "outside")
    linked = tmp_path / "linked"
    linked.symlink_to(real)
    monkeypatch.setenv("TRANSFER_LAB_WORKSPACE", str(tmp_path / "workspace"))
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(linked / "data"))
    monkeypatch.setenv("TRANSFER_LAB_WEIGHTS_DIR", str(linked / "weights"))
    return linked


def test_data_paths_keep_the_link_and_are_allowed_by_where_they_lead(linked: Path) -> None:
    settings = load_settings()
    pets = linked / "data" / "pets"
    assert linked / "data" in settings.data_dirs
    assert allowed_data_path(settings, "pets") == pets
    assert allowed_data_path(settings, str(pets)) == pets
    assert allowed_data_path(settings, str(pets.resolve())) == pets.resolve()  # the target is inside too
    assert pets in dataset_folders(settings)
    assert scan(pets, settings=settings).root == pets
    with pytest.raises(LabError, match="is not a dataset folder this lab can read"):
        allowed_data_path(settings, "escape")  # a link inside a data folder that leads out of it


def test_weights_found_through_the_link_are_named_as_the_settings_name_them(linked: Path) -> None:
    settings = load_settings()
    expected = str(linked / "weights" / TINY_MOBILENET.name)
    assert expected in weights_available(settings)["mobilenet"]
    source = resolve_weights(BACKBONES["mobilenet"], TINY_MOBILENET.name, image_size=128, settings=settings)
    assert source.path == expected and source.alpha == 0.25


@pytest.mark.slow  # a training in a subprocess
def test_a_run_trains_on_a_linked_data_folder_with_linked_weights(linked: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "lab", "train", "--data", "pets", "--backbone", "mobilenet", "--weights",
         TINY_MOBILENET.name, "--strategy", "feature-extractor", "--image-size", "128", "--epochs", "1",
         "--batch-size", "8", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["status"] == "finished" and result["train_images"] == 32
    assert result["weights"]["path"] == str(linked / "weights" / TINY_MOBILENET.name)
    assert Path(result["run_dir"]).parent == load_settings().runs_dir


@pytest.mark.slow  # a real worker trains
def test_a_background_worker_finds_the_lab_from_any_working_folder(
        linked: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # the worker cannot import `lab` from its working folder
    monkeypatch.delenv("PYTHONPATH", raising=False)
    run = jobs.launch(TrainConfig(data="pets", backbone="mobilenet", weights=TINY_MOBILENET.name,
                                  strategy="feature-extractor", image_size=128, epochs=1, batch_size=8))
    deadline = time.monotonic() + 180
    while run.status().active and time.monotonic() < deadline:
        jobs.reconcile()  # as the pages poll: a worker that died is marked failed at once
        time.sleep(0.5)
    assert run.status().state == "finished", run.log_tail()
