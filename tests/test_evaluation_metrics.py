"""Interpretation and McNemar's test on cases worked out by hand."""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest

from lab.errors import LabError
from lab.evaluation.evaluate import evaluation_names, evaluations, evaluations_stamp
from lab.evaluation.interpretation import Interpretation
from lab.evaluation.paired import mcnemar_exact, pair
from lab.evaluation.predictions import Predictions, concatenate

# 4 cats then 6 dogs; the dog probability of each. At 0.5: cats -> cat cat cat DOG, dogs -> dog x4, CAT CAT.
DOG_PROBABILITY = [0.1, 0.2, 0.3, 0.65, 0.9, 0.8, 0.7, 0.55, 0.4, 0.45]
TRUE = [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]


def predictions(dog_probability=DOG_PROBABILITY, true=TRUE, split: str = "test") -> Predictions:
    p = np.array(dog_probability, dtype=float)
    n = len(p)
    return Predictions(("cat", "dog"), (split,) * n, tuple(f"/photos/{i}.jpg" for i in range(n)),
                       tuple(f"digest{i}" for i in range(n)), np.array(true), np.stack([1 - p, p], axis=1))


def test_confusion_matrix_and_report_match_the_hand_count() -> None:
    interpretation = Interpretation(predictions())
    # true cat: 3 right, 1 called dog; true dog: 2 called cat, 4 right
    assert interpretation.confusion_matrix().tolist() == [[3, 1], [2, 4]]
    assert np.allclose(interpretation.confusion_matrix(normalize=True), [[0.75, 0.25], [1 / 3, 2 / 3]])
    report = interpretation.report()
    cat, dog = report["per_class"]["cat"], report["per_class"]["dog"]
    assert (cat["precision"], cat["recall"], cat["support"]) == pytest.approx((3 / 5, 3 / 4, 4))
    assert cat["f1"] == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert (dog["precision"], dog["recall"], dog["support"]) == pytest.approx((4 / 5, 4 / 6, 6))
    assert report["macro_avg"]["precision"] == pytest.approx(0.7)
    assert report["weighted_avg"]["precision"] == pytest.approx((0.6 * 4 + 0.8 * 6) / 10)
    summary = interpretation.summary()
    assert summary["accuracy"] == pytest.approx(0.7)
    assert summary["n"] == 10 and summary["classes"] == ["cat", "dog"]


def test_roc_auc_is_the_share_of_correctly_ordered_pairs() -> None:
    curves = Interpretation(predictions()).curves()
    # of 6 x 4 (dog, cat) pairs, 21 give the dog the higher dog probability
    assert curves["roc"]["auc"] == pytest.approx(21 / 24)
    assert curves["positive_class"] == "dog"
    assert curves["roc"]["fpr"][0] == 0 and curves["roc"]["tpr"][-1] == 1
    assert 0 < curves["pr"]["average_precision"] <= 1


def test_top_losses_are_the_most_confidently_wrong_images() -> None:
    top = Interpretation(predictions()).top_losses(3)
    assert [row["path"] for row in top] == ["/photos/3.jpg", "/photos/8.jpg", "/photos/9.jpg"]
    assert top[0]["true"] == "cat" and top[0]["predicted"] == "dog"
    assert top[0]["probability"] == pytest.approx(0.65)
    assert top[0]["loss"] == pytest.approx(-math.log(0.35))


def test_most_confused_lists_pairs_by_count() -> None:
    assert Interpretation(predictions()).most_confused() == [("dog", "cat", 2), ("cat", "dog", 1)]


@pytest.mark.parametrize(("only_first", "only_second", "expected"), [
    (1, 9, 22 / 1024),       # 2 * P(X <= 1), X ~ Binomial(10, 1/2) = 2 * 11 / 1024
    (2, 8, 112 / 1024),      # 2 * (1 + 10 + 45) / 1024
    (5, 5, 1.0),
    (0, 0, 1.0),
    (0, 6, 2 / 64),
])
def test_mcnemar_exact_p_values(only_first: int, only_second: int, expected: float) -> None:
    assert mcnemar_exact(only_first, only_second) == pytest.approx(expected)


