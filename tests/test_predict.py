"""Prediction with a real run trained here: uploads as bytes or files, clear messages for bad ones, batch
prediction over folders and zips, the best run, and `lab predict`'s command-line contract."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab.errors import LabError
from lab.evaluation.predict import Predictor, best_run
from lab.runs.status import FINISHED, RUNNING
from lab.runs.store import METRICS_FILE, RunStore
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


def test_an_upload_as_bytes_predicts_as_the_same_file_does(predictor: Predictor) -> None:
    from_bytes = predictor.decode(CATS[0].read_bytes(), "cat.jpg")
    from_file = predictor.decode(CATS[0])
    assert from_bytes.shape == (predictor.image_size, predictor.image_size, 3)
    np.testing.assert_array_equal(from_bytes, from_file)
    assert predictor.predict(from_bytes) == pytest.approx(predictor.predict(from_file[None])[0])
    assert predictor.predict(from_bytes).sum() == pytest.approx(1.0, abs=1e-5)


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
    expected = predictor.predict(np.stack([predictor.decode(p) for p in CATS]))
    listed = predictor.predict_files(CATS)
    np.testing.assert_allclose([list(r.probabilities.values()) for r in listed], expected, atol=1e-5)


def test_best_run_is_the_finished_one_with_the_best_test_then_validation_accuracy(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    assert best_run(store.runs_dir) is None
    made = {}
    for name, state, metrics in [("low", FINISHED, {"test_accuracy": 0.7, "best_val_accuracy": 0.99}),
                                 ("tie-val", FINISHED, {"test_accuracy": 0.9, "best_val_accuracy": 0.8}),
                                 ("best", FINISHED, {"test_accuracy": 0.9, "best_val_accuracy": 0.85}),
                                 ("running", RUNNING, {"test_accuracy": 0.99, "best_val_accuracy": 0.99})]:
        run = store.create(TrainConfig(data=str(FILTERED)))
        run.update(state=state)
        write_json_atomic(run.path / METRICS_FILE, metrics)
        (run.path / "model.keras").touch()
        made[name] = run.path
    assert best_run(store.runs_dir) == made["best"]


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
    written = sorted(overlays.glob("*.png"))
    assert len(written) == 2
    from PIL import Image

    with Image.open(written[0]) as image:
        assert image.mode == "RGB" and image.size == Image.open(CATS[0]).size


@pytest.mark.slow  # TensorFlow in subprocesses
def test_cli_without_a_run_or_its_model_is_one_line_and_exit_2(lab_cli: LabCli, tmp_path: Path) -> None:
    for run in (tmp_path / "missing", tmp_path):
        done = lab_cli("predict", str(run), str(CATS[0]), "--json")
        assert done.returncode == 2
        lines = done.stderr.strip().splitlines()  # TensorFlow may log before the model is looked for
        assert [line for line in lines if line.startswith("error: ")] == lines[-1:] and "run" in lines[-1]
