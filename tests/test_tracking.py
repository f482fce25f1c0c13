"""Runs copied to MLflow (a real local store): parameters, per-epoch metrics and artifacts match the run folder."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from lab.cli import main
from lab.run_files import MLFLOW_RECORD
from lab.runs.tracking import UI_VARIABLE, URI_VARIABLE, track, track_quietly, tracked
from tests.apptest import open_page
from tests.conftest import FILTERED, LabCli

pytestmark = pytest.mark.slow  # every test reads a run evaluated on all the sample's validation photos


@pytest.fixture(scope="module")
def evaluated_run(tmp_path_factory: pytest.TempPathFactory, tiny_run_three_epochs: Path) -> Path:
    """A copy of the session's three-epoch tiny run, evaluated on 100 validation photos."""
    root = tmp_path_factory.mktemp("tracked")
    run_dir = shutil.copytree(tiny_run_three_epochs, root / "runs" / tiny_run_three_epochs.name)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TRANSFER_LAB_WORKSPACE", str(root / "workspace"))
        assert main(["evaluate", str(run_dir), "--data", str(FILTERED), "--split", "validation"]) == 0
    return run_dir


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv(URI_VARIABLE, uri)
    return uri


def history(run_dir: Path) -> list[dict[str, str]]:
    with open(run_dir / "history.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_run_is_copied_with_its_config_epochs_results_and_files(evaluated_run: Path, store: str,
                                                                  tmp_path: Path) -> None:
    done = track(evaluated_run)
    assert done is not None and tracked(evaluated_run) == done and done.link is None  # a local store: no web page
    client = MlflowClient(tracking_uri=store)
    copy = client.get_run(done.run_id)
    config = json.loads((evaluated_run / "config.json").read_text())
    assert copy.data.params["backbone"] == config["backbone"] and copy.data.params["epochs"] == "3"
    assert copy.data.params["data"] == config["data"] and copy.info.run_name == evaluated_run.name
    assert copy.info.status == "FINISHED" and copy.data.tags["lab.run_folder"] == str(evaluated_run)
    epochs = client.get_metric_history(done.run_id, "val_accuracy")
    assert [(m.step, m.value) for m in epochs] == [(i, float(row["val_accuracy"]))
                                                    for i, row in enumerate(history(evaluated_run), start=1)]
    metrics = json.loads((evaluated_run / "metrics.json").read_text())
    assert copy.data.metrics["best_val_accuracy"] == pytest.approx(metrics["best_val_accuracy"])
    summary = json.loads(next((evaluated_run / "evaluations").glob("*/summary.json")).read_text())
    assert copy.data.metrics[f"eval/{summary['name']}/accuracy"] == pytest.approx(summary["accuracy"])
    files = {item.path for item in client.list_artifacts(done.run_id)}
    assert {"config.json", "metrics.json", "history.csv", "layers.csv", "curves.html", "evaluations"} <= files
    assert (tmp_path / "mlartifacts").is_dir()  # beside the database, not in whatever folder the worker ran in


def test_an_evaluation_lands_in_the_same_mlflow_run(evaluated_run: Path, store: str) -> None:
    first = track(evaluated_run)
    assert main(["evaluate", str(evaluated_run), "--data", str(FILTERED), "--split", "validation", "--name", "again"]) == 0
    copy = MlflowClient(tracking_uri=store).get_run(first.run_id)
    assert "eval/again/accuracy" in copy.data.metrics
    assert f"MLflow: copied to run {first.run_id}" in (evaluated_run / "log.txt").read_text()


def test_copying_again_updates_the_same_mlflow_run(evaluated_run: Path, store: str) -> None:
    first, second = track(evaluated_run), track(evaluated_run)
    assert first == second
    runs = MlflowClient(tracking_uri=store).search_runs([first.experiment_id])
    assert len(runs) == 1


def test_nothing_is_sent_or_written_when_tracking_is_off(evaluated_run: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(URI_VARIABLE, raising=False)
    (evaluated_run / MLFLOW_RECORD).unlink(missing_ok=True)
    assert track(evaluated_run) is None and track_quietly(evaluated_run) is None
    assert not (evaluated_run / MLFLOW_RECORD).exists()


def test_an_unreachable_server_costs_a_log_line_not_the_run(evaluated_run: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(URI_VARIABLE, "http://127.0.0.1:9")  # the discard port: nothing listens
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    before = sorted(path.name for path in evaluated_run.iterdir())
    line = track_quietly(evaluated_run)
    assert line.startswith("MLflow: could not copy this run to http://127.0.0.1:9") and "\n" not in line
    assert "python -m lab runs track" in line
    assert sorted(path.name for path in evaluated_run.iterdir()) == before


def test_a_run_is_copied_when_it_ends_and_again_on_request(lab_cli: LabCli, tiny_flags: list[str], store: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    trained = json.loads(lab_cli("train", *tiny_flags, "--json").stdout.splitlines()[-1])
    run_dir = Path(trained["run_dir"])
    done = tracked(run_dir)
    assert done is not None and done.uri == store
    assert f"MLflow: copied to run {done.run_id}" in (run_dir / "log.txt").read_text()
    assert MlflowClient(tracking_uri=store).get_run(done.run_id).info.status == "FINISHED"
    again = lab_cli("runs", "track", run_dir.name, "--json")
    assert json.loads(again.stdout)["run_id"] == done.run_id
    monkeypatch.delenv(URI_VARIABLE)
    off = lab_cli("runs", "track", run_dir.name)
    assert off.returncode == 2 and off.stderr.strip() == (
        f"error: tracking is off: set {URI_VARIABLE} to an MLflow tracking server or sqlite:///path.db")


def test_the_compare_page_links_each_copied_run_to_mlflow(evaluated_run: Path, store: str, workspace: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(UI_VARIABLE, "http://127.0.0.1:5000")  # `mlflow ui` over the local store
    done = track(evaluated_run)
    assert done.link == f"http://127.0.0.1:5000/#/experiments/{done.experiment_id}/runs/{done.run_id}"
    shutil.copytree(evaluated_run, workspace / "runs" / evaluated_run.name)
    frame = open_page("compare").dataframe[0].value
    assert list(frame["mlflow"]) == [done.link]
