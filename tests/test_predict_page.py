"""The Predict page and its demo view in Streamlit's AppTest, over a real tiny run: real photos uploaded,
bad uploads explained one by one, the batch table and the demo's big answer."""

from __future__ import annotations

import html
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_pages.answers import Photo, neither_sentence, sureness
from app_pages.demo import DEMO_THRESHOLD
from app_pages.plain_text import as_text
from lab.evaluation.predictions import Predictions
from lab.run_files import RunFiles
from lab.settings import PHOTO_UPLOAD_MB, load_settings
from tests import corpus
from tests.apptest import open_page
from tests.conftest import FILTERED

CAT = min((FILTERED / "validation" / "cats").iterdir())
DOG = min((FILTERED / "validation" / "dogs").iterdir())
NEITHER = "This doesn't look like a cat or a dog"


@pytest.fixture
def run_id(tiny_run: Path, workspace: Path) -> str:
    shutil.copytree(tiny_run, load_settings().runs_dir / tiny_run.name)
    return tiny_run.name


def upload(app: AppTest, key: str, *files: tuple[str, bytes]) -> AppTest:
    """Upload `files` to the uploader with `key` (the Predict page's takes many, the demo's one) and rerun."""
    uploader = next(u for u in app.get("file_uploader") if key in u.proto.id)
    typed = [(name, data, "image/jpeg") for name, data in files]
    uploader.set_value(typed if uploader.accept_multiple_files else typed[0])
    app.run()
    assert not app.exception, app.exception
    return app


def texts(app: AppTest) -> str:
    return "\n".join(e.value for kind in (app.markdown, app.caption, app.error, app.info) for e in kind)


def test_no_run_says_where_to_start(workspace: Path) -> None:
    app = open_page("predict")
    assert app.title[0].value == "Predict"
    assert "No finished run yet" in app.info[0].value


def test_real_photos_get_an_answer_a_heatmap_and_bad_uploads_a_reason_each(run_id: str) -> None:
    app = open_page("predict")
    assert run_id in app.selectbox(key="predict_run").value
    assert app.selectbox(key="predict_run").options[0].startswith("MobileNet features · 40 photos (")  # its name
    upload(app, "predict_upload", ("cat.jpg", CAT.read_bytes()), ("corrupt.jpg", corpus.bad_files()["truncated.jpg"]),
           ("notes.jpg", corpus.bad_files()["text.jpg"]), ("huge.png", corpus.huge_dimensions_png()),
           ("dog.jpg", DOG.read_bytes()))
    errors = [e.value for e in app.error]
    assert len(errors) == 3, errors
    assert "truncated" in errors[0] and "not an image" in errors[1] and "too many pixels" in errors[2]
    answers = [m.value for m in app.markdown if m.value.startswith("### ")]
    assert len(answers) == 2 and all(a.split()[1] in ("Cat", "Dog") for a in answers), answers  # not "cats"
    assert len(app.get("plotly_chart")) == 2  # a probability bar chart per answer
    captions = image_captions(app)
    assert captions.count("cat.jpg") == 1 and captions.count("dog.jpg") == 1, captions
    assert sum(c.startswith("Grad-CAM for") for c in captions) == 2, captions


def image_captions(app: AppTest) -> list[str]:
    return [caption for image in app.get("image") for caption in image.captions]


def test_the_threshold_marks_an_answer_not_sure(run_id: str) -> None:
    app = open_page("predict")
    upload(app, "predict_upload", ("cat.jpg", CAT.read_bytes()))
    app.slider(key="predict_threshold").set_value(1.0).run()
    assert "not sure" in next(m.value for m in app.markdown if m.value.startswith("### "))
    assert any(c.value.startswith("Not sure:") for c in app.caption)


