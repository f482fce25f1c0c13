"""Shared fixtures: the real data and weights in ../shared, a private workspace per test, the CLI, and the
tiny training run every training test starts from."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from filelock import FileLock

import lab  # noqa: F401  (sets TF_ENABLE_ONEDNN_OPTS before any test imports TensorFlow)
from lab.cli.train import flags_from_config
from lab.training.config import TrainConfig

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FILTERED = SHARED / "data" / "cats_and_dogs_filtered"
FLAT_20K = SHARED / "data" / "dogs-vs-cats-20k-160px"
WEIGHTS = SHARED / "weights"
TINY_MOBILENET = WEIGHTS / "mobilenet_0.25_128_imagenet_no_top.weights.h5"
MOBILENET_V2 = WEIGHTS / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"

# This machine offline: VGG16 has random weights only; MobileNetV2 has the shared ImageNet file.
OFFLINE = {"vgg16": ["none"], "mobilenet_v2": ["none", str(MOBILENET_V2)], "resnet50": ["none"],
           "efficientnet_b0": ["none"], "basic_cnn": ["none"], "basic_cnn_dropout": ["none"]}
STUDY_PER_CLASS = 60  # `tiny_study`'s photos: the study holds out 12 for validation and 12 for test, trains on 96
LabCli = Callable[..., subprocess.CompletedProcess]  # `lab_cli`'s run(*args), `lab_cli_env`'s run(env, *args)


# Shared fixtures that cost several trainings: a test that reads one is in the slow tier (`-m "not slow"` skips it).
SLOW_FIXTURES = {"run_pair", "tiny_study", "keras_replay_tiny", "tiny_run_three_epochs"}
BROWSER_WEIGHT = 4


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)  # before an xdist worker reports its collection, after `-m` has deselected
def pytest_collection_finish(session: pytest.Session) -> None:
    """The files with the most slow tests first (a browser test counting as `BROWSER_WEIGHT`), each file's tests
    in their order.

    The two xdist workers take a file at a time in this order (`--no-loadscope-reorder`): xdist's own order, by
    number of tests, left the few long browser walks for last, and one worker ran them alone for minutes while the
    other sat idle. Started first, they run while the many quick files fill in around them.
    """
    weight: Counter = Counter()
    for item in session.items:  # a browser walk (a server, Chromium, often a training) costs several slow tests
        slow = bool(item.get_closest_marker("slow"))
        weight[item.path] += BROWSER_WEIGHT if item.get_closest_marker("browser") else slow
    session.items.sort(key=lambda item: -weight[item.path])  # a stable sort keeps each file's order


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], Any]) -> Any:
    """`build(folder)`'s result (JSON), made once for the whole test session however many xdist workers run it.

    Session fixtures are per process: with two workers each would train the same tiny runs and replays. So the
    first worker to ask builds into a folder under the temp root both workers share, holding a file lock (the
    pattern pytest-xdist's documentation gives); the other waits for the lock and reads the result it left.
    """
    root = tmp_path_factory.getbasetemp()
    root = root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root
    result = root / f"{name}.json"
    with FileLock(str(root / f"{name}.lock")):
        if not result.is_file():
            folder = root / name
            folder.mkdir()
            result.write_text(json.dumps(build(folder)))
        return json.loads(result.read_text())


@pytest.fixture(scope="session")
def shared_scan_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One scan cache for the session: ../shared is decoded once, not once per test."""
    return tmp_path_factory.mktemp("scan-cache") / "scan.sqlite"


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_scan_cache: Path) -> Path:
    """A fresh lab workspace; the data and weights folders point at ../shared.

    Its scan cache is shared by the session; tests of caching use files they make, whose paths are new.
    """
    root = tmp_path / "workspace"
    (root / "cache").mkdir(parents=True)
    (root / "cache" / "scan.sqlite").symlink_to(shared_scan_cache)
    monkeypatch.setenv("TRANSFER_LAB_WORKSPACE", str(root))
    monkeypatch.setenv("TRANSFER_LAB_DATA_DIRS", str(SHARED / "data"))
    monkeypatch.setenv("TRANSFER_LAB_WEIGHTS_DIR", str(WEIGHTS))
    return root


