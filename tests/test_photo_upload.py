"""An uploaded photo is kept once by its content (`lab.data.photo_upload`)."""

from __future__ import annotations

from pathlib import Path

from lab.data.photo_upload import store_photo
from tests.corpus import jpeg_bytes, photo


def test_a_photo_is_kept_once_by_its_content_and_another_never_replaces_it(tmp_path: Path) -> None:
    cat, dog = jpeg_bytes(photo(1)), jpeg_bytes(photo(2))
    first = store_photo(cat, "IMG_0001.JPG", tmp_path)
    assert first.parent == tmp_path / "uploads" and first.suffix == ".JPG" and first.read_bytes() == cat
    before = first.stat().st_mtime_ns
    assert store_photo(cat, "renamed.JPG", tmp_path) == first and first.stat().st_mtime_ns == before
    other = store_photo(dog, "IMG_0001.JPG", tmp_path)
    assert other != first and other.read_bytes() == dog and first.read_bytes() == cat
