"""train() end to end on real photographs with the real tiny MobileNet: every strategy, cache, stop, files."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from lab.errors import LabError
from lab.settings import load_settings
from lab.training import weights
from lab.training.config import TrainConfig
from lab.training.train import train
from tests.conftest import FILTERED, TINY_MOBILENET


@pytest.fixture
def tiny(tiny_config: TrainConfig) -> TrainConfig:
    """The tiny run over two epochs, so there is a best epoch to pick; its weights named by file name only,
    found in the weights folder."""
    return dataclasses.replace(tiny_config, epochs=2, weights=TINY_MOBILENET.name)


def run(config: TrainConfig, run_dir: Path, **kwargs):
    events: list[dict] = []
    metrics = train(config, run_dir, on_event=events.append, **kwargs)
    return metrics, events


def history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv") as handle:
        return list(csv.DictReader(handle))


def check_run_folder(run_dir: Path, metrics: dict, epochs: int) -> None:
    import keras

    from lab.data.pipeline import load_image

    assert json.loads((run_dir / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    assert [int(row["epoch"]) for row in history(run_dir)] == list(range(1, epochs + 1))
    assert metrics["epochs_completed"] == epochs and not metrics["stopped"]
    assert (metrics["train_images"], metrics["validation_images"]) == (40, 20)
    assert metrics["classes"] == ["cats", "dogs"] and metrics["seconds"] > 0 and metrics["images_per_second"] > 0
    assert metrics["weights"]["kind"] == "file" and metrics["weights"]["path"] == str(TINY_MOBILENET)
    assert 0 <= metrics["best_val_accuracy"] <= 1 and 1 <= metrics["best_epoch"] <= epochs
    best = max(float(row["val_accuracy"]) for row in history(run_dir))
    assert metrics["best_val_accuracy"] == pytest.approx(best)
    with open(run_dir / "layers.csv") as handle:
        assert next(csv.reader(handle)) == ["phase", "layer", "type", "trainable", "parameters"]
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*")), "TensorBoard logs are written"
    cat = load_image(FILTERED / "validation" / "cats" / "cat.2000.jpg", 128)[None]
    for name in ("model.keras", "best.keras"):
        probabilities = keras.saving.load_model(run_dir / name).predict(cat, verbose=0)  # raw 0..255 pixels in
        assert probabilities.shape == (1, 2) and probabilities.sum() == pytest.approx(1.0, abs=1e-5)


def test_feature_extractor_end_to_end_then_a_second_run_reads_the_feature_cache(workspace, tmp_path, monkeypatch, tiny):
    resolutions, resolve = [], weights.resolve_weights

    def resolve_weights(*args, **kwargs):
        resolutions.append(args)
        return resolve(*args, **kwargs)

    monkeypatch.setattr("lab.training.weights.resolve_weights", resolve_weights)
    monkeypatch.setattr("lab.training.train.resolve_weights", resolve_weights)
    metrics, events = run(tiny, tmp_path / "first")
    assert len(resolutions) == 1, "a run resolves its weights once and builds the backbone with them"
    check_run_folder(tmp_path / "first", metrics, 2)
    assert metrics["features"]["computed"] == 60 and metrics["trainable_parameters"] < 10_000
    kinds = {event["type"] for event in events}
    assert kinds == {"phase", "batch", "epoch"}
    epoch = next(event for event in events if event["type"] == "epoch")
    assert {"epoch", "epochs", "logs", "phase"} <= set(epoch) and "val_accuracy" in epoch["logs"]
    batch = next(event for event in events if event["type"] == "batch" and event["phase"] == "train")
    assert {"epoch", "epochs", "batch", "batches", "loss", "accuracy", "images_per_second",
            "eta_seconds"} <= set(batch)

    other = dataclasses.replace(tiny, learning_rate=1e-2, head="linear", epochs=1)
    metrics, _ = run(other, tmp_path / "second")
    assert (metrics["features"]["hits"], metrics["features"]["computed"]) == (60, 0)


@pytest.mark.slow  # a training of the frozen backbone
def test_frozen_with_augmentation_end_to_end(workspace, tmp_path, tiny):
    config = dataclasses.replace(tiny, strategy="frozen", augment="light", head="five_model_tutorial",
                                 optimizer="rmsprop", learning_rate=1e-4, class_weights=True)
    metrics, _ = run(config, tmp_path / "run")
    check_run_folder(tmp_path / "run", metrics, 2)
    assert metrics["features"] is None


@pytest.mark.slow  # two trainings
def test_fine_tune_trains_the_head_then_unfreezes_at_a_lower_rate(workspace, tmp_path, tiny):
    config = dataclasses.replace(tiny, strategy="fine-tune", epochs=1, fine_tune_epochs=1, fine_tune_at="conv_13")
    metrics, events = run(config, tmp_path / "run")
    check_run_folder(tmp_path / "run", metrics, 2)
    rows = history(tmp_path / "run")
    assert [row["phase"] for row in rows] == ["train", "fine-tune"]
    assert [event["epochs"] for event in events if event["type"] == "epoch"] == [2, 2]  # planned over both phases
    assert [float(row["learning_rate"]) for row in rows] == pytest.approx([1e-3, 1e-5])
    with open(tmp_path / "run" / "layers.csv") as handle:
        layers = list(csv.DictReader(handle))
    trainable = {(row["phase"], row["layer"].split("/")[-1]): row["trainable"] for row in layers}
    assert trainable[("train", "conv_pw_13")] == "False" and trainable[("fine-tune", "conv_pw_13")] == "True"
    assert trainable[("fine-tune", "conv_pw_12")] == "False" and trainable[("fine-tune", "conv_pw_13_bn")] == "False"
    assert any("Unfroze 2 layers from conv_13" in event.get("message", "") for event in events)


@pytest.mark.slow  # a training from scratch
def test_scratch_basic_cnn_end_to_end(workspace, tmp_path, tiny):
    config = dataclasses.replace(tiny, backbone="basic_cnn", weights="none", strategy="scratch", optimizer="sgd")
    metrics, _ = run(config, tmp_path / "run")
    assert metrics["weights"] == {"kind": "none", "path": None, "sha256": None, "alpha": None}
    assert metrics["epochs_completed"] == 2
    assert metrics["trainable_parameters"] == metrics["parameters"] - 4  # all but the fixed [1 - p, p] layer
    assert metrics["novelty"]["method"] == "knn" and metrics["novelty"]["training_images"] == 40  # its dense output


@pytest.mark.slow  # a training
def test_a_stop_request_ends_the_run_gracefully_keeping_whole_epochs(workspace, tmp_path, tiny):
    polls = {"count": 0}

    def stop_in_the_second_epoch() -> bool:
        polls["count"] += 1
        return polls["count"] > 5  # 4 batches per epoch: stops after batch 2 of epoch 2

    config = dataclasses.replace(tiny, strategy="frozen", epochs=5, batch_size=10)
    metrics, events = run(config, tmp_path / "run", should_stop=stop_in_the_second_epoch)
    assert metrics["stopped"] and metrics["epochs_completed"] == 1
    assert len(history(tmp_path / "run")) == 1 and (tmp_path / "run" / "best.keras").exists()
    assert (tmp_path / "run" / "model.keras").exists()
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["stopped"] is True
    assert metrics["novelty"] is None and not (tmp_path / "run" / "novelty.json").exists()  # no check half-made
    assert events[-1] == {"type": "phase", "phase": "done", "message": "Stopped on request"}


def test_bad_weights_fail_before_any_data_is_read(workspace, tmp_path, tiny):
    config = dataclasses.replace(tiny, weights="missing.weights.h5", data=str(tmp_path / "nowhere"))
    with pytest.raises(LabError, match="missing.weights.h5"):
        train(config, tmp_path / "run")
    with pytest.raises(LabError, match="augment"):  # an invalid config never reaches training: it cannot be made
        dataclasses.replace(tiny, augment="light")


@pytest.mark.parametrize("strategy", ["feature-extractor", "frozen"])
@pytest.mark.slow  # a training each
def test_a_run_keeps_its_final_predictions_on_the_validation_and_test_images(strategy, tiny, workspace, tmp_path):
    import keras

    from lab.data import build_manifest, scan
    from lab.data.pipeline import load_image
    from lab.evaluation.predictions import Predictions

    build_manifest(scan(FILTERED), name="filtered-with-test", test=30, seed=1).save(load_settings())
    config = dataclasses.replace(tiny, data="filtered-with-test", strategy=strategy, epochs=1)
    metrics, events = run(config, tmp_path / "run")

    table = Predictions.load(tmp_path / "run" / "predictions.csv")
    validation, test = table.split("validation"), table.split("test")
    assert table.split_names() == ["validation", "test"] and (len(validation), len(test)) == (20, 30)
    assert validation.accuracy == pytest.approx(float(history(tmp_path / "run")[-1]["val_accuracy"]))
    assert metrics["test_images"] == 30 and metrics["test_accuracy"] == pytest.approx(test.accuracy)
    assert np.array(metrics["test"]["confusion_matrix"]).sum() == 30
    assert any(event.get("phase") == "evaluate" for event in events)
    model = keras.saving.load_model(tmp_path / "run" / "model.keras")  # the stored answers are the model's own
    images = np.stack([load_image(path, 128) for path in test.paths[:8]])
    assert np.allclose(model.predict(images, verbose=0), test.probabilities[:8], atol=1e-4)
    check = json.loads((tmp_path / "run" / "novelty.json").read_text())  # from cached features, or from the model
    assert check == metrics["novelty"] and (check["training_images"], check["validation_images"]) == (40, 20)
    assert check["validation_pass_rate"] >= 0.95 and (tmp_path / "run" / "novelty.npz").exists()


@pytest.mark.slow  # a training
def test_early_stopping_on_validation_loss_keeps_the_epochs_past_its_lowest_and_the_best_weights(
        workspace, tmp_path, tiny):
    """A learning rate far too high makes the validation loss bounce: the run stops `patience` epochs past its
    lowest, the history keeps those epochs, and the final model is the lowest epoch's."""
    from lab.evaluation.predictions import Predictions

    config = dataclasses.replace(tiny, epochs=15, learning_rate=0.3, early_stopping_patience=2,
                                 early_stopping_monitor="val_loss", restore_best_weights=True)
    metrics, _ = run(config, tmp_path / "run")
    rows = history(tmp_path / "run")
    losses = [float(row["val_loss"]) for row in rows]
    lowest = losses.index(min(losses))
    assert len(rows) < 15 and len(rows) == lowest + 1 + 2  # stopped two epochs past the lowest validation loss
    final = Predictions.load(tmp_path / "run" / "predictions.csv").split("validation")
    assert final.accuracy == pytest.approx(float(rows[lowest]["val_accuracy"]))  # the best epoch's weights
    assert metrics["final"]["val_loss"] == pytest.approx(losses[-1])  # the history's last epoch, as it happened


