"""`lab evaluate`: a real run, trained here on real photos, evaluated on folders the test makes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lab.evaluation.evaluate import evaluations
from lab.evaluation.interpretation import Interpretation
from lab.evaluation.predictions import Predictions
from tests.conftest import FILTERED, WEIGHTS, LabCli

pytestmark = pytest.mark.slow  # every test runs `lab evaluate` in a subprocess


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, tiny_run_three_epochs: Path, lab_cli_env: LabCli
) -> tuple[Path, LabCli, Path]:
    """A copy of the session's three-epoch tiny run, kept for the module; a `lab` that runs in its
    workspace; and a folder in its data folders for the photos a test evaluates on."""
    root = tmp_path_factory.mktemp("evaluate")
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(root / "workspace"),
           "TRANSFER_LAB_DATA_DIRS": os.pathsep.join([str(FILTERED.parent), str(root / "data")]),
           "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}

    def lab(*args: str) -> subprocess.CompletedProcess:
        return lab_cli_env(env, *args)

    run_dir = shutil.copytree(tiny_run_three_epochs, root / "workspace" / "runs" / tiny_run_three_epochs.name)
    return run_dir, lab, root / "data"


def photos_folder(root: Path, classes: dict[str, str], per_class: int) -> Path:
    """Class folders of real validation photos (linked, not copied): folder name -> source class folder."""
    for name, source in classes.items():
        (root / name).mkdir(parents=True)
        for photo in sorted((FILTERED / "validation" / source).iterdir())[:per_class]:
            (root / name / photo.name).symlink_to(photo)
    return root


def test_evaluate_prints_the_contract_and_stores_the_predictions(trained, tmp_path: Path) -> None:
    run_dir, lab, data = trained
    folder = photos_folder(data / "held-out", {"cats": "cats", "dogs": "dogs"}, 15)
    done = lab("evaluate", str(run_dir), "--data", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["classes"] == ["cats", "dogs"] and result["n"] == 30
    assert set(result["per_class"]) == {"cats", "dogs"}
    assert {"precision", "recall", "f1", "support"} <= set(result["per_class"]["cats"])
    matrix = np.array(result["confusion_matrix"])
    assert matrix.sum() == 30 and matrix.sum(axis=1).tolist() == [15, 15]
    assert result["accuracy"] == pytest.approx(np.trace(matrix) / 30)

    novelty = result["novelty"]  # the run's out-of-distribution check over the same photos
    assert novelty["method"] == "knn" and 0 <= novelty["flagged"] <= 30
    assert novelty["share_flagged"] == pytest.approx(novelty["flagged"] / 30) and novelty["share_flagged"] <= 0.2

    stored = evaluations(run_dir)[result["name"]]
    assert Interpretation(stored).summary()["accuracy"] == pytest.approx(result["accuracy"])
    assert json.loads((run_dir / "evaluations" / result["name"] / "summary.json").read_text())["n"] == 30


def test_evaluation_probabilities_match_the_saved_model_on_the_same_images(trained, tmp_path: Path) -> None:
    import keras

    from lab.data.pipeline import load_image

    run_dir, lab, data = trained
    folder = photos_folder(data / "parity", {"cats": "cats", "dogs": "dogs"}, 4)
    assert lab("evaluate", str(run_dir), "--data", str(folder), "--name", "parity").returncode == 0
    stored: Predictions = evaluations(run_dir)["parity"]
    model = keras.saving.load_model(run_dir / "model.keras", compile=False)
    images = np.stack([load_image(path, 128) for path in stored.paths])
    assert np.allclose(stored.probabilities, model.predict(images, verbose=0), atol=1e-5)


def test_a_class_the_run_never_learned_is_one_clear_line(trained, tmp_path: Path) -> None:
    run_dir, lab, data = trained
    folder = photos_folder(data / "birds", {"cats": "cats", "birds": "dogs"}, 3)
    done = lab("evaluate", str(run_dir), "--data", str(folder), "--json")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "birds" in done.stderr and "never learned" in done.stderr
    assert not (run_dir / "evaluations" / "birds-all").exists()


def test_a_run_made_before_the_check_gets_one_fitted_when_evaluated(trained, tmp_path: Path) -> None:
    run_dir, lab, data = trained
    older = Path(shutil.copytree(run_dir, tmp_path / run_dir.name))
    for name in ("novelty.json", "novelty.npz"):
        (older / name).unlink()
    folder = photos_folder(data / "older", {"cats": "cats", "dogs": "dogs"}, 3)
    done = lab("evaluate", str(older), "--data", str(folder))
    assert done.returncode == 0, done.stderr
    assert "This run has no out-of-distribution check yet: fitting one" in done.stderr
    assert (older / "novelty.npz").exists()
    assert json.loads((older / "novelty.json").read_text())["training_images"] == 40
    assert "flagged as not cats or dogs by the out-of-distribution check: " in done.stdout, done.stdout


def test_a_run_whose_photos_are_gone_is_evaluated_without_the_check_and_says_why(trained, tmp_path: Path) -> None:
    run_dir, lab, data = trained
    older = Path(shutil.copytree(run_dir, tmp_path / run_dir.name))
    for name in ("novelty.json", "novelty.npz"):
        (older / name).unlink()
    config = json.loads((older / "config.json").read_text())
    (older / "config.json").write_text(json.dumps({**config, "data": str(tmp_path / "deleted-photos")}))
    folder = photos_folder(data / "gone", {"cats": "cats", "dogs": "dogs"}, 3)
    done = lab("evaluate", str(older), "--data", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    assert "No out-of-distribution check for this run: " in done.stderr and "deleted-photos" in done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1])["novelty"] is None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path, lab_cli_env: LabCli) -> tuple[Path, LabCli, Path]:
    """`trained`, over a copy of the session's one-epoch tiny run (calibrated when it finished)."""
    root = tmp_path_factory.mktemp("evaluate-tiny")
    env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(root / "workspace"),
           "TRANSFER_LAB_DATA_DIRS": os.pathsep.join([str(FILTERED.parent), str(root / "data")]),
           "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}
    run_dir = shutil.copytree(tiny_run, root / "workspace" / "runs" / tiny_run.name)
    return run_dir, lambda *args: lab_cli_env(env, *args), root / "data"


