"""Tutorial replays on real photos: planning (shared splits, a stand-in for VGG16 offline, the published figures),
both tutorials end to end at a tiny scale, findings that say what the numbers say, and mistakes refused before
any run exists."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from lab.data import load_manifest
from lab.errors import LabError
from lab.replays.catalog import EVERY_ROW, FIVE_MODEL, KERAS, Replay, Variant
from lab.replays.plan import list_replays, load_replay, plan_replay, replay_rows, run_replay, stand_in
from lab.replays.table import OVERFIT_GAP, SAME_ACCURACY, replay_table
from lab.runs import jobs
from lab.runs.status import FINISHED, RUNNING, runs_in
from lab.runs.store import RunStore
from lab.settings import load_settings
from lab.training.presets import PRESETS

from . import corpus
from .conftest import OFFLINE, FinishedReplay

PER_CLASS = 40  # 80 photos: 12 held out for validation, 12 for test, 56 to train on


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A plain folder of real photos, small enough to replay a tutorial in a minute."""
    return corpus.copy_of_sample(tmp_path / "pets", PER_CLASS)


def tiny(replay: Replay, **row_changes: dict) -> Replay:
    """`replay` with a "tiny" variant: 12 validation and 12 test photos, one small epoch per row."""
    every = {"epochs": 1, "fine_tune_epochs": 1, "batch_size": 8, "train_size": None, "validation_size": None}
    variant = Variant("tiny", validation=12, test=12, changes={EVERY_ROW: every, **row_changes},
                      note="tiny: a test's few photos, one epoch")
    return dataclasses.replace(replay, variants={**replay.variants, "tiny": variant})


def test_planning_shares_one_test_set_and_stands_in_for_vgg16_offline(workspace: Path, photos: Path) -> None:
    settings = load_settings()
    planned = plan_replay(tiny(FIVE_MODEL), "tiny", settings, data=str(photos), available=OFFLINE)
    manifest = load_manifest(planned.manifest, settings)
    assert (len(manifest.splits["validation"]), len(manifest.splits["test"])) == (12, 12)
    configs = planned.configs()
    assert {config.data for config in configs} == {planned.manifest}
    assert [row["published"] for row in planned.rows] == [0.72, None, 0.82, 0.88, 0.90, 0.96]
    pretrained = [config for config in configs if config.weights != "none"]
    assert len(pretrained) == 3 and {config.backbone for config in pretrained} == {"mobilenet_v2"}
    tuned = configs[-1]
    preset = PRESETS["vgg16-fine-tune"]
    assert (tuned.strategy, tuned.head, tuned.augment, tuned.image_size) == (
        preset.strategy, preset.head, preset.augment, preset.image_size)  # the tutorial's, kept
    assert tuned.fine_tune_at == "block_13"  # VGG16's block4 has no meaning for MobileNetV2: its default boundary
    assert any("No ImageNet weights for vgg16" in note and "mobilenet_v2" in note for note in planned.notes)


def test_vgg16_as_published_where_its_weights_can_be_had() -> None:
    config = PRESETS["vgg16-fine-tune"]
    assert stand_in(config, {**OFFLINE, "vgg16": ["none", "imagenet"]}) == (config, None)
    with pytest.raises(LabError, match="no pretrained weights on this machine"):
        stand_in(config, {name: ["none"] for name in OFFLINE})


def test_the_keras_tutorial_suggests_only_the_backbones_with_weights_here() -> None:
    online = {**OFFLINE, "resnet50": ["none", "imagenet"], "vgg16": ["none", "imagenet"]}
    rows, notes = replay_rows(KERAS, KERAS.variants["published"], "a-manifest", online)
    assert [row["key"] for row in rows] == ["20k", "1k", "try-resnet50", "try-mobilenet_v2"]
    assert [row["config"]["backbone"] for row in rows] == ["vgg16", "vgg16", "resnet50", "mobilenet_v2"]
    assert notes == ["Also suggested by the tutorial, but without weights on this machine: efficientnet_b0."]
    rows, notes = replay_rows(KERAS, KERAS.variants["published"], "a-manifest", OFFLINE)
    assert [row["key"] for row in rows] == ["20k", "1k"]  # MobileNetV2 already stands in for VGG16
    assert "resnet50, efficientnet_b0" in notes[-1]


def test_a_replay_that_cannot_run_is_refused_before_any_run_exists(workspace: Path, photos: Path) -> None:
    settings = load_settings()
    with pytest.raises(LabError, match="the test split asks for 500 images but only 80 are available"):
        plan_replay(FIVE_MODEL, "quick", settings, data=str(photos), available=OFFLINE)
    with pytest.raises(LabError, match="trains on 1,000 images, but .* has 64 in its training split"):
        plan_replay(KERAS, "quick", settings, data=str(photos), available=OFFLINE)
    with pytest.raises(LabError, match="data='no-such-photos' was not found"):
        plan_replay(FIVE_MODEL, "quick", settings, data="no-such-photos", available=OFFLINE)
    assert not settings.runs_dir.exists() or not any(settings.runs_dir.iterdir())


