"""Demo mode (`TRANSFER_LAB_DEMO=1`) on every page in Streamlit's AppTest: prediction and comparison work,
training, deletion, export making, typed paths and large uploads are switched off with one calm line, and
no server path appears in any page's text."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from lab.access import TRAINING_OFF, shown_message
from lab.runs.store import RunStore
from lab.settings import DEMO_UPLOAD_MB, load_settings
from lab.training.config import TrainConfig
from tests.apptest import open_page, shown
from tests.conftest import FILTERED, SHARED, FinishedStudy

CAT = min((FILTERED / "validation" / "cats").iterdir())
TEXT_ELEMENTS = ("title", "header", "subheader", "markdown", "caption", "code", "info", "warning", "error", "success",
                 "text", "toast")


@pytest.fixture
def demo(workspace: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Demo mode for one test; the error details it hides (a process-wide option) come back afterwards."""
    monkeypatch.setenv("TRANSFER_LAB_DEMO", "1")
    details = config.get_option("client.showErrorDetails")
    yield workspace
    config.set_option("client.showErrorDetails", details)


@pytest.fixture
def demo_with_run(demo: Path, tiny_run: Path) -> str:
    shutil.copytree(tiny_run, load_settings().runs_dir / tiny_run.name)
    return tiny_run.name


def page_text(app: AppTest) -> str:
    """Everything a visitor can read: text elements, metrics, choices and tables."""
    parts = [str(element.value) for kind in TEXT_ELEMENTS for element in app.get(kind)]
    parts += [f"{metric.label} {metric.value}" for metric in app.metric]
    parts += [str(option) for box in [*app.selectbox, *app.multiselect, *app.radio] for option in box.options]
    parts += [table.value.to_csv() for table in app.dataframe]
    return "\n".join(parts)


def assert_no_server_path(app: AppTest) -> None:
    text = page_text(app)
    settings = load_settings()
    for path in (settings.workspace, SHARED, *settings.data_dirs, *settings.weights_dirs):
        assert str(path) not in text, f"{path} shown in demo mode"
    assert "/tmp/" not in text and "/work/" not in text


def buttons(app: AppTest) -> set[str]:
    return {button.label for button in app.button}


def test_the_sidebar_shows_no_workspace_path(demo: Path) -> None:
    app = open_page("home")
    assert "Demo mode: prediction and comparison only." in page_text(app)
    assert config.get_option("client.showErrorDetails") == "none"  # a traceback would name server folders
    assert_no_server_path(app)


def test_the_sidebar_outside_demo_mode_still_shows_the_workspace(workspace: Path) -> None:
    assert str(workspace) in page_text(open_page("home"))


def test_train_is_switched_off(demo: Path) -> None:
    app = open_page("train")
    assert [info.value for info in app.info] == [TRAINING_OFF]
    assert "Launch" not in buttons(app) and not app.selectbox


def test_tutorials_start_nothing(demo: Path) -> None:
    app = open_page("replay")
    assert TRAINING_OFF in [info.value for info in app.info]
    assert not any(label.startswith("Start") for label in buttons(app))


def test_dataset_browses_the_configured_folders_only(demo: Path) -> None:
    app = open_page("dataset")
    assert not app.radio and not app.text_input  # no upload, no download, no typed path
    assert not app.get("file_uploader")
    app.selectbox[0].set_value(str(FILTERED))
    next(button for button in app.button if button.label == "Scan").click().run()
    assert not app.exception, app.exception
    assert app.subheader[0].value.startswith("3,000 images of 2 classes")
    assert "`cats_and_dogs_filtered` · laid out as" in page_text(app)
    assert "Demo mode: saving splits is switched off on this server." in page_text(app)
    assert "Save manifest" not in buttons(app)
    assert_no_server_path(app)


def test_compare_reads_runs_but_changes_nothing(demo_with_run: str) -> None:
    app = open_page("compare")
    app.multiselect(key="compare_selected").set_value([demo_with_run]).run()
    assert not app.exception, app.exception
    text = page_text(app)
    assert "Learning curves" in text and "Evaluation" in text
    assert "Demo mode: renaming, tagging and deleting runs is switched off on this server." in text
    assert TRAINING_OFF in text  # the study preset launches runs
    assert not buttons(app) & {"Delete", "Rename", "Run the study preset"}
    assert_no_server_path(app)