@pytest.fixture(scope="session")
def lab_cli_env() -> LabCli:
    """`python -m lab ARGS...` in a subprocess with the environment given, its output captured as text.

    For module-scoped fixtures, which outlive a test's `workspace` and bring their own environment.
    """

    def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=300, check=False)

    return run


@pytest.fixture
def lab_cli(workspace: Path, lab_cli_env: LabCli) -> LabCli:
    """`python -m lab ARGS...` in a subprocess, run in the test's workspace, its output captured as text."""

    def run(*args: str) -> subprocess.CompletedProcess:
        return lab_cli_env({**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)}, *args)

    return run


@pytest.fixture(scope="session")
def tiny_config() -> TrainConfig:
    """The tiny real training run: the head of the tiny MobileNet 0.25/128 on the features of 40 training
    and 20 validation photos, one epoch of 4 batches. A process running it spends most of its few seconds
    importing TensorFlow; an epoch of the head takes ~50 ms. Other values: `dataclasses.replace(tiny_config, ...)`.
    Session-wide (it is frozen), so module-scoped fixtures can train it too.
    """
    return TrainConfig(data=str(FILTERED), backbone="mobilenet", weights=str(TINY_MOBILENET),
                       strategy="feature-extractor", image_size=128, epochs=1, batch_size=10, train_size=40,
                       validation_size=20, seed=1)


def workspace_env(root: Path) -> dict[str, str]:
    """The environment of a `lab` subprocess working in a workspace at `root`, with ../shared's data and weights."""
    return {**os.environ, "TRANSFER_LAB_WORKSPACE": str(root), "TRANSFER_LAB_DATA_DIRS": str(SHARED / "data"),
            "TRANSFER_LAB_WEIGHTS_DIR": str(WEIGHTS)}


def trained_once(root: Path, config: TrainConfig, lab_cli_env: LabCli) -> Path:
    """The folder of a finished run of `config`, trained by `python -m lab train` in a workspace at `root`."""
    done = lab_cli_env(workspace_env(root), "train", *flags_from_config(config), "--json")
    assert done.returncode == 0, done.stderr
    return Path(json.loads(done.stdout.splitlines()[-1])["run_dir"])


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig, lab_cli_env: LabCli) -> Path:
    """A finished run of `tiny_config`, trained once for the session by `python -m lab train` in a workspace of
    its own. Tests copy the folder into their workspace (`shutil.copytree(tiny_run, runs_dir / tiny_run.name)`)
    and change the copy, never this folder; tests that only read a run may read it where it is."""
    return Path(built_once(tmp_path_factory, "tiny-run", lambda root: str(trained_once(root, tiny_config,
                                                                                      lab_cli_env))))


@pytest.fixture(scope="session")
def tiny_run_three_epochs(tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig,
                          lab_cli_env: LabCli) -> Path:
    """`tiny_run` over three epochs (history to copy, a model a little surer of its photos), trained once for the
    session for evaluation, export and tracking; like `tiny_run`, tests change a copy, never this folder."""
    three = dataclasses.replace(tiny_config, epochs=3)
    return Path(built_once(tmp_path_factory, "tiny-run-3", lambda root: str(trained_once(root, three, lab_cli_env))))


@pytest.fixture(scope="session")
def run_pair(tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig, lab_cli_env: LabCli) -> Path:
    """A runs folder of two finished tiny runs (40 and 80 training images, over 2 and 3 epochs) with validation
    and test predictions on the same 30 test photos, trained once for the session for the Compare page's tests
    (AppTest and browser). Tests copy the folder (`shutil.copytree(run_pair, runs_dir)`), never change it."""
    def build(root: Path) -> str:
        made = lab_cli_env(workspace_env(root), "manifest", str(FILTERED), "--name", "filtered-with-test", "--test",
                           "30", "--seed", "1")
        assert made.returncode == 0, made.stderr
        for train_size, epochs in ((40, 2), (80, 3)):
            config = dataclasses.replace(tiny_config, data="filtered-with-test", train_size=train_size, epochs=epochs)
            trained_once(root, config, lab_cli_env)
        return str(root / "runs")

    return Path(built_once(tmp_path_factory, "run-pair", build))


