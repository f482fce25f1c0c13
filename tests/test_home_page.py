"""The home page and sidebar (streamlit_app.py), run by AppTest against a workspace the tests make: its
own data folder with known datasets, and the runs each test creates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.plain_text import as_text
from lab.replays.catalog import REPLAYS
from lab.runs.jobs import process_identity
from lab.runs.status import FAILED, QUEUED, RUNNING
from lab.runs.store import RunStore, run_names
from lab.settings import load_settings
from lab.storage import write_json_atomic
from lab.training.config import TrainConfig
from lab.workspace import dataset_names, summarize_workspace
from tests.apptest import open_page as open_app
from tests.apptest import page_script
from tests.conftest import FILTERED, REPO

DATASETS = ("kittens", "puppies-by-split")  # the image folders the test data folder holds


@pytest.fixture
def data_dir(workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with two datasets (flat, and split/class/image) and a folder without images."""
    data = tmp_path / "data"
    for image in ("kittens/cat.1.jpg", "puppies-by-split/train/dogs/dog.1.png", "notes/readme.txt"):
        (data / image).parent.mkdir(parents=True, exist_ok=True)
        (data / image).write_bytes(b"not decoded: the summary only lists folders")
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(data))
    return data


def add_run(state: str) -> str:
    """A real run folder in `state`; a running one is owned by this live test process, so the page's
    reconciliation (which marks runs with dead workers failed) sees a live worker."""
    run = RunStore(load_settings().runs_dir).create(TrainConfig(data=str(FILTERED)))
    if state == RUNNING:
        run.mark_running(*process_identity())
    else:
        run.update(state=state)
    return run.id


def open_home() -> AppTest:
    return open_app("home")


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_home_explains_the_lab_and_shows_an_empty_workspace(workspace: Path, data_dir: Path) -> None:
    app = open_home()
    assert app.title[0].value == "Transfer Lab"
    assert "Transfer learning" in app.markdown[0].value
    assert metrics(app) == {"Datasets": "2", "Saved splits": "0", "Training runs": "0", "Running now": "0"}
    assert "Datasets: `kittens`, `puppies-by-split`" in [caption.value for caption in app.caption]
    cards = [block.value for block in app.markdown if block.value.startswith("**")][:7]
    assert cards[:2] == [f"**{replay.title}**" for replay in REPLAYS.values()]  # a whole tutorial comes first
    assert cards[2:] == ["**1. Dataset**", "**2. Augment**", "**3. Train**", "**4. Compare**", "**5. Predict**"]
    assert any("No training runs yet" in caption.value for caption in app.caption)
    sidebar = [block.value for block in app.sidebar.markdown]
    assert "**Training:** nothing running" in sidebar
    assert any(block.startswith("**Compute:**") for block in sidebar)
    assert str(workspace) in app.sidebar.code[0].value


