"""The dataset-size study: does 20x more data help? The Keras tutorial's question, as one action.

A study trains one configuration at several training-set sizes — nested subsets of one training split —
with the same validation and test sets, optionally repeated with other seeds, and judges every run on the
same test set. The sizes run largest first: with the feature-extractor strategy the largest run computes
every image's backbone features once and the smaller sizes read them from the cache.

A study is a JSON record in `<workspace>/studies/<name>.json` (its config, sizes, repeats, manifest and run
ids); the runs are ordinary runs. Results are read back from the runs, so a study can be looked at while
its runs are still queued: `progress` says where each of its runs is (its place in the queue, training, done).
A study answers its question once its smallest and largest sizes are compared on the test photos (`answered`).
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lab.data import build_manifest, load_manifest, scan
from lab.data.manifest import Manifest, manifest_path
from lab.data.run_data import resolve_data_path
from lab.errors import LabError
from lab.evaluation.accuracy_text import accuracy_text
from lab.evaluation.evaluate import evaluations
from lab.evaluation.learning_curve import DEFAULT_TARGET, Point, learning_curve
from lab.evaluation.paired import pair
from lab.runs import jobs
from lab.runs.describe import Event
from lab.runs.groups import Records
from lab.runs.names import study_run_name, study_title
from lab.runs.placement import executor_for
from lab.runs.queue import QueuePlan, place_text
from lab.runs.status import ACTIVE_STATES, QUEUED, RUNNING, STOPPED, UNKNOWN
from lab.runs.store import Run, RunStore
from lab.settings import Settings, load_settings
from lab.training.config import TrainConfig
from lab.training.preflight import preflight

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
    preflight(config, settings)
    manifest = _manifest_with_test(config, settings)
    available = len(manifest.splits.get(config.train_split, []))
    too_big = [size for size in sizes if size is not None and size > available]
    if too_big:
        raise LabError(f"--sizes asks for {too_big[0]:,} training images but {manifest.name} has {available:,} in "
                       "its training split: use smaller sizes, or 'all'.")
    study_config = dataclasses.replace(config, data=manifest.name)
    return Study(time.strftime("study-%Y%m%d-%H%M%S"), study_config, sizes, repeats,
                 created=time.strftime("%Y-%m-%dT%H:%M:%S"))


def _manifest_with_test(config: TrainConfig, settings: Settings) -> Manifest:
    folder = resolve_data_path(config.data, settings)
    if folder is not None:
        return study_manifest(folder, config.seed, settings)
    manifest = load_manifest(config.data, settings)
    if not manifest.splits.get("test"):
        raise LabError(f"Manifest {manifest.name} has no test split: a study judges every size on one test set. "
                       "Save a manifest with a test share on the Dataset page.")
    return manifest


def study_manifest(folder: Path, seed: int, settings: Settings, *, validation: int | float = STUDY_VALIDATION,
                   test: int | float = STUDY_TEST) -> Manifest:
    """`folder` split into train / validation / test once, saved under a name that the folder, seed and held-out
    sizes decide, so every study (or replay) of it shares one test set. The saved split is reused while it still
    describes the folder (same place, same images: the scan is cached, the split is cheap to redo and compare);
    a folder whose images changed is split again. `validation` and `test` are shares under 1, or counts."""
    name = study_manifest_name(folder, seed, held_out=(validation, test))
    fresh = build_manifest(scan(folder, settings=settings), name=name, validation=validation, test=test, seed=seed)
    if manifest_path(fresh.name, settings).exists():
        saved = load_manifest(fresh.name, settings)
        if saved.root == fresh.root and saved.content_hash == fresh.content_hash:
            return saved
    fresh.save(settings)
    return fresh


def study_manifest_name(folder: Path, seed: int, held_out: tuple[int | float, int | float] = (STUDY_VALIDATION,
                                                                                            STUDY_TEST)) -> str:
    """`study-<folder name>-seed<seed>-<4 hex of its full path and held-out sizes>`: readable, and distinct for
    two folders that share a name or two splits of one folder."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", folder.name).strip("-.")[:40] or "data"
    where = str(folder.resolve()) + ("" if held_out == (STUDY_VALIDATION, STUDY_TEST) else f"|{held_out}")
    return f"study-{slug}-seed{seed}-{hashlib.blake2b(where.encode(), digest_size=2).hexdigest()}"


def _records(settings: Settings) -> Records:
    return Records(studies_dir(settings), "study")


