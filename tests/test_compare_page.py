"""The Compare page in Streamlit's AppTest, over two real tiny runs trained on a split with a test share,
so the table, the evaluation views and the paired comparison read real stored predictions."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_pages.plain_text import as_text
from lab.runs import labels
from lab.runs.jobs import process_identity
from lab.runs.store import RunStore
from lab.settings import load_settings
from lab.training.config import TrainConfig
from tests import corpus
from tests.apptest import open_page as open_app
from tests.conftest import FILTERED, FinishedReplay, FinishedStudy


@pytest.fixture
def run_ids(run_pair: Path, workspace: Path) -> list[str]:
    """The session's two runs copied into this test's workspace (tests rename and delete them), oldest first."""
    shutil.copytree(run_pair, load_settings().runs_dir)
    return sorted(path.name for path in load_settings().runs_dir.iterdir() if not path.name.startswith("."))


def open_page() -> AppTest:
    return open_app("compare")


def table_ids(app: AppTest) -> list[str]:
    return list(app.dataframe(key="compare_table").value.index)


def texts(app: AppTest) -> str:
    return "\n".join(e.value for kind in (app.markdown, app.caption, app.info, app.warning, app.text) for e in kind)


def frame_indexed(app: AppTest, first: str):
    """The table on the page whose first row is `first` (tables without selection have no key in AppTest)."""
    return next(frame.value for frame in app.dataframe if len(frame.value) and frame.value.index[0] == first)


def compare(app: AppTest, ids: list[str]) -> AppTest:
    app.multiselect(key="compare_selected").set_value(ids).run()
    assert not app.exception, app.exception
    return app


def test_no_runs_says_where_to_start(workspace: Path) -> None:
    app = open_page()
    assert app.title[0].value == "Compare"
    assert "No runs yet: train one on the Train page" in app.info[0].value
    assert "No study yet" in texts(app)


def test_the_table_has_a_row_per_run_with_the_issue_columns(run_ids: list[str]) -> None:
    app = open_page()
    frame = app.dataframe(key="compare_table").value
    assert sorted(frame.index) == run_ids
    wanted = {"name", "backbone", "weights", "strategy", "train_images", "image_size", "epochs", "best_val_accuracy",
              "test_accuracy", "seconds", "images_per_second", "status", "created", "tags"}
    assert wanted <= set(frame.columns)
    assert sorted(frame["train_images"]) == [40, 80] and frame["test_accuracy"].notna().all()
    assert set(frame["status"]) == {"finished"}


def test_search_and_filters_narrow_the_table(run_ids: list[str]) -> None:
    labels.tag(load_settings().runs_dir / run_ids[0], ["small"])
    app = open_page()
    app.multiselect(key="compare_filter_tag").set_value(["small"]).run()
    assert table_ids(app) == [run_ids[0]]
    app.multiselect(key="compare_filter_tag").set_value([]).run()
    app.text_input(key="compare_search").set_value(run_ids[1][-4:]).run()
    assert table_ids(app) == [run_ids[1]]
    app.text_input(key="compare_search").set_value("").run()
    app.multiselect(key="compare_filter_status").set_value(["finished"]).run()
    assert sorted(table_ids(app)) == run_ids


def test_rename_and_tag_from_the_page(run_ids: list[str]) -> None:
    app = open_page()
    app.selectbox(key="compare_run").set_value(run_ids[0]).run()
    app.text_input(key=f"compare_name_{run_ids[0]}").set_value("small baseline")
    app.button(key="compare_rename").click().run()
    app.text_input(key=f"compare_tags_{run_ids[0]}").set_value("baseline, 40")
    app.button(key="compare_tag").click().run()
    assert not app.exception, app.exception
    found = labels.read_labels(load_settings().runs_dir / run_ids[0])
    assert (found.name, found.tags) == ("small baseline", ("40", "baseline"))
    frame = app.dataframe(key="compare_table").value
    assert frame.loc[run_ids[0], "name"] == "small baseline"
    assert list(frame.loc[run_ids[0], "tags"]) == ["40", "baseline"]
    app.text_input(key=f"compare_tags_{run_ids[0]}").set_value("bad tag!")
    app.button(key="compare_tag").click().run()
    assert "a tag is one word" in app.error[0].value


def test_delete_asks_first(run_ids: list[str]) -> None:
    app = open_page()
    app.selectbox(key="compare_run").set_value(run_ids[0]).run()
    app.button(key="compare_delete").click().run()
    assert "go for good" in app.warning[0].value and (load_settings().runs_dir / run_ids[0]).exists()
    app.button(key="compare_delete_no").click().run()
    assert not app.warning and (load_settings().runs_dir / run_ids[0]).exists()
    app.button(key="compare_delete").click().run()
    app.button(key="compare_delete_yes").click().run()
    assert not app.exception, app.exception
    assert not (load_settings().runs_dir / run_ids[0]).exists() and table_ids(app) == [run_ids[1]]


def test_a_running_run_cannot_be_deleted(workspace: Path) -> None:
    running = RunStore(load_settings().runs_dir).create(TrainConfig(data=str(FILTERED)), running_in=process_identity())
    app = open_page()
    app.selectbox(key="compare_run").set_value(running.id).run()
    assert app.button(key="compare_delete").disabled
    assert f"{as_text(running.name())} is training: stop it on the Train page before deleting it" in texts(app)


def test_one_selected_run_shows_its_curves_and_evaluation_views(run_ids: list[str]) -> None:
    app = compare(open_page(), [run_ids[1]])
    assert [h.value for h in app.subheader] == ["Learning curves", "Evaluation"]
    assert app.selectbox(key="compare_evaluation").value == "test"
    report = frame_indexed(app, "cats")
    assert list(report.index) == ["cats", "dogs", "macro average", "weighted average"]
    assert report.loc["macro average", "support"] == 30
    assert "Most confused:" in texts(app) and "Rows are the true class" in texts(app)
    charts = [chart.proto.id for chart in app.get("plotly_chart")]
    assert len(charts) == 7  # accuracy, loss; counts, normalised; ROC, precision-recall; reliability
    gallery = app.get("image")
    assert len(gallery) == 12 and all(caption.startswith("true ") for img in gallery for caption in img.captions)
    assert "Accuracy" in [m.label for m in app.metric]
    app.selectbox(key="compare_evaluation").set_value("validation").run()
    assert frame_indexed(app, "cats").loc["macro average", "support"] == 20


def test_two_selected_runs_get_the_config_diff_deltas_and_the_paired_comparison(run_ids: list[str]) -> None:
    app = compare(open_page(), run_ids)
    assert [h.value for h in app.subheader] == ["Learning curves", "What differs", "Evaluation", "Paired comparison"]
    assert list(frame_indexed(app, "Epochs").index) == ["Epochs", "Training images"]
    assert any(metric.delta and metric.delta.endswith("points") for metric in app.metric)
    text = texts(app)
    assert "Of 30 images," in text and "McNemar p =" in text and "McNemar's test looks only" in text
    changed = [caption for img in app.get("image") for caption in img.captions if " · " in caption and ":" in caption]
    assert "photos only" in text and changed, "no changed-prediction gallery"


def test_a_run_without_test_predictions_says_so(run_ids: list[str]) -> None:
    (load_settings().runs_dir / run_ids[0] / "predictions.csv").unlink()
    app = compare(open_page(), run_ids)
    assert "No test predictions for this run" in texts(app)
    assert "Paired comparison" not in [h.value for h in app.subheader]


def test_a_damaged_run_folder_does_not_break_the_page(run_ids: list[str]) -> None:
    (load_settings().runs_dir / run_ids[0] / "status.json").write_text("{")
    (load_settings().runs_dir / run_ids[1] / "metrics.json").write_text("{")
    app = open_page()
    frame = app.dataframe(key="compare_table").value
    assert frame.loc[run_ids[0], "status"] == "unknown" and len(frame) == 2
    compare(app, run_ids)


def test_labels_json_is_what_the_page_wrote(run_ids: list[str]) -> None:
    labels.rename(load_settings().runs_dir / run_ids[1], "from the CLI")
    app = open_page()
    assert app.dataframe(key="compare_table").value.loc[run_ids[1], "name"] == "from the CLI"
    assert json.loads((load_settings().runs_dir / run_ids[1] / "labels.json").read_text())["name"] == "from the CLI"


def test_a_finished_study_shows_its_chart_and_mcnemar_sentence(workspace: Path, tiny_study: FinishedStudy) -> None:
    tiny_study.copy_into(workspace)
    summary = tiny_study.summary

    app = open_page()
    assert app.get("plotly_chart"), "the study's accuracy-against-images chart"
    assert summary["sentence"] in texts(app)
    assert "No study yet" not in texts(app)
    assert summary["learning_curve"]["images_for"]["sentence"] in [text.value for text in app.text]
    figure = app.get("plotly_chart")[0].proto.spec
    assert "fit: power law" in figure and "extrapolated" in figure  # the fit drawn, dashed beyond the sizes
    assert [b.proto.label for b in app.get("download_button")][-1] == "Download the report (HTML, opens offline)"


def test_a_keras_replay_answers_the_question_until_a_study_does(workspace: Path, keras_replay_tiny: FinishedReplay
                                                                ) -> None:
    for folder in ("runs", "replays"):  # a replay run to answer the same question, and no study yet
        shutil.copytree(keras_replay_tiny.workspace / folder, workspace / folder)
    app = open_page()
    frame = next(frame.value for frame in app.dataframe if "experiment" in frame.value.columns)  # no key in AppTest
    assert list(frame["experiment"]) == [row["experiment"] for row in keras_replay_tiny.planned.rows]  # 20K, 1K
    assert list(frame["training images"]) == ["56", "20"] and list(frame["status"]) == ["finished", "finished"]
    verdict = next(m.value for m in app.markdown if m.value.startswith("⚖️ **Too close to call:** "))
    assert "1K images about as good as 20K" in verdict  # the claim, and its evidence: the 1K row's test accuracy
    assert frame["test here"][1].split(" (")[0] in verdict and re.search(r"\(\d+\.\d-\d+\.\d%\)", frame["test here"][1])
    assert "No study yet" not in texts(app)
    assert any(c.value.startswith("For more sizes and a learning curve") for c in app.caption)


def test_the_study_preset_is_on_the_page_its_click_draws_with_where_its_runs_are(
        workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The preset trains on "dogs-vs-cats-20k-160px": here a folder of that name with 1,280 real photos (enough for
    its 1,000-image size). A run training in this process holds the only worker, so the study's runs wait."""
    corpus.copy_of_sample(tmp_path / "data" / "dogs-vs-cats-20k-160px", 640)
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(tmp_path / "data"))
    RunStore(load_settings().runs_dir).create(TrainConfig(data=str(FILTERED)), running_in=process_identity())
    app = open_page()
    assert "No study yet" in texts(app)

    app.button(key="compare_study").click().run(timeout=300)

    assert not app.exception and not app.error, app.error
    assert [toast.value for toast in app.toast] == ["Queued the study: 2 runs, largest first"]
    assert "No study yet" not in texts(app)
    [where] = [text.value for text in app.text]
    assert where.splitlines()[0].startswith("all training images: next in line, ")
    assert where.splitlines()[1].startswith("1,000 training images: 2nd in line, ")
    assert any(c.value.startswith("Sizes all training images, 1,000 training images.") for c in app.caption)


