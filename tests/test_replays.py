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
from lab.evaluation.evaluate import evaluations
from lab.evaluation.paired import pair
from lab.replays.catalog import EVERY_ROW, FIVE_MODEL, KERAS, Replay, Variant
from lab.replays.estimate import preview_replay
from lab.replays.findings import OVERFIT_GAP, SAME_MARGIN, no_room, overfits, still_improving
from lab.replays.plan import (
    linked_config,
    list_replays,
    load_replay,
    plan_replay,
    replay_references,
    replay_rows,
    row_name,
    run_replay,
    stand_in,
)
from lab.replays.table import replay_table, summary
from lab.runs import jobs
from lab.runs.status import FINISHED, RUNNING, runs_in
from lab.runs.store import RunStore
from lab.runs.table import run_rows
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


def small(replay: Replay, **row_changes: dict) -> Replay:
    """`tiny(replay)` at 96 px: a test that judges findings, not sizes, need not pay for the tutorial's 150-224 px."""
    rows = {experiment.key: {"image_size": 96, **row_changes.get(experiment.key, {})}
            for experiment in replay.experiments}
    return tiny(replay, **rows)


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
    assert any("No ImageNet weights for VGG16" in note and "MobileNetV2" in note for note in planned.notes)
    assert [row["experiment"] for row in planned.rows][3:] == [
        "MobileNetV2, standing in for VGG16: bottleneck features",
        "MobileNetV2, standing in for VGG16: frozen, with augmentation",
        "MobileNetV2, standing in for VGG16: fine-tuned (the top blocks)"]  # what ran, then what it stands for
    assert [row["experiment"] for row in planned.rows][0] == "Basic CNN from scratch"


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
    assert rows[0]["experiment"] == KERAS.experiments[0].label  # VGG16 ran: the tutorial's own words
    assert rows[2]["experiment"] == "ResNet50, as the tutorial suggests trying: frozen, 1K images (500 per class)"
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
    tests = [evaluations(Path(rows[key]["run_dir"]))["test"] for key in ("1k", "20k")]
    counts = pair(*tests).counts()  # the same 12 photos, photo by photo
    (finding,) = table["findings"]
    low, high = finding["interval"]
    assert (low, high) == pytest.approx(counts.interval()) and low <= counts.difference <= high
    expected = ("reproduced" if -SAME_MARGIN < low and high < SAME_MARGIN else
                "not reproduced" if low > SAME_MARGIN or high < -SAME_MARGIN else "too close to call")
    assert finding["verdict"] == expected == "too close to call"  # 12 photos cannot show 2 points either way
    assert finding["photos_needed"] is None or finding["photos_needed"] > 12
    assert f"the same 12 test photos, 1K scored {rows['1k']['test_accuracy']:.1%}" in finding["evidence"]
    assert "McNemar's exact test, two-sided, p = " in finding["evidence"] and 0 < finding["p_value"] <= 1
    assert f"{rows['20k']['test_accuracy']:.1%}" in table["paragraph"]
    assert table["summary"].startswith("Of the tutorial's 1 findings, 0 held on these photos, 0 did not and 1 is "
                                       "too close to call with 12 test photos")
    json.dumps(table)  # the CLI prints it as one JSON line


