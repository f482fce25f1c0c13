"""Models are loaded with Keras's safe mode, and a model file that carries Python code is refused with a
message, on the path the Predict page and evaluation use (`lab.evaluation.evaluate.load_model`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.evaluation.evaluate import load_model
from lab.evaluation.predict import Predictor
from lab.run_files import MODEL
from tests.conftest import FILTERED

ROOT = Path(__file__).resolve().parent.parent
PHOTO = next((FILTERED / "validation" / "cats").iterdir())


@pytest.fixture
def run_with_code(tmp_path: Path) -> Path:
    """A finished-looking run whose model.keras holds a `Lambda` layer: Python code, run on loading."""
    import keras

    inputs = keras.Input((32, 32, 3))
    doubled = keras.layers.Lambda(lambda images: images * 2.0)(inputs)
    outputs = keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(doubled))
    run = tmp_path / "run-with-code"
    run.mkdir()
    keras.Model(inputs, outputs).save(run / MODEL)
    (run / "metrics.json").write_text(json.dumps({"classes": ["cats", "dogs"]}))
    return run


def test_a_model_with_a_lambda_layer_is_refused_with_a_message(run_with_code: Path) -> None:
    with pytest.raises(LabError, match="cannot be loaded safely.*Lambda") as refused:
        load_model(run_with_code)
    assert "safe_mode=False" not in str(refused.value)  # no advice to switch the protection off


def test_the_predictor_refuses_it_too(run_with_code: Path) -> None:
    with pytest.raises(LabError, match="refuses it"):
        Predictor(run_with_code).predict_files(PHOTO)


@pytest.mark.slow  # TensorFlow in a subprocess
def test_the_cli_says_so_in_one_line(run_with_code: Path, lab_cli) -> None:
    done = lab_cli("predict", str(run_with_code), str(PHOTO))
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "refuses it" in done.stderr


def test_no_loading_call_switches_safe_mode_off_or_unpickles() -> None:
    """Every model load in the lab keeps safe_mode=True; nothing unpickles a file (np.load's default
    allow_pickle=False is kept)."""
    sources = {path: path.read_text() for path in (ROOT / "lab").rglob("*.py")}
    loads = [(path, call) for path, text in sources.items()
             for call in re.findall(r"keras\.saving\.load_model\([^)]*\)", text)]
    assert loads, "the lab loads its models with keras.saving.load_model"
    for path, call in loads:
        assert "safe_mode=True" in call, f"{path}: {call}"
    for path, text in sources.items():
        assert "safe_mode=False" not in text and "enable_unsafe_deserialization" not in text, path
        assert not re.search(r"\bimport pickle\b|\bpickle\.load|allow_pickle=True|joblib\.load", text), path


# ---- a model file that is unusable for another reason: one line naming the file and what is wrong (issue 26) ----


def finished_looking_run(tmp_path: Path, name: str, classes: list[str]) -> Path:
    run = tmp_path / name
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"classes": classes}))
    return run


def test_a_truncated_model_file_is_called_damaged_not_missing(run_with_code: Path, tmp_path: Path) -> None:
    run = finished_looking_run(tmp_path, "truncated", ["cats", "dogs"])
    (run / MODEL).write_bytes((run_with_code / MODEL).read_bytes()[:2_000])  # a copy cut short
    with pytest.raises(LabError, match=r"model.keras is damaged or incomplete \(2,000 bytes, not a whole .keras "
                                       r"archive\): copy it again, or use the run's best.keras"):
        load_model(run)


def test_a_model_answering_other_classes_than_its_run_is_named(tmp_path: Path) -> None:
    import keras

    run = finished_looking_run(tmp_path, "three-classes", ["cats", "dogs"])
    inputs = keras.Input((32, 32, 3))
    keras.Model(inputs, keras.layers.Dense(3, activation="softmax")(keras.layers.GlobalAveragePooling2D()(inputs))
                ).save(run / MODEL)
    with pytest.raises(LabError, match=r"answers 3 classes but its run has 2 \(cats, dogs\): the model file is "
                                       "not this run's"):
        load_model(run)


@pytest.mark.slow  # TensorFlow in a subprocess
def test_a_layer_registered_by_someone_elses_code_is_named_in_one_line(tmp_path: Path, lab_cli) -> None:
    """Saved where the layer's code ran; loaded by `lab predict`, where it never did (Keras's `TypeError`)."""
    import keras

    @keras.saving.register_keras_serializable(package="theirs")
    class Twice(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    run = finished_looking_run(tmp_path, "custom-layer", ["cats", "dogs"])
    inputs = keras.Input((32, 32, 3))
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(keras.layers.GlobalAveragePooling2D()(
        Twice()(inputs)))).save(run / MODEL)
    done = lab_cli("predict", str(run), str(PHOTO))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert "uses layers Keras cannot rebuild here (theirs>Twice): only models the lab trained" in done.stderr