def test_the_heatmap_can_show_the_other_class(run_id: str) -> None:
    app = open_page("predict")
    upload(app, "predict_upload", ("cat.jpg", CAT.read_bytes()))
    said = next(c for c in image_captions(app) if c.startswith("Grad-CAM for ")).split()[2].rstrip(":")
    other = next(c for c in ("cats", "dogs") if c != said)
    assert f"Grad-CAM for {said}: red counted most" in image_captions(app)
    app.selectbox(key=f"predict_class_{Photo.from_path(CAT).digest}").set_value(other).run()
    assert f"Grad-CAM for {other}: red counted most" in image_captions(app)


def test_the_demo_view_renders_a_big_answer_with_the_best_run(run_id: str) -> None:
    app = open_page("predict", run=False)
    app.query_params["demo"] = "1"
    app.run()
    assert not app.exception and not app.title  # no page chrome
    upload(app, "demo_upload", ("dog.jpg", DOG.read_bytes()))
    big = [m.value for m in app.markdown if "font-size:5.5rem" in m.value]
    assert len(big) == 1 and any(word in big[0] for word in ("Cat", "Dog", "Maybe")), big
    assert "sure" in app.get("progress")[0].proto.text
    assert image_captions(app) == ["The photo", "Where it looked: red counted most for its answer"]
    said = [t.value for t in app.text]  # once, as text: class names come from folders
    assert said == ["This model knows cats and dogs, and says so when a photo looks like none of them."], said
    [model] = [caption.value for caption in app.caption if caption.value.startswith("Model: ")]
    assert "MobileNet features" in model and run_id not in model  # the model line names the run, never its id



@pytest.mark.parametrize("damage", ["cut short", "code inside"])
def test_a_run_whose_model_cannot_be_used_is_listed_not_usable_with_the_reason(run_id: str, damage: str) -> None:
    """A model file cut short, or one carrying Python code (which safe mode refuses), is said in place of the
    page and in the picker: no traceback, on the page or in the demo view."""
    model = RunFiles(load_settings().runs_dir / run_id).model
    if damage == "cut short":
        model.write_bytes(model.read_bytes()[:5000])
    else:
        import keras

        inputs = keras.Input((32, 32, 3))
        doubled = keras.layers.Lambda(lambda images: images * 2.0)(inputs)
        keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(
            keras.layers.GlobalAveragePooling2D()(doubled))).save(model)
    app = open_page("predict")
    assert not app.exception, app.exception
    [error] = [e.value for e in app.error]
    reason = "damaged or incomplete" if damage == "cut short" else "refuses it"
    assert error.startswith("This run's model cannot be used to predict") and reason in error, error
    assert app.selectbox(key="predict_run").options[0].endswith(" · not usable")
    assert not app.get("file_uploader")  # nothing offered that would fail
    app.query_params["demo"] = "1"
    app.run()
    assert not app.exception and [e.value for e in app.error] == [error]


def blue_square() -> bytes:
    return corpus.png_bytes(Image.new("RGB", (300, 300), (30, 90, 200)))


def test_a_photo_of_neither_class_is_said_to_be_neither_on_the_page_and_in_the_demo(run_id: str) -> None:
    app = open_page("predict")
    upload(app, "predict_upload", ("square.png", blue_square()), ("cat.jpg", CAT.read_bytes()))
    answers = [m.value for m in app.markdown if m.value.startswith("### ")]
    assert answers[0] == f"### {as_text(NEITHER)}" and answers[1].split()[1] in ("Cat", "Dog"), answers
    closest = [c.value for c in app.caption if c.value.startswith("If it had to choose: ")]
    assert len(closest) == 1 and "above this run's threshold" in closest[0], closest
    assert not [c for c in app.caption if c.value.startswith("No out-of-distribution check")]
    app.query_params["demo"] = "1"
    app.run()
    upload(app, "demo_upload", ("square.png", blue_square()))
    assert [m.value for m in app.markdown if "font-size:5.5rem" in m.value] == []  # no big "Dog"
    [big] = [m.value for m in app.markdown if "font-size:3.5rem" in m.value]
    assert html.escape(NEITHER) in big
    assert any(c.value.startswith("If it had to choose: ") for c in app.caption)