@pytest.mark.slow  # two trainings
def test_a_run_started_from_another_runs_head_starts_where_that_run_ended(workspace, tmp_path, tiny):
    import keras

    from lab.runs.store import RunStore
    from lab.training.start_from import HEAD

    settings = load_settings()
    store = RunStore(settings.runs_dir)
    features = dataclasses.replace(tiny, head="five_model_tutorial", epochs=3)
    source = store.create(features)
    run(features, source.path)
    still = {"learning_rate": 1e-8, "fine_tune_learning_rate": 1e-8}  # so the head stays as it started
    tuned = dataclasses.replace(features, strategy="fine-tune", start_from=source.id, epochs=1, fine_tune_epochs=1,
                                fine_tune_at="conv_13", **still)
    metrics, events = run(tuned, tmp_path / "tuned")
    assert any(f"The head starts from run {source.id}'s trained head (4 layers)" in event.get("message", "")
               for event in events)
    heads = [keras.saving.load_model(folder / "model.keras").get_layer(HEAD) for folder in (source.path,
                                                                                          tmp_path / "tuned")]
    for trained, started in zip(*(head.get_weights() for head in heads)):
        np.testing.assert_allclose(started, trained, atol=1e-5)
    first = history(tmp_path / "tuned")[0]
    assert float(first["val_accuracy"]) == pytest.approx(float(history(source.path)[-1]["val_accuracy"]), abs=0.05)


def test_a_run_to_start_from_must_have_the_same_backbone_head_and_size(workspace, tiny):
    from lab.runs.store import RunStore
    from lab.training.preflight import preflight

    settings = load_settings()
    source = RunStore(settings.runs_dir).create(tiny)
    other = dataclasses.replace(tiny, strategy="fine-tune", image_size=160, head="linear", start_from=source.id)
    with pytest.raises(LabError, match=r"it has head keras_tutorial \(this run: linear\), image size 128 \(this "
                                       r"run: 160\); start from a run with the same backbone, head and image size"):
        preflight(other, settings)
    with pytest.raises(LabError, match="names no run in"):
        preflight(dataclasses.replace(tiny, start_from="no-such-run"), settings)
    with pytest.raises(LabError, match="has no trained model yet"):
        train(dataclasses.replace(tiny, start_from=source.id), settings.runs_dir / "next")
