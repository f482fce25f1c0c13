"""Experiment tracking: each run's config, curves and results copied to MLflow, where ML teams already look.

Off unless `TRANSFER_LAB_MLFLOW_URI` names a store: a tracking server (`http://mlflow.internal:5000`) or a local
one (`sqlite:///path/mlflow.db`; MLflow 3 refuses plain `file:` folders unless `MLFLOW_ALLOW_FILE_STORE=true`).
Without it nothing is imported and nothing is sent anywhere. `TRANSFER_LAB_MLFLOW_EXPERIMENT` names the
experiment (default "transfer-lab"); `TRANSFER_LAB_MLFLOW_UI` gives the address of an `mlflow ui` serving a
local store, so runs copied there get links too (a tracking server's own address serves as its link).

The run folder stays the record every page reads; MLflow receives a copy made from the folder's files when the
run ends (finished, stopped or failed) and again after each evaluation: the config as parameters, every epoch's
metrics at its step, the final, best and test figures, and the files (config, metrics, history, layers,
calibration, each evaluation's summary, each export's model card, the learning curves as a web page) as
artifacts. Copying from the folder rather than from inside the training loop keeps MLflow out of the worker's hot
path, lets a server outage cost a log line instead of a run, and lets a run trained before tracking was switched on
be logged later.
The MLflow run's id is kept in the folder (`mlflow.json`), so a later copy updates the same MLflow run and the
Compare page can link to it.
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from lab.run_files import CALIBRATION, CONFIG, EVALUATION_SUMMARY, HISTORY, LAYERS, METRICS, RunFiles
from lab.runs.status import FAILED, FINISHED, STOPPED
from lab.runs.store import Run
from lab.settings import VARIABLES, Settings, load_settings
from lab.storage import file_lock, read_json, write_json_atomic

URI_VARIABLE, UI_VARIABLE = VARIABLES["mlflow_uri"], VARIABLES["mlflow_ui"]
COPIED_FILES = (CONFIG, METRICS, HISTORY, LAYERS, CALIBRATION)  # the run's own files kept beside its MLflow copy
MLFLOW_STATUS = {FINISHED: "FINISHED", STOPPED: "KILLED", FAILED: "FAILED"}
FINAL_METRICS = ("best_val_accuracy", "best_epoch", "test_accuracy", "epochs_completed", "seconds",
                 "images_per_second", "parameters", "trainable_parameters", "train_images", "validation_images",
                 "test_images")
PARAM_LIMIT = 6000  # characters MLflow keeps per parameter value
# MLflow's own defaults retry an unreachable server for about 4 minutes (measured: 248 s), which a worker would
# spend after its run before the queue moves on; these bound it to seconds. Set either variable to override.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


@dataclass(frozen=True)
class Tracked:
    """Where a run's copy lives in MLflow; `link` is a web address when the store is a tracking server."""

    uri: str
    experiment_id: str
    run_id: str
    link: str | None


def tracking_uri() -> str | None:
    """The MLflow store runs are copied to, or None: tracking is off."""
    return load_settings().mlflow_uri


def tracked(run_dir: Path) -> Tracked | None:
    """Where `run_dir` was copied to in MLflow, read from its folder (None if it never was)."""
    record = read_json(RunFiles(Path(run_dir)).mlflow_record, None)
    return Tracked(**record) if isinstance(record, dict) and set(record) == set(Tracked.__annotations__) else None


def track(run_dir: Path) -> Tracked | None:
    """Copy the run in `run_dir` to MLflow, or update its copy; None when tracking is off.

    Raises whatever MLflow raises (an unreachable server, a store it cannot open): callers that must not fail
    because of tracking use `track_quietly`.
    """
    settings = load_settings()
    if settings.mlflow_uri is None:
        return None
    for variable, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(variable, value)  # MLflow reads them from the environment only
    from mlflow.tracking import MlflowClient

    with _store_lock(settings.mlflow_uri):
        return _copy(Run(run_dir), MlflowClient(tracking_uri=settings.mlflow_uri), settings)


def _store_lock(uri: str):
    """A lock around a copy into a local sqlite store. Two runs ending together (side by side on a Ray cluster)
    would otherwise both create a new store's tables at once, and MLflow's schema migration fails for one of them
    ("Online migration expected to match one row"); a server takes care of its own concurrency."""
    database = _sqlite_file(uri)
    return contextlib.nullcontext() if database is None else file_lock(database.with_name(database.name + ".lock"))


def _sqlite_file(uri: str) -> Path | None:
    """The database file of a local store's `sqlite:///` address; None for a tracking server."""
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def _copy(run: Run, client: Any, settings: Settings) -> Tracked:
    """Create the run's MLflow copy (or find the one `mlflow.json` names) and bring it up to date."""
    uri = settings.mlflow_uri
    earlier = tracked(run.path)
    if earlier and earlier.uri == uri:
        run_id, experiment_id = earlier.run_id, earlier.experiment_id
    else:
        experiment_id = _experiment(client, settings)
        run_id = client.create_run(experiment_id, run_name=run.id, tags=_tags(run)).info.run_id
        _log_params(client, run_id, run.config_dict())
    _log_metrics(client, run_id, run.path)
    _log_artifacts(client, run_id, run.path)
    state = run.status().state
    if state in MLFLOW_STATUS:  # a run still training stays "running" in MLflow too
        client.set_terminated(run_id, MLFLOW_STATUS[state])
    result = Tracked(uri, experiment_id, run_id, _link(settings, experiment_id, run_id))
    write_json_atomic(run.files.mlflow_record, asdict(result))
    return result