@pytest.mark.slow  # Grad-CAM on the page
def test_predict_answers_a_photo_and_makes_no_export(demo_with_run: str) -> None:
    app = open_page("predict")
    uploader = next(u for u in app.get("file_uploader") if "predict_upload" in u.proto.id)
    assert uploader.proto.max_upload_size_mb == DEMO_UPLOAD_MB  # the browser refuses a larger photo at once
    uploader.set_value([(CAT.name, CAT.read_bytes(), "image/jpeg")])
    app.run()
    assert not app.exception, app.exception
    assert any(markdown.value.startswith("### ") for markdown in app.markdown)  # the answer, "### Cat"
    assert "Make the export" not in buttons(app)
    assert "Demo mode: making exports is switched off on this server" in page_text(app)
    app.selectbox(key="predict_batch_folder").set_value(FILTERED / "validation" / "cats").run()
    app.button(key="predict_batch").click().run()
    assert not app.exception, app.exception
    assert "cats_and_dogs_filtered/validation/cats/" in page_text(app)  # the batch table names files by dataset
    assert_no_server_path(app)


def test_an_upload_over_the_limit_is_refused_on_the_server(demo_with_run: str) -> None:
    app = open_page("predict")
    uploader = next(u for u in app.get("file_uploader") if "predict_upload" in u.proto.id)
    big = CAT.read_bytes() + bytes(DEMO_UPLOAD_MB * 2**20)  # a browser that skipped the widget's own check
    uploader.set_value([("big.jpg", big, "image/jpeg"), (CAT.name, CAT.read_bytes(), "image/jpeg")])
    app.run()
    assert f"big.jpg is larger than {DEMO_UPLOAD_MB} MB" in page_text(app)
    assert sum(markdown.value.startswith("### ") for markdown in app.markdown) == 1  # the small one is answered


def test_augment_takes_a_small_photo_and_shows_no_path(demo: Path) -> None:
    app = open_page("augment")
    assert_no_server_path(app)
    next(radio for radio in app.radio if "Upload a photo" in radio.options).set_value("Upload a photo").run()
    [uploader] = app.get("file_uploader")
    assert uploader.proto.max_upload_size_mb == DEMO_UPLOAD_MB


def test_a_study_is_shown_without_its_run_folders(demo: Path, tiny_study: FinishedStudy) -> None:
    tiny_study.copy_into(demo)  # made by the CLI, which may train
    app = open_page("compare")
    [table] = [frame.value for frame in app.dataframe if "size" in frame.value]  # the study's
    assert "run_dir" not in table and list(table["size"]) == ["all", "20"]  # its runs by size, not by folder
    assert_no_server_path(app)


def test_a_damaged_runs_reason_names_no_server_path(demo: Path) -> None:
    """Issue 26: a reason such as "[Errno 21] Is a directory: '/srv/.../status.json'" went out as it was."""
    store = RunStore(load_settings().runs_dir)
    run = store.create(TrainConfig(data=str(FILTERED)))
    (run.path / "status.json").unlink()
    (run.path / "status.json").mkdir()  # unreadable as a file: the reason carries the path
    assert str(run.path) in str(run.status().error)
    app = open_page("home")
    [warning] = [shown(element.value) for element in app.warning if "to repair or delete" in element.value]
    assert "status.json" in warning
    assert_no_server_path(app)


def test_a_message_shows_server_paths_by_name_in_demo_mode_only(demo: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    message = f"No images found in {FILTERED / 'train'}. Expected class folders (root/cats/*.jpg), see http://x.org/a/b."
    assert shown_message(message, load_settings()) == ("No images found in cats_and_dogs_filtered/train. Expected "
                                                      "class folders (root/cats/*.jpg), see http://x.org/a/b.")
    monkeypatch.delenv("TRANSFER_LAB_DEMO")
    assert shown_message(message, load_settings()) == message
