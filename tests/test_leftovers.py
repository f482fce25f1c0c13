"""Leftovers of killed work: processes really killed mid-unpack, mid-download and mid-save leave their hidden
files; the next start (`python -m lab ...`) removes them, and never one that a live process still writes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import zipfile
from pathlib import Path

from lab.leftovers import STALE_SECONDS, clean_leftovers
from lab.settings import load_settings
from lab.storage import temporary_model
from tests.conftest import REPO, LabCli

KILL_MYSELF = "lambda *progress: os.kill(os.getpid(), signal.SIGKILL)"


def killed_in(code: str) -> None:
    """Run `code` in a Python process that kills itself with SIGKILL part-way (its `on_progress`)."""
    done = subprocess.run([sys.executable, "-c", f"import os, signal, sys\nfrom pathlib import Path\n{code}"],
                          cwd=REPO, capture_output=True, text=True, check=False, env={**os.environ})
    assert done.returncode == -9, done.stderr


def age(path: Path, seconds: float) -> None:
    """Make everything in `path` look `seconds` old, as if its process was killed that long ago."""
    then = time.time() - seconds
    for folder, _, files in os.walk(path) if path.is_dir() else [(path.parent, [], [path.name])]:
        for name in [*files, "."] if path.is_dir() else files:
            os.utime(Path(folder) / name, (then, then))


def test_the_next_start_removes_what_killed_work_left_and_keeps_live_work(
    workspace: Path, tmp_path: Path, lab_cli: LabCli
) -> None:
    settings = load_settings()
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for number in range(3):
            bundle.writestr(f"pets/cats/cat.{number}.jpg", b"not decoded")
    datasets, run = settings.datasets_dir, settings.runs_dir / "20261130-120000-mobilenet-frozen-0000"
    downloads = settings.downloads_dir
    run.mkdir(parents=True)
    downloads.mkdir(parents=True)
    killed_in(f"from lab.data.archive import extract_zip\nextract_zip(Path({str(archive)!r}), "
              f"Path({str(datasets)!r}), on_progress={KILL_MYSELF})")
    killed_in(f"from lab.data.download import _fetch\n_fetch({archive.as_uri()!r}, Path({str(downloads)!r}) / "
              f"'pets.zip', on_progress={KILL_MYSELF})")
    killed_in(f"from lab.storage import temporary_model\ntemporary_model(Path({str(run / 'best.keras')!r}), "
              f"os.getpid()).write_bytes(b'half a model')\nos.kill(os.getpid(), signal.SIGKILL)")
    left = sorted(path.name.split("-")[0].split(".")[1]
                  for path in [*datasets.iterdir(), *downloads.iterdir(), *run.iterdir()])
    assert left == ["best", "download", "extracting"]  # one of each, hidden

    unpacking = datasets / ".extracting-live"  # an unpack under way: a file was added a moment ago
    (unpacking / "cats").mkdir(parents=True)
    (unpacking / "cats" / "cat.9.jpg").write_bytes(b"not decoded")
    age(unpacking, STALE_SECONDS + 60)
    os.utime(unpacking / "cats")  # the folder it writes into changed just now
    saving = temporary_model(run / "model.keras", os.getpid())  # this live process is saving it
    saving.write_bytes(b"being written")
    downloading = downloads / ".download-live"
    downloading.write_bytes(b"arriving")
    for path in [*datasets.iterdir(), *downloads.iterdir()]:
        if path not in (unpacking, downloading):
            age(path, STALE_SECONDS + 60)  # the killed ones, long ago

    assert lab_cli("runs").returncode == 0  # a start of the lab
    assert [path.name for path in datasets.iterdir()] == [".extracting-live"]
    assert [path.name for path in downloads.iterdir()] == [".download-live"]
    assert [path.name for path in run.iterdir()] == [saving.name]


def test_a_fresh_staging_folder_is_kept_until_it_has_been_still_for_a_while(workspace: Path) -> None:
    settings = load_settings()
    staging = settings.datasets_dir / ".extracting-abc123"
    (staging / "dogs").mkdir(parents=True)
    assert clean_leftovers(settings) == []
    age(staging, STALE_SECONDS + 1)
    assert clean_leftovers(settings) == [staging] and not staging.exists()


def test_an_export_killed_while_staging_anywhere_is_removed_at_the_next_start(workspace: Path, tmp_path: Path,
                                                                            lab_cli: LabCli) -> None:
    """An export stages beside its destination, which may be any folder of the person's (issue 26: a killed
    `lab export` left its hidden folder there for ever); the workspace's registry leads the clean-up to it."""
    settings = load_settings()
    out = tmp_path / "my exports"
    out.mkdir()
    killed_in(f"from lab.storage import registered_staging\nwith registered_staging(Path({str(out)!r}), '.model.', "
              f"Path({str(settings.staging_registry)!r})) as work:\n"
              "    (work / 'model.keras').write_bytes(b'half an export')\n    os.kill(os.getpid(), signal.SIGKILL)")
    [left] = list(out.iterdir())
    assert left.name.startswith(".model.staging-") and len(list(settings.staging_registry.iterdir())) == 1
    mine = out / "not an export"  # a registry entry that points elsewhere (edited by hand) removes nothing
    mine.mkdir()
    ended = subprocess.Popen(["true"])
    ended.wait()
    (settings.staging_registry / f"{ended.pid}-forged").write_text(str(mine))

    assert lab_cli("runs").returncode == 0  # a start of the lab
    assert list(out.iterdir()) == [mine] and not list(settings.staging_registry.iterdir())


def test_an_upload_unpacked_by_a_killed_server_is_removed_and_a_live_ones_kept(workspace: Path,
                                                                              tmp_path: Path) -> None:
    settings = load_settings()
    archive = tmp_path / "pets.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for number in range(3):
            bundle.writestr(f"pets/cats/cat.{number}.jpg", b"not decoded")
    killed_in(f"from lab.data.upload_area import unpacked_upload\nfrom lab.settings import load_settings\n"
              f"with unpacked_upload(Path({str(archive)!r}), load_settings()):\n"
              "    os.kill(os.getpid(), signal.SIGKILL)")
    [killed] = [p for p in settings.uploads_dir.iterdir() if p.is_dir()]
    live = settings.uploads_dir / f"{os.getpid()}-live"  # this process is unpacking one now
    live.mkdir()
    assert clean_leftovers(settings) == [killed] and [p for p in settings.uploads_dir.iterdir() if p.is_dir()] == [live]