def test_the_keras_tutorial_replayed_small_fills_its_table_and_judges_1k_against_all(
        keras_replay_tiny: FinishedReplay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_WORKSPACE", str(keras_replay_tiny.workspace))
    settings, planned = load_settings(), keras_replay_tiny.planned
    assert load_replay(planned.name, settings).rows == planned.rows and list_replays(settings) == [planned.name]
    table = replay_table(planned, settings.runs_dir)
    rows = {row["key"]: row for row in table["rows"]}
    assert all(row["status"] == FINISHED and row["published"] == 0.93 for row in rows.values())
    assert (rows["20k"]["train_images"], rows["1k"]["train_images"]) == (56, 20)
    assert all(row["test_images"] == 12 and 0 <= row["test_accuracy"] <= 1 for row in rows.values())
    gap = abs(rows["20k"]["test_accuracy"] - rows["1k"]["test_accuracy"])
    (finding,) = table["findings"]
    assert finding["reproduced"] == (gap <= SAME_ACCURACY)
    assert f"{rows['20k']['test_accuracy']:.1%}" in table["paragraph"]
    assert f"{rows['1k']['test_accuracy']:.1%}" in table["paragraph"]
    assert "McNemar p" in table["paragraph"]  # both models compared on the same test photos
    json.dumps(table)  # the CLI prints it as one JSON line


@pytest.mark.slow  # six trainings
def test_the_five_model_tutorial_replayed_small_checks_each_finding_against_its_numbers(
        workspace: Path, photos: Path) -> None:
    settings = load_settings()
    planned = plan_replay(tiny(FIVE_MODEL), "tiny", settings, data=str(photos), available=OFFLINE)
    planned = run_replay(planned, settings)
    table = replay_table(planned, settings.runs_dir)
    rows = {row["key"]: row for row in table["rows"]}
    assert len(rows) == 6 and all(row["status"] == FINISHED for row in rows.values()), rows
    assert all(row["validation_accuracy"] is not None and row["test_images"] == 12 for row in rows.values())
    cnn = rows["basic-cnn"]
    overfits, augmentation, transfer, tuning = table["findings"]
    assert overfits["reproduced"] == (cnn["train_accuracy"] - cnn["validation_accuracy"] >= OVERFIT_GAP)
    assert f"training {cnn['train_accuracy']:.2f} vs validation {cnn['validation_accuracy']:.2f}" in table["paragraph"]
    assert augmentation["reproduced"] == (rows["augmented"]["validation_accuracy"] > cnn["validation_accuracy"])
    best_scratch = max(rows[key]["validation_accuracy"] for key in ("basic-cnn", "dropout", "augmented"))
    assert transfer["reproduced"] == (rows["features"]["validation_accuracy"] > best_scratch)
    assert tuning["reproduced"] is not None
    reproduced = sum(finding["reproduced"] for finding in table["findings"])
    assert table["paragraph"].startswith(f"This replay reproduced {reproduced} of the tutorial's 4 findings:")


def test_findings_wait_for_their_runs(workspace: Path, photos: Path) -> None:
    settings = load_settings()
    planned = plan_replay(tiny(FIVE_MODEL), "tiny", settings, data=str(photos), available=OFFLINE)
    table = replay_table(planned, settings.runs_dir)
    assert {row["status"] for row in table["rows"]} == {"not started"}
    assert all(finding["reproduced"] is None for finding in table["findings"])
    assert "(4 still waiting for runs)" in table["paragraph"]


def test_the_cli_refuses_a_replay_its_data_cannot_hold_in_one_line(lab_cli, photos: Path) -> None:
    done = lab_cli("replay", "five-model-tutorial", "--quick", "--data", str(photos), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("error: pets is too small for this replay (quick: 1,000 / 500 / 500 images at "
                                   "150 px, fewer epochs): the test split asks for 500 images but only 80 are "
                                   "available: choose at most 80.")


def test_stopping_a_row_ends_a_replay_in_the_foreground(workspace: Path, photos: Path) -> None:
    settings = load_settings()
    planned = plan_replay(tiny(FIVE_MODEL), "tiny", settings, data=str(photos), available=OFFLINE)

    def stop_the_running_row(event: dict) -> None:
        if event.get("phase") == "train":  # the first row is training: the person presses Stop
            for run_id in runs_in(RunStore(settings.runs_dir).states(), RUNNING):
                jobs.stop(run_id, settings.runs_dir)

    planned = run_replay(planned, settings, on_event=stop_the_running_row)
    statuses = [row["status"] for row in replay_table(planned, settings.runs_dir)["rows"]]
    assert statuses == ["stopped"] + ["not started"] * 5