def track_quietly(run_dir: Path) -> str | None:
    """`track`, reporting instead of raising: a line for the run's log ("MLflow: ..."), or None if tracking is off.

    A training is never failed by its copy: MLflow being down loses the copy, not the run, and
    `python -m lab runs track RUN` makes it again later.
    """
    try:
        done = track(run_dir)
    except Exception as error:  # noqa: BLE001  (any failure of an outside service is reported, never raised)
        reason = " ".join(str(error).split())[:200]
        return (f"MLflow: could not copy this run to {tracking_uri()} ({type(error).__name__}: {reason}); it is safe "
                "in its folder: `python -m lab runs track RUN` copies it once MLflow is reachable")
    if done is None:
        return None
    return f"MLflow: copied to run {done.run_id}" + (f" ({done.link})" if done.link else f" in {done.uri}")


def track_into_log(run_dir: Path) -> None:
    """`track_quietly`, its line appended to the run's log: what the worker and evaluations call when they end."""
    line = track_quietly(run_dir)
    if line:
        Run(run_dir).log(line)


def _experiment(client: Any, settings: Settings) -> str:
    """The experiment's id, created on first use; a local store keeps its artifacts beside the database (else
    MLflow puts them in ./mlruns of whatever the working directory is)."""
    existing = client.get_experiment_by_name(settings.mlflow_experiment)
    if existing is not None:
        return existing.experiment_id
    database = _sqlite_file(settings.mlflow_uri)
    location = None if database is None else (database.parent / "mlartifacts").resolve().as_uri()
    return client.create_experiment(settings.mlflow_experiment, artifact_location=location)


def _tags(run: Run) -> dict[str, str]:
    config = run.config_dict()
    return {"lab.run_folder": str(run.path), "lab.backbone": str(config.get("backbone")),
            "lab.strategy": str(config.get("strategy")), "lab.data": str(config.get("data"))}


def _log_params(client: Any, run_id: str, config: dict[str, Any]) -> None:
    from mlflow.entities import Param

    params = [Param(key, _as_param(value)) for key, value in sorted(config.items())]
    client.log_batch(run_id, params=params)


def _as_param(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text[:PARAM_LIMIT]


def _log_metrics(client: Any, run_id: str, folder: Path) -> None:
    """Every epoch's numbers at its step, then the run's final figures and each evaluation's accuracy."""
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(key, value, now, step) for step, key, value in _epoch_metrics(folder)]
    summary = read_json(RunFiles(folder).metrics, {}) or {}
    metrics += [Metric(key, float(summary[key]), now, 0) for key in FINAL_METRICS if _is_number(summary.get(key))]
    for name, result in _evaluations(folder).items():
        metrics += [Metric(f"eval/{name}/{key}", float(result[key]), now, 0)
                    for key in ("accuracy", "n") if _is_number(result.get(key))]
    for start in range(0, len(metrics), 1000):  # MLflow takes at most 1,000 metrics per batch
        client.log_batch(run_id, metrics=metrics[start:start + 1000])


def _epoch_metrics(folder: Path) -> list[tuple[int, str, float]]:
    """(step, metric, value) of every epoch in history.csv; steps count on through fine-tuning."""
    path = RunFiles(folder).history
    if not path.exists():
        return []
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [(step, key, float(value)) for step, row in enumerate(rows, start=1) for key, value in row.items()
            if key not in ("epoch", "phase") and value not in ("", None) and _is_number(_float(value))]


def _float(value: str) -> float | None:
    try:
        return float(value)
    except ValueError:
        return None


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _evaluations(folder: Path) -> dict[str, dict[str, Any]]:
    return {path.parent.name: read_json(path, {}) or {} for path in _evaluation_summaries(folder)}


def _evaluation_summaries(folder: Path) -> list[Path]:
    return sorted(RunFiles(folder).evaluations.glob(f"*/{EVALUATION_SUMMARY}"))


def _log_artifacts(client: Any, run_id: str, folder: Path) -> None:
    for name in COPIED_FILES:
        if (folder / name).exists():
            client.log_artifact(run_id, str(folder / name))
    for summary in _evaluation_summaries(folder):
        client.log_artifact(run_id, str(summary), artifact_path=f"evaluations/{summary.parent.name}")
    for card in sorted(RunFiles(folder).exports.glob("*.md")):
        client.log_artifact(run_id, str(card), artifact_path="model_cards")
    with tempfile.TemporaryDirectory(prefix="lab-mlflow-") as scratch:
        curves = _curves_page(folder, Path(scratch))
        if curves is not None:
            client.log_artifact(run_id, str(curves))


def _curves_page(folder: Path, scratch: Path) -> Path | None:
    """The learning curves (accuracy and loss, training and validation) as one small HTML page (plotly.js from
    its CDN, as MLflow's own charts need a browser anyway)."""
    steps = _epoch_metrics(folder)
    if not steps:
        return None
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=1, cols=2, subplot_titles=("accuracy", "loss"))
    for column, metric in enumerate(("accuracy", "loss"), start=1):
        for key in (metric, f"val_{metric}"):
            points = [(step, value) for step, name, value in steps if name == key]
            if points:
                figure.add_scatter(x=[p[0] for p in points], y=[p[1] for p in points], name=key, row=1, col=column)
    figure.update_layout(title=f"Learning curves of {folder.name}")
    page = scratch / "curves.html"
    figure.write_html(page, include_plotlyjs="cdn")
    return page


def _link(settings: Settings, experiment_id: str, run_id: str) -> str | None:
    """The run's page in MLflow's web UI: on the tracking server, or on `TRANSFER_LAB_MLFLOW_UI` for a local store."""
    uri = settings.mlflow_uri
    web = uri if uri.startswith(("http://", "https://")) else (settings.mlflow_ui or "")
    return f"{web.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}" if web else None
