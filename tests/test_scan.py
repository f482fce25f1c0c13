"""Scanning: bad files excluded with reasons, duplicates and leakage found, results remembered,
and the `python -m lab scan --json` contract other checks rely on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.data import scan
from lab.data.records import ImageRecord
from lab.data.summary import SizeSummary
from lab.errors import LabError
from tests import corpus
from tests.conftest import FILTERED, FLAT_20K


def _messy_dataset(root: Path) -> Path:
    corpus.class_folders(root / "train", per_class=4)
    corpus.class_folders(root / "validation", per_class=2, seed=1000)
    corpus.write(root / "train" / "cats", corpus.bad_files())
    corpus.write(root / "train" / "dogs", corpus.good_files())
    leaked = (root / "train" / "cats" / "cats.0.jpg").read_bytes()
    corpus.write(root / "validation" / "cats", {"leaked.jpg": leaked})
    corpus.write(root / "train" / "dogs", {"copy.jpg": (root / "train" / "dogs" / "dogs.1.jpg").read_bytes()})
    return root


def test_scan_excludes_bad_files_and_finds_duplicates_and_leakage(tmp_path: Path, workspace: Path) -> None:
    report = scan(_messy_dataset(tmp_path / "data"))
    reasons = {Path(item["path"]).name: item["reason"] for item in report.invalid}
    assert set(reasons) == set(corpus.bad_files())
    assert report.valid == 4 * 2 + 2 * 2 + len(corpus.good_files()) + 2
    assert all(Path(r.path).name not in reasons for r in report.records)
    assert len(report.duplicates) == 2 and len(report.leakage) == 1
    assert {Path(p).name for p in report.leakage[0]} == {"cats.0.jpg", "leaked.jpg"}


def test_second_scan_comes_from_the_cache_and_sees_changed_files(tmp_path: Path, workspace: Path) -> None:
    root = corpus.class_folders(tmp_path / "data")
    first = scan(root)
    assert first.from_cache == 0
    second = scan(root)
    assert second.from_cache == second.total and second.to_json()["classes"] == first.to_json()["classes"]
    victim = root / "cats" / "cats.0.jpg"
    victim.write_bytes(victim.read_bytes()[:200])
    os.utime(victim, ns=(victim.stat().st_atime_ns, victim.stat().st_mtime_ns + 10**9))
    third = scan(root)
    assert third.from_cache == third.total - 1
    assert [Path(item["path"]).name for item in third.invalid] == ["cats.0.jpg"]


def test_progress_is_reported_up_to_the_total(tmp_path: Path, workspace: Path) -> None:
    seen: list[tuple[int, int]] = []
    scan(corpus.class_folders(tmp_path / "data"), on_progress=lambda done, total, _: seen.append((done, total)))
    assert seen[-1] == (12, 12) and all(done <= total for done, total in seen)


def test_cli_scan_json_on_split_folders(lab_cli) -> None:
    result = lab_cli("scan", str(FILTERED), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["layout"] == "split_folders"
    assert report["classes"] == {"cats": 1500, "dogs": 1500}
    assert report["splits"] == {"train": {"cats": 1000, "dogs": 1000}, "validation": {"cats": 500, "dogs": 500}}
    assert report["total"] == report["valid"] == 3000 and report["invalid"] == []
    assert isinstance(report["duplicates"], list)


def test_cli_scan_json_on_kaggle_flat_names(lab_cli) -> None:
    result = lab_cli("scan", str(FLAT_20K), "--json")
    report = json.loads(result.stdout)
    assert report["layout"] == "flat_names" and report["classes"] == {"cat": 10_000, "dog": 10_000}
    assert report["splits"] == {} and report["valid"] == 20_000


def test_cli_scan_reports_bad_files(tmp_path: Path, lab_cli) -> None:
    result = lab_cli("scan", str(_messy_dataset(tmp_path / "data")), "--json")
    invalid = json.loads(result.stdout)["invalid"]
    assert {Path(i["path"]).name for i in invalid} == set(corpus.bad_files())
    assert all(i["reason"] for i in invalid)


def test_cli_scan_json_summarises_sizes_classes_and_folders(tmp_path: Path, lab_cli) -> None:
    sizes = {"cats": [(120, 80), (120, 80), (40, 90)], "dogs": [(64, 64), (64, 64), (260, 140), (300, 150)]}
    for label, shapes in sizes.items():
        corpus.write(tmp_path / "pets" / label, {f"{label}.{i}.jpg": corpus.jpeg_bytes(corpus.photo(i, size))
                                                 for i, size in enumerate(shapes)})
    corpus.write(tmp_path / "pets" / "cats", {"broken.jpg": corpus.bad_files()["truncated.jpg"]})
    result = lab_cli("scan", str(tmp_path / "pets"), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["per_class"] == {
        "cats": {"images": 3, "distinct": 2, "width": {"min": 40, "median": 120.0, "max": 120},
                 "height": {"min": 80, "median": 80.0, "max": 90},
                 "most_common": {"width": 120, "height": 80, "images": 2}},
        "dogs": {"images": 4, "distinct": 3, "width": {"min": 64, "median": 162.0, "max": 300},
                 "height": {"min": 64, "median": 102.0, "max": 150},
                 "most_common": {"width": 64, "height": 64, "images": 2}},
    }
    assert report["sizes"] == {"images": 7, "distinct": 5, "width": {"min": 40, "median": 120.0, "max": 300},
                               "height": {"min": 64, "median": 80.0, "max": 150},
                               "most_common": {"width": 120, "height": 80, "images": 2}}
    assert report["size_distribution"] == {"cell_pixels": 50, "cells": [
        {"class": "cats", "width": 0, "height": 50, "images": 1},
        {"class": "cats", "width": 100, "height": 50, "images": 2},
        {"class": "dogs", "width": 50, "height": 50, "images": 2},
        {"class": "dogs", "width": 250, "height": 100, "images": 1},
        {"class": "dogs", "width": 300, "height": 150, "images": 1},
    ]}
    assert report["folders"] == {".": {"images": 8, "bad": 1}, "cats": {"images": 4, "bad": 1},
                                 "dogs": {"images": 4, "bad": 0}}
    assert report["classes"] == {"cats": 3, "dogs": 4} and report["valid"] == 7  # the keys before them stay


def test_size_sentences_say_one_size_or_the_spread() -> None:
    def records(*sizes: tuple[int, int]) -> list[ImageRecord]:
        return [ImageRecord(path=f"/d/{i}.jpg", label="cats", split=None, digest=str(i), width=w, height=h)
                for i, (w, h) in enumerate(sizes)]

    assert SizeSummary.of(records((160, 160), (160, 160))).sentence() == "All images are 160 x 160."
    assert SizeSummary.of(records((100, 60), (300, 41), (500, 375))).sentence() == \
        "Median 300 x 60; widths 100-500, heights 41-375."


@pytest.mark.parametrize("make, message", [
    (lambda root: root / "missing", "does not exist"),
    (lambda root: corpus.write(root / "none", {"a.txt": b"x"})[0].parent, "No images found"),
    (lambda root: corpus.class_folders(root / "one", classes=("cats",)), "Only one class"),
])
def test_cli_scan_errors_are_one_line_without_traceback(tmp_path: Path, lab_cli, make, message) -> None:
    result = lab_cli("scan", str(make(tmp_path)), "--json")
    assert result.returncode != 0 and result.stdout == ""
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


# Hostile folders: one bad entry never stops the rest, and every later scan works too.

def test_a_name_that_is_not_utf8_is_listed_and_the_cache_keeps_working(tmp_path: Path, workspace: Path) -> None:
    root = corpus.class_folders(tmp_path / "data")
    fd = os.open(os.fsencode(root / "cats") + b"/bad\xff.jpg", os.O_CREAT | os.O_WRONLY)
    os.write(fd, (root / "cats" / "cats.0.jpg").read_bytes())
    os.close(fd)
    first, second = scan(root), scan(root)
    assert [item["path"] for item in second.invalid] == [str(root / "cats" / "bad\ufffd.jpg")]
    assert "UTF-8" in second.invalid[0]["reason"]
    assert first.valid == second.valid == 12 and second.from_cache == 12
    json.dumps(second.to_json(), ensure_ascii=False).encode("utf-8")  # printable anywhere


def test_link_loops_are_listed_and_links_outside_the_dataset_never_read(tmp_path: Path, workspace: Path) -> None:
    root = corpus.class_folders(tmp_path / "data")
    dogs = root / "dogs"
    (dogs / "a.jpg").symlink_to("b.jpg")
    (dogs / "b.jpg").symlink_to("a.jpg")
    (dogs / "up").symlink_to("..")
    [secret] = corpus.write(tmp_path / "private", {"secret.jpg": (dogs / "dogs.0.jpg").read_bytes()})
    (dogs / "secret.jpg").symlink_to(secret)
    (root / "private").symlink_to(secret.parent)  # a "class folder" that is the private folder
    for _ in range(2):  # the second scan met the cached loop and died of ELOOP
        report = scan(root)
        reasons = {Path(item["path"]).name: item["reason"] for item in report.invalid}
        assert set(reasons) == {"a.jpg", "b.jpg", "secret.jpg"} and report.valid == 12
        assert "loops" in reasons["a.jpg"] and "outside the dataset" in reasons["secret.jpg"]
        assert report.classes == {"cats": 6, "dogs": 6} and report.unreadable == [str(root / "private")]


def test_folders_that_cannot_be_opened_are_listed_as_unreadable(tmp_path: Path, workspace: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """CI runs as root, which chmod 000 does not stop, so the refusal is simulated where the lab meets it:
    listing a folder (`os.scandir`, which os.walk uses too) and stat-ing the files of one it may list but
    not enter (the cache's freshness check, which raised PermissionError)."""
    root = corpus.class_folders(tmp_path / "data")
    locked = corpus.class_folders(root / "dogs" / "locked", per_class=1)
    assert scan(root).valid == 14  # scanned and cached while readable
    scandir, stat = os.scandir, os.stat

    def refuse(call, below: Path):
        def refusing(path=".", *args, **kwargs):
            if str(path).startswith(str(below)):
                raise PermissionError(13, "Permission denied", str(path))
            return call(path, *args, **kwargs)
        return refusing

    monkeypatch.setattr(os, "scandir", refuse(scandir, locked / "dogs"))
    monkeypatch.setattr(os, "stat", refuse(stat, locked / "cats" / "cats.0.jpg"))
    report = scan(root)
    assert report.valid == 12 and report.unreadable == [str(locked / "dogs")]
    assert report.to_json()["unreadable_folders"] == [str(locked / "dogs")]
    assert [(Path(i["path"]).name, i["reason"]) for i in report.invalid] == [
        ("cats.0.jpg", "cannot be read (Permission denied)")]


def test_a_class_folder_that_cannot_be_opened_is_said_not_one_class(tmp_path: Path, workspace: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A whole unreadable class folder read "Only one class found" (issue 26): the folder is named instead.
    Refused where the lab meets it, as above (CI runs as root)."""
    root = corpus.class_folders(tmp_path / "data")
    scandir = os.scandir

    def refusing(path=".", *args, **kwargs):
        if str(path).startswith(str(root / "dogs")):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path, *args, **kwargs)

    monkeypatch.setattr(os, "scandir", refusing)
    with pytest.raises(LabError, match=r"Only one class \('cats'\) could be read in .*: 1 folder cannot be opened "
                                       r"or lead outside it \(e.g. .*dogs\). Check their permissions"):
        scan(root)


def test_a_huge_file_named_jpg_is_too_large_and_memory_stays_bounded(tmp_path: Path, workspace: Path) -> None:
    """A sparse 1 GiB `.jpg` costs no disk; read whole (as the scan once did) it costs 1 GiB of memory."""
    root = corpus.class_folders(tmp_path / "data")
    with open(root / "cats" / "huge.jpg", "wb") as sparse:
        sparse.truncate(2**30)
    program = (
        "import json, resource, sys\n"
        "from lab.data import scan\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "report = scan(sys.argv[1], workers=4)\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(json.dumps({'invalid': report.invalid, 'grown_kib': grown}))\n"
    )
    done = subprocess.run([sys.executable, "-c", program, str(root)], capture_output=True, text=True,
                          cwd=Path(__file__).parent.parent, env=os.environ, timeout=120, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    assert [(Path(i["path"]).name, i["reason"].split(" (")[0]) for i in result["invalid"]] == [("huge.jpg", "too large")]
    assert result["grown_kib"] < 64 * 1024  # 4 threads x 1 MiB chunks, plus Pillow and Python's own growth


def _a_new_image_name(name: bytes) -> bool:
    """A file name (no '/' or NUL) that is not junk by design (hidden, __MACOSX) nor the photo already there."""
    return b"/" not in name and b"\0" not in name and not name.startswith((b".", b"__MACOSX")) and name != b"dogs.0"


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.binary(min_size=1, max_size=40).filter(_a_new_image_name), min_size=1, max_size=4,
                      unique=True))
def test_any_file_names_scan_without_a_traceback(names: list[bytes], workspace: Path) -> None:
    """Whatever bytes name the files (not UTF-8, control characters, dots, spaces), every scan works."""
    with tempfile.TemporaryDirectory() as folder:
        root = corpus.class_folders(Path(folder), per_class=1)
        photo = (root / "cats" / "cats.0.jpg").read_bytes()
        for name in names:
            with open(os.fsencode(root / "dogs") + b"/" + name + b".jpg", "wb") as handle:
                handle.write(photo)
        for _ in range(2):
            report = scan(root)
            assert report.total == 2 + len(names)
            json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8")
