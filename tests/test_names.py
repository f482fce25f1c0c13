"""A run's human name: said from its config, given when it is made, renamed by a person, numbered where two share
one, and read back for runs made before names; the runs table's names, replay references and CSV cells."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from pathlib import Path

from lab.runs import labels
from lab.runs.differences import config_differences
from lab.runs.names import UNREADABLE, file_stem, run_name, study_run_name, study_title, unique_names
from lab.runs.store import RunStore, run_names
from lab.runs.table import rows_csv, run_rows
from lab.settings import load_settings
from lab.spreadsheet import frame_csv
from lab.training.config import TrainConfig
from lab.training.presets import PRESETS

from .conftest import FILTERED


def test_a_run_is_named_by_what_trained_and_on_how_many_photos() -> None:
    assert run_name(PRESETS["mobilenet-v2-quick"].to_dict()) == "MobileNetV2 features · 1,000 photos"
    scratch = {**PRESETS["basic-cnn"].to_dict(), "train_size": None}
    assert run_name(scratch) == "Basic CNN from scratch · all photos"
    fine_tune = PRESETS["vgg16-fine-tune"]
    assert run_name(fine_tune.to_dict()) == f"VGG16 fine-tuned, augmented · {fine_tune.train_size:,} photos"
    assert run_name({"backbone": "vgg16", "strategy": "frozen", "train_split": "train_1000"}) == \
        "VGG16 frozen · all of train_1000"  # a manifest's subset, not "all photos"
    assert run_name({"backbone": "gone_net", "strategy": "frozen"}) == "gone_net frozen · all photos"  # older lab
    assert run_name({}) == UNREADABLE  # a damaged config.json: still words, never the folder's id


def test_a_study_run_says_its_size_and_repeat() -> None:
    config = PRESETS["mobilenet-v2-quick"].to_dict()
    assert study_run_name(config, 250) == "MobileNetV2 features · study, 250 photos"
    assert study_run_name(config, None, repeat=1, repeats=3) == "MobileNetV2 features · study, all photos (repeat 2 of 3)"


def test_runs_sharing_a_name_are_numbered_oldest_first_and_a_new_run_renumbers_none() -> None:
    newest_first = {"c": "Same", "b": "Other", "a": "Same"}
    assert unique_names(newest_first) == {"c": "Same (2)", "b": "Other", "a": "Same"}
    assert unique_names({"d": "Same", **newest_first}) == {"d": "Same (3)", "c": "Same (2)", "b": "Other", "a": "Same"}


def test_a_new_run_is_named_when_made_and_renaming_overrides_it(workspace: Path) -> None:
    store = RunStore(load_settings().runs_dir)
    config = TrainConfig(data=str(FILTERED), train_size=1000)
    run = store.create(config)
    assert json.loads(run.files.labels.read_text())["name"] == "MobileNetV2 features · 1,000 photos"
    assert run.name() == run.summary()["name"] == "MobileNetV2 features · 1,000 photos"
    labels.rename(run.path, "my first run")
    assert run.name() == run.summary()["name"] == "my first run"
    labels.rename(run.path, "")  # cleared: named by its config again, never by its id
    assert run.name() == "MobileNetV2 features · 1,000 photos"
    given = store.create(config, name="Basic CNN from scratch · five-model replay")
    assert given.name() == "Basic CNN from scratch · five-model replay"


def test_a_run_made_before_names_reads_its_configs_name(workspace: Path) -> None:
    store = RunStore(load_settings().runs_dir)
    old = store.create(TrainConfig(data=str(FILTERED), backbone="vgg16", strategy="frozen", train_size=2000))
    old.files.labels.unlink()  # as every run made before names
    damaged = store.create(TrainConfig(data=str(FILTERED)))
    damaged.files.labels.unlink()
    damaged.files.config.write_text("{not json")
    names = {row["id"]: row["name"] for row in run_rows(store.runs_dir)}
    assert names == {old.id: "VGG16 frozen · 2,000 photos", damaged.id: UNREADABLE}
    assert old.summary()["name"] == "VGG16 frozen · 2,000 photos"


def test_the_runs_table_numbers_two_runs_of_one_name_and_carries_a_replays_figure(workspace: Path) -> None:
    store = RunStore(load_settings().runs_dir)
    config = TrainConfig(data=str(FILTERED), train_size=1000)
    first = store.create(config)
    time.sleep(0.01)  # created strictly later: the runs are listed (and numbered) by creation time
    second = store.create(dataclasses.replace(config, seed=7))
    expected = {first.id: "MobileNetV2 features · 1,000 photos", second.id: "MobileNetV2 features · 1,000 photos (2)"}
    rows = run_rows(store.runs_dir, {second.id: ("Basic CNN from scratch", 0.72)})
    assert {row["id"]: row["name"] for row in rows} == expected == run_names(store.list())
    by_id = {row["id"]: row for row in rows}
    assert (by_id[second.id]["reference"], by_id[second.id]["reference_accuracy"]) == ("Basic CNN from scratch", 0.72)
    assert by_id[first.id]["reference"] is None  # no published experiment: the page shows a dash


def test_the_csv_keeps_names_and_tags_as_data_never_a_formula(workspace: Path) -> None:
    store = RunStore(load_settings().runs_dir)
    run = store.create(TrainConfig(data=str(FILTERED)))
    labels.rename(run.path, '=HYPERLINK("http://example.com","click")')
    labels.tag(run.path, ["baseline", "1k"])  # a tag starts with a letter or digit: never a formula
    [row] = csv.DictReader(io.StringIO(rows_csv(run_rows(store.runs_dir))))
    assert row["name"] == '\'=HYPERLINK("http://example.com","click")'
    assert row["tags"] == "1k baseline" and row["id"] == run.id
    assert row["test_accuracy"] == ""  # empty, never "None"


def test_what_differs_says_all_for_every_image_and_a_dash_for_unset() -> None:
    differing = config_differences({"first": {"train_size": None, "start_from": None, "epochs": 5},
                                    "second": {"train_size": 1000, "start_from": "x", "epochs": 5}})
    assert differing == {"first": {"Start the head from": "—", "Training images": "all"},
                         "second": {"Start the head from": "x", "Training images": "1000"}}


def test_a_download_is_named_after_its_run_and_no_path_hides_in_the_name() -> None:
    assert file_stem("MobileNetV2 features · 1,000 photos") == "MobileNetV2-features-1000-photos"
    assert file_stem("../../etc/passwd") == "etc-passwd"
    assert file_stem("<b>=cmd|' /C calc'!A0</b>") == "b-cmd-C-calc-A0-b"
    assert file_stem("·  ·") == "model"  # nothing left to name it by


def test_a_study_is_titled_by_what_ran_its_sizes_and_when_never_its_record_name() -> None:
    config = {"backbone": "mobilenet_v2", "strategy": "feature-extractor"}
    assert study_title(config, [None, 1000, 250], "2026-12-05T12:01:09") == (
        "MobileNetV2 features · study of 250, 1,000 and all photos · 5 Dec 12:01")
    assert study_title(config, [None, 1000]) == "MobileNetV2 features · study of 1,000 and all photos"


def test_a_csv_download_never_carries_a_live_formula() -> None:
    """The Predict page's batch CSV (file names and class folders) as the runs table's (issue 26, OWASP)."""
    import csv
    import io

    import pandas as pd

    frame = pd.DataFrame({"file": ["=HYPERLINK(\"http://x\",\"y\").jpg", "cat.1.jpg", "-2+3.jpg", "@sum.jpg"],
                          "predicted": ["+cats", "dogs", "dogs", "cats"], "confidence": [0.9, 0.8, 0.7, 0.6]})
    rows = list(csv.DictReader(io.StringIO(frame_csv(frame))))
    assert [row["file"] for row in rows] == ["'=HYPERLINK(\"http://x\",\"y\").jpg", "cat.1.jpg", "'-2+3.jpg",
                                             "'@sum.jpg"]
    assert rows[0]["predicted"] == "'+cats" and rows[0]["confidence"] == "0.9"  # numbers stay numbers