def test_paired_comparison_finds_the_changed_images_both_ways() -> None:
    first = predictions()
    better = list(DOG_PROBABILITY)
    better[3], better[8], better[9], better[0] = 0.2, 0.9, 0.9, 0.7  # fixes three, breaks one
    comparison = pair(first, predictions(better), "small", "large")
    assert comparison.only_first_right.tolist() == [0]
    assert comparison.only_second_right.tolist() == [3, 8, 9]
    assert comparison.p_value == pytest.approx(mcnemar_exact(1, 3))
    changed = comparison.changed()
    assert {row["path"] for row in changed if row["right"] == "large"} == {"/photos/3.jpg", "/photos/8.jpg",
                                                                           "/photos/9.jpg"}
    assert "does not show that large is better" in comparison.sentence()


def test_pairing_refuses_different_images_or_classes() -> None:
    first = predictions()
    other = Predictions(first.classes, first.splits, first.paths, tuple(f"x{i}" for i in range(10)), first.true,
                        first.probabilities)
    with pytest.raises(LabError, match="different images"):
        pair(first, other)
    renamed = Predictions(("cats", "dogs"), first.splits, first.paths, first.digests, first.true, first.probabilities)
    with pytest.raises(LabError, match="different classes"):
        pair(first, renamed)


def test_predictions_round_trip_through_csv(tmp_path: Path) -> None:
    table = concatenate([predictions(split="validation"), predictions(split="test")])
    table.save(tmp_path / "predictions.csv")
    loaded = Predictions.load(tmp_path / "predictions.csv")
    assert loaded.classes == ("cat", "dog") and loaded.split_names() == ["validation", "test"]
    assert loaded.paths == table.paths and loaded.digests == table.digests
    assert np.array_equal(loaded.true, table.true)
    assert np.allclose(loaded.probabilities, table.probabilities)
    assert loaded.split("test").accuracy == pytest.approx(0.7)
    header = (tmp_path / "predictions.csv").read_text().splitlines()[0]
    assert header == "split,path,digest,true,predicted,p_cat,p_dog,loss"


def test_a_damaged_predictions_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "predictions.csv").write_text("not,a,table\n")
    with pytest.raises(LabError, match="not a predictions table"):
        Predictions.load(tmp_path / "predictions.csv")


def test_every_view_is_plain_data_for_a_page_to_cache() -> None:
    interpretation = Interpretation(predictions())
    views = interpretation.views(top=2)
    assert (views["accuracy"], views["n"], views["classes"]) == (0.7, 10, ["cat", "dog"])
    assert views["counts"] == [[3, 1], [2, 4]] and views["normalized"] == [[0.75, 0.25], [1 / 3, 2 / 3]]
    assert [row["path"] for row in views["top_losses"]] == [row["path"] for row in interpretation.top_losses(2)]
    assert views["most_confused"] == [("dog", "cat", 2), ("cat", "dog", 1)]
    assert views["report"] == interpretation.report() and views["curves"]["roc"]["auc"] == pytest.approx(0.875)


def test_stored_evaluations_are_named_own_splits_first_and_stamped_by_their_files(tmp_path: Path) -> None:
    assert evaluations_stamp(tmp_path) == ()
    concatenate([predictions(split="validation"), predictions(split="test")]).save(tmp_path / "predictions.csv")
    (tmp_path / "evaluations" / "holdout").mkdir(parents=True)
    predictions(split="holdout").save(tmp_path / "evaluations" / "holdout" / "predictions.csv")
    stamp = evaluations_stamp(tmp_path)
    assert len(stamp) == 2
    os.utime(tmp_path / "predictions.csv", (1, 1))
    assert evaluations_stamp(tmp_path) != stamp  # a file written again is a new key
    assert evaluation_names([evaluations(tmp_path), {"another": None, "validation": None}]) == [
        "test", "validation", "another", "holdout"]
    assert evaluation_names([{}]) == []
