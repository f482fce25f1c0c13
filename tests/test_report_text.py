"""What a scan found, in words (`lab.data.report_text`), and which photos are shown (`lab.data.samples`)."""

from __future__ import annotations

from pathlib import Path

from lab.data.records import ImageRecord
from lab.data.report_text import (
    copies_phrase,
    duplicates_sentence,
    extra_copies,
    folder_tree,
    group_rows,
    relative_name,
    scan_facts,
    summary_sentence,
    unreadable_sentence,
)
from lab.data.samples import class_photos, class_samples
from lab.data.scan import ScanReport

ROOT = Path("/data/pets")


def _record(path: str, label: str, split: str | None = None) -> ImageRecord:
    return ImageRecord(path=str(ROOT / path), label=label, split=split, digest=path, width=160, height=160)


def _report(records: list[ImageRecord], *, invalid: list[str] = (), duplicates: list[list[str]] = (),
            unreadable: list[str] = (), layout: str = "split_folders", from_cache: int = 0) -> ScanReport:
    return ScanReport(root=ROOT, layout=layout, records=records,
                      invalid=[{"path": str(ROOT / p), "reason": "truncated"} for p in invalid],
                      duplicates=[[str(ROOT / p) for p in group] for group in duplicates], leakage=[], ignored=0,
                      from_cache=from_cache, seconds=1.25, unreadable=[str(ROOT / f) for f in unreadable])


def _split_folders() -> ScanReport:
    records = [_record(f"train/cats/cat.{i}.jpg", "cats", "train") for i in range(3)]
    records += [_record(f"train/dogs/dog.{i}.jpg", "dogs", "train") for i in range(2)]
    records += [_record("validation/cats/cat.9.jpg", "cats", "validation")]
    return _report(records, invalid=["train/dogs/broken.jpg"], from_cache=4)


def test_the_headline_counts_images_per_class_and_bad_files_in_the_singular_or_plural() -> None:
    assert summary_sentence(_split_folders()) == "6 images of 2 classes: cats 4, dogs 2; 1 bad file."
    assert summary_sentence(_report([_record("a.jpg", "cats")])).endswith("; 0 bad files.")


def test_the_facts_name_the_layout_the_split_folders_the_time_and_what_was_remembered() -> None:
    assert scan_facts(_split_folders()) == ("laid out as split folders (train / validation / test, one folder per "
                                            "class inside each) · train 5 · validation 1 · checked in 1.2 s, "
                                            "4 remembered from an earlier scan")
    assert scan_facts(_report([_record("a.jpg", "cats")], layout="something new")) == (
        "laid out as something new · checked in 1.2 s")


def test_the_folder_tree_indents_each_folder_under_its_parent_with_its_images_and_bad_files() -> None:
    assert folder_tree(_split_folders()).splitlines() == [
        "pets/  7 images  (1 bad)",
        "    train/  6 images  (1 bad)",
        "        cats/  3 images",
        "        dogs/  3 images  (1 bad)",
        "    validation/  1 images",
        "        cats/  1 images",
    ]


def test_unreadable_folders_are_named_inside_the_dataset_and_nothing_is_said_without_them() -> None:
    assert unreadable_sentence(_split_folders()) == ""
    one = unreadable_sentence(_report([], unreadable=["train/locked"]))
    assert one.startswith("1 folder could not be opened and was skipped (check") and one.endswith(": train/locked")
    assert unreadable_sentence(_report([], unreadable=["a", "b"])).startswith("2 folders could not be opened and "
                                                                              "were skipped")


def test_duplicates_are_counted_as_the_copies_leaving_them_out_removes() -> None:
    groups = [["x/1.jpg", "x/2.jpg", "y/1.jpg"], ["a.jpg", "b.jpg"]]
    assert extra_copies(groups) == 3
    assert copies_phrase(groups) == "3 extra copies" and copies_phrase(groups[1:]) == "1 extra copy"
    assert copies_phrase([]) == "0 extra copies"
    assert duplicates_sentence(groups).startswith("3 extra copies: 2 images appear more than once")
    assert duplicates_sentence(groups[1:]).startswith("1 extra copy: 1 image appears more than once")


def test_groups_are_rows_of_paths_inside_the_dataset_and_a_path_outside_stays_whole() -> None:
    rows = group_rows([[str(ROOT / "train/a.jpg"), "/elsewhere/b.jpg"]], ROOT)
    assert rows == [{"copies": 2, "files": "train/a.jpg, /elsewhere/b.jpg"}]
    assert relative_name(str(ROOT / "validation" / "c.jpg"), ROOT) == "validation/c.jpg"


def test_samples_are_the_same_on_every_call_and_each_class_draws_its_own_numbers() -> None:
    records = [_record(f"{label}.{i}.jpg", label) for label in ("cat", "dog") for i in range(40)]
    samples = class_samples(records, 8)
    assert list(samples) == ["cat", "dog"] and all(len(paths) == 8 for paths in samples.values())
    assert samples == class_samples(records, 8)
    numbers = {label: {Path(p).name.split(".")[1] for p in paths} for label, paths in samples.items()}
    assert numbers["cat"] != numbers["dog"]
    assert sorted(class_samples(records[:3], 8)["cat"]) == sorted(r.path for r in records[:3])


def test_a_class_photos_are_its_records_in_their_order() -> None:
    records = _split_folders().records
    assert [Path(r.path).name for r in class_photos(records, "cats")] == ["cat.0.jpg", "cat.1.jpg", "cat.2.jpg",
                                                                          "cat.9.jpg"]
    assert class_photos(records, "birds") == []
