"""A visitor's zip is unpacked in a place of its own that is removed once predicted, never among the datasets,
and all such places together stay under a cap (issue 26: distinct small zips filled the disk)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lab.data import upload_area
from lab.data.upload_area import RESERVED, held_bytes, unpacked_upload
from lab.errors import LabError
from lab.settings import load_settings
from tests.conftest import FILTERED

PHOTOS = sorted((FILTERED / "validation" / "cats").iterdir())[:3]


def photo_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for photo in PHOTOS:
            bundle.write(photo, f"cats/{photo.name}")
    return path


def test_a_zip_is_unpacked_for_the_block_only_and_outside_the_datasets(workspace: Path, tmp_path: Path) -> None:
    settings = load_settings()
    with unpacked_upload(photo_zip(tmp_path / "mine.zip"), settings) as folder:
        assert sorted(p.name for p in (folder / "cats").iterdir()) == sorted(p.name for p in PHOTOS)
        assert folder.is_relative_to(settings.uploads_dir)
        assert held_bytes(settings.uploads_dir) > 0
    assert list(settings.uploads_dir.iterdir()) == [settings.uploads_dir / ".lock"]  # nothing kept
    assert not settings.datasets_dir.exists() or not list(settings.datasets_dir.iterdir())


def test_a_zip_past_the_cap_is_refused_with_what_to_do(workspace: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    settings = load_settings()
    archive = photo_zip(tmp_path / "mine.zip")
    busy = settings.uploads_dir / "1-busy"  # another upload being unpacked holds most of the cap
    busy.mkdir(parents=True)
    room = upload_area.UPLOADS_CAP - upload_area.ratio_limit(archive.stat().st_size)
    (busy / RESERVED).write_text(str(room + 1))  # one byte too many for this zip's reservation
    with pytest.raises(LabError, match=r"mine\.zip cannot be unpacked now.*Try again in a minute"):
        with unpacked_upload(archive, settings):
            pass
    (busy / RESERVED).unlink()  # that upload finished
    with unpacked_upload(archive, settings) as folder:
        assert (folder / "cats").is_dir()