def test_a_replays_runs_are_named_by_their_row_and_carry_its_published_figure_into_the_runs_table(
        keras_replay_tiny: FinishedReplay, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRANSFER_LAB_WORKSPACE", str(keras_replay_tiny.workspace))
    settings, planned = load_settings(), keras_replay_tiny.planned
    rows = {row["id"]: row for row in run_rows(settings.runs_dir, replay_references(settings))}
    assert set(rows) == {row["run_id"] for row in planned.rows}
    for row in planned.rows:
        shown = rows[row["run_id"]]
        assert shown["name"] == f"{row['experiment']} · Keras replay" == row_name(planned, row)
        assert (shown["reference"], shown["reference_accuracy"]) == (row["experiment"], 0.93)  # not "None"
    assert "MobileNetV2, standing in for VGG16" in rows[planned.rows[0]["run_id"]]["name"]  # what ran, offline


@pytest.mark.slow  # six trainings
def test_the_five_model_tutorial_replayed_small_checks_each_finding_against_its_numbers(
        workspace: Path, photos: Path) -> None:
    settings = load_settings()
    planned = plan_replay(small(FIVE_MODEL), "tiny", settings, data=str(photos), available=OFFLINE)
    planned = run_replay(planned, settings)
    table = replay_table(planned, settings.runs_dir)
    rows = {row["key"]: row for row in table["rows"]}
    assert len(rows) == 6 and all(row["status"] == FINISHED for row in rows.values()), rows
    assert all(row["validation_accuracy"] is not None and row["test_images"] == 12 for row in rows.values())
    overfits, augmentation, transfer, tuning = table["findings"]
    assert all(f["verdict"] in ("reproduced", "not reproduced", "too close to call", "cut short")
               for f in table["findings"])
    cnn = table["rows"][0]["runs"][0]
    low, high = overfits["interval"]
    assert low < cnn["train_accuracy"] - cnn["last_validation_accuracy"] < high
    assert judged(overfits, "reproduced" if low > OVERFIT_GAP else "not reproduced" if high < OVERFIT_GAP
                  else "too close to call")
    assert f"training {cnn['train_accuracy']:.1%} against validation" in overfits["evidence"]

    def counts(first: str, second: str):
        return pair(*(evaluations(Path(rows[key]["run_dir"]))["test"] for key in (first, second))).counts()

    assert augmentation["p_value"] == pytest.approx(counts("augmented", "basic-cnn").p_first_better())
    assert judged(augmentation, "reproduced" if augmentation["p_value"] < 0.05 else
                  "not reproduced" if augmentation["interval"][1] < 0.02 else "too close to call")
    scratch = max(("basic-cnn", "dropout", "augmented"), key=lambda key: rows[key]["test_accuracy"])
    assert transfer["p_value"] == pytest.approx(counts("features", scratch).p_first_better())
    assert rows[scratch]["experiment"] in transfer["evidence"]
    strongest = max((key for key in rows if key != "fine-tune"), key=lambda key: rows[key]["test_accuracy"])
    assert tuning["p_value"] == pytest.approx(counts("fine-tune", strongest).p_first_better())
    assert "McNemar's exact test, one-sided" in tuning["evidence"] and tuning["interval"] is not None
    assert all(finding["evidence"] in table["paragraph"] for finding in table["findings"])
    assert table["summary"].startswith("Of the tutorial's 4 findings, ")
    tuned = RunStore(settings.runs_dir).get(Path(rows["fine-tune"]["run_dir"]).name).config()
    assert tuned.start_from == Path(rows["features"]["run_dir"]).name  # the tutorial's fine-tuning: from that head


def test_findings_wait_for_their_runs(workspace: Path, photos: Path) -> None:
    settings = load_settings()
    planned = plan_replay(tiny(FIVE_MODEL), "tiny", settings, data=str(photos), available=OFFLINE)
    table = replay_table(planned, settings.runs_dir)
    assert {row["status"] for row in table["rows"]} == {"not started"}
    assert all(finding["verdict"] == "waiting" for finding in table["findings"])
    assert table["paragraph"] == ("Nothing is training right now. Next: Basic CNN from scratch, then 5 more. "
                                  "4 of the tutorial's 4 findings wait for their rows.")
    assert table["summary"].startswith("Nothing to report yet")


def test_the_cli_refuses_a_replay_its_data_cannot_hold_in_one_line(lab_cli, photos: Path) -> None:
    done = lab_cli("replay", "five-model-tutorial", "--quick", "--data", str(photos), "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip() == ("error: pets is too small for this replay (quick: 1,000 / 500 / 500 images at "
                                   "150 px, the CNNs until their validation loss stops improving): the test split "
                                   "asks for 500 images but only 80 are available: choose at most 80.")


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


@pytest.mark.slow  # four trainings
def test_repeats_run_each_row_with_other_seeds_and_the_table_pools_them(workspace: Path, photos: Path) -> None:
    """The Keras replay twice per row on 12 test photos: means and min-max per row, the finding on 24 pairs."""
    settings = load_settings()
    replay = small(KERAS, **{"1k": {"train_size": 20}})
    once, _ = preview_replay(replay, "tiny", settings, data=str(photos))
    twice, _ = preview_replay(replay, "tiny", settings, data=str(photos), repeats=2)
    assert once is None and twice is None or twice > once  # the estimate counts every repeat
    planned = plan_replay(replay, "tiny", settings, data=str(photos), available=OFFLINE, repeats=2)
    assert [(row["key"], row["repeat"], row["config"]["seed"]) for row in planned.rows] == [
        ("20k", 0, 42), ("20k", 1, 43), ("1k", 0, 42), ("1k", 1, 43)]
    planned = run_replay(planned, settings)
    store = RunStore(settings.runs_dir)
    assert {store.get(row["run_id"]).name() for row in planned.rows} == {
        f"{planned.rows[i]['experiment']} · Keras replay (repeat {r} of 2)" for i, r in ((0, 1), (1, 2), (2, 1), (3, 2))}
    table = replay_table(planned, settings.runs_dir)
    for row in table["rows"]:
        accuracies = [run["test_accuracy"] for run in row["runs"]]
        assert row["repeats"] == 2 and row["test_accuracy"] == pytest.approx(sum(accuracies) / 2)
        assert row["spread"]["test_accuracy"] == [min(accuracies), max(accuracies)]
    (finding,) = table["findings"]
    rows = {row["key"]: row for row in table["rows"]}
    pooled = [pair(*(evaluations(Path(rows[key]["runs"][r]["run_dir"]))["test"] for key in ("1k", "20k"))).counts()
              for r in (0, 1)]
    assert finding["interval"] == pytest.approx((pooled[0] + pooled[1]).interval())
    assert "the same 12 test photos, pooled over 2 repeats" in finding["evidence"]
    json.dumps(table)


def test_the_fine_tuned_row_starts_from_the_features_row_of_its_own_repeat(workspace: Path, photos: Path) -> None:
    planned = plan_replay(tiny(FIVE_MODEL), "tiny", load_settings(), data=str(photos), available=OFFLINE, repeats=2)
    run_ids = [f"run-{row['key']}-{row['repeat']}" for row in planned.rows]
    made = [linked_config(planned, number, run_ids[:number]) for number in range(len(planned.rows))]
    assert [(row["key"], config.start_from) for row, config in zip(planned.rows, made) if config.start_from] == [
        ("fine-tune", "run-features-0"), ("fine-tune", "run-features-1")]
    assert made[-1].seed == planned.configs()[-1].seed  # nothing else changes


def test_the_quick_five_model_variant_trains_its_cnns_until_their_validation_loss_stops_improving() -> None:
    quick = FIVE_MODEL.variants["quick"]
    for key in ("basic-cnn", "dropout", "augmented"):
        changes = quick.changes_for(key)
        assert changes["early_stopping_monitor"] == "val_loss" and changes["early_stopping_patience"] >= 3, key
        assert changes["restore_best_weights"] and changes["epochs"] > 10, key
    assert quick.changes_for("augmented")["epochs"] > quick.changes_for("basic-cnn")["epochs"]
    assert FIVE_MODEL.experiments[-1].start_from == "features"


def write_history(run_dir: Path, val_losses: list[float]) -> None:
    """A run folder's history.csv, by hand: input for the reader, one row per epoch."""
    run_dir.mkdir(parents=True)
    lines = ["epoch,phase,loss,accuracy,val_loss,val_accuracy"]
    lines += [f"{epoch},train,0.6,0.6,{loss},0.6" for epoch, loss in enumerate(val_losses, 1)]
    (run_dir / "history.csv").write_text("\n".join(lines) + "\n")


def judged(finding: dict, expected: str) -> bool:
    """The finding's verdict is the test's, or "cut short" in place of "not reproduced" with the row named."""
    if expected == "not reproduced" and finding["verdict"] == "cut short":
        return bool(finding["unfinished_rows"])
    return finding["verdict"] == expected


def test_a_row_still_improving_when_its_epochs_ran_out_is_named_with_its_numbers(tmp_path: Path) -> None:
    from lab.runs.store import Run

    falling, flat = tmp_path / "falling", tmp_path / "flat"
    write_history(falling, [0.69, 0.68, 0.66, 0.65, 0.63, 0.62])
    write_history(flat, [0.69, 0.60, 0.61, 0.62, 0.61, 0.63])
    assert still_improving(Run(falling).history(), planned_epochs=6)
    assert not still_improving(Run(falling).history(), planned_epochs=8)  # early stopping ended it before its cap
    assert not still_improving(Run(flat).history(), planned_epochs=6)  # its lowest was long before the end
    run = {"status": FINISHED, "train_accuracy": 0.62, "last_validation_accuracy": 0.6, "train_images": 1000,
           "validation_images": 500, "epochs": 6, "still_improving": True}
    finding = overfits("The basic CNN overfits", {"runs": [run]}, "the basic CNN")
    assert finding.verdict != "reproduced" and finding.unfinished_rows == ("the basic CNN",)
    assert finding.evidence.endswith("; the basic CNN was still improving when its epochs ran out: training 62%, "
                                     "validation 60% and its validation loss still falling at epoch 6")
    settled = overfits("The basic CNN overfits", {"runs": [{**run, "still_improving": False}]}, "the basic CNN")
    assert settled.verdict == finding.verdict and "still improving" not in settled.evidence


def test_a_finding_against_a_row_that_never_fit_its_training_photos_is_cut_short() -> None:
    """Like the quick augmented CNN of 2026-12-05, which early stopping ended at 62% training accuracy and 57%
    validation against the 82% the tutorial's model reached on validation photos: a verdict against the claim
    says why."""
    run = {"status": FINISHED, "train_accuracy": 0.55, "last_validation_accuracy": 0.60, "train_images": 1000,
           "validation_images": 500, "epochs": 9, "still_improving": False, "best_train_accuracy": 0.62,
           "validation_accuracy": 0.61}
    cut = overfits("The basic CNN overfits", {"published": 0.72, "runs": [run]}, "the basic CNN")
    assert cut.verdict == "cut short" and cut.unfinished_rows == ("the basic CNN",)
    assert cut.evidence.endswith("; the basic CNN stopped before it had learnt: training accuracy at most 62% and "
                                 "validation 61%, against the 72% the tutorial's model reached on validation photos")
    for learnt in ({"best_train_accuracy": 0.8}, {"validation_accuracy": 0.75}):  # augmentation holds training down
        fitted = overfits("The basic CNN overfits", {"published": 0.72, "runs": [{**run, **learnt}]}, "the basic CNN")
        assert fitted.verdict == "not reproduced" and not fitted.unfinished_rows  # it had learnt: the photos decide
    assert summary([cut], [{"test_images": 500}]).endswith("0 did not, 0 are too close to call with 500 test photos "
                                                           "and 1 was cut short (a row had not finished learning in "
                                                           "the time this variant gives it).")


def test_a_lead_the_stand_in_leavesno_room_for_is_said_with_its_numbers() -> None:
    """The quick fine-tuned row of 2026-12-04 (95.0%) against MobileNetV2's frozen features (94.8%), where the
    tutorial's VGG16 went from 90% to 96%: the verdict stays the test's, and the evidence says why no lead shows."""
    names = ("fine-tuning", "the best other row")
    clause = no_room({"published": 0.96}, {"test_accuracy": 0.948}, names)
    assert clause == ("; the best other row already scores 94.8%, within 2 points of the 96% the tutorial's "
                      "fine-tuning reached: no room was left for the lead it found")
    assert no_room({"published": 0.96}, {"test_accuracy": 0.90}, names) == ""  # room for a lead: the test decides
    assert no_room({"published": None}, {"test_accuracy": 0.99}, names) == ""