def test_a_study_preset_without_enough_photos_says_so_under_its_button(workspace: Path, tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    corpus.copy_of_sample(tmp_path / "data" / "dogs-vs-cats-20k-160px", 30)
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(tmp_path / "data"))
    app = open_page()

    app.button(key="compare_study").click().run(timeout=120)

    assert not app.exception, app.exception
    [error] = [e.value for e in app.error]
    assert "asks for 1,000 training images" in error and "use smaller sizes" in error, error
    assert not app.toast and not (workspace / "studies").exists()


def readable(app: AppTest) -> str:
    """Everything a person reads on the page, as AppTest sees it: text, headings, metrics, picker labels."""
    parts = [texts(app), *(e.value for kind in (app.title, app.header, app.subheader) for e in kind)]
    parts += [f"{metric.label} {metric.value} {metric.delta or ''}" for metric in app.metric]
    parts += [str(option) for box in [*app.selectbox, *app.multiselect] for option in box.options]
    return "\n".join(parts)


def test_runs_go_by_name_and_no_none_is_shown_with_a_study_and_two_runs(run_ids: list[str], workspace: Path,
                                                                       tiny_study: FinishedStudy) -> None:
    tiny_study.copy_into(workspace)
    app = compare(open_page(), run_ids)
    every_id = [path.name for path in load_settings().runs_dir.iterdir() if not path.name.startswith(".")]
    shown = readable(app)
    assert "MobileNet features · 40 photos" in shown and "MobileNet features · study, 20 photos" in shown
    assert not [run_id for run_id in every_id if run_id in shown]
    assert not re.search(r"\bNone\b", shown)
    for frame in app.dataframe:  # an empty cell is drawn as the placeholder, never as "None"
        visible = frame.value.reset_index(drop=True)  # the runs table's index is its ids, hidden on the page
        if visible.isna().any().any():
            assert frame.proto.placeholder == "—", list(visible.columns)
        assert not [run_id for run_id in every_id if run_id in visible.to_string()]
    differs = frame_indexed(app, "Epochs")
    assert differs.loc["Training images"].tolist() == ["40", "80"] and set(differs.columns) == {
        "MobileNet features · 40 photos", "MobileNet features · 80 photos"}