def save_study(study: Study, settings: Settings) -> Path:
    return _records(settings).save(study.name, study.to_dict())


def load_study(name: str, settings: Settings) -> Study:
    return Study.from_dict(_records(settings).load(name))


def list_studies(settings: Settings) -> list[str]:
    """Study names, newest first."""
    return _records(settings).names()


def launch_study(config: TrainConfig, sizes: tuple[int | None, ...], repeats: int, settings: Settings) -> Study:
    """Plan a study and queue its runs for background workers, largest size first, then save its record.

    Locally the queue starts runs in the order they were created (to the millisecond), one at a time by
    default, so the largest run extracts every image's features before a smaller one looks for them (with
    `settings.max_running` above one, smaller runs may start alongside it and extract features of their own).
    On an executor that fans out (a Ray cluster) a feature-extractor study fans out too: its runs are held while
    one feature task computes every image's features (`extract_and_release`), then they all train at once,
    reading the shared cache.
    """
    study = plan_study(config, sizes, repeats, settings)
    executor = executor_for(settings)
    held = f"features-{study.name}" if executor.fans_out and config.strategy == "feature-extractor" else None
    queued = [(size, repeat, jobs.launch_in_order(planned, settings, held=held, name=run_name(study, size, repeat)))
              for size, repeat, planned in study.configs()]
    study = with_runs(study, queued)
    save_study(study, settings)
    if held:
        executor.spawn(held, functools.partial(extract_and_release, study.name))
    jobs.reconcile(settings.runs_dir, settings, strict=True)
    return study


def extract_and_release(name: str) -> None:
    """A study's feature task (on a cluster): the backbone features of every image its runs use, computed once,
    then its held runs released to train side by side. Released also when extraction fails, so each run meets
    the failure itself, or computes what it lacks; nothing waits for ever."""
    from lab.training.train import extract_only

    settings = load_settings()
    study = load_study(name, settings)
    store = RunStore(settings.runs_dir)
    why = "released: the study's feature task ended with an error"
    try:
        largest = [config for size, _, config in study.configs() if size == study.sizes[0]]
        needed = largest[:1] if study.sizes[0] is None else largest  # 'all' is the same images for every seed
        computed = sum(extract_only(config, studies_dir(settings) / f"{name}.features", settings=settings)
                       .get("computed", 0) for config in needed)
        why = f"released: the study's feature task computed {computed} images' features"
    finally:
        with store.lock():
            for run in (Run(store.runs_dir / row["run_id"]) for row in study.runs):
                if run.path.is_dir():  # not deleted meanwhile
                    jobs.release(run, why)
        jobs.reconcile(settings.runs_dir, settings)


def run_study(study: Study, settings: Settings, *, on_event: Callable[[Event], None] | None = None) -> Study:
    """Execute a planned study's runs one after another in this process (the CLI's foreground mode),
    largest size first, recording each run in the study record as it is made. `on_event` sees a "study"
    phase event before each run, then the run's own events."""
    store = RunStore(settings.runs_dir)
    made: list[tuple[int | None, int, Run]] = []
    plan = study.configs()
    for number, (size, repeat, config) in enumerate(plan, 1):
        run = store.create(config, name=run_name(study, size, repeat),
                           running_in=jobs.process_identity())  # not queued: no worker may take it
        made.append((size, repeat, run))
        study = with_runs(study, made)
        save_study(study, settings)
        if on_event:
            on_event({"type": "phase", "phase": "study", "message": f"run {number}/{len(plan)}: {size_text(size)} "
                      f"training images, seed {config.seed} ({run.id})"})
        if jobs.take_turn(run, settings, on_event=on_event).state == STOPPED:
            break  # the person stopped this run (Ctrl-C, SIGTERM, its stop file): the sizes after it wait
    return study


def run_name(study: Study, size: int | None, repeat: int) -> str:
    """"MobileNetV2 features · study, 250 photos": what people read for one of the study's runs."""
    return study_run_name(study.config.to_dict(), size, repeat, study.repeats)


def size_text(size: int | None) -> str:
    """A study's size as people read it: "1,000", or "all" for the whole training split."""
    return ALL if size is None else f"{size:,}"


def with_runs(study: Study, runs: list[tuple[int | None, int, Run]]) -> Study:
    """The study with the runs made for it recorded."""
    rows = tuple({"size": size, "repeat": repeat, "seed": study.config.seed + repeat, "run_id": run.id}
                 for size, repeat, run in runs)
    return dataclasses.replace(study, runs=rows)


