"""Property-based tests (Hypothesis): whatever config or file names people bring, the lab answers in words.

- Any mapping of config fields to values of any type is either a valid `TrainConfig` or a `LabError`
  naming what to change; a valid one survives the round trip through `lab train`'s flags, and the Train
  page's preflight judges it without raising.
- A valid config drawn from the space that runs here (small sizes, any strategy, augmentation, class weights,
  early stopping, the tiny MobileNet or the tutorial's CNN) ends as a real `python -m lab train` process: it
  finishes, or fails with a one-line message; never a traceback, never a hang (a time limit guards it).
- Files of any name (any Unicode, spaces, leading dots, names that are not valid UTF-8) and any content
  (a real photo, nothing, garbage, a cut-off photo) scan without an exception: each is an image, a bad file
  or ignored (a name that is not UTF-8 is a bad file, to be renamed), and the scan cache keeps working for the
  next scan.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lab.cli import build_parser
from lab.cli.train import config_from_args, flags_from_config
from lab.data import scan
from lab.data.scan_cache import is_utf8
from lab.errors import LabError
from lab.settings import load_settings
from lab.training.config import FIELDS, TrainConfig
from lab.training.preflight import problems
from tests.conftest import FILTERED, REPO, TINY_MOBILENET

ANY_VALUE = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.floats(allow_nan=True),
                      st.text(max_size=30), st.lists(st.integers(), max_size=3),
                      st.dictionaries(st.text(max_size=10), st.integers(), max_size=2))


def field_values(name: str) -> st.SearchStrategy[Any]:
    """Mostly values of the field's own kind (its choices, numbers around its bounds), sometimes anything."""
    spec = FIELDS[name]
    own: st.SearchStrategy[Any]
    if spec.kind == "choice":
        own = st.sampled_from(spec.choices)
    elif spec.kind == "integer":
        own = st.integers(int(spec.low or 0) - 2, int(spec.high or 10_000) + 2)
    elif spec.kind == "number":
        own = st.floats(min_value=(spec.low or 0) - 1, max_value=(spec.high or 10) + 1)
    elif spec.kind == "flag":
        own = st.booleans()
    elif spec.kind == "overrides":
        own = st.dictionaries(st.sampled_from(["rotation_range", "zoom_range", "horizontal_flip", "nonsense"]),
                              st.one_of(st.floats(-5, 400), st.booleans(), st.text(max_size=5)), max_size=2)
    else:
        own = st.sampled_from([str(FILTERED), "cats_and_dogs_filtered", "imagenet", "none", "block_13", "", " ",
                               str(TINY_MOBILENET), "no/such/folder"])
    return st.one_of(own, own, own, ANY_VALUE)


CONFIGS = st.fixed_dictionaries({}, optional={name: field_values(name) for name in FIELDS})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=CONFIGS)
@example(values={"data": str(TINY_MOBILENET)})  # a file that is no dataset: preflight raised, found in CI
def test_any_config_is_valid_or_explained(values: dict[str, Any], workspace: Path) -> None:
    try:
        config = TrainConfig.from_dict({"data": str(FILTERED), **values})
    except LabError as error:
        assert str(error).strip() and "\n" not in str(error).strip()
        return
    args = build_parser().parse_args(["train", *flags_from_config(config)])
    assert config_from_args(args) == config
    assert isinstance(problems(config, load_settings()), dict)


TINY_RUNS = st.fixed_dictionaries({
    "backbone": st.sampled_from(["mobilenet", "basic_cnn"]),
    "strategy": st.sampled_from(["scratch", "feature-extractor", "frozen", "fine-tune"]),
    "image_size": st.sampled_from([96, 128]),
    "epochs": st.integers(1, 2),
    "batch_size": st.integers(1, 16),
    "train_size": st.integers(4, 24),
    "validation_size": st.integers(2, 10),
    "augment": st.sampled_from(["none", "light"]),
    "class_weights": st.booleans(),
    "early_stopping_patience": st.integers(0, 2),
    "seed": st.integers(0, 2**31 - 1),
})


@pytest.mark.slow  # three real trainings in subprocesses
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=TINY_RUNS)
def test_a_valid_config_ends_as_a_real_run(values: dict[str, Any], workspace: Path) -> None:
    pretrained = values["backbone"] == "mobilenet" and values["strategy"] != "scratch"
    values = {**values, "data": str(FILTERED), "weights": str(TINY_MOBILENET) if pretrained else "none",
              "fine_tune_epochs": 1}
    try:
        config = TrainConfig.from_dict(values)
    except LabError:
        return  # explained: the first property covers it
    train = subprocess.run([sys.executable, "-m", "lab", "train", *flags_from_config(config), "--json"],
                           capture_output=True, text=True, cwd=REPO, timeout=300, check=False,
                           env={**os.environ, "TRANSFER_LAB_WORKSPACE": str(workspace)})
    assert "Traceback" not in train.stderr, train.stderr[-3000:]
    assert train.returncode in (0, 2), train.stderr[-3000:]
    if train.returncode == 2:
        assert train.stderr.strip().splitlines()[-1].startswith("error: ")


PHOTO = (FILTERED / "train" / "cats" / "cat.0.jpg").read_bytes()
CONTENT = {"photo": PHOTO, "empty": b"", "garbage": b"not an image at all", "cut-off photo": PHOTO[: len(PHOTO) // 3]}
NAME_LIMIT = 255  # bytes per name on Linux file systems
TEXT_NAMES = st.text(st.characters(blacklist_characters="/\0", blacklist_categories=("Cs",)), min_size=1,
                     max_size=40).map(os.fsencode)
BYTE_NAMES = st.binary(min_size=1, max_size=40).filter(lambda name: b"/" not in name and b"\0" not in name)
NAMES = st.tuples(st.one_of(TEXT_NAMES, BYTE_NAMES), st.sampled_from([b".jpg", b".JPG", b".jpeg", b".png", b""])) \
    .map(lambda parts: parts[0] + parts[1]) \
    .filter(lambda name: name not in (b".", b"..") and len(name) <= NAME_LIMIT)
FILES = st.lists(st.tuples(st.sampled_from([b"cats", b"dogs"]), NAMES, st.sampled_from(list(CONTENT))),
                 min_size=1, max_size=8, unique_by=lambda file: (file[0], file[1]))
IMAGE_NAMES = (b".jpg", b".jpeg", b".png")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(files=FILES)
def test_files_of_any_name_scan_without_an_exception(files: list[tuple[bytes, bytes, str]], workspace: Path,
                                                     tmp_path_factory: pytest.TempPathFactory) -> None:
    root = tmp_path_factory.mktemp("names")
    for label, name, content in files:
        folder = os.path.join(os.fsencode(root), label)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(CONTENT[content])
    for _ in range(2):  # the second scan reads the cache the first one wrote
        try:
            report = scan(root)
        except LabError as error:  # no images, or a single class: said in words
            assert "\n" not in str(error)
            continue
        assert len(report.records) + len(report.invalid) + report.ignored <= len(files)
        images = [(name, content) for _, name, content in files  # hidden files (".x.jpg") are junk: not listed
                  if name.lower().endswith(IMAGE_NAMES) and not name.startswith(b".")]
        readable = [content for name, content in images if is_utf8(os.fsdecode(name))]
        assert len(report.records) == readable.count("photo")
        assert len(report.invalid) >= len(images) - len(readable)  # listed as bad with a reason: rename it