def test_neither_is_said_in_the_runs_own_class_names() -> None:
    assert neither_sentence(["cats", "dogs"]) == NEITHER
    assert neither_sentence(["owls", "cats", "dogs"]) == "This doesn't look like an owl, a cat or a dog"


def test_a_run_made_before_the_check_answers_as_before_and_says_it_has_none(run_id: str) -> None:
    files = RunFiles(load_settings().runs_dir / run_id)
    files.novelty.unlink()
    files.novelty_arrays.unlink()
    app = open_page("predict")
    upload(app, "predict_upload", ("square.png", blue_square()))
    assert [m.value for m in app.markdown if m.value.startswith("### ")][0].split()[1] in ("Cat", "Dog")
    assert any(c.value.startswith("No out-of-distribution check for this run") for c in app.caption)
    app.query_params["demo"] = "1"
    app.run()
    upload(app, "demo_upload", ("square.png", blue_square()))
    assert [t.value for t in app.text] == ["This model knows cats and dogs: it gives one of these answers for any "
                                           "photo."]


def test_the_demos_sure_words_say_the_calibrated_probability(run_id: str) -> None:
    from lab.evaluation.calibration import Calibration, save_calibration
    from lab.evaluation.predict import Predictor

    run_dir = load_settings().runs_dir / run_id
    save_calibration(run_dir, Calibration(5.0, True, 20, 0.7, 0.6, ""))  # far softer than the model's own answers
    image = Predictor(run_dir).decode(DOG)
    raw = Predictor(run_dir).model.predict(image[None], verbose=0)[0]
    calibrated = float(np.max(Calibration(5.0, True).apply(raw)))
    assert round(calibrated, 2) != round(float(raw.max()), 2)  # the two would read differently
    app = open_page("predict", run=False)
    app.query_params["demo"] = "1"
    app.run()
    upload(app, "demo_upload", ("dog.jpg", DOG.read_bytes()))
    bar = app.get("progress")[0].proto
    words = sureness(calibrated, DEMO_THRESHOLD)
    assert bar.text.startswith(f"**{words}**: {calibrated:.0%} sure it is ") and bar.value == int(calibrated * 100)
    page = open_page("predict")
    assert "Confidence calibrated on 20 validation photos (T = 5.00: its answers were too sure)." in texts(page)


def test_the_photo_uploaders_say_what_they_take_and_a_photos_limit(run_id: str) -> None:
    app = open_page("predict")
    [uploader] = [u for u in app.get("file_uploader") if "predict_upload" in u.proto.id]
    assert uploader.proto.max_upload_size_mb == PHOTO_UPLOAD_MB  # not the server's 1 GB, meant for dataset zips
    assert uploader.proto.label == f"Photos: JPEG, PNG, WebP, BMP or GIF, up to {PHOTO_UPLOAD_MB} MB each"
    app.query_params["demo"] = "1"
    app.run()
    [uploader] = [u for u in app.get("file_uploader") if "demo_upload" in u.proto.id]
    assert uploader.proto.max_upload_size_mb == PHOTO_UPLOAD_MB
    assert f"A photo: JPEG, PNG, WebP, BMP or GIF, up to {PHOTO_UPLOAD_MB} MB each." in texts(app)


def test_a_photo_from_a_class_folder_says_whether_the_model_agrees_with_its_folder(run_id: str) -> None:
    app = open_page("predict")
    app.radio(key="predict_source").set_value("Photos from a dataset").run()
    chosen = next(box for box in app.multiselect if box.label == "Photos").value
    folders = [Path(name).parent.name for name in chosen]
    assert len(folders) == 2 and set(folders) <= {"cats", "dogs"}, chosen  # cats_and_dogs_filtered's class folders
    said = [{"Cat": "cats", "Dog": "dogs"}[m.value.split()[1]] for m in app.markdown if m.value.startswith("### ")]
    expected = [f"Its folder says {folder}: the model agrees." if folder == label else
                f"Its folder says {folder}: the model disagrees (it said {label})." for folder, label in zip(folders, said)]
    assert [c.value for c in app.caption if c.value.startswith("Its folder says")] == [as_text(e) for e in expected]
    app.radio(key="predict_source").set_value("Upload photos").run()
    upload(app, "predict_upload", ("cat.jpg", CAT.read_bytes()))
    assert [m for m in app.markdown if m.value.startswith("### ")]
    assert not any(c.value.startswith("Its folder says") for c in app.caption)  # an upload has no folder


