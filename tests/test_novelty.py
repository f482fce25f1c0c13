"""The out-of-distribution check on real features: the session's tiny run's pooled features of real cats and
dogs, of scikit-learn's two sample photos (a temple, a flower) and of plain squares; the threshold's rule, what
training stores, the check saved and read back, fitted afterwards for a run made before it, and the model card."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import sklearn
from PIL import Image

from lab.data.check import check_file
from lab.data.records import ImageRecord
from lab.errors import LabError
from lab.evaluation.model_card import card_markdown, model_card
from lab.evaluation.novelty import (
    Mahalanobis,
    NearestNeighbours,
    NoveltyCheck,
    fit_check,
    fit_score,
    sample_rows,
    threshold_for,
    unit_rows,
)
from lab.evaluation.pooled_features import pool_cached, predict_with_features
from lab.evaluation.predict import Predictor
from lab.run_files import RunFiles
from lab.settings import load_settings
from lab.storage import read_json
from tests.conftest import FILTERED

SKLEARN_PHOTOS = sorted((Path(sklearn.__file__).parent / "datasets" / "images").glob("*.jpg"))  # a temple, a flower


def records(paths: list[Path]) -> list[ImageRecord]:
    """Image records for files; the pipeline wants a class, so a photo outside a class folder gets "cats"."""
    checks = [check_file(path) for path in paths]
    return [ImageRecord(str(p), p.parent.name if p.parent.name in ("cats", "dogs") else "cats", None, c.digest,
                        c.width, c.height, c.needs_pil) for p, c in zip(paths, checks)]


def photos(split: str, start: int, count: int) -> list[Path]:
    return [path for label in ("cats", "dogs")
            for path in sorted((FILTERED / split / label).iterdir())[start:start + count]]


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A plain blue and a plain grey square, as a person might upload them."""
    folder = tmp_path_factory.mktemp("squares")
    made = []
    for name, colour in (("blue", (30, 90, 200)), ("grey", (128, 128, 128))):
        made.append(folder / f"{name}.png")
        Image.new("RGB", (300, 300), colour).save(made[-1])
    return made


@pytest.fixture(scope="module")
def features(tiny_run: Path, squares: list[Path]) -> dict[str, np.ndarray]:
    """Pooled features through the tiny run's own model: 30 training, 20 validation and 20 other validation
    photos per class, scikit-learn's two photos and the two squares; `labels` the training photos' classes."""
    predictor = Predictor(tiny_run)
    sets = {"train": photos("train", 0, 30), "validation": photos("validation", 0, 20),
            "held_out": photos("validation", 20, 20), "neither": SKLEARN_PHOTOS, "squares": squares}
    found = {name: predict_with_features(predictor.with_features, records(paths), ["cats", "dogs"], split=name,
                                         image_size=predictor.image_size)[1] for name, paths in sets.items()}
    found["labels"] = np.array([0] * 30 + [1] * 30)
    return found


def test_the_threshold_is_the_conformal_quantile_of_the_validation_scores() -> None:
    scores = np.arange(100.0)[::-1]  # any order
    assert threshold_for(scores, 0.95) == 95.0  # the ceil(101 * 0.95) = 96th smallest: 96 of 100 pass
    assert threshold_for(scores, 0.5) == 50.0
    assert threshold_for(np.arange(10.0), 0.95) == 9.0  # too few photos for the rule: the largest
    with pytest.raises(LabError, match="validation photos"):
        threshold_for(np.array([]))


@pytest.mark.parametrize("method", ["mahalanobis", "knn"])
def test_each_score_puts_other_photos_above_most_held_out_cats_and_dogs(features: dict[str, np.ndarray],
                                                                        method: str) -> None:
    check = fit_check(features["train"], features["labels"], features["validation"], method=method)
    assert check.fitted["validation_pass_rate"] >= 0.95 and check.fitted["training_images"] == 60
    held_out, neither = check.scores(features["held_out"]), check.scores(features["neither"])
    assert np.mean(held_out <= check.threshold) >= 0.8, (held_out, check.threshold)
    assert neither.min() > np.median(held_out), (neither, held_out)


