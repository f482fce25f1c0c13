"""Accuracies drawn without exaggerating: the axis rule, the intervals, and the three charts that use them (the
study and the accuracy curves on the pages, the report's SVG)."""

from __future__ import annotations

import re

import pytest

from app_pages.charts import curves, study_figure
from lab.evaluation.accuracy_axis import MIN_SPAN, accuracy_interval, accuracy_range
from lab.evaluation.proportions import wilson
from lab.replays.svg_chart import Series, line_chart


@pytest.mark.parametrize(("values", "expected"), [
    ([0.932, 0.940], (0.9, 1.0)),  # the 0.8-point gap: a tenth of the axis, not all of it
    ([*wilson(466, 500), *wilson(470, 500)], (0.85, 1.0)),  # their intervals on 500 photos fit inside
    ([0.55, 0.98], (0.5, 1.0)),  # a wide spread keeps its own range
    ([0.41, 0.44], (0.4, 0.5)),  # near chance: ten points, grown upwards, ends on whole five points
    ([0.0, 0.02], (0.0, 0.1)),  # never below 0 ...
    ([0.999], (0.9, 1.0)),  # ... nor above 1
    ([None, float("nan")], (0.0, 1.0)),  # nothing to draw
])
def test_the_axis_is_at_least_ten_points_tall_on_whole_five_points(values, expected) -> None:
    low, high = accuracy_range(values)
    assert (low, high) == pytest.approx(expected)
    assert high - low >= MIN_SPAN - 1e-9


def test_an_accuracy_has_its_wilson_interval_when_its_photos_are_known() -> None:
    assert accuracy_interval(0.9, 500) == wilson(450, 500)
    low, high = accuracy_interval(0.932, 500)
    assert 0.90 < low < 0.932 < high < 0.96  # about two points either way on 500 photos
    assert accuracy_interval(0.9, None) is None and accuracy_interval(0.9, 0) is None


STUDY_ROWS = [{"train_images": 1000, "test_accuracy": 0.932, "test_images": 500},
              {"train_images": 1000, "test_accuracy": 0.936, "test_images": 500},
              {"train_images": 20000, "test_accuracy": 0.940, "test_images": 500},
              {"train_images": 5000, "test_accuracy": None, "best_val_accuracy": 0.938}]


def test_the_study_draws_each_run_with_its_interval_on_an_honest_axis() -> None:
    figure = study_figure(STUDY_ROWS, {"published": 0.95})
    [runs] = [trace for trace in figure.data if trace.name == "a run"]
    for y, above, below, row in zip(runs.y, runs.error_y.array, runs.error_y.arrayminus, STUDY_ROWS):
        interval = accuracy_interval(row["test_accuracy"], row["test_images"]) if row["test_accuracy"] else (y, y)
        assert (y - below, y + above) == pytest.approx(interval)
    low, high = figure.layout.yaxis.range
    assert (low, high) == pytest.approx((0.85, 1.0))
    assert figure.layout.yaxis.tickformat == ".0%"


def test_the_studys_log_axis_is_marked_at_the_sizes_measured_without_minor_ticks() -> None:
    xaxis = study_figure(STUDY_ROWS, {}).layout.xaxis
    assert xaxis.type == "log" and xaxis.tickmode == "array"
    assert list(xaxis.tickvals) == [1000, 5000, 20000] and list(xaxis.ticktext) == ["1,000", "5,000", "20,000"]
    assert xaxis.minor.ticks == "" and xaxis.minor.showgrid is False


def test_accuracy_curves_get_the_axis_rule_and_loss_curves_keep_theirs() -> None:
    history = [{"accuracy": 0.90, "val_accuracy": 0.932}, {"accuracy": 0.95, "val_accuracy": 0.940}]
    assert curves({"": history}, "accuracy").layout.yaxis.range == pytest.approx((0.85, 1.0))
    assert curves({"": [{"loss": 0.3, "val_loss": 0.2}]}, "loss").layout.yaxis.range is None


def test_the_reports_svg_shares_the_axis_and_draws_the_intervals() -> None:
    intervals = [accuracy_interval(0.932, 500), accuracy_interval(0.940, 500)]
    svg = line_chart([Series("a run", [1000, 20000], [0.932, 0.940], line=False, intervals=intervals)],
                     title="study", x_label="photos", y_label="accuracy", log_x=True)
    ticks = [int(t) for t in re.findall(r'class="tick">(\d+)%<', svg)]
    assert ticks == [85, 90, 95, 100]  # the axis of `accuracy_range`, not 93% to 94%
    assert len(re.findall(r'<path d="M[\d.]+,[\d.]+V[\d.]+', svg)) == 2  # one error bar per run