@pytest.mark.slow  # a folder of predictions
def test_a_folder_is_predicted_as_a_table_with_thumbnails(run_id: str) -> None:
    app = open_page("predict")
    app.selectbox(key="predict_batch_folder").set_value(FILTERED / "validation" / "cats").run()
    app.button(key="predict_batch").click().run()
    assert not app.exception, app.exception
    frame = app.dataframe[0].value  # tables without selection have no key in AppTest
    assert len(frame) == 500 and frame["photo"].str.startswith("data:image/jpeg;base64,").all()
    assert set(frame["predicted"]) <= {"cats", "dogs"} and frame["confidence"].between(0, 1).all()
    assert "**500 photos predicted**" in texts(app)
    app.slider(key="predict_threshold").set_value(0.9).run()  # any other widget: the table stays
    assert len(app.dataframe[0].value) == 500 and "Results for cats" in texts(app)


def test_an_export_is_checked_and_offered_with_its_card(run_id: str) -> None:
    app = open_page("predict")
    app.selectbox(key="predict_export_format").set_value("Keras (.keras)").run()
    app.button(key="predict_export").click().run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert app.success[0].value == "The Keras (.keras) export is made and checked: download it below."
    assert (load_settings().runs_dir / run_id / "exports" / f"{run_id}-keras.keras").exists()
    [status] = app.status
    assert status.label.startswith("Keras (.keras): made and checked in ") and status.state == "complete"
    steps = [m.value for m in status.markdown]  # each step, with its time, as it finished
    photos = len(Predictions.load(load_settings().runs_dir / run_id / "predictions.csv").split("validation"))
    assert [re.sub(r": [\d.]+ s$", "", step) for step in steps] == [
        ":material/check: Load the run's model and decode the sample photos", ":material/check: Save the .keras file",
        f":material/check: Check it against the run's model on {min(photos, 32)} photos",
        ":material/check: Write its model card"], steps
    for visit in (app, open_page("predict")):  # listed at once, and again on a later visit
        checked = [c.value for c in visit.caption if c.value.startswith("Checked on ")]
        assert len(checked) == 1 and "(max abs difference <= 0.0001)" in checked[0], checked
        assert any(m.value.startswith("**Keras (.keras)** · ") for m in visit.markdown)  # by its kind, not its file
        downloads = [button.proto.label for button in visit.get("download_button")]
        assert downloads == ["Download the model", "Model card (Markdown)", "Model card (JSON)"]
        card = dict(visit.dataframe[-1].value.itertuples(index=False))  # the card, readable on the page
        assert card["classes, in output order"] == "cats, dogs" and card["run"] == run_id
        assert card["parity check"].startswith(f"passed on {min(photos, 32)} photos")
        assert re.fullmatch(r"\d+\.\d% \(\d+\.\d-\d+\.\d%\) on 20 images", card["validation accuracy"])
        temperature = json.loads((load_settings().runs_dir / run_id / "calibration.json").read_text())["temperature"]
        assert card["temperature"].startswith(f"{temperature:.3f}, calibrated on 20 validation photos")
        assert "not inside the model: p_calibrated = softmax(log(p) / temperature)" in card["temperature"]


@pytest.mark.parametrize(("source", "photos"), [("Photos from a dataset", 2), ("The run's top losses", 6)])
def test_photos_can_come_from_a_dataset_or_the_runs_top_losses(run_id: str, source: str, photos: int) -> None:
    app = open_page("predict")
    app.radio(key="predict_source").set_value(source).run()
    assert not app.exception and not app.error, [e.value for e in app.error]
    assert len([m for m in app.markdown if m.value.startswith("### ")]) == photos
    assert sum(c.startswith("Grad-CAM for") for c in image_captions(app)) == photos
