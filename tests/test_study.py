"""The dataset-size study on real photos: the CLI's JSON contract end to end, the features extracted once by the
largest run, every size judged on the same test images, the queue taking the largest first, the study's manifest
made once per folder, and mistakes refused before any run exists."""

from __future__ import annotations

import dataclasses
import shutil
import time
from pathlib import Path

import pytest

from lab.cli.train import flags_from_config
from lab.data import build_manifest, scan
from lab.errors import LabError
from lab.evaluation.evaluate import evaluations
from lab.runs import jobs
from lab.runs.status import FINISHED, QUEUED, RUNNING
from lab.runs.store import Run, RunStore
from lab.runs.study import launch_study, list_studies, load_study, parse_sizes, results, study_manifest
from lab.settings import load_settings
from lab.training.config import TrainConfig

from . import corpus
from .conftest import FILTERED, STUDY_PER_CLASS, FinishedStudy

PER_CLASS = STUDY_PER_CLASS  # 120 photos: the study holds out 12 for validation and 12 for test, trains on 96


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    """A plain folder of real photos (no split folders), small enough to study in seconds."""
    return corpus.copy_of_sample(tmp_path / "pets", PER_CLASS)


@pytest.fixture
def study_config(tiny_config: TrainConfig, photos: Path) -> TrainConfig:
    """The tiny run on the photos, sizes left to the study."""
    return dataclasses.replace(tiny_config, data=str(photos), train_size=None, validation_size=None)


def test_sizes_parse_largest_first_and_refuse_mistakes() -> None:
    assert parse_sizes("1000, all,20") == (None, 1000, 20)
    for text in ("1000", "all", "1000,lots", "1,all", ""):
        with pytest.raises(LabError):
            parse_sizes(text)


def test_a_study_from_the_cli_extracts_features_once_and_judges_every_size_on_one_test_set(
    tiny_study: FinishedStudy
) -> None:
    summary = tiny_study.summary  # `lab study --sizes 20,all --json` of the tiny run on PER_CLASS photos per class
    largest, smallest = summary["runs"]
    assert (largest["size"], largest["train_images"], smallest["size"], smallest["train_images"]) == (None, 96, 20, 20)
    assert (largest["name"], smallest["name"]) == ("MobileNet features · study, all photos",
                                                 "MobileNet features · study, 20 photos")  # named when made
    for row in summary["runs"]:
        assert row["status"] == FINISHED and Path(row["run_dir"]).is_dir()
        assert 0 <= row["best_val_accuracy"] <= 1 and 0 <= row["test_accuracy"] <= 1
    features = [Run(Path(row["run_dir"])).metrics()["features"]["computed"] for row in (largest, smallest)]
    assert features[0] == 2 * PER_CLASS and features[1] == 0  # the smaller size read the largest run's features
    tests = [evaluations(Path(row["run_dir"]))["test"] for row in (largest, smallest)]
    assert len(tests[0]) == 12 and sorted(tests[0].digests) == sorted(tests[1].digests)
    assert 0 <= summary["mcnemar_p"] <= 1 and summary["sentence"]


@pytest.mark.slow  # real workers train
def test_launch_study_queues_the_largest_size_first_and_the_queue_finishes_them(
    workspace: Path, study_config: TrainConfig
) -> None:
    settings = load_settings()
    study = launch_study(study_config, (None, 20), 1, settings)
    assert list_studies(settings) == [study.name] and load_study(study.name, settings) == study
    store = RunStore(settings.runs_dir)
    runs = [store.get(row["run_id"]) for row in study.runs]
    assert [row["size"] for row in study.runs] == [None, 20]
    assert [run.name() for run in runs] == ["MobileNet features · study, all photos",
                                            "MobileNet features · study, 20 photos"]
    deadline = time.monotonic() + 240
    while {run.status().state for run in runs} & {QUEUED, RUNNING}:
        assert time.monotonic() < deadline, [run.log_tail() for run in runs]
        time.sleep(0.5)
        jobs.reconcile(settings.runs_dir, settings)
    largest, smallest = (run.status() for run in runs)
    assert largest.state == smallest.state == FINISHED, [run.log_tail() for run in runs]
    assert largest.ended <= smallest.started  # one after the other, largest first
    assert runs[1].metrics()["features"]["computed"] == 0
    assert [row["test_accuracy"] is not None for row in results(study, settings.runs_dir)["runs"]] == [True, True]


def test_the_study_manifest_is_made_once_per_folder_and_made_again_when_the_folder_changes(
    workspace: Path, photos: Path
) -> None:
    settings = load_settings()
    first = study_manifest(photos, 7, settings)
    saved = settings.manifests_dir / f"{first.name}.json"
    written = saved.stat().st_mtime_ns
    assert [len(first.splits[split]) for split in ("train", "validation", "test")] == [96, 12, 12]
    again = study_manifest(photos, 7, settings)
    assert again.name == first.name and again.created == first.created and saved.stat().st_mtime_ns == written
    assert study_manifest(photos, 8, settings).name != first.name  # another seed, another split
    extra = sorted((FILTERED / "validation" / "cats").glob("*.jpg"))[:10]
    for source in extra:
        shutil.copy(source, photos / "cats" / source.name)
    changed = study_manifest(photos, 7, settings)
    assert changed.name == first.name and sum(map(len, changed.splits.values())) == 2 * PER_CLASS + len(extra)


def test_mistakes_are_one_line_exit_2_and_no_runs(workspace: Path, lab_cli, study_config: TrainConfig) -> None:
    flags = flags_from_config(study_config)
    for sizes, said in (("1000", "at least two sizes"), ("20,lots", "whole number"), ("500,all", "96 in")):
        done = lab_cli("study", "--sizes", sizes, *flags)
        assert done.returncode == 2, done.stderr
        assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    untested = build_manifest(scan(Path(study_config.data), settings=load_settings()), name="no-test", seed=1)
    untested.save(load_settings())
    done = lab_cli("study", "--sizes", "20,all", *flags, "--data", "no-test")
    assert done.returncode == 2 and "has no test split" in done.stderr, done.stderr
    assert not list((workspace / "runs").glob("*/status.json"))