@dataclasses.dataclass(frozen=True)
class FinishedStudy:
    """A workspace holding one finished study (its record, manifest and runs), and the study's JSON summary."""

    workspace: Path
    summary: dict

    def copy_into(self, workspace: Path) -> None:
        """The study's record, manifest and runs copied into `workspace`, for a test to show or change."""
        for folder in ("studies", "manifests", "runs"):
            shutil.copytree(self.workspace / folder, workspace / folder, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def tiny_study(tmp_path_factory: pytest.TempPathFactory, tiny_config: TrainConfig,
               lab_cli_env: LabCli) -> FinishedStudy:
    """`lab study --sizes 20,all` of the tiny run on a plain folder of STUDY_PER_CLASS real photos per class, run once
    for the session; tests read it where it is or copy it into their workspace (`tiny_study.copy_into(workspace)`)."""
    from tests import corpus

    def build(root: Path) -> dict:
        photos = corpus.copy_of_sample(root / "pets", STUDY_PER_CLASS)
        config = dataclasses.replace(tiny_config, data=str(photos), train_size=None, validation_size=None)
        done = lab_cli_env(workspace_env(root / "workspace"), "study", "--sizes", "20,all",
                           *flags_from_config(config), "--json")
        assert done.returncode == 0, done.stderr
        return {"workspace": str(root / "workspace"), "summary": json.loads(done.stdout.strip().splitlines()[-1])}

    built = built_once(tmp_path_factory, "tiny-study", build)
    return FinishedStudy(Path(built["workspace"]), built["summary"])


@pytest.fixture
def tiny_flags(tiny_config: TrainConfig) -> list[str]:
    """The `lab train` flags of `tiny_config`; flags after them override them (`*tiny_flags, "--epochs", "5"`)."""
    return flags_from_config(tiny_config)


@dataclasses.dataclass(frozen=True)
class FinishedReplay:
    """A workspace holding one replay that ran to its end, and the replay as planned."""

    workspace: Path
    planned: object  # lab.replays.plan.PlannedReplay


@pytest.fixture(scope="session")
def keras_replay_tiny(tmp_path_factory: pytest.TempPathFactory) -> FinishedReplay:
    """The Keras tutorial replayed on 80 real photos (12 validation, 12 test), one small epoch per row, the
    1K row on 20 images: trained once for the session, read by the replay tests and the Tutorials page's."""
    from lab.replays.catalog import EVERY_ROW, KERAS, Variant
    from lab.replays.plan import PlannedReplay, plan_replay, run_replay
    from lab.settings import load_settings
    from tests import corpus

    def build(root: Path) -> dict:
        photos = corpus.copy_of_sample(root / "pets", 40)
        tiny = Variant("tiny", validation=12, test=12, note="tiny: a test's few photos, one epoch", changes={
            EVERY_ROW: {"epochs": 1, "batch_size": 8, "validation_size": None, "image_size": 96},
            "1k": {"train_size": 20}})
        replay = dataclasses.replace(KERAS, variants={**KERAS.variants, "tiny": tiny})
        with pytest.MonkeyPatch.context() as patch:
            for name, value in (("WORKSPACE", root / "workspace"), ("DATA_DIRS", SHARED / "data"),
                                ("WEIGHTS_DIR", WEIGHTS)):
                patch.setenv(f"TRANSFER_LAB_{name}", str(value))
            settings = load_settings()
            planned = run_replay(plan_replay(replay, "tiny", settings, data=str(photos), available=OFFLINE),
                                 settings)
        return {"workspace": str(root / "workspace"), "planned": planned.to_dict()}

    built = built_once(tmp_path_factory, "keras-replay", build)
    return FinishedReplay(Path(built["workspace"]), PlannedReplay.from_dict(built["planned"]))