def test_the_evaluation_shows_the_reliability_diagram_every_interval_and_tta_beside_the_plain_figure(
        run_ids: list[str], run_pair: Path, workspace: Path) -> None:
    from lab.evaluation.evaluate import evaluate_run
    from lab.evaluation.tta import gain_words

    shutil.copytree(run_pair.parent / "manifests", workspace / "manifests")  # the runs' own photos, drawn again
    run_dir = load_settings().runs_dir / run_ids[1]
    gain = evaluate_run(run_dir, split="test", tta="flip")["tta"]
    app = compare(open_page(), [run_ids[1]])
    table = app.dataframe(key="compare_table").value
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert re.fullmatch(r"\d+\.\d-\d+\.\d%", table.loc[run_ids[1], "test_interval"])
    assert table.loc[run_ids[1], "validation_images"] == metrics["validation_images"] == 20
    charts = [chart for chart in app.get("plotly_chart") if "reliability" in chart.proto.id]
    assert len(charts) == 1, [chart.proto.id for chart in app.get("plotly_chart")]
    figure = json.loads(charts[0].proto.spec)
    drawn = {trace.get("name") for trace in figure["data"]}
    calibration = json.loads((run_dir / "calibration.json").read_text())
    assert {"as sure as it is right", "the model's own"} <= drawn
    assert ("after temperature scaling" in drawn) is calibration["fitted"]
    counts = [sum(trace["y"]) for trace in figure["data"] if trace["type"] == "bar"]
    assert counts and all(count == 30 for count in counts)  # every test photo in a bin, before and after
    text = texts(app)
    assert "Expected calibration error" in text and "Answered " in text and " sure (on average " in text
    assert "95% interval" in text and "on 30 photos" in text
    assert gain_words(gain) in text  # TTA's figure beside the plain one, with its gain and the photos it changed
    labels = [metric.label for metric in app.metric]
    assert labels[labels.index("Accuracy") + 1] == "With TTA (flip)"
    app.selectbox(key="compare_evaluation").set_value("validation").run()
    assert "With TTA (flip)" not in [metric.label for metric in app.metric]  # evaluated with TTA on test only
    if calibration["fitted"]:
        assert "fitted on these validation photos" in texts(app)