def test_a_bad_setting_is_one_message_not_a_traceback(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`TRANSFER_LAB_RAY_ADDRESS` without a port was Ray's `ValueError` in every page's sidebar (issue 26)."""
    monkeypatch.setenv("TRANSFER_LAB_RAY_ADDRESS", "10.0.0.5")
    app = open_home()  # raised nothing
    [error] = [element.value for element in app.error]
    assert error.startswith("TRANSFER_LAB_RAY_ADDRESS='10.0.0.5' is not allowed: it must be auto, host:port")
    assert error.endswith("Set it where the app is started, then start the app again.")
    assert not app.sidebar.markdown  # nothing else ran


def test_home_counts_manifests_and_runs_and_names_the_running_job(workspace: Path, data_dir: Path) -> None:
    settings = load_settings()
    write_json_atomic(settings.manifests_dir / "pets.json", {"name": "pets"})
    (data_dir / "more-kittens").mkdir()
    (data_dir / "more-kittens" / "cat.2.JPEG").write_bytes(b"")
    add_run("finished")
    running = add_run(RUNNING)
    queued = add_run(QUEUED)
    app = open_home()
    assert metrics(app) == {"Datasets": "3", "Saved splits": "1", "Training runs": "3", "Running now": "1"}
    names = {run_id: as_text(name) for run_id, name in run_names(RunStore(settings.runs_dir).list()).items()}
    assert sorted(names.values()) == [as_text("MobileNetV2 features · all photos" + number)  # one config, numbered
                                      for number in ("", " (2)", " (3)")]
    assert app.info[0].value == f"Training now: {names[running]} · 1 waiting"
    sidebar = [block.value for block in app.sidebar.markdown]
    assert f"**Training:** {names[running]}" in sidebar
    assert any(caption.value.startswith(f"1 waiting, in line: {names[queued]}") for caption in app.sidebar.caption)
    shown = " ".join(block.value for block in [*app.markdown, *app.info, *app.sidebar.markdown, *app.sidebar.caption])
    assert running not in shown and queued not in shown  # runs go by their names


def test_a_run_whose_worker_died_is_shown_failed(workspace: Path, data_dir: Path) -> None:
    run = RunStore(load_settings().runs_dir).create(TrainConfig(data=str(FILTERED)))
    run.mark_running(2**22 + 12345, 1.0)  # no such process
    app = open_home()
    assert metrics(app)["Running now"] == "0"
    assert run.status().state == FAILED and "worker process exited" in run.status().error


def listed_devices(app: AppTest) -> list[str]:
    return [block.value for block in app.markdown if block.value.startswith("- ")]


def test_compute_device_lists_the_cpu(workspace: Path) -> None:
    app = open_home()
    deadline = time.monotonic() + 120
    while not listed_devices(app) and time.monotonic() < deadline:  # TensorFlow loads in the background
        time.sleep(0.5)
        app.run()
    devices = listed_devices(app)
    assert any(device.startswith("- CPU:") and "logical cores" in device for device in devices), devices


# Run in a fresh interpreter, as on a cold server where TensorFlow is not loaded yet: the home page's first run,
# then reruns until the devices are listed on the page and in the sidebar (a run during which they arrive drew
# its sidebar before; a browser's sidebar looks again every few seconds). Prints what the first and last drew.
COLD_SERVER_VISIT = """
import json, sys, time
from streamlit.testing.v1 import AppTest

def seen(app):
    return {"captions": [c.value for c in app.caption],
            "devices": [m.value for m in app.markdown if m.value.startswith("- ")],
            "sidebar": [m.value for m in app.sidebar.markdown],
            "tensorflow": "tensorflow" in sys.modules}

app = AppTest.from_file(sys.argv[1], default_timeout=120)
started = time.monotonic()
app.run()
first = {**seen(app), "seconds": time.monotonic() - started}

def found(app):  # the page lists the devices and the sidebar, drawn earlier in a run, names them too
    now = seen(app)
    return now["devices"] and "**Compute:** looking for GPUs..." not in now["sidebar"]

while not found(app) and time.monotonic() - started < 120:
    time.sleep(0.5)
    app.run()
print(json.dumps({"first": first, "last": {**seen(app), "seconds": time.monotonic() - started}}))
"""


@pytest.mark.slow  # a cold interpreter imports TensorFlow
def test_the_home_page_draws_before_tensorflow_has_listed_the_devices(workspace: Path, data_dir: Path) -> None:
    visit = subprocess.run([sys.executable, "-c", COLD_SERVER_VISIT, page_script("home")], capture_output=True,
                           text=True, cwd=REPO, env=os.environ, timeout=300, check=True)
    first, last = json.loads(visit.stdout.splitlines()[-1]).values()
    assert not first["devices"] and any("Looking for GPUs" in caption for caption in first["captions"]), first
    assert "**Compute:** looking for GPUs..." in first["sidebar"]
    assert any(device.startswith("- CPU:") for device in last["devices"]), last
    assert "**Compute:** CPU only" in last["sidebar"]
    assert not last["tensorflow"]  # a child process listed them: the server itself never stalls on the import


def test_summary_reads_unreadable_runs_as_unknown_and_skips_folders_without_images(
    workspace: Path, data_dir: Path
) -> None:
    settings = load_settings()
    (settings.runs_dir / "half-made").mkdir(parents=True)
    damaged = add_run(QUEUED)
    (settings.runs_dir / damaged / "status.json").write_text("{")
    summary = summarize_workspace(settings)
    assert summary.runs == {"half-made": "unknown", damaged: "unknown"}
    assert [folder.name for folder in summary.datasets] == list(DATASETS)


def test_a_damaged_run_does_not_stop_the_home_page(workspace: Path, data_dir: Path) -> None:
    running = add_run(RUNNING)
    (load_settings().runs_dir / add_run(QUEUED) / "status.json").write_text('{"state": ')
    app = open_home()
    assert metrics(app)["Training runs"] == "2" and metrics(app)["Running now"] == "1"
    name = as_text(run_names(RunStore(load_settings().runs_dir).list())[running])
    assert f"**Training:** {name}" in [block.value for block in app.sidebar.markdown]


def test_the_compare_and_predict_cards_link_to_their_pages(workspace: Path) -> None:
    app = open_home()
    links = {link.proto.label: link.proto.page for link in app.get("page_link")}
    assert links["Open Compare"].endswith("compare.py") or links["Open Compare"] == "compare", links
    assert links["Open Predict"].endswith("predict.py") or links["Open Predict"] == "predict", links
    assert not any("Coming in a later version" in caption.value for caption in app.caption)
    tutorials = [link.proto for link in app.get("page_link") if link.proto.label == "Reproduce it"]
    assert len(tutorials) == 2 and all(link.page.endswith("replay.py") or link.page == "replay" for link in tutorials)
    assert [link.query_string for link in tutorials] == [f"replay={name}" for name in REPLAYS]  # its card first there


def test_datasets_are_named_as_people_know_them(workspace: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for image in ("school/pets/cat.1.jpg", "home/pets/dog.1.jpg", "home/birds/owl.1.jpg"):
        (tmp_path / image).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / image).write_bytes(b"not decoded")
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", f"{tmp_path / 'school'}:{tmp_path / 'home'}")
    settings = load_settings()
    (settings.datasets_dir / "holiday" / "cats").mkdir(parents=True)
    (settings.datasets_dir / "holiday" / "cats" / "cat.2.jpg").write_bytes(b"not decoded")
    names = sorted(dataset_names(settings).values())
    assert names == ["birds", "holiday (uploaded)", "pets (in home)", "pets (in school)"]
