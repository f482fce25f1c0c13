"""The home page and sidebar (streamlit_app.py), run by AppTest against a workspace with real files in it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lab.runs.jobs import process_identity
from lab.runs.store import RunStore
from lab.settings import load_settings
from lab.storage import write_json_atomic
from lab.training.config import TrainConfig
from lab.workspace import summarize_workspace
from tests.conftest import FILTERED

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def add_run(state: str) -> str:
    """A real run folder in `state`; a running one is owned by this live test process, so the page's
    reconciliation (which marks runs with dead workers failed) sees a live worker."""
    run = RunStore(load_settings().runs_dir).create(TrainConfig(data=str(FILTERED)))
    pid, created = process_identity() if state == "running" else (None, None)
    run.update(state=state, pid=pid, pid_created=created)
    return run.id


def open_home() -> AppTest:
    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    assert not app.exception, app.exception
    return app


def metrics(app: AppTest) -> dict[str, str]:
    return {metric.label: metric.value for metric in app.metric}


def test_home_explains_the_lab_and_shows_an_empty_workspace(workspace: Path) -> None:
    app = open_home()
    assert app.title[0].value == "Transfer Lab"
    assert "Transfer learning" in app.markdown[0].value
    assert metrics(app) == {"Datasets": "2", "Saved splits": "0", "Training runs": "0", "Running now": "0"}
    steps = [block.value for block in app.markdown if block.value.startswith("**")][:5]
    assert steps == ["**1. Dataset**", "**2. Augment**", "**3. Train**", "**4. Compare**", "**5. Predict**"]
    assert any("No training runs yet" in caption.value for caption in app.caption)
    sidebar = [block.value for block in app.sidebar.markdown]
    assert "**Training:** nothing running" in sidebar
    assert any(block.startswith("**Compute:**") for block in sidebar)
    assert str(workspace) in app.sidebar.code[0].value


def test_home_counts_manifests_and_runs_and_names_the_running_job(workspace: Path) -> None:
    settings = load_settings()
    write_json_atomic(settings.manifests_dir / "pets.json", {"name": "pets"})
    add_run("finished")
    running = add_run("running")
    add_run("queued")
    app = open_home()
    assert metrics(app) == {"Datasets": "2", "Saved splits": "1", "Training runs": "3", "Running now": "1"}
    assert app.info[0].value == f"Training now: {running} · 1 waiting"
    assert f"**Training:** {running}" in [b.value for b in app.sidebar.markdown]


def test_a_run_whose_worker_died_is_shown_failed(workspace: Path) -> None:
    run = RunStore(load_settings().runs_dir).create(TrainConfig(data=str(FILTERED)))
    run.update(state="running", pid=2**22 + 12345, pid_created=1.0)  # no such process
    app = open_home()
    assert metrics(app)["Running now"] == "0"
    assert run.status().state == "failed" and "worker process exited" in run.status().error


def test_compute_device_lists_the_cpu(workspace: Path) -> None:
    app = open_home()
    devices = [block.value for block in app.markdown if block.value.startswith("- ")]
    assert any(device.startswith("- CPU:") and "logical cores" in device for device in devices), devices


def test_summary_reads_unreadable_runs_as_unknown_and_skips_folders_without_images(workspace: Path) -> None:
    settings = load_settings()
    (settings.runs_dir / "half-made").mkdir(parents=True)
    (settings.datasets_dir / "notes").mkdir()
    (settings.datasets_dir / "notes" / "readme.txt").write_text("no images here")
    summary = summarize_workspace(settings)
    assert summary.runs == {"half-made": "unknown"}
    assert [folder.name for folder in summary.datasets] == ["cats_and_dogs_filtered", "dogs-vs-cats-20k-160px"]
