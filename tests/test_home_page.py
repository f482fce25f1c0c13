"""The home page and sidebar (streamlit_app.py), run by AppTest against a workspace with real files in it."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from lab.settings import load_settings
from lab.storage import write_json_atomic
from lab.workspace import summarize_workspace

APP = str(Path(__file__).resolve().parent.parent / "streamlit_app.py")


def add_run(run_id: str, state: str) -> None:
    """A run folder as a worker leaves it: only `status.json` matters to the summary."""
    write_json_atomic(load_settings().runs_dir / run_id / "status.json", {"state": state, "pid": None})


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
    add_run("20261123-100000-basic_cnn-scratch-aaaa", "finished")
    add_run("20261123-110000-mobilenet_v2-fine-tune-bbbb", "running")
    add_run("20261123-120000-vgg16-frozen-cccc", "queued")
    app = open_home()
    assert metrics(app) == {"Datasets": "2", "Saved splits": "1", "Training runs": "3", "Running now": "1"}
    assert app.info[0].value == "Training now: 20261123-110000-mobilenet_v2-fine-tune-bbbb · 1 waiting"
    assert "**Training:** 20261123-110000-mobilenet_v2-fine-tune-bbbb" in [b.value for b in app.sidebar.markdown]


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
