"""The Train page as a teacher meets it (issue 28): a speed measured once serves every estimate after it and the
estimate stays beside the launched run; the form opens on a dataset its experiment can run on and lists each dataset
once; the time in plain words first, the technical line under "In technical terms"."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lab.runs.jobs import process_identity
from lab.runs.store import RunStore
from lab.settings import load_settings
from lab.storage import write_json_atomic
from lab.training.config import TrainConfig
from lab.training.cost import estimate_cost
from lab.training.presets import PRESETS
from tests.apptest import open_page
from tests.conftest import FILTERED, SHARED

QUICK = "mobilenet-v2-quick"


def box(app: AppTest, field: str):
    [found] = [w for kind in (app.selectbox, app.number_input) for w in kind if w.key == f"train_form_{field}"]
    return found


def experiment(app: AppTest):
    [found] = [picker for picker in app.selectbox if picker.label == "Experiment"]
    return found


def launch_disabled(app: AppTest) -> bool:
    return next(button for button in app.button if button.label == "Launch").disabled


def texts(elements) -> list[str]:
    return [element.value for element in elements]


@pytest.fixture
def busy_worker(tiny_config: TrainConfig) -> Iterator[None]:
    """A run "running" in a live stand-in process: it holds the only worker, so a launched run waits, untrained."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    RunStore(load_settings().runs_dir).create(tiny_config).mark_running(*process_identity(process.pid))
    yield
    process.kill()
    process.wait()


def test_a_speed_measured_once_serves_every_estimate_and_stays_beside_the_launched_run(
        workspace: Path, busy_worker: None) -> None:
    first = open_page("train", timeout=120)
    assert any(text.startswith("**Time:** not known yet") for text in texts(first.markdown))
    next(button for button in first.button if button.label == "Measure this machine's speed").click().run()
    [said] = [text for text in texts(first.markdown) if "photos through MobileNetV2 once" in text]

    second = open_page("train", timeout=60)  # another tab, or after the Tutorials page measured: no button now
    assert said in texts(second.markdown)
    assert "Estimated from a speed measured here earlier." in texts(second.caption)
    assert not [button for button in second.button if button.label == "Measure this machine's speed"]
    assert " · about " in experiment(second).options[list(PRESETS).index(QUICK)]  # the picker's time too
    cli = estimate_cost(TrainConfig.from_dict({**PRESETS[QUICK].to_dict(), "data": str(FILTERED)}), load_settings(),
                        measure=False)
    assert cli["rate_source"] == "a speed measured here earlier"  # the CLI and the queue read it too

    next(button for button in second.button if button.label == "Launch").click().run()
    run = RunStore(load_settings().runs_dir).get(second.session_state["train_run_id"])
    assert run.status().state == "queued" and run.estimate()["seconds"] == pytest.approx(cli["seconds"])
    expected = [text for text in texts(second.caption) if text.startswith("Expected to take about")]
    assert expected and expected[0].endswith("as estimated at launch (from a speed measured here earlier).")

    write_json_atomic(run.files.metrics, {"seconds": 125.0, "best_val_accuracy": 0.9, "epochs_completed": 5})
    run.update(state="finished")
    second.run()
    assert any(text.startswith("Took 2 min 5 s; expected about") for text in texts(second.caption))


def photos(folder: Path, per_class: int) -> Path:
    """A small dataset of real photos (class folders), as an upload of a few phone photos would be."""
    for label in ("cats", "dogs"):
        (folder / label).mkdir(parents=True)
        for source in sorted((FILTERED / "train" / label).iterdir())[:per_class]:
            shutil.copy(source, folder / label / source.name)
    return folder


@pytest.fixture
def small_upload(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """8 cats and 8 dogs in a zip's wrapper folder (`a_small_upload/pets/...`) in a data folder sorting first."""
    photos(tmp_path / "uploads" / "a_small_upload" / "pets", 8)
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", f"{tmp_path / 'uploads'}:{SHARED / 'data'}")
    return tmp_path / "uploads" / "a_small_upload"


def test_the_form_opens_on_a_dataset_its_experiment_can_run_on_and_says_why(small_upload: Path) -> None:
    page = open_page("train", timeout=120, run=False)
    page.session_state["dataset_path"] = str(small_upload / "pets")  # scanned last on the Dataset page
    page.run()
    assert box(page, "data").value == str(FILTERED) and experiment(page).value == QUICK
    assert not launch_disabled(page)
    [note] = [text for text in texts(page.info) if text.startswith("Opened on another dataset than a\\_small\\_upload")]
    assert re.search(r"this experiment asks for 1,000 images but only \d+ are available for training", note)

    weights = box(page, "weights").options  # a browser sends back the label it shows: each reads differently
    assert len(set(weights)) == len(weights), weights

    box(page, "data").set_value(str(small_upload)).run()  # chosen all the same: the experiment stays, and says why
    assert experiment(page).value == QUICK and launch_disabled(page)
    assert any(re.search(r"asks for 1,000 images but only \d+", text) for text in texts(page.warning))
    assert not [text for text in texts(page.info) if text.startswith("Opened on another dataset")]


def test_a_dataset_scanned_through_its_wrapper_folder_is_listed_once_by_name(small_upload: Path) -> None:
    page = open_page("train", timeout=120, run=False)
    page.session_state["dataset_path"] = str(FILTERED)
    page.run()
    page.session_state["dataset_path"] = str(small_upload / "pets")  # the Dataset page scans the upload now
    page.run()
    data = box(page, "data")
    assert data.value == str(small_upload) and str(small_upload / "pets") not in data.options
    assert data.options.count("a_small_upload") == 1


def test_the_time_in_plain_words_first_and_the_technical_line_under_its_expander(workspace: Path,
                                                                                 tiny_run: Path) -> None:
    shutil.copytree(tiny_run, load_settings().runs_dir / tiny_run.name)  # a speed for MobileNet at 128 px
    page = open_page("train", timeout=120)
    box(page, "backbone").set_value("mobilenet").run()
    box(page, "image_size").set_value(128).run()
    shown = " ".join(texts(page.markdown))
    assert " on this machine, starting now:** 2,000 photos through MobileNet once, then 5 quick rounds of " \
        "training its new top layers." in shown
    [technical] = [expander for expander in page.expander if expander.label == "In technical terms"]
    inside = texts(technical.caption)
    assert any("head keras_tutorial" in text for text in inside) and any("GFLOPs" in text for text in inside)
    outside = [text for text in texts(page.caption) if text not in inside]
    assert not [text for text in [*outside, shown] if "GFLOPs" in text or "head keras_tutorial" in text]
    assert "MobileNet · ImageNet weights ready" in box(page, "backbone").options
    assert "VGG16 · no ImageNet weights here" in box(page, "backbone").options