def test_the_shipped_score_flags_plain_squares_that_mahalanobis_can_let_through(
        features: dict[str, np.ndarray]) -> None:
    check = fit_check(features["train"], features["labels"], features["validation"])  # METHOD: knn
    assert check.method == "knn"
    squares = check.scores(features["squares"])
    assert (squares > 1.1 * check.threshold).all(), (squares, check.threshold)


def test_mahalanobis_is_the_distance_to_the_nearest_class_mean_through_the_shared_covariance(
        features: dict[str, np.ndarray]) -> None:
    from scipy.spatial.distance import mahalanobis
    from sklearn.covariance import LedoitWolf

    train, labels = features["train"].astype(np.float64), features["labels"]
    means = [train[labels == label].mean(axis=0) for label in (0, 1)]
    precision = LedoitWolf(assume_centered=True).fit(train - np.array(means)[labels]).precision_
    fitted = Mahalanobis.fit(train, labels)
    row = features["neither"][0].astype(np.float64)
    expected = min(mahalanobis(row, mean, precision) for mean in means)
    assert fitted.scores(row[None])[0] == pytest.approx(expected, rel=1e-4)


def test_knn_is_the_distance_to_the_kth_nearest_training_photo_on_the_unit_sphere(
        features: dict[str, np.ndarray]) -> None:
    from sklearn.neighbors import NearestNeighbors

    train = features["train"]
    assert NearestNeighbours.fit(train, k=1).scores(train[:5]) == pytest.approx(np.zeros(5), abs=1e-3)
    fitted = NearestNeighbours.fit(train, k=10)
    distances, _ = NearestNeighbors(n_neighbors=10).fit(unit_rows(train)).kneighbors(unit_rows(features["held_out"]))
    assert fitted.scores(features["held_out"]) == pytest.approx(distances[:, -1], rel=1e-4)


def test_a_training_sample_is_drawn_once_in_order_and_a_score_needs_two_photos() -> None:
    assert sample_rows(5, 10).tolist() == [0, 1, 2, 3, 4]
    drawn = sample_rows(5000, 1000, seed=3)
    assert len(set(drawn)) == 1000 and (np.diff(drawn) > 0).all()
    assert (sample_rows(5000, 1000, seed=3) == drawn).all()
    with pytest.raises(LabError, match="at least 2 training photos"):
        fit_score("mahalanobis", np.ones((1, 4)), np.zeros(1))
    with pytest.raises(LabError, match="choose one of: mahalanobis, knn"):
        fit_score("energy", np.ones((4, 4)), np.zeros(4))


def test_cached_rows_pool_to_the_maps_average() -> None:
    maps = np.random.default_rng(0).random((3, 4, 4, 8)).astype(np.float32)
    np.testing.assert_allclose(pool_cached(maps.reshape(3, -1), (4, 4, 8)), maps.mean(axis=(1, 2)), rtol=1e-6)
    averaged = maps.mean(axis=(1, 2))
    assert np.array_equal(pool_cached(averaged, (4, 4, 8)), averaged)
    assert np.array_equal(pool_cached(averaged, (8,)), averaged)  # a backbone that ends in a vector


def test_the_two_output_model_gives_the_models_own_answers(tiny_run: Path) -> None:
    predictor = Predictor(tiny_run)
    images = np.stack([predictor.decode(path) for path in photos("validation", 0, 2)])
    probabilities, pooled = predictor.with_features.predict_on_batch(images)
    np.testing.assert_allclose(probabilities, predictor.model.predict_on_batch(images), atol=1e-6)  # uncalibrated
    assert pooled.shape == (4, 256)  # MobileNet 0.25's last map, averaged


