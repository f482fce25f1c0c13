"""Shared fixtures: the real data and weights in ../shared, and a private workspace per test."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import lab  # noqa: F401  (sets TF_ENABLE_ONEDNN_OPTS before any test imports TensorFlow)

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
FILTERED = SHARED / "data" / "cats_and_dogs_filtered"
FLAT_20K = SHARED / "data" / "dogs-vs-cats-20k-160px"
WEIGHTS = SHARED / "weights"
TINY_MOBILENET = WEIGHTS / "mobilenet_0.25_128_imagenet_no_top.weights.h5"
MOBILENET_V2 = WEIGHTS / "mobilenet_v2_1.0_224_imagenet_no_top.weights.h5"


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


@pytest.fixture
def lab_cli(workspace: Path) -> Callable[..., subprocess.CompletedProcess]:
    """`python -m lab ARGS...` in a subprocess, run in the test's workspace, its output captured as text."""

    def run(*args: str) -> subprocess.CompletedProcess:
        env = {**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)}
        return subprocess.run([sys.executable, "-m", "lab", *args], capture_output=True, text=True, env=env,
                              cwd=REPO, timeout=300, check=False)

    return run
