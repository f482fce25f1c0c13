"""`python -m lab train` and `python -m lab runs`: the CLI contract other checks rely on.

Real processes on real images: the tiny MobileNet 0.25/128 weights and 40 training images.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.cli import build_parser, main
from lab.cli.train import config_from_args, flags_from_config
from lab.errors import LabError
from lab.runs.store import RunStore
from lab.settings import load_settings
from lab.training.config import FIELDS, TrainConfig
from lab.training.preflight import check_data_source
from lab.training.presets import PRESETS
from tests.conftest import FILTERED, REPO, TINY_MOBILENET, LabCli


def last_json(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


@pytest.mark.slow  # a training in a subprocess
def test_train_in_the_foreground_ends_with_one_json_line(
    lab_cli: LabCli, tmp_path: Path, tiny_flags: list[str]
) -> None:
    runs_dir = tmp_path / "runs"
    done = lab_cli("train", *tiny_flags, "--runs-dir", str(runs_dir), "--json")

    assert done.returncode == 0, done.stderr
    result = last_json(done.stdout)
    assert result["status"] == "finished"
    assert Path(result["run_dir"]).parent == runs_dir.resolve()
    assert 0.0 <= result["best_val_accuracy"] <= 1.0
    assert (result["epochs_completed"], result["train_images"]) == (1, 40)
    assert result["seconds"] > 0
    assert "epoch 1/1" in done.stderr  # progress goes to stderr
    status = json.loads((Path(result["run_dir"]) / "status.json").read_text())
    assert status["state"] == "finished" and status["pid"] and status["ended"]

    listed = lab_cli("runs", "--runs-dir", str(runs_dir), "--json")
    assert listed.returncode == 0, listed.stderr
    [summary] = json.loads(listed.stdout)
    assert summary["id"] == Path(result["run_dir"]).name and summary["status"] == "finished"
    assert summary["best_val_accuracy"] == result["best_val_accuracy"]
    low, high = summary["best_val_accuracy_interval"]  # its 95% interval for its 20 validation photos
    assert summary["validation_images"] == 20 and low <= summary["best_val_accuracy"] <= high and high - low > 0.2
    assert summary["test_accuracy"] is None and summary["test_accuracy_interval"] is None  # no test photos
    assert "mobilenet" in summary["config"]


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--epochs", "0"], "epochs"),
        (["--backbone", "resnet9000"], "backbone"),
        (["--strategy", "feature-extractor", "--augment", "keras-tutorial"], "augment"),
        (["--strategy", "transfer"], "strategy"),
        (["--lr", "5"], "learning_rate"),
    ],
)
def test_an_invalid_config_is_one_line_and_creates_no_run(
    workspace: Path, tmp_path: Path, capsys: pytest.CaptureFixture, tiny_flags: list[str], flags: list[str], named: str
) -> None:
    code = main(["train", *tiny_flags, *flags, "--runs-dir", str(tmp_path / "runs"), "--json"])

    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and named in err and err.startswith("error: ")
    assert RunStore(tmp_path / "runs").list() == []


def test_without_data_the_error_says_which_flag(workspace: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", "--backbone", "mobilenet"]) == 2
    assert "--data" in capsys.readouterr().err


def test_flags_override_the_config_file_which_overrides_the_preset(tmp_path: Path) -> None:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"epochs": 7, "batch_size": 4, "augment_overrides": {"zoom_range": 0.1}}))
    args = build_parser().parse_args(
        ["train", "--preset", "vgg16-fine-tune", "--config", str(config_file), "--epochs", "3", "--data", "x",
         "--augment-set", "rotation_range=10"]
    )
    config = config_from_args(args)
    assert (config.backbone, config.strategy, config.fine_tune_at) == ("vgg16", "fine-tune", "block4")
    assert (config.epochs, config.batch_size, config.data) == (3, 4, "x")
    assert config.augment_overrides == {"zoom_range": 0.1, "rotation_range": 10.0}  # parsed once, here


def test_every_config_field_has_a_flag_and_the_old_names_still_work() -> None:
    args = build_parser().parse_args([
        "train", "--data", "x", "--backbone", "vgg16", "--weights", "imagenet", "--strategy", "fine-tune",
        "--head", "linear", "--image-size", "150", "--epochs", "3", "--batch-size", "4", "--optimizer", "sgd",
        "--lr", "0.01", "--fine-tune-at", "block5", "--fine-tune-lr", "1e-6", "--fine-tune-epochs", "2",
        "--train-size", "100", "--validation-size", "50", "--augment", "light", "--augment-set", "contrast=0.1",
        "--early-stopping", "3", "--class-weights", "--seed", "7", "--no-mixed-precision",
    ])  # fmt: skip
    config = config_from_args(args)
    assert config == TrainConfig(
        data="x", backbone="vgg16", weights="imagenet", strategy="fine-tune", head="linear", image_size=150,
        epochs=3, batch_size=4, optimizer="sgd", learning_rate=0.01, fine_tune_at="block5",
        fine_tune_learning_rate=1e-6, fine_tune_epochs=2, train_size=100, validation_size=50, augment="light",
        augment_overrides={"contrast": 0.1}, early_stopping_patience=3, class_weights=True, seed=7,
        mixed_precision=False)
    assert set(FIELDS) <= set(vars(args))


SPELLED_OUT = TrainConfig(  # every kind of field away from its default, every kind of augmentation override
    data="x", backbone="vgg16", strategy="fine-tune", head="linear", image_size=150, epochs=3, batch_size=4,
    optimizer="sgd", learning_rate=0.01, fine_tune_at="block5", fine_tune_learning_rate=1e-6, fine_tune_epochs=2,
    train_size=100, augment="keras-tutorial", early_stopping_patience=3, class_weights=True, seed=7,
    mixed_precision=True, augment_overrides={"rotation_range": 12.5, "horizontal_flip": False, "fill_mode": "wrap",
                                             "brightness_range": [0.8, 1.2]})


@pytest.mark.parametrize("config", [*PRESETS.values(), SPELLED_OUT,
                                    TrainConfig(data="x", augment="light", strategy="frozen",
                                                augment_overrides={"brightness_range": None})],
                         ids=[*PRESETS, "spelled-out", "override-to-none"])
def test_flags_from_a_config_make_the_same_config(config: TrainConfig) -> None:
    flags = flags_from_config(config)
    assert config_from_args(build_parser().parse_args(["train", *flags])) == config


def test_the_tiny_flags_make_the_tiny_config(tiny_config: TrainConfig, tiny_flags: list[str]) -> None:
    assert config_from_args(build_parser().parse_args(["train", *tiny_flags])) == tiny_config


@pytest.mark.slow  # a training in a subprocess
def test_a_run_that_fails_says_so_in_its_json_line(lab_cli: LabCli, tmp_path: Path, tiny_flags: list[str]) -> None:
    # The file exists, so the preflight passes; it holds MobileNet (v1) weights, which MobileNetV2 cannot load.
    done = lab_cli("train", *tiny_flags, "--backbone", "mobilenet_v2", "--runs-dir", str(tmp_path), "--json")

    assert done.returncode == 1
    result = last_json(done.stdout)
    assert result["status"] == "failed" and TINY_MOBILENET.name in result["error"]
    assert result["best_val_accuracy"] is None and Path(result["run_dir"]).is_dir()
    assert any(line.startswith("error: Could not load weights file") for line in done.stderr.splitlines())
    assert "Traceback" not in done.stderr  # a user mistake, not a bug


@pytest.mark.parametrize("mode", [[], ["--background"]], ids=["foreground", "background"])
@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--data", "/no/such/folder"], "data='/no/such/folder' was not found"),
        (["--data", "no_such_dataset"], "data='no_such_dataset' was not found"),
        (["--weights", "no_such.weights.h5"], "weights='no_such.weights.h5'"),
    ],
)
def test_missing_data_or_weights_are_one_line_before_any_run(
    workspace: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture,
    tiny_flags: list[str],
    mode: list[str],
    flags: list[str],
    named: str,
) -> None:
    runs_dir = tmp_path / "runs"
    code = main(["train", *tiny_flags, *flags, *mode, "--runs-dir", str(runs_dir), "--json"])

    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert len(captured.err.strip().splitlines()) == 1 and captured.err.startswith(f"error: {named}")
    assert not runs_dir.exists() or not any(runs_dir.iterdir())


def test_a_broken_config_file_is_a_clear_error(tmp_path: Path) -> None:
    config_file = tmp_path / "config.json"
    config_file.write_text("{not json")
    args = build_parser().parse_args(["train", "--config", str(config_file)])
    with pytest.raises(LabError, match="not valid JSON"):
        config_from_args(args)


@pytest.mark.slow  # a training in a subprocess
def test_ctrl_c_stops_gracefully_and_keeps_the_history(workspace: Path, tmp_path: Path, tiny_flags: list[str]) -> None:
    runs_dir = tmp_path / "runs"
    flags = [*tiny_flags, "--epochs", "500", "--runs-dir", str(runs_dir), "--json"]
    process = subprocess.Popen([sys.executable, "-m", "lab", "train", *flags], cwd=REPO, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        run = wait_for_an_epoch(runs_dir, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=120)
    finally:
        process.kill()
    assert process.returncode == 130, stderr
    result = last_json(stdout)
    assert result["status"] == "stopped" and result["run_dir"] == str(run.path)
    assert run.status().state == "stopped"
    assert 1 <= len(run.history()) < 500
    assert (run.path / "best.keras").exists()


def wait_for_an_epoch(runs_dir: Path, process: subprocess.Popen, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        runs = RunStore(runs_dir).list()
        if runs and runs[0].status().epoch:
            return runs[0]
        time.sleep(0.2)
    raise AssertionError("no epoch finished in time")


@pytest.mark.slow  # a real worker trains
def test_background_queues_and_runs_stop_stops(lab_cli: LabCli, tmp_path: Path, tiny_flags: list[str]) -> None:
    runs_dir = tmp_path / "runs"
    queued = lab_cli("train", *tiny_flags, "--epochs", "500", "--runs-dir", str(runs_dir), "--background", "--json")
    assert queued.returncode == 0, queued.stderr
    result = last_json(queued.stdout)
    assert result["status"] in ("queued", "running")
    run = RunStore(runs_dir).get(result["id"])

    stopped = lab_cli("runs", "stop", run.id, "--runs-dir", str(runs_dir), "--json")
    assert stopped.returncode == 0, stopped.stderr
    deadline = time.monotonic() + 180
    while run.status().active and time.monotonic() < deadline:
        time.sleep(0.2)
    assert run.status().state == "stopped", run.log_tail()


def test_runs_stop_of_an_unknown_run_is_an_error(lab_cli: LabCli, tmp_path: Path) -> None:
    done = lab_cli("runs", "stop", "nope", "--runs-dir", str(tmp_path / "runs"))
    assert done.returncode == 2 and "No run 'nope'" in done.stderr
    assert not (tmp_path / "runs").exists()


def test_the_preflight_finds_folders_zips_names_and_saved_manifests(workspace: Path, tmp_path: Path) -> None:
    settings = load_settings()
    (tmp_path / "photos.zip").write_bytes(b"PK")
    settings.manifests_dir.mkdir(parents=True, exist_ok=True)
    (settings.manifests_dir / "mine.json").write_text("{}")
    for source in (str(FILTERED), str(tmp_path / "photos.zip"), FILTERED.name, "mine",
                   str(settings.manifests_dir / "mine.json")):
        check_data_source(source, settings)
    for missing in ("theirs", str(tmp_path / "gone.zip"), str(tmp_path / "gone.json")):
        with pytest.raises(LabError, match="was not found"):
            check_data_source(missing, settings)
