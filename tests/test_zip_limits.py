"""Zip bombs and forged zips are refused before and during extraction, and a refusal leaves nothing behind."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import pytest

from lab.data import archive
from lab.data.archive import extract_zip
from lab.errors import LabError
from tests import corpus

MiB = 2**20


@pytest.fixture(scope="module")
def bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 1 GiB member of zeros beside two real photos, about 1 MB zipped; written streaming, never held whole."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_photos(bundle)
        with bundle.open("pets/cats/zeros.jpg", "w", force_zip64=True) as member:
            block = bytes(MiB)
            for _ in range(1024):
                member.write(block)
    assert path.stat().st_size < 2 * MiB
    return path


def _add_photos(bundle: zipfile.ZipFile, count: int = 1) -> None:
    for label in ("cats", "dogs"):
        for index in range(count):
            bundle.writestr(f"pets/{label}/{label}.{index}.jpg", corpus.jpeg_bytes(corpus.photo(index)))


def _must_not_extract(*_) -> None:
    raise AssertionError("extraction began: the central directory's figures were not checked first")


def _refused(zip_path: Path, datasets: Path, *words: str) -> None:
    with pytest.raises(LabError) as refusal:
        extract_zip(zip_path, datasets)
    message = str(refusal.value)
    assert "\n" not in message and all(word in message for word in words), message
    assert list(datasets.iterdir()) == [], "a refused zip must leave nothing behind"


@pytest.mark.slow  # writes a 1 GiB zip
def test_a_1_gib_member_of_zeros_is_refused_for_its_ratio_before_anything_is_written(bomb: Path,
                                                                                     tmp_path: Path) -> None:
    _refused(bomb, tmp_path / "datasets", "was refused", "zeros.jpg", "100:1")


def test_the_total_is_refused_from_the_central_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_UNPACKED_BYTES", 5_000)  # the two photos come to about 9 KB
    monkeypatch.setattr(archive, "_extract_member", _must_not_extract)
    zip_path = tmp_path / "photos.zip"
    with zipfile.ZipFile(zip_path, "w") as bundle:
        _add_photos(bundle, count=2)
    _refused(zip_path, tmp_path / "datasets", "was refused", "over the 5,000 bytes it may unpack to here")


@pytest.mark.slow  # writes a 1 GiB zip
def test_the_total_is_also_counted_while_writing(bomb: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the central directory fool the first check, the bytes actually written still stop the bomb."""
    monkeypatch.setattr(archive, "MAX_RATIO", 10**6)
    monkeypatch.setattr(archive, "unpacked_limit", lambda _: 64 * MiB)  # only 64 MiB may be written...
    check = archive._safe_members  # ...though the directory's figures are checked against 2 GiB and pass
    monkeypatch.setattr(archive, "_safe_members",
                        lambda members, path, _: check(members, path, archive._Budget(path.name, 2**31)))
    _refused(bomb, tmp_path / "datasets", "was refused", "it may unpack to here")


def test_many_members_each_under_the_ratio_floor_are_refused_by_their_total(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 26: 1 MiB members of zeros each pass the per-member ratio check (members that small may compress
    well); 40 of them in a 40 KB zip unpack to 40 MiB, a thousand times the zip's size."""
    monkeypatch.setattr(archive, "_extract_member", _must_not_extract)
    zip_path = tmp_path / "many.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_photos(bundle)
        for index in range(40):
            bundle.writestr(f"pets/cats/zeros.{index}.jpg", bytes(MiB))
    assert zip_path.stat().st_size < 100_000
    _refused(zip_path, tmp_path / "datasets", "was refused", "unpacks to 40 MiB or more, over the 16 MiB",
             "at most 20 times its own size")


def test_too_many_members_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(archive, "MAX_MEMBERS", 3)
    monkeypatch.setattr(archive, "_extract_member", _must_not_extract)
    zip_path = tmp_path / "many.zip"
    with zipfile.ZipFile(zip_path, "w") as bundle:
        _add_photos(bundle, count=2)
    _refused(zip_path, tmp_path / "datasets", "was refused", "4 entries", "more than the 3")


def test_a_header_that_lies_about_sizes_is_refused(tmp_path: Path) -> None:
    """The directory says 1,000 bytes (under every limit); the member inflates to 16 MiB of zeros.
    `zipfile` stops at the declared size and fails the CRC: the zip is refused as damaged."""
    zip_path = tmp_path / "forged.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_photos(bundle)
        bundle.writestr("pets/dogs/zeros.jpg", bytes(16 * MiB))
    data = bytearray(zip_path.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = data.rindex(signature)  # the last member's local header and directory entry
        struct.pack_into("<I", data, start + offset, 1_000)
    zip_path.write_bytes(bytes(data))
    _refused(zip_path, tmp_path / "datasets", "zeros")


def test_an_honest_zip_of_photos_still_unpacks(tmp_path: Path) -> None:
    zip_path = tmp_path / "photos.zip"
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as bundle:
        _add_photos(bundle, count=3)
        bundle.writestr("pets/cats/flat.png", bytes(archive.RATIO_FLOOR // 2))  # 1000:1, but small
    folder = extract_zip(zip_path, tmp_path / "datasets")
    assert len(list(folder.rglob("*.jpg"))) == 6
    assert (folder / "pets/cats/flat.png").stat().st_size == archive.RATIO_FLOOR // 2