def results(study: Study, runs_dir: Path, target: float = DEFAULT_TARGET) -> dict[str, Any]:
    """Each run's size, accuracies and state, McNemar's test between the smallest and largest size (first
    repeat of each) on the shared test set, once both have test predictions, and the learning curve through
    every finished run with the training photos it would take to reach `target` accuracy."""
    store = RunStore(runs_dir)
    states = store.states()
    rows = [_result(row, store, states) for row in study.runs]
    summary: dict[str, Any] = {"name": study.name, "title": study_title(study.config.to_dict(), list(study.sizes),
                                                                       study.created),
                               "manifest": study.config.data, "sizes": list(study.sizes),
                               "runs": rows, "mcnemar_p": None, "sentence": None,
                               "learning_curve": learning_curve(curve_points(rows), target)}
    largest, smallest = _first_repeat(rows, study.sizes[0]), _first_repeat(rows, study.sizes[-1])
    tests = [evaluations(Path(row["run_dir"])).get("test") if row else None for row in (smallest, largest)]
    if all(test is not None and len(test) for test in tests):
        comparison = pair(tests[0], tests[1], f"{smallest['train_images']:,} images",
                          f"{largest['train_images']:,} images")
        summary.update(mcnemar_p=comparison.p_value, sentence=comparison.sentence())
    return summary


def curve_points(rows: list[dict[str, Any]]) -> list[Point]:
    """Runs with a test accuracy as learning-curve points, each with its right-or-wrong answer per test photo
    (ordered by the photo's content digest, so every run's answers line up) where its predictions are stored."""
    points = []
    for row in rows:
        if row.get("train_images") and row.get("test_accuracy") is not None:
            test = evaluations(Path(row["run_dir"])).get("test") if row.get("run_dir") else None
            correct = test.correct[np.argsort(test.digests)] if test is not None and len(test) else None
            points.append(Point(row["train_images"], row["test_accuracy"], correct, row.get("test_images")))
    return points


def _result(row: dict[str, Any], store: RunStore, states: dict[str, str]) -> dict[str, Any]:
    run = Run(store.runs_dir / row["run_id"])
    metrics = run.metrics()
    return {"name": run.name(), "size": row["size"], "repeat": row["repeat"], "seed": row["seed"],
            "run_dir": str(run.path),
            "status": states.get(run.id, UNKNOWN), "train_images": metrics.get("train_images"),
            "best_val_accuracy": metrics.get("best_val_accuracy"),
            "validation_images": metrics.get("validation_images"), "test_accuracy": metrics.get("test_accuracy"),
            "test_images": metrics.get("test_images"), "seconds": metrics.get("seconds"),
            "features_computed": (metrics.get("features") or {}).get("computed")}


def _first_repeat(rows: list[dict[str, Any]], size: int | None) -> dict[str, Any] | None:
    return next((row for row in rows if row["size"] == size and row["repeat"] == 0), None)


def answered(summary: dict[str, Any]) -> bool:
    """Whether a study's `results` answer "does more data help?": its smallest and largest sizes compared on the
    same test photos."""
    return summary.get("sentence") is not None


def under_way(summary: dict[str, Any]) -> bool:
    """Whether any of a study's runs (in its `results`) is still queued or training."""
    return any(row["status"] in ACTIVE_STATES for row in summary["runs"])


def size_words(size: int | None) -> str:
    """A study's size in words: "1,000 training images", "all training images"."""
    return f"{size_text(size)} training images"


def progress(summary: dict[str, Any], plan: QueuePlan) -> list[str]:
    """Where each run of a study (its `results`) is, largest size first, in words: "1,000 training images:
    2nd in line, starts in about 5 minutes", "all training images: training now", "...: finished, 97.1%
    (95.2-98.3%) on the test photos"."""
    repeats = max((row["repeat"] for row in summary["runs"]), default=0) + 1
    lines = []
    for row in summary["runs"]:
        place = plan.place(Path(row["run_dir"]).name)
        where = (place_text(place) if row["status"] == QUEUED and place else
                 "training now" if row["status"] == RUNNING else row["status"])
        if row.get("test_accuracy") is not None:
            where += f", {accuracy_text(row['test_accuracy'], row.get('test_images'))} on the test photos"
        repeat = f" (repeat {row['repeat'] + 1} of {repeats})" if repeats > 1 else ""
        lines.append(f"{size_words(row['size'])}{repeat}: {where}")
    return lines
