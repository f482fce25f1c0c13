"""The `python -m lab augment` contract, through real subprocesses."""

from __future__ import annotations

import shlex
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lab.augment import PRESETS, AugmentSpec, cli_command
from lab.cli import build_parser
from lab.cli.augment import requested_spec
from tests.conftest import FILTERED

CAT = FILTERED / "train" / "cats" / "cat.2.jpg"


@pytest.fixture
def augment(lab_cli):
    """`python -m lab augment ARGS...` in the test's workspace."""
    return lambda *args: lab_cli("augment", *args)


def _pngs(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.glob("*.png"))}


@pytest.mark.slow  # TensorFlow in three subprocesses
def test_same_seed_same_files_other_seed_other_files(tmp_path: Path, augment) -> None:
    common = [str(CAT), "--preset", "five-model-tutorial", "--set", "shear_range=15", "--n", "4"]
    for folder, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        result = augment(*common, "--seed", seed, "--out", str(tmp_path / folder))
        assert result.returncode == 0, result.stderr
    first, again, other = (_pngs(tmp_path / folder) for folder in "abc")
    assert list(first) == [f"cat.2-{i:03d}.png" for i in range(4)]
    assert result.stdout.split() == [str(tmp_path / "c" / name) for name in first]
    assert first == again
    assert all(first[name] != other[name] for name in first)
    assert len(set(first.values())) == 4
    with Image.open(tmp_path / "a" / "cat.2-000.png") as image:
        assert image.size == (224, 224) and image.mode == "RGB"


@pytest.mark.slow  # TensorFlow in a subprocess
def test_preset_none_only_resizes(tmp_path: Path, augment) -> None:
    from lab.data.pipeline import load_image

    result = augment(str(CAT), "--preset", "none", "--n", "2", "--image-size", "96", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    expected = np.round(load_image(CAT, 96)).astype(np.uint8)
    for path in sorted(tmp_path.glob("*.png")):
        np.testing.assert_array_equal(np.asarray(Image.open(path)), expected)


@pytest.mark.parametrize("args, message", [
    (["--preset", "keras"], "none, keras-tutorial, five-model-tutorial, light"),
    (["--set", "rotation=10"], "valid parameters: rotation_range, width_shift_range"),
    (["--set", "shear_range=0.2deg"], "shear_range must be a number in [0, 90)"),
    (["--set", "fill_mode=mirror"], "fill_mode must be one of nearest, reflect, wrap, constant"),
    (["--set", "zoom_range"], "key=value"),
    (["--image-size", "0"], "--image-size must be a positive"),
])
def test_mistakes_give_one_line_and_a_nonzero_exit(tmp_path: Path, augment, args, message) -> None:
    result = augment(str(CAT), *args, "--out", str(tmp_path))
    assert result.returncode != 0
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr
    assert not list(tmp_path.glob("*.png"))


@pytest.mark.slow  # TensorFlow in two subprocesses
def test_unreadable_images_give_one_line(tmp_path: Path, augment) -> None:
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg at all")
    for image in (broken, tmp_path / "missing.jpg"):
        result = augment(str(image), "--out", str(tmp_path / "out"))
        assert result.returncode != 0 and image.name in result.stderr
        assert len([line for line in result.stderr.splitlines() if line.startswith("error:")]) == 1
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("preset, spec", [
    ("keras-tutorial", PRESETS["keras-tutorial"]),
    ("none", AugmentSpec(rotation_range=90)),
    ("light", replace(PRESETS["light"], fill_mode="constant", cval=128, brightness_range=(0.8, 1.2),
                      horizontal_flip=False, vertical_flip=True, random_erasing=0.25)),
    ("keras-tutorial", replace(PRESETS["keras-tutorial"], zoom_range=0.1 + 0.2, shear_range=1 / 3,
                               brightness_range=(0.1 + 0.7, 1.0000001))),
    ("five-model-tutorial", AugmentSpec()),
])
def test_the_pages_command_line_gives_the_cli_the_same_spec(preset: str, spec: AugmentSpec) -> None:
    """What the Augment page prints, parsed by the real CLI parser, asks for exactly what the page shows."""
    command = cli_command(preset, spec, image_size=160, seed=7, n=5, photo="my cat.jpg")
    program, args = shlex.split(command)[:3], build_parser().parse_args(shlex.split(command)[3:])
    assert program == ["python", "-m", "lab"] and args.command == "augment"
    assert requested_spec(args) == spec
    assert (args.image, args.preset, args.image_size, args.seed, args.n) == ("my cat.jpg", preset, 160, 7, 5)
