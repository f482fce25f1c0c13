"""Temperature scaling, the expected calibration error and reliability bins: on synthetic sets whose right
answer is known, and on a real tiny run's validation predictions."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scipy.special import softmax

from lab.evaluation.accuracy_text import accuracy_text, interval_bounds, interval_sentence, interval_text
from lab.evaluation.calibration import (
    MADE_BEFORE,
    Calibration,
    calibration_views,
    expected_calibration_error,
    fit_calibration,
    fit_temperature,
    load_calibration,
    negative_log_likelihood,
    reliability,
    scaled,
)
from lab.evaluation.evaluate import evaluations
from lab.evaluation.predictions import Predictions


def overconfident(temperature: float, n: int = 20_000, classes: int = 3, seed: int = 0):
    """Labels drawn from softmax(z), and a model that says softmax(z * temperature): too sure by `temperature`,
    so dividing its log-probabilities by that temperature gives the true probabilities back."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0, 2.0, size=(n, classes))
    truth = softmax(z, axis=1)
    true = np.array([rng.choice(classes, p=row) for row in truth])
    return softmax(z * temperature, axis=1), true


def calibrated_pairs(n: int = 50_000, seed: int = 1):
    """Two classes, each photo's confidence c drawn uniformly in [0.5, 1] and its answer right with probability c."""
    rng = np.random.default_rng(seed)
    confidence = rng.uniform(0.5, 1.0, n)
    right = rng.random(n) < confidence
    probabilities = np.stack([confidence, 1 - confidence], axis=1)
    return probabilities, np.where(right, 0, 1)


def table(probabilities: np.ndarray, true: np.ndarray) -> Predictions:
    n = len(true)
    names = tuple(f"p{i}" for i in range(n))
    classes = tuple(f"c{k}" for k in range(probabilities.shape[1]))
    return Predictions(classes, ("validation",) * n, names, names, true, probabilities)


@pytest.mark.parametrize("known", [0.5, 1.0, 2.5])
def test_the_fit_recovers_a_known_temperature(known: float) -> None:
    probabilities, true = overconfident(known)
    assert fit_temperature(probabilities, true) == pytest.approx(known, rel=0.06)


def test_scaling_keeps_every_answer_and_lowers_the_nll_of_an_overconfident_model() -> None:
    probabilities, true = overconfident(3.0, n=5_000)
    fitted = fit_calibration(table(probabilities, true))
    assert fitted.fitted and fitted.temperature > 2.5 and fitted.images == 5_000
    assert fitted.nll_after < fitted.nll_before
    after = fitted.apply(probabilities)
    assert np.array_equal(after.argmax(axis=1), probabilities.argmax(axis=1))  # accuracy is untouched
    assert np.allclose(after.sum(axis=1), 1.0)
    assert expected_calibration_error(after, true) < expected_calibration_error(probabilities, true) / 3
    assert "too sure" in fitted.words() and "5,000 validation photos" in fitted.words()


def test_a_widened_sigmoid_is_scaled_as_its_own_logit_would_be() -> None:
    p = np.array([0.01, 0.3, 0.5, 0.8, 0.999])
    widened = np.stack([1 - p, p], axis=1)  # what lab.training.models makes of a sigmoid unit
    logit = np.log(p / (1 - p))
    assert scaled(widened, 2.0)[:, 1] == pytest.approx(1 / (1 + np.exp(-logit / 2.0)))


def test_a_saturated_probability_keeps_a_finite_likelihood() -> None:
    probabilities = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)  # a float32 sigmoid says exactly 1
    assert np.isfinite(negative_log_likelihood(probabilities, np.array([1, 1]), 0.5))


def test_a_perfectly_calibrated_set_has_an_ece_near_zero_and_an_overconfident_one_does_not() -> None:
    probabilities, true = calibrated_pairs()
    assert expected_calibration_error(probabilities, true) < 0.01
    sharper = scaled(probabilities, 0.4)
    assert expected_calibration_error(sharper, true) > 0.05


def test_reliability_bins_count_every_photo_and_say_each_bins_accuracy() -> None:
    probabilities, true = calibrated_pairs(n=2_000)
    bins = reliability(probabilities, true)
    assert len(bins) == 10 and sum(row["count"] for row in bins) == 2_000
    assert all(row["count"] == 0 for row in bins[:5])  # two classes: never under 50% sure
    for row in bins[5:]:
        assert row["low"] <= row["confidence"] <= row["high"]
        assert row["interval"][0] <= row["accuracy"] <= row["interval"][1]
        assert abs(row["accuracy"] - row["confidence"]) < 0.08
    assert reliability(np.array([[0.0, 1.0]]), np.array([1]))[-1]["count"] == 1  # 100% sure is in the last bin


def test_nothing_to_fit_leaves_the_run_uncalibrated_with_the_reason() -> None:
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8]])
    fitted = fit_calibration(table(probabilities, np.array([0, 1])))
    assert not fitted.fitted and fitted.temperature == 1.0
    assert "all 2 validation answers were right" in fitted.words()
    assert np.array_equal(fitted.apply(probabilities), probabilities)
    views = calibration_views(table(probabilities, np.array([0, 1])), fitted)
    assert views["after"] is None and views["before"]["ece"] == pytest.approx(0.15)


def test_a_run_made_before_or_with_a_damaged_file_reads_as_not_calibrated(tmp_path: Path) -> None:
    assert load_calibration(tmp_path) == Calibration()
    assert Calibration().words() == f"not calibrated: {MADE_BEFORE}"
    (tmp_path / "calibration.json").write_text("{")
    damaged = load_calibration(tmp_path)
    assert damaged.temperature == 1.0 and "damaged" in damaged.words()


def test_a_real_runs_temperature_was_fitted_when_it_finished_and_lowers_its_validation_nll(tiny_run: Path,
                                                                                         tmp_path: Path) -> None:
    validation = evaluations(tiny_run)["validation"]
    stored = json.loads((tiny_run / "calibration.json").read_text())
    refitted = fit_calibration(validation)
    assert stored["temperature"] == pytest.approx(refitted.temperature)
    assert refitted.fitted, refitted.words()  # the tiny run gets some of its 20 photos wrong
    before = negative_log_likelihood(validation.probabilities, validation.true)
    assert negative_log_likelihood(validation.probabilities, validation.true, refitted.temperature) <= before
    run = shutil.copytree(tiny_run, tmp_path / tiny_run.name)
    (run / "calibration.json").unlink()
    assert load_calibration(run).temperature == 1.0  # as a run made before calibration reads


def test_an_accuracy_is_worded_with_its_interval_for_its_photos() -> None:
    assert accuracy_text(0.97, 500) == "97.0% (95.1-98.2%)"
    assert interval_text(0.97, 500) == "95.1-98.2%"
    assert interval_sentence(0.97, 500) == "95% interval 95.1-98.2% on 500 photos"
    assert accuracy_text(0.97, None) == "97.0%" and accuracy_text(None, 500) == "—"
    assert interval_bounds(0.5, 0) is None and interval_bounds(1.0, 20)[1] == 1.0
