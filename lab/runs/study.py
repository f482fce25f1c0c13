"""The dataset-size study: does 20x more data help? The Keras tutorial's question, as one action.

A study trains one configuration at several training-set sizes — nested subsets of one training split —
with the same validation and test sets, optionally repeated with other seeds, and judges every run on the
same test set. The sizes run largest first: with the feature-extractor strategy the largest run computes
every image's backbone features once and the smaller sizes read them from the cache.

A study is a JSON record in `<workspace>/studies/<name>.json` (its config, sizes, repeats, manifest and run
ids); the runs are ordinary runs. Results are read back from the runs, so a study can be looked at while
its runs are still queued.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lab.data import build_manifest, load_manifest, scan
from lab.data.training import resolve_data_path
from lab.errors import LabError
from lab.evaluation.evaluate import evaluations
from lab.evaluation.paired import pair
from lab.runs.status import UNKNOWN
from lab.runs.store import Run, RunStore
from lab.settings import Settings
from lab.storage import read_json, write_json_atomic
from lab.training.config import TrainConfig

ALL = "all"
STUDY_VALIDATION, STUDY_TEST = 0.1, 0.1  # shares held out when a study has to split a plain folder itself


def parse_sizes(text: str) -> tuple[int | None, ...]:
    """"1000,all" -> (None, 1000): training-set sizes, largest first (None is the whole training split)."""
    sizes: set[int | None] = set()
    for part in (p.strip().lower() for p in text.split(",") if p.strip()):
        if part == ALL:
            sizes.add(None)
        elif part.isdigit() and int(part) >= 2:
            sizes.add(int(part))
        else:
            raise LabError(f"--sizes {text!r}: each size is a whole number of training images (at least 2) or "
                           "'all', separated by commas, e.g. 1000,all.")
    if len(sizes) < 2:
        raise LabError(f"--sizes {text!r}: a study compares at least two sizes, e.g. 1000,all.")
    return tuple(sorted(sizes, key=lambda size: float("inf") if size is None else size, reverse=True))


@dataclass(frozen=True)
class Study:
    """One study: the configuration, the sizes (largest first), the repeats and where its runs are."""

    name: str
    config: TrainConfig
    sizes: tuple[int | None, ...]
    repeats: int = 1
    runs: tuple[dict[str, Any], ...] = ()  # {"size", "repeat", "seed", "run_id"}
    created: str = ""

    def configs(self) -> list[tuple[int | None, int, TrainConfig]]:
        """(size, repeat, config) for every run, largest size first, so smaller sizes reuse its features."""
        return [(size, repeat, dataclasses.replace(self.config, train_size=size, seed=self.config.seed + repeat))
                for size in self.sizes for repeat in range(self.repeats)]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "config": self.config.to_dict(), "sizes": list(self.sizes),
                "repeats": self.repeats, "runs": list(self.runs), "created": self.created}

    @classmethod
    def from_dict(cls, value: dict[str, Any]) -> Study:
        return cls(value["name"], TrainConfig.from_dict(value["config"]), tuple(value["sizes"]), value["repeats"],
                   tuple(value["runs"]), value.get("created", ""))


def studies_dir(settings: Settings) -> Path:
    return settings.workspace / "studies"


def plan_study(config: TrainConfig, sizes: tuple[int | None, ...], repeats: int, settings: Settings) -> Study:
    """A study of `config` at `sizes`: its data becomes a saved manifest with a test split (made once from a
    plain folder), so every size and repeat is judged on the same validation and test images."""
    if repeats < 1:
        raise LabError(f"--repeats {repeats}: a study needs at least one run per size.")
    name = time.strftime("study-%Y%m%d-%H%M%S")
    manifest = _manifest_with_test(config, name, settings)
    available = len(manifest.splits["train"])
    too_big = [size for size in sizes if size is not None and size > available]
    if too_big:
        raise LabError(f"--sizes asks for {too_big[0]:,} training images but {manifest.name} has {available:,} in "
                       "its training split: use smaller sizes, or 'all'.")
    study_config = dataclasses.replace(config, data=manifest.name)
    return Study(name, study_config, sizes, repeats, created=time.strftime("%Y-%m-%dT%H:%M:%S"))


def _manifest_with_test(config: TrainConfig, name: str, settings: Settings):
    folder = resolve_data_path(config.data, settings)
    if folder is None:
        manifest = load_manifest(config.data, settings)
        if not manifest.splits.get("test"):
            raise LabError(f"Manifest {manifest.name} has no test split: a study judges every size on one test set. "
                           "Save a manifest with a test share on the Dataset page.")
        return manifest
    manifest = build_manifest(scan(folder, settings=settings), name=name, validation=STUDY_VALIDATION,
                              test=STUDY_TEST, seed=config.seed)
    manifest.save(settings)
    return manifest


def save_study(study: Study, settings: Settings) -> Path:
    path = studies_dir(settings) / f"{study.name}.json"
    write_json_atomic(path, study.to_dict())
    return path


def load_study(name: str, settings: Settings) -> Study:
    value = read_json(studies_dir(settings) / f"{name}.json")
    if value is None:
        raise LabError(f"No study {name!r} in {studies_dir(settings)}.")
    return Study.from_dict(value)


def list_studies(settings: Settings) -> list[str]:
    """Study names, newest first."""
    folder = studies_dir(settings)
    return sorted((p.stem for p in folder.glob("*.json")), reverse=True) if folder.is_dir() else []


def with_runs(study: Study, runs: list[tuple[int | None, int, Run]]) -> Study:
    """The study with the runs made for it recorded."""
    rows = tuple({"size": size, "repeat": repeat, "seed": study.config.seed + repeat, "run_id": run.id}
                 for size, repeat, run in runs)
    return dataclasses.replace(study, runs=rows)


def results(study: Study, runs_dir: Path) -> dict[str, Any]:
    """Each run's size, accuracies and state, and McNemar's test between the smallest and largest size
    (first repeat of each) on the shared test set, once both have test predictions."""
    store = RunStore(runs_dir)
    states = store.states()
    rows = [_result(row, store, states) for row in study.runs]
    summary: dict[str, Any] = {"name": study.name, "runs": rows, "mcnemar_p": None, "sentence": None}
    largest, smallest = _first_repeat(rows, study.sizes[0]), _first_repeat(rows, study.sizes[-1])
    tests = [evaluations(Path(row["run_dir"])).get("test") if row else None for row in (smallest, largest)]
    if all(test is not None and len(test) for test in tests):
        comparison = pair(tests[0], tests[1], f"{smallest['train_images']:,} images",
                          f"{largest['train_images']:,} images")
        summary.update(mcnemar_p=comparison.p_value, sentence=comparison.sentence())
    return summary


def _result(row: dict[str, Any], store: RunStore, states: dict[str, str]) -> dict[str, Any]:
    run = Run(store.runs_dir / row["run_id"])
    metrics = run.metrics()
    return {"size": row["size"], "repeat": row["repeat"], "seed": row["seed"], "run_dir": str(run.path),
            "status": states.get(run.id, UNKNOWN), "train_images": metrics.get("train_images"),
            "best_val_accuracy": metrics.get("best_val_accuracy"), "test_accuracy": metrics.get("test_accuracy")}


def _first_repeat(rows: list[dict[str, Any]], size: int | None) -> dict[str, Any] | None:
    return next((row for row in rows if row["size"] == size and row["repeat"] == 0), None)
