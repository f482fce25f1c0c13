"""Exports of a real run, trained here on real photos: each format loads back in its own runtime and agrees
with the Keras model; the card records what a receiver needs; a failed parity check ships nothing."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import numpy as np
import pytest

from lab.errors import LabError
from lab.evaluation import export
from lab.evaluation.export import FORMATS, export_path, export_run, export_steps, validation_samples
from lab.evaluation.predictions import Predictions
from lab.training.backbones import preprocessing_words
from tests.conftest import FILTERED, WEIGHTS, LabCli


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, tiny_run_three_epochs: Path,
            lab_cli_env: LabCli) -> tuple[Path, LabCli]:
    """A copy of the session's three-epoch tiny run, kept for the module, and a `lab` that runs in its
    workspace."""
    root = tmp_path_factory.mktemp("export")
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(root / "workspace"),
           "TRANSFER_LAB_DATA_DIRS": str(FILTERED.parent), "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}

    def lab(*args: str) -> subprocess.CompletedProcess:
        return lab_cli_env(env, *args)

    return shutil.copytree(tiny_run_three_epochs, root / "workspace" / "runs" / tiny_run_three_epochs.name), lab


def sure_photos(run_dir: Path, count: int = 8) -> list[str]:
    """The validation photos the run is surest of. The tiny run is near chance, so dynamic-range quantisation
    (probabilities ~0.1 off) flips some borderline photos, as the check rightly reports; a run worth
    shipping is sure of most of its photos, and these stand for them."""
    validation = Predictions.load(run_dir / "predictions.csv").split("validation")
    surest = np.argsort(-validation.probabilities.max(axis=1))[:count]
    return [validation.paths[i] for i in surest]


def card_words(run_dir: Path) -> str:
    """What the run's model does to its pixels, in the words its card uses (as `lab export` finds them)."""
    config = run_dir / "config.json"
    return preprocessing_words(json.loads(config.read_text()) if config.exists() else {})


@pytest.fixture(scope="module")
def keras_reference(trained) -> tuple[np.ndarray, np.ndarray]:
    """The photos the run is surest of as the lab decodes them, and the Keras model's probabilities for them."""
    import keras

    from lab.data.pipeline import load_image

    run_dir, _ = trained
    images = np.stack([load_image(path, 128) for path in sure_photos(run_dir)])
    model = keras.saving.load_model(run_dir / "model.keras", compile=False, safe_mode=True)
    return images, model.predict(images, verbose=0)


def run_keras(path: Path, images: np.ndarray, tmp_path: Path) -> np.ndarray:
    import keras

    return keras.saving.load_model(path, compile=False, safe_mode=True).predict(images, verbose=0)


def run_savedmodel(path: Path, images: np.ndarray, tmp_path: Path) -> np.ndarray:
    import tensorflow as tf

    with zipfile.ZipFile(path) as archive:
        archive.extractall(tmp_path / "unzipped")
    (folder,) = (tmp_path / "unzipped").iterdir()
    serve = tf.saved_model.load(str(folder)).signatures["serving_default"]
    return serve(image=tf.constant(images))["output_0"].numpy()


def run_tflite(path: Path, images: np.ndarray, tmp_path: Path) -> np.ndarray:
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    interpreter.allocate_tensors()
    given, answer = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    assert list(given["shape_signature"][1:]) == [128, 128, 3] and given["dtype"] == np.float32
    probabilities = []
    for image in images:  # one at a time, as a phone would
        interpreter.set_tensor(given["index"], image[None])
        interpreter.invoke()
        probabilities.append(interpreter.get_tensor(answer["index"])[0])
    return np.array(probabilities)


@pytest.mark.filterwarnings("ignore:.*tf.lite.Interpreter is deprecated")
@pytest.mark.parametrize(("format", "quantize", "runtime"), [
    ("keras", None, run_keras),
    *(pytest.param(*case, marks=pytest.mark.slow) for case in  # TensorFlow's converters take their time
      [("savedmodel", None, run_savedmodel), ("tflite", None, run_tflite), ("tflite", "dynamic", run_tflite)])])
