"""The time estimate of a run (start-up, extraction, epochs, evaluation; calibrated per strategy) and a steady ETA,
checked against real tiny runs on real photographs."""

from __future__ import annotations

import dataclasses
import itertools
import shutil
from pathlib import Path

import pytest

from lab.data import training_splits
from lab.runs.describe import progress_text
from lab.settings import load_settings
from lab.training import recorder
from lab.training.config import TrainConfig
from lab.training.cost import estimate_cost, preset_seconds, time_in_words, work_in_words
from lab.training.recorder import EpochClock
from lab.training.speed import PROCESS_SECONDS, FinishedRun
from lab.training.train import train
from tests.apptest import open_page
from tests.conftest import TINY_MOBILENET


@pytest.fixture
def tiny(tiny_config: TrainConfig) -> TrainConfig:
    return dataclasses.replace(tiny_config, epochs=2, weights=TINY_MOBILENET.name)


def digests(config: TrainConfig) -> set[str]:
    """The content digests of the images `config` trains and validates on."""
    data = training_splits(config.data, train_size=config.train_size, validation_size=config.validation_size,
                           seed=config.seed)
    return {record.digest for record in (*data.train, *data.validation)}


def batch_events(config: TrainConfig, run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """Train `config` into `run_dir` and return every batch event (no throttling: each batch reports)."""
    monkeypatch.setattr(recorder, "BATCH_EVENT_INTERVAL", 0.0)
    events: list[dict] = []
    train(config, run_dir, on_event=events.append)
    return [event for event in events if event["type"] == "batch"]


def test_the_estimate_counts_start_up_and_extraction_and_not_features_already_cached(workspace, tiny):
    settings = load_settings()
    before = estimate_cost(tiny, settings)
    assert before["rate_source"] == "a speed measurement just now"
    assert before["breakdown"]["startup"] >= 5 and before["breakdown"]["extraction"] > 0
    assert before["seconds"] == pytest.approx(sum(before["breakdown"].values()))
    assert before["cached_images"] == 0 and before["forward_passes"] == 60
    assert before["total_flops"] == pytest.approx(60 * before["flops_per_image"])

    metrics = train(tiny, settings.runs_dir / "first")
    again = estimate_cost(dataclasses.replace(tiny, learning_rate=1e-2), settings, measure=False)
    assert again["cached_images"] == 60 and again["breakdown"]["extraction"] == 0
    assert again["rate_source"] == "1 earlier run"
    launch = metrics["seconds"] + PROCESS_SECONDS  # what the first run took from its launch
    assert 1 / 1.5 < again["seconds"] / launch < 1.5, (again, launch)
    more = dataclasses.replace(tiny, train_size=60)
    cached = len(digests(more) & digests(tiny))
    partly = estimate_cost(more, settings, measure=False)
    assert partly["cached_images"] == cached < 80 and partly["breakdown"]["extraction"] > 0


@pytest.mark.slow  # trainings
def test_each_strategy_is_calibrated_from_earlier_runs_of_that_strategy(workspace, tiny, monkeypatch):
    settings = load_settings()
    frozen = dataclasses.replace(tiny, strategy="frozen", batch_size=4, epochs=3)
    unknown = estimate_cost(frozen, settings, measure=False)
    assert unknown["seconds"] is None and unknown["rate_source"] is None  # nothing known, nothing measured
    assert unknown["forward_passes"] == 3 * (40 + 20)  # frozen: one forward pass per image per epoch
    events = batch_events(tiny, settings.runs_dir / "features", monkeypatch)
    assert events
    implied = estimate_cost(frozen, settings, measure=False)
    assert implied["rate_source"] == "earlier mobilenet runs of another strategy"

    events = batch_events(frozen, settings.runs_dir / "frozen", monkeypatch)
    run = FinishedRun.read(settings.runs_dir / "frozen")
    learned = estimate_cost(frozen, settings, measure=False)
    assert learned["rate_source"] == "1 earlier run"
    assert learned["images_per_second"] == pytest.approx(1 / run.parts()["train"])
    assert 1 / 1.5 < learned["seconds"] / (run.metrics["seconds"] + PROCESS_SECONDS) < 1.5  # its own time, rebuilt
    features = estimate_cost(tiny, settings, measure=False)
    assert features["rate_source"] == "1 earlier run"  # its own strategy's run, not the frozen one's rate
    # (told by where its pace comes from, the features run's own extraction: two tiny runs' speeds compared
    # flip on a loaded machine)
    assert features["images_per_second"] == pytest.approx(1 / FinishedRun.read(settings.runs_dir / "features")
                                                          .parts()["extract"])

    # the real run's ETA never collapses within an epoch (a stall on a busy machine may raise it: that is news)
    for epoch, group in itertools.groupby(events, key=lambda event: event["epoch"]):
        etas = [event["eta_seconds"] for event in group if event["eta_seconds"] is not None]
        assert all(later >= earlier / 5 - 2 for earlier, later in itertools.pairwise(etas)), (epoch, etas)


def test_a_presets_time_is_known_once_a_run_like_it_measured_the_speed(workspace, tiny_config, tiny_run):
    settings = load_settings()
    assert preset_seconds(tiny_config, settings) is None  # never measured for a list of presets
    shutil.copytree(tiny_run, settings.runs_dir / tiny_run.name)
    seconds = preset_seconds(tiny_config, settings)
    assert seconds is not None and seconds == estimate_cost(tiny_config, settings, measure=False)["seconds"]
    all_images = dataclasses.replace(tiny_config, train_size=None, validation_size=None)
    assert preset_seconds(all_images, settings) > seconds  # the whole folder, counted once the speed is known
    assert preset_seconds(dataclasses.replace(all_images, data="not-here"), settings) is None  # no photos to count


def test_the_eta_stays_steady_within_an_epoch_whose_first_batch_traced_the_graph(monkeypatch):
    clock = {"now": 0.0}
    monkeypatch.setattr(recorder.time, "monotonic", lambda: clock["now"])
    eta = EpochClock()
    readings = []
    for epoch in range(3):
        eta.begin_epoch()
        for batch in range(1, 21):
            clock["now"] += 8.0 if (epoch, batch) == (0, 1) else 0.5  # tracing, then 0.5 s a batch
            readings.append((epoch, eta.batch_done(batch, 20, epochs_after=2 - epoch)))
        clock["now"] += 2.0  # validation
        eta.end_epoch()
    first = [value for epoch, value in readings if epoch == 0 and value is not None]
    assert first[0] == pytest.approx(0.5 * 18 + 0.5 * 40) and first[-1] == pytest.approx(20.0)
    for earlier, later in itertools.pairwise(first):
        assert earlier - later == pytest.approx(0.5)  # falls with the clock, never a jump
    later_epochs = [value for epoch, value in readings if epoch > 0]
    assert all(earlier >= later for earlier, later in itertools.pairwise(later_epochs))
    assert later_epochs[-1] == pytest.approx(2.0)  # the last epoch's validation, from the second epoch's time


def test_times_read_as_people_say_them():
    assert [time_in_words(s) for s in (4, 38, 95, 130, 3600 + 20 * 60)] == [
        "a few seconds", "about 40 seconds", "about 2 minutes", "about 2 minutes", "about 1 hour 20 minutes"]
    assert progress_text({"phase": "train", "epoch": 1, "epochs": 2, "batch": 3, "batches": 9,
                          "eta_seconds": 130}).endswith("about 2 minutes left")


def test_the_page_leads_with_the_time_and_keeps_the_flops_as_a_detail(workspace, tiny):
    settings = load_settings()
    quick = dataclasses.replace(tiny, data=tiny.data)
    train(quick, settings.runs_dir / "earlier")
    page = open_page("train", run=False)
    for name, value in quick.to_dict().items():
        page.session_state[f"train_form_{name}"] = value
    page.session_state["train_form_augment_overrides"] = ""
    page.run()
    assert not page.exception, page.exception
    headline = [m.value for m in page.markdown if "on this machine" in m.value]
    assert headline and headline[0].startswith(("**About ", "**A few seconds")), headline
    assert headline[0].endswith(":** 60 photos through MobileNet once, then 2 quick rounds of training its new top "
                                "layers; photos it has seen before are not sent again.")  # in plain words, not FLOPs
    assert "Estimated from 1 earlier run." in [c.value for c in page.caption]
    assert not any("FLOPs" in m.value for m in page.markdown)
    [technical] = [expander for expander in page.expander if expander.label == "In technical terms"]
    assert any("TFLOPs" in c.value and "start-up" in c.value for c in technical.caption)


def test_a_speed_measured_once_serves_every_estimate_after_it(workspace, tiny):
    settings = load_settings()
    frozen = dataclasses.replace(tiny, strategy="frozen")
    assert estimate_cost(frozen, settings, measure=False)["seconds"] is None
    assert estimate_cost(tiny, settings)["rate_source"] == "a speed measurement just now"  # remembered here
    later = estimate_cost(frozen, settings, measure=False)  # another page, the queue, the CLI
    assert later["seconds"] is not None and later["rate_source"] == "a speed measured here earlier"
    assert preset_seconds(frozen, settings) == later["seconds"]
    bigger = dataclasses.replace(tiny, image_size=160)
    assert estimate_cost(bigger, settings, measure=False)["seconds"] is None  # measured per backbone and size


def test_what_a_run_does_reads_in_plain_words():
    cost = {"train_images": 1000, "validation_images": 1000, "cached_images": 0}
    quick = TrainConfig(data="d", backbone="mobilenet_v2", image_size=160, epochs=5)
    assert work_in_words(quick, cost) == ("2,000 photos through MobileNetV2 once, then 5 quick rounds of training "
                                          "its new top layers")
    fine = TrainConfig(data="d", backbone="vgg16", strategy="fine-tune", epochs=2, fine_tune_epochs=1)
    assert work_in_words(fine, cost) == ("1,000 photos through VGG16 twice, only its new top layers learning, then "
                                         "once more with its own top layers learning too")
    scratch = TrainConfig(data="d", backbone="basic_cnn", weights="none", strategy="scratch", epochs=30)
    assert work_in_words(scratch, cost) == ("1,000 photos through the Basic CNN 30 times, every layer learning from "
                                            "a random start")
