"""`python -m lab import ZIP --dest DIR --json`: a real subprocess, as scripts and other checks run it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests import corpus

VOLATILE = ("seconds", "from_cache")  # how long the scan took and how much the cache already knew


def _dataset_zip(path: Path, *, bomb: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for label in ("cats", "dogs"):
            for index in range(3):
                bundle.writestr(f"pets/{label}/{label}.{index}.jpg",
                                corpus.jpeg_bytes(corpus.photo(index + 10 * len(label))))
        bundle.writestr("pets/cats/broken.jpg", b"not an image")
        if bomb:
            bundle.writestr("pets/dogs/zeros.jpg", bytes(64 * 2**20))
    return path


def _stable(report: dict) -> dict:
    return {key: value for key, value in report.items() if key not in VOLATILE}


def test_import_prints_exactly_what_scan_prints(tmp_path: Path, lab_cli) -> None:
    archive, dest = _dataset_zip(tmp_path / "pets.zip"), tmp_path / "imported"
    done = lab_cli("import", str(archive), "--dest", str(dest), "--json")
    assert done.returncode == 0, done.stderr
    imported = json.loads(done.stdout)
    [folder] = [p for p in dest.iterdir()]
    assert imported["root"] == str(folder / "pets") and imported["source"] == "zip"
    assert imported["valid"] == 6 and [Path(i["path"]).name for i in imported["invalid"]] == ["broken.jpg"]
    rescanned = json.loads(lab_cli("scan", str(folder), "--json").stdout)
    assert _stable(imported) == {**_stable(rescanned), "source": "zip"}


@pytest.mark.parametrize("make, words", [
    (lambda tmp: _dataset_zip(tmp / "bomb.zip", bomb=True), ["bomb.zip was refused", "100:1"]),
    (lambda tmp: tmp.joinpath("fake.zip").write_bytes(b"PK not really") and tmp / "fake.zip",
     ["fake.zip is not a readable zip"]),
    (lambda tmp: tmp / "missing.zip", ["missing.zip is not a .zip file"]),
])
def test_a_refused_or_bad_zip_is_one_line_on_stderr_and_a_nonzero_exit(tmp_path: Path, lab_cli, make,
                                                                       words) -> None:
    dest = tmp_path / "imported"
    done = lab_cli("import", str(make(tmp_path)), "--dest", str(dest), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert all(word in done.stderr for word in words), done.stderr
    assert not dest.exists() or list(dest.iterdir()) == []