def test_every_format_loads_back_in_its_runtime_and_agrees_with_keras(
        trained, keras_reference, tmp_path: Path, format: str, quantize: str | None, runtime) -> None:
    run_dir, _ = trained
    images, reference = keras_reference
    result = export_run(run_dir, format, tmp_path / "out", preprocessing=card_words(run_dir), quantize=quantize,
                        samples=sure_photos(run_dir))
    assert result.path.parent == tmp_path / "out" and result.path.suffix == FORMATS[format].suffix
    assert result.size_bytes == result.path.stat().st_size > 0
    assert sorted(p.name for p in result.path.parent.iterdir()) == sorted(
        p.name for p in (result.path, result.card_markdown, result.card_json))

    exported = runtime(result.path, images, tmp_path)
    if quantize:
        assert np.mean(exported.argmax(axis=1) == reference.argmax(axis=1)) >= 0.98
    else:
        assert np.abs(exported - reference).max() <= 1e-4
    assert result.parity.images == len(images) and result.parity.passed


@pytest.mark.slow  # a TFLite export in a subprocess
def test_the_card_records_class_order_input_metrics_versions_and_parity(trained, tmp_path: Path) -> None:
    run_dir, lab = trained
    done = lab("export", str(run_dir), "--format", "tflite", "--quantize", "dynamic",
               "--out", str(tmp_path / "cats.tflite"), "--samples", *sure_photos(run_dir), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    card = json.loads(Path(result["card_json"]).read_text())
    assert Path(result["card_json"]) == tmp_path / "cats.json" and (tmp_path / "cats.md").exists()
    assert card["classes"] == ["cats", "dogs"] and "sorted" in card["class_order"]
    assert card["input"]["image_size"] == 128 and card["input"]["shape"] == [None, 128, 128, 3]
    assert "0..255" in card["input"]["values"] and "-1..1" in card["input"]["preprocessing"]
    assert card["parity"] == result["parity"] and card["parity"]["images"] == 8
    assert card["parity"]["top_class_agreement"] >= 0.98 and card["parity"]["passed"]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert card["dataset_manifest_hash"] == metrics["manifest_hash"]
    assert card["metrics"]["validation"]["accuracy"] == metrics["best_val_accuracy"]
    assert set(card["metrics"]["validation"]["per_class"]) == {"cats", "dogs"}
    config = json.loads((run_dir / "config.json").read_text())
    assert card["config"] == {**config, "data": "cats_and_dogs_filtered", "weights": Path(config["weights"]).name}
    assert str(FILTERED) not in json.dumps(card) and str(WEIGHTS) not in json.dumps(card)  # no server path leaves
    assert {"tensorflow", "keras", "python"} <= set(card["libraries"]) and card["intended_use"]
    assert card["novelty"] == json.loads((run_dir / "novelty.json").read_text())  # the run's check, said
    assert "## Out-of-distribution check" in (tmp_path / "cats.md").read_text()
    low, high = card["metrics"]["validation"]["accuracy_interval"]  # for its validation photos
    assert low <= metrics["best_val_accuracy"] <= high and card["metrics"]["test"]["accuracy_interval"] is None
    calibration = json.loads((run_dir / "calibration.json").read_text())
    assert card["calibration"]["temperature"] == calibration["temperature"]
    assert card["calibration"]["in_the_model"] is False  # the export is the run's own model, its answers undivided
    markdown = (tmp_path / "cats.md").read_text()
    assert "cats, dogs" in markdown and "Parity check" in markdown and "Intended use" in markdown
    assert f"Temperature {calibration['temperature']:.3f}" in markdown and "softmax(log(p) / temperature)" in markdown


def test_an_export_reports_each_step_as_it_starts(trained, tmp_path: Path) -> None:
    run_dir, _ = trained
    heard: list[tuple[int, int, str]] = []
    export_run(run_dir, "keras", tmp_path, preprocessing=card_words(run_dir), samples=sure_photos(run_dir, 3),
               on_progress=lambda done, total, message: heard.append((done, total, message)))
    load, save, check, card = export_steps("keras")
    assert heard == [(0, 4, load), (1, 4, save), (2, 4, f"{check} on 3 photos"), (3, 4, card),
                     (4, 4, "made and checked")]
    assert export_steps("tflite")[1:3] == ["Build a SavedModel to convert", "Convert it to TFLite"]


def test_by_default_the_check_runs_on_the_runs_validation_photos(trained) -> None:
    run_dir, _ = trained
    chosen = validation_samples(run_dir, limit=5)
    assert len(chosen) == len(set(chosen)) == 5
    assert set(chosen) <= set(Predictions.load(run_dir / "predictions.csv").split("validation").paths)


@pytest.mark.slow  # a TFLite export in a subprocess
def test_a_failed_parity_check_exits_non_zero_and_ships_nothing(trained, tmp_path: Path) -> None:
    run_dir, lab = trained
    out = tmp_path / "out"
    out.mkdir()
    done = lab("export", str(run_dir), "--format", "tflite", "--tolerance", "0", "--out", str(out))
    assert done.returncode == 2 and "parity check" in done.stderr and "nothing was written" in done.stderr
    assert list(out.iterdir()) == []


def test_a_tampered_export_is_refused(trained, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir, _ = trained
    flipped = dataclasses.replace(FORMATS["keras"], run=lambda *args: 1 - export._run_keras(*args))
    monkeypatch.setitem(FORMATS, "keras", flipped)
    with pytest.raises(LabError, match="parity check"):
        export_run(run_dir, "keras", tmp_path / "model.keras", preprocessing=card_words(run_dir))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # TensorFlow in two subprocesses
def test_a_missing_run_or_model_is_one_line_and_exit_2(trained, tmp_path: Path) -> None:
    run_dir, lab = trained
    missing = lab("export", str(tmp_path / "nowhere"), "--format", "keras", "--out", str(tmp_path))
    assert missing.returncode == 2 and missing.stderr.strip().count("\n") == 0 and "metrics.json" in missing.stderr
    no_model = tmp_path / "no-model"
    no_model.mkdir()
    (no_model / "metrics.json").write_text((run_dir / "metrics.json").read_text())
    done = lab("export", str(no_model), "--format", "keras", "--out", str(tmp_path / "m.keras"))
    assert done.returncode == 2 and "model.keras" in done.stderr.strip().splitlines()[-1]


def test_options_and_names_are_checked_before_any_work(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261130-run"
    assert export_path(run_dir, "tflite", "dynamic", tmp_path / "exports") == \
        tmp_path / "exports" / "20261130-run-tflite-dynamic.tflite"
    assert export_path(run_dir, "savedmodel", None, tmp_path / "m.zip") == tmp_path / "m.zip"
    with pytest.raises(LabError, match="name it m.keras"):
        export_path(run_dir, "keras", None, tmp_path / "m.h5")
    for format, quantize, tolerance, message in [("onnx", None, 1e-4, "format must be one of keras"),
                                                 ("keras", "dynamic", 1e-4, "only with format tflite"),
                                                 ("tflite", None, 1e-3, "can only be tightened")]:
        with pytest.raises(LabError, match=message):
            export_run(run_dir, format, tmp_path, preprocessing=card_words(run_dir), quantize=quantize,
                       tolerance=tolerance)


# ---- nothing lost: an export never replaces a file it did not make, never lands among runs or photos (issue 26)


def test_an_export_onto_a_file_is_refused_unless_told_and_changes_nothing(trained, tmp_path: Path) -> None:
    run_dir, _ = trained
    mine = tmp_path / "thesis.keras"
    mine.write_bytes(b"a file of the user's")
    card = mine.with_suffix(".md")
    card.write_text("my notes")
    with pytest.raises(LabError, match=r"thesis.keras exists: an export never replaces a file unless told to. "
                                       r"Choose another --out, or add --overwrite"):
        export_run(run_dir, "keras", mine, preprocessing=card_words(run_dir))
    assert mine.read_bytes() == b"a file of the user's" and card.read_text() == "my notes"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["thesis.keras", "thesis.md"]  # no staging left
    made = export_run(run_dir, "keras", mine, preprocessing=card_words(run_dir), samples=sure_photos(run_dir, 3),
                      overwrite=True)
    assert made.path == mine and mine.read_bytes()[:2] == b"PK" and card.read_text().startswith("# ")


def test_an_export_never_writes_into_a_run_folder_or_a_data_folder(trained, workspace: Path, tmp_path: Path) -> None:
    run_dir, _ = trained
    other_run = workspace / "runs" / "20261205-120000-mobilenet-feature-extractor-0000"
    other_run.mkdir(parents=True)
    for out, place in ((other_run / "model.keras", "inside the lab's runs folder"),
                       (FILTERED / "model.keras", "inside a data folder")):
        with pytest.raises(LabError, match=place):
            export_run(run_dir, "keras", out, preprocessing=card_words(run_dir), overwrite=True)
    assert list(other_run.iterdir()) == [] and not (FILTERED / "model.keras").exists()


@pytest.mark.slow  # TensorFlow in a subprocess
def test_lab_export_onto_an_existing_file_is_exit_2_in_one_line(trained, tmp_path: Path) -> None:
    run_dir, lab = trained
    mine = tmp_path / "model.keras"
    mine.write_bytes(b"someone else's model")
    done = lab("export", str(run_dir), "--format", "keras", "--out", str(mine))
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0, done.stderr
    assert "exists: an export never replaces a file unless told to" in done.stderr
    assert mine.read_bytes() == b"someone else's model"
