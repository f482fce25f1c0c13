"""Prediction with a real run trained here: uploads as bytes or files, clear messages for bad ones, batch
prediction over folders and zips, one decode for what a page shows, the runs to predict with, and `lab
predict`'s command-line contract."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab.data.pipeline import load_image
from lab.errors import LabError
from lab.evaluation.predict import Predictor, fit_within
from lab.run_files import METRICS
from lab.runs.status import FINISHED, RUNNING
from lab.runs.store import RunStore
from lab.runs.table import best_first, finished_with_model
from lab.settings import load_settings
from lab.storage import write_json_atomic
from lab.training.config import TrainConfig
from tests import corpus
from tests.conftest import FILTERED, LabCli

CATS = sorted((FILTERED / "validation" / "cats").iterdir())[:3]
DOGS = sorted((FILTERED / "validation" / "dogs").iterdir())[:3]


@pytest.fixture(scope="module")
def run_dir(tiny_run: Path) -> Path:
    """The session's tiny run, read as it is: predicting writes nothing into the run folder."""
    return tiny_run


@pytest.fixture(scope="module")
def predictor(run_dir: Path) -> Predictor:
    return Predictor(run_dir)


def test_answers_are_divided_by_the_runs_temperature_and_tta_averages_the_mirror_image(predictor: Predictor) -> None:
    import tensorflow as tf

    calibration = predictor.calibration
    assert calibration.fitted and calibration.temperature != 1.0, calibration.words()  # fitted when it finished
    images = np.stack([predictor.decode(photo) for photo in CATS + DOGS])
    raw = predictor.model.predict(images, verbose=0)
    np.testing.assert_allclose(predictor.predict(images), calibration.apply(raw), atol=1e-5)
    mirrored = predictor.model.predict(tf.image.flip_left_right(images).numpy(), verbose=0)
    averaged = calibration.apply((raw + mirrored) / 2)
    np.testing.assert_allclose(predictor.predict(images, tta="flip"), averaged, atol=1e-5)
    assert not np.allclose(averaged, calibration.apply(raw), atol=1e-4)  # the mirror image does say something else
    said = predictor.explain(images[0], tta="flip")
    assert list(said.probabilities.values()) == pytest.approx(averaged[0].tolist(), abs=1e-5)
    [listed] = predictor.predict_files([CATS[0]], tta="flip")
    assert list(listed.probabilities.values()) == pytest.approx(averaged[0].tolist(), abs=1e-5)
    crops = predictor.predict(images, tta="crops")
    assert crops.shape == raw.shape and np.allclose(crops.sum(axis=1), 1.0)
    with pytest.raises(LabError, match="choose one of: flip, crops"):
        predictor.predict(images, tta="rotate")


def test_an_upload_as_bytes_predicts_as_the_same_file_does(predictor: Predictor) -> None:
    from_bytes = predictor.decode(CATS[0].read_bytes(), "cat.jpg")
    from_file = predictor.decode(CATS[0])
    assert from_bytes.shape == (predictor.image_size, predictor.image_size, 3)
    np.testing.assert_array_equal(from_bytes, from_file)
    assert predictor.predict(from_bytes) == pytest.approx(predictor.predict(from_file[None])[0])
    assert predictor.predict(from_bytes).sum() == pytest.approx(1.0, abs=1e-5)


def decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every decode of image bytes from now on, by TensorFlow's real decoders wrapped to be counted: "jpeg 1/2"
    for a JPEG decoded at half scale, "image" for any other format."""
    import tensorflow as tf

    made: list[str] = []

    def counted(decoder, name):
        def decode(contents, *args, **kwargs):
            made.append(f"{name} 1/{kwargs['ratio']}" if name == "jpeg" else name)
            return decoder(contents, *args, **kwargs)
        return decode

    monkeypatch.setattr(tf.io, "decode_jpeg", counted(tf.io.decode_jpeg, "jpeg"))
    monkeypatch.setattr(tf.io, "decode_image", counted(tf.io.decode_image, "image"))
    return made


def as_png(photo: Path) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    with Image.open(photo) as image:
        image.save(buffer, "PNG")
    return buffer.getvalue()


def test_one_decode_gives_the_answer_the_photo_as_shown_and_the_overlay(predictor: Predictor,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    made = decodes(monkeypatch)
    small = DOGS[0]  # 200x339: under twice the 128 px input, so training decodes it whole too
    shown = predictor.explain_photo(small.read_bytes(), name=small.name, side=640)
    assert made == ["jpeg 1/1"]
    np.testing.assert_array_equal(shown.photo, load_image(small, None))  # the photo is that one decode
    made.clear()
    predictor.explain_photo(as_png(small), name="dog.png", side=640)
    assert made == ["image"]
    made.clear()
    large = CATS[0]  # 459x499: training reads it at half scale, and so does the model here; the photo is whole
    predictor.explain_photo(large.read_bytes(), name=large.name, side=640)
    assert made == ["jpeg 1/1", "jpeg 1/2"]


@pytest.mark.parametrize(("photo", "as_bytes", "side"), [
    (DOGS[0], True, 640),  # the page, a photo decoded whole for the model
    (CATS[0], True, 640),  # the page, a photo the model sees from a half-scale decode
    (CATS[1], True, 300),  # a photo shrunk to be shown
    (CATS[2], False, None),  # `lab predict --gradcam`: a file, at its own size
])
def test_the_one_call_shows_what_the_two_step_path_drew(predictor: Predictor, photo: Path, as_bytes: bool,
                                                        side: int | None) -> None:
    from lab.evaluation.gradcam import overlay

    # before: explain the photo, then decode it again at its own size, shrink it and draw the heatmap on it
    explained = predictor.explain(predictor.decode(photo))
    whole = load_image(photo, None)
    drawn = fit_within(whole, side) if side else whole
    shown = predictor.explain_photo(photo.read_bytes() if as_bytes else photo, name=photo.name, side=side)
    np.testing.assert_array_equal(shown.explanation.image, explained.image)
    assert shown.explanation.probabilities == explained.probabilities
    np.testing.assert_array_equal(shown.explanation.heatmap, explained.heatmap)
    np.testing.assert_array_equal(shown.photo, drawn.astype(np.uint8))
    np.testing.assert_array_equal(shown.overlay, overlay(drawn, explained.heatmap))
    assert shown.overlay.shape == shown.photo.shape and max(shown.photo.shape[:2]) <= (side or max(whole.shape))


@pytest.mark.parametrize(("name", "data", "reason"), [
    ("corrupt.jpg", corpus.bad_files()["truncated.jpg"], "truncated"),
    ("notes.jpg", corpus.bad_files()["text.jpg"], "not an image"),
    ("huge.png", corpus.huge_dimensions_png(), "too many pixels"),
])
def test_an_unusable_upload_says_why(predictor: Predictor, name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LabError, match=reason) as caught:
        predictor.explain(data, name=name)
    assert str(caught.value).startswith(f"{name} cannot be used")


def test_batch_over_a_folder_and_a_zip_gives_one_result_per_file_and_reasons_for_bad_ones(
        predictor: Predictor, workspace: Path, tmp_path: Path) -> None:
    folder = tmp_path / "photos"
    folder.mkdir()
    for photo in CATS + DOGS:
        (folder / photo.name).symlink_to(photo)
    (folder / "broken.jpg").write_bytes(corpus.bad_files()["truncated.jpg"])
    archive = tmp_path / "photos.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for photo in sorted(folder.iterdir()):
            bundle.write(photo, f"photos/{photo.name}")
    for source in (folder, archive):
        results = predictor.predict_files(source, batch_size=4)
        assert len(results) == 7
        bad = [r for r in results if r.error is not None]
        assert [Path(r.path).name for r in bad] == ["broken.jpg"] and "truncated" in bad[0].error
        good = [r for r in results if r.error is None]
        assert all(r.label in predictor.classes and sum(r.probabilities.values()) == pytest.approx(1, abs=1e-5)
                   for r in good)
    assert results[0].path == "photos.zip/photos/broken.jpg"  # a zip's photos are named inside it, and its
    settings = load_settings()  # unpacked copy is gone: never kept among the datasets (issue 26)
    assert [p.name for p in settings.uploads_dir.iterdir()] == [".lock"]
    assert not settings.datasets_dir.exists() or not list(settings.datasets_dir.iterdir())
    with_previews = predictor.predict_files(archive, thumbnail_side=32)  # made while the photos were there
    assert [r.thumbnail is not None and r.thumbnail[:2] == b"\xff\xd8" for r in with_previews] == [False] + [True] * 6
    expected = predictor.predict(np.stack([predictor.decode(p) for p in CATS]))
    listed = predictor.predict_files(CATS)
    np.testing.assert_allclose([list(r.probabilities.values()) for r in listed], expected, atol=1e-5)


def test_the_runs_to_predict_with_are_the_finished_ones_best_test_then_validation_accuracy_first(
        tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    assert best_first(finished_with_model(store.runs_dir)) == []
    made = {}
    for name, state, metrics in [("low", FINISHED, {"test_accuracy": 0.7, "best_val_accuracy": 0.99}),
                                 ("tie-val", FINISHED, {"test_accuracy": 0.9, "best_val_accuracy": 0.8}),
                                 ("best", FINISHED, {"test_accuracy": 0.9, "best_val_accuracy": 0.85}),
                                 ("running", RUNNING, {"test_accuracy": 0.99, "best_val_accuracy": 0.99})]:
        run = store.create(TrainConfig(data=str(FILTERED)))
        run.update(state=state)
        write_json_atomic(run.path / METRICS, metrics)
        (run.path / "model.keras").touch()
        made[name] = run.path
    ranked = [row["id"] for row in best_first(finished_with_model(store.runs_dir))]
    assert ranked[0] == made["best"].name
    assert sorted(ranked) == sorted(made[name].name for name in ("low", "tie-val", "best"))  # not the running one


@pytest.mark.slow  # TensorFlow in a subprocess
def test_cli_prints_one_entry_per_image_and_writes_gradcam_overlays(run_dir: Path, lab_cli: LabCli,
                                                                    tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a photo\n")
    overlays = tmp_path / "gradcam"
    done = lab_cli("predict", str(run_dir), str(CATS[0]), str(text), str(DOGS[0]), "--gradcam", str(overlays),
                   "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert [r["path"] for r in results] == [str(CATS[0]), str(text), str(DOGS[0])]
    assert "not an image" in results[1]["error"] and "label" not in results[1]
    for result in (results[0], results[2]):
        assert result["label"] in result["probabilities"] and set(result["probabilities"]) == {"cats", "dogs"}
        assert set(result) == {"path", "label", "probabilities", "in_distribution", "score"}
    written = sorted(overlays.glob("*.png"))
    assert len(written) == 2
    from PIL import Image

    with Image.open(written[0]) as image:
        assert image.mode == "RGB" and image.size == Image.open(CATS[0]).size


@pytest.mark.slow  # TensorFlow in a subprocess
def test_cli_json_flags_a_blue_square_as_neither_class_and_passes_held_out_cats(run_dir: Path, lab_cli: LabCli,
                                                                               tmp_path: Path) -> None:
    from PIL import Image

    from lab.evaluation.predictions import Predictions

    square = tmp_path / "blue.png"
    Image.new("RGB", (400, 400), (30, 90, 200)).save(square)
    seen = set(Predictions.load(run_dir / "predictions.csv").paths)  # the run's validation photos set its threshold
    held_out = [p for p in sorted((FILTERED / "validation" / "cats").iterdir()) if str(p) not in seen][:5]
    done = lab_cli("predict", str(run_dir), str(square), *map(str, held_out), "--json")
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert all(isinstance(r["score"], float) and isinstance(r["in_distribution"], bool) for r in results)
    assert results[0]["in_distribution"] is False and results[0]["label"] in ("cats", "dogs")  # still its closest
    assert [r["in_distribution"] for r in results[1:]] == [True] * 5, results
    threshold = json.loads((run_dir / "novelty.json").read_text())["threshold"]
    assert results[0]["score"] > threshold >= max(r["score"] for r in results[1:])
    words = lab_cli("predict", str(run_dir), str(square))
    assert f"{square}: not cats or dogs (out-of-distribution score" in words.stdout, words.stdout


@pytest.mark.slow  # TensorFlow in subprocesses
def test_cli_without_a_run_or_its_model_is_one_line_and_exit_2(lab_cli: LabCli, tmp_path: Path) -> None:
    for run in (tmp_path / "missing", tmp_path):
        done = lab_cli("predict", str(run), str(CATS[0]), "--json")
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()  # TensorFlow may log before the model is looked for
        assert [line for line in lines if line.startswith("error: ")] == lines[-1:] and "run" in lines[-1]
