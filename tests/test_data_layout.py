"""The layouts users actually have are recognised, on the real data and on folders made here."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from lab.data.archive import extract_zip
from lab.data.layout import CLASS_FOLDERS, FLAT_NAMES, SPLIT_FOLDERS, discover
from lab.errors import LabError
from tests import corpus
from tests.conftest import FILTERED, FLAT_20K


def test_split_folders_of_the_tutorial_dataset() -> None:
    found = discover(FILTERED)
    assert found.layout == SPLIT_FOLDERS
    assert {(i.split, i.label) for i in found.images} == {
        ("train", "cats"), ("train", "dogs"), ("validation", "cats"), ("validation", "dogs")}
    assert len(found.images) == 3000


def test_kaggle_flat_names_take_the_label_from_the_prefix() -> None:
    found = discover(FLAT_20K)
    assert found.layout == FLAT_NAMES
    assert {i.label for i in found.images} == {"cat", "dog"}
    assert len(found.images) == 20_000


def test_petimages_wrapper_with_junk_is_looked_through(tmp_path: Path) -> None:
    corpus.class_folders(tmp_path / "PetImages", classes=("Cat", "Dog"))
    (tmp_path / "PetImages" / "Cat" / "Thumbs.db").write_bytes(b"junk")
    (tmp_path / "PetImages" / ".DS_Store").write_bytes(b"junk")
    found = discover(tmp_path)
    assert found.layout == CLASS_FOLDERS and found.root == tmp_path / "PetImages"
    assert {i.label for i in found.images} == {"Cat", "Dog"}


def test_val_folder_is_the_validation_split(tmp_path: Path) -> None:
    corpus.class_folders(tmp_path / "train")
    corpus.class_folders(tmp_path / "val", per_class=2, seed=1000)
    found = discover(tmp_path)
    assert {i.split for i in found.images} == {"train", "validation"}


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: corpus.write(root / "empty", {"notes.txt": b"x"})[0].parent, "No images found"),
    (lambda root: corpus.class_folders(root / "one", classes=("cats",)), "Only one class"),
])
def test_unusable_folders_say_what_is_wrong(tmp_path: Path, make, message: str) -> None:
    with pytest.raises(LabError, match=message):
        discover(make(tmp_path))


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def test_zip_with_a_nested_top_folder_and_macos_junk(tmp_path: Path) -> None:
    jpeg = corpus.jpeg_bytes(corpus.photo(1))
    archive = _zip(tmp_path / "pets.zip", {
        "pets/cats/a.jpg": jpeg, "pets/dogs/b.jpg": corpus.jpeg_bytes(corpus.photo(2)),
        "__MACOSX/pets/cats/._a.jpg": b"resource fork", "pets/cats/._a.jpg": b"resource fork",
    })
    folder = extract_zip(archive, tmp_path / "datasets")
    found = discover(folder)
    assert sorted(Path(i.path).name for i in found.images) == ["a.jpg", "b.jpg"]
    assert not (folder / "__MACOSX").exists()
    assert extract_zip(archive, tmp_path / "datasets") == folder  # unpacked once


def test_zip_slip_members_are_never_written_outside(tmp_path: Path) -> None:
    jpeg = corpus.jpeg_bytes(corpus.photo(1))
    archive = _zip(tmp_path / "evil.zip", {
        "../escaped.jpg": jpeg, "/tmp/absolute-escape.jpg": jpeg, "ok/cats/a.jpg": jpeg,
        "ok/dogs/../../../../escaped2.jpg": jpeg, "ok/dogs/b.jpg": corpus.jpeg_bytes(corpus.photo(2)),
    })
    destination = tmp_path / "datasets"
    folder = extract_zip(archive, destination)
    written = sorted(p.relative_to(destination) for p in destination.rglob("*") if p.is_file())
    assert all(folder in (destination / p).parents for p in written)
    assert [p.name for p in written] == ["a.jpg", "b.jpg"]
    assert not (tmp_path / "escaped.jpg").exists() and not Path("/tmp/absolute-escape.jpg").exists()


def test_a_damaged_zip_gets_a_clear_message_and_leaves_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(LabError, match="not a readable zip"):
        extract_zip(bad, tmp_path / "datasets")
    assert not any((tmp_path / "datasets").glob("*")) if (tmp_path / "datasets").exists() else True