def test_training_stores_the_check_and_a_copy_reads_back_the_same(tiny_run: Path, tmp_path: Path,
                                                                  features: dict[str, np.ndarray]) -> None:
    files = RunFiles(tiny_run)
    stored = read_json(files.novelty)
    assert stored["method"] == "knn" and stored["training_images"] == 40
    assert stored["validation_images"] == 20 and stored["validation_pass_rate"] >= 0.95
    assert read_json(files.metrics)["novelty"] == stored
    check = NoveltyCheck.load(tiny_run)
    copy = tmp_path / "copy"
    check.save(copy)
    again = NoveltyCheck.load(copy)
    assert again.summary() == check.summary()
    np.testing.assert_array_equal(again.scores(features["held_out"]), check.scores(features["held_out"]))


def test_a_run_without_the_check_reads_as_none_and_a_damaged_one_says_how_to_mend_it(tiny_run: Path,
                                                                                        tmp_path: Path) -> None:
    assert NoveltyCheck.load(tmp_path) is None
    RunFiles(tmp_path).novelty.write_text(RunFiles(tiny_run).novelty.read_text())
    RunFiles(tmp_path).novelty_arrays.write_bytes(b"not numpy")
    with pytest.raises(LabError, match="cannot be read .*`python -m lab evaluate` on this run fits"):
        NoveltyCheck.load(tmp_path)


def test_a_run_without_the_check_predicts_as_before_with_no_score(tiny_run: Path, tmp_path: Path,
                                                                  squares: list[Path]) -> None:
    older = Path(shutil.copytree(tiny_run, tmp_path / tiny_run.name))
    RunFiles(older).novelty.unlink()
    predictor = Predictor(older)
    assert predictor.novelty is None and predictor.explain(squares[0]).novelty is None
    [result] = predictor.predict_files([squares[0]])
    assert result.novelty is None and result.label in ("cats", "dogs")
    assert result.to_dict()["in_distribution"] is None and result.to_dict()["score"] is None


def test_a_photo_explained_carries_the_same_check_as_one_predicted_in_a_batch(tiny_run: Path,
                                                                              squares: list[Path]) -> None:
    predictor = Predictor(tiny_run)
    cat = photos("validation", 30, 1)[0]
    for path, passes in ((squares[0], False), (cat, True)):
        explained = predictor.explain(path).novelty
        [batch] = predictor.predict_files([path])
        assert explained.in_distribution is passes and batch.novelty.in_distribution is passes
        assert explained.score == pytest.approx(batch.novelty.score, rel=1e-3)


def test_a_run_made_before_the_check_gets_the_same_one_afterwards(tiny_run: Path, workspace: Path) -> None:
    from lab.evaluation.novelty_fit import fit_run

    run_dir = Path(shutil.copytree(tiny_run, load_settings().runs_dir / tiny_run.name))
    trained = NoveltyCheck.load(run_dir)
    RunFiles(run_dir).novelty.unlink()
    RunFiles(run_dir).novelty_arrays.unlink()
    assert NoveltyCheck.load(run_dir) is None
    fitted = fit_run(run_dir)
    assert NoveltyCheck.load(run_dir).summary() == fitted.summary()
    # the same photos read again through the model: the threshold the cached features gave at training
    assert fitted.threshold == pytest.approx(trained.threshold, rel=1e-3)
    assert fitted.fitted["training_images"] == 40


def test_the_model_card_says_what_the_check_does_and_that_the_file_lacks_it(tiny_run: Path, tmp_path: Path) -> None:
    file = tmp_path / "model.keras"
    file.write_bytes(b"stand-in for the exported file")
    parity = {"images": 2, "max_abs_difference": 0.0, "top_class_agreement": 1.0, "criterion": "-", "passed": True}
    card = model_card(tiny_run, preprocessing="scaled to [-1, 1]", image_size=128, format="keras", quantize=None,
                      file=file, parity=parity)
    assert card["novelty"]["threshold"] == read_json(RunFiles(tiny_run).novelty)["threshold"]
    text = card_markdown(card)
    assert "## Out-of-distribution check" in text and "answered as not cats or dogs" in text
    assert "this file holds only the classifier" in text
    older = card_markdown({**card, "novelty": None})
    assert "No out-of-distribution check for this run" in older
