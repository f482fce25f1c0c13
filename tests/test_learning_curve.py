"""The learning-curve fit: it recovers a known curve from points on it, its interval covers the truth and narrows
with more test photos, and each edge case (too few sizes, a flat curve, a target already reached, one the curve
never reaches) is an answer with a sentence, not an exception."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from lab.evaluation.learning_curve import (
    EXTRAPOLATED,
    FLAT,
    INTERPOLATED,
    REACHED,
    TOO_FEW,
    UNREACHABLE,
    Law,
    Point,
    learning_curve,
)

SIZES = (100, 200, 400, 800, 1600, 3200)


def points_on(law: Law, sizes: tuple[int, ...], tested: int) -> list[Point]:
    return [Point(n, float(law.accuracy(n)), tested=tested) for n in sizes]


def test_four_sizes_or_more_recover_the_power_law_with_its_floor() -> None:
    truth = Law(2.0, 0.5, 0.02)
    found = learning_curve(points_on(truth, SIZES, 20_000), 0.95)
    fit, answer = found["fit"], found["images_for"]
    assert fit["law"] == "power law with a floor" and fit["sizes"] == list(SIZES)
    assert (fit["a"], fit["b"], fit["c"]) == pytest.approx((2.0, 0.5, 0.02), rel=1e-3)
    assert answer["status"] == EXTRAPOLATED and answer["extrapolated"]
    assert answer["images"] == pytest.approx(truth.images_for(0.95), rel=1e-3)  # 4,444
    assert answer["low"] < answer["images"] < answer["high"]
    assert "extrapolation beyond the largest size measured (3,200)" in answer["sentence"]
    json.dumps(found, allow_nan=False)  # the CLI prints it as JSON


def test_two_or_three_sizes_fit_the_line_in_log_log_axes() -> None:
    truth = Law(1.5, 0.4)
    found = learning_curve(points_on(truth, (250, 1000, 4000), 500), 0.90)  # 94.6% measured at 4,000
    assert found["images_for"]["status"] == INTERPOLATED
    assert found["fit"]["law"] == "power law" and found["fit"]["c"] == 0
    assert (found["fit"]["a"], found["fit"]["b"]) == pytest.approx((1.5, 0.4), rel=1e-6)
    assert found["images_for"]["images"] == round(truth.images_for(0.90))


def test_a_target_inside_the_measured_sizes_is_interpolated_and_the_curve_is_drawn_in_two_parts() -> None:
    found = learning_curve(points_on(Law(2.0, 0.5), (100, 10_000), 1000), 0.9)
    answer, fit = found["images_for"], found["fit"]
    assert answer["status"] == INTERPOLATED and not answer["extrapolated"] and answer["images"] == 400
    assert "within the sizes measured (100 to 10,000)" in answer["sentence"]
    assert fit["measured"]["images"][0] == pytest.approx(100) and fit["measured"]["images"][-1] == pytest.approx(1e4)
    assert fit["extrapolated"]["images"][0] == pytest.approx(1e4) and fit["extrapolated"]["images"][-1] > 1e4
    assert fit["measured"]["accuracy"][-1] == pytest.approx(0.98)


def test_the_interval_from_per_photo_answers_covers_the_truth_and_narrows_with_more_test_photos() -> None:
    truth, rng = Law(2.0, 0.5), np.random.default_rng(3)
    widths = []
    for photos in (300, 30_000):
        answers = [rng.random(photos) < truth.accuracy(n) for n in (100, 400, 1600)]
        found = learning_curve([Point(n, float(c.mean()), correct=c) for n, c in zip((100, 400, 1600), answers)],
                               0.97)["images_for"]
        assert found["low"] <= truth.images_for(0.97) <= found["high"]
        widths.append(found["high"] / found["low"])
    assert widths[1] < widths[0] / 2


def test_without_test_photo_counts_there_is_an_estimate_and_no_interval() -> None:
    answer = learning_curve([Point(100, 0.8), Point(400, 0.9)], 0.95)["images_for"]
    assert answer["images"] == 1600 and answer["low"] is None and answer["high"] is None
    assert "interval" not in answer["sentence"]


def test_too_few_sizes_is_an_answer() -> None:
    for points in ([], [Point(100, 0.8, tested=50)], [Point(100, 0.8), Point(100, 0.85)]):
        found = learning_curve(points)
        assert found["fit"] is None and found["images_for"]["status"] == TOO_FEW
        assert found["images_for"]["images"] is None and "two training-set sizes" in found["images_for"]["sentence"]


def test_a_flat_or_falling_curve_says_more_photos_did_not_help() -> None:
    for accuracies in ((0.9, 0.9, 0.9), (0.9, 0.88, 0.85)):
        points = [Point(n, a, tested=500) for n, a in zip((250, 1000, 4000), accuracies)]
        answer = learning_curve(points, 0.95)["images_for"]
        assert answer["status"] == FLAT and answer["images"] is None
        assert "did not rise with more photos between 250 and 4,000" in answer["sentence"]


def test_a_target_reached_at_the_smallest_size_is_measured_and_one_reached_later_is_estimated() -> None:
    points = [Point(n, a, tested=500) for n, a in zip((250, 1000, 4000), (0.96, 0.97, 0.975))]
    answer = learning_curve(points, 0.95)["images_for"]
    assert answer["status"] == REACHED and answer["images"] == 250 and not answer["extrapolated"]
    assert answer["sentence"] == "95% is already reached with 250 training photos (96.0% measured)."
    points = [Point(n, a, tested=500) for n, a in zip((250, 1000, 4000), (0.91, 0.96, 0.97))]
    answer = learning_curve(points, 0.95)["images_for"]
    assert answer["status"] == INTERPOLATED and 250 < answer["images"] <= 1000


def test_a_target_above_the_floor_is_unreachable() -> None:
    found = learning_curve(points_on(Law(2.0, 0.5, 0.05), SIZES, 20_000), 0.99)
    assert found["images_for"]["status"] == UNREACHABLE and found["images_for"]["images"] is None
    assert "levels off at 95.0%, below 99%" in found["images_for"]["sentence"]
    assert math.isfinite(found["fit"]["extrapolated"]["images"][-1])


def test_perfect_accuracy_counts_as_half_a_wrong_photo() -> None:
    points = [Point(100, 0.9, tested=200), Point(1000, 0.99, tested=200), Point(10_000, 1.0, tested=200)]
    found = learning_curve(points, 0.999)
    assert found["fit"]["b"] == pytest.approx(0.8, abs=0.01)  # 10%, 1%, then 0.25% error: finite logs
    assert found["images_for"]["status"] == REACHED and found["images_for"]["images"] == 10_000