def test_evaluate_json_has_the_interval_the_temperature_and_the_ece_and_with_tta_its_gain(tiny) -> None:
    run_dir, lab, data = tiny
    folder = photos_folder(data / "twelve", {"cats": "cats", "dogs": "dogs"}, 6)
    calibration = json.loads((run_dir / "calibration.json").read_text())
    plain = lab("evaluate", str(run_dir), "--data", str(folder), "--name", "plain", "--json")
    assert plain.returncode == 0, plain.stderr
    result = json.loads(plain.stdout.strip().splitlines()[-1])
    assert result["n"] == 12 and result["tta"] is None
    low, high = result["accuracy_interval"]
    assert 0 <= low <= result["accuracy"] <= high <= 1 and high - low > 0.2  # 12 photos: a wide interval
    assert result["temperature"] == pytest.approx(calibration["temperature"])
    assert result["calibrated"] is calibration["fitted"] and 0 <= result["ece"] <= 1
    assert (result["ece_calibrated"] is not None) is calibration["fitted"]

    viewed = lab("evaluate", str(run_dir), "--data", str(folder), "--name", "viewed", "--tta", "--json")
    assert viewed.returncode == 0, viewed.stderr
    tta = json.loads(viewed.stdout.strip().splitlines()[-1])["tta"]
    assert tta["views"] == "flip" and tta["images"] == 12
    assert tta["plain_accuracy"] == pytest.approx(result["accuracy"])  # the plain answers of the same photos
    assert tta["gain"] == pytest.approx(tta["accuracy"] - tta["plain_accuracy"])
    assert tta["gain_interval"][0] <= tta["gain"] <= tta["gain_interval"][1]
    assert tta["fixed"] - tta["broken"] == round(12 * tta["gain"])
    kept = Predictions.load(run_dir / "evaluations" / "viewed" / "predictions-tta-flip.csv")
    assert kept.accuracy == pytest.approx(tta["accuracy"]) and len(kept) == 12


def test_a_runs_own_photos_are_read_from_its_predictions_and_tta_is_kept_beside_them(tiny) -> None:
    run_dir, lab, _ = tiny
    own = lab("evaluate", str(run_dir), "--json")  # no test photos: its validation photos, read, not predicted
    assert own.returncode == 0, own.stderr
    result = json.loads(own.stdout.strip().splitlines()[-1])
    stored = evaluations(run_dir)["validation"]
    assert result["name"] == "validation" and result["n"] == len(stored) == 20
    assert result["accuracy"] == pytest.approx(stored.accuracy)
    viewed = lab("evaluate", str(run_dir), "--split", "validation", "--tta", "crops", "--json")
    assert viewed.returncode == 0, viewed.stderr
    tta = json.loads(viewed.stdout.strip().splitlines()[-1])["tta"]
    assert tta["views"] == "crops" and tta["plain_accuracy"] == pytest.approx(stored.accuracy)
    kept = Predictions.load(run_dir / "predictions-tta-crops.csv")
    assert sorted(kept.digests) == sorted(stored.digests) and kept.accuracy == pytest.approx(tta["accuracy"])
    wrong = lab("evaluate", str(run_dir), "--split", "test", "--json")
    assert wrong.returncode == 2 and "no test photos of its own" in wrong.stderr
    text = lab("evaluate", str(run_dir), "--split", "validation")
    assert "95% interval in brackets" in text.stdout and "expected calibration error" in text.stdout
