"""The `python -m lab augment` command line that reproduces what the Augment page shows.

The page prints it under its grid so a student can repeat the grid headless. It names the preset and only the
parameters that differ from it, each written so that the CLI's `--set` parsing (`spec_from` after
`parse_assignments`) reads back exactly the same value.
"""

from __future__ import annotations

import shlex
from typing import Any

from lab.augment.spec import AugmentSpec, overrides_from

PHOTO, OUT = "PHOTO", "DIR"  # placeholders the user replaces with an image file and an output folder


def cli_command(preset: str, spec: AugmentSpec, *, image_size: int, seed: int, n: int,
                photo: str = PHOTO, out: str = OUT) -> str:
    """`python -m lab augment PHOTO --preset P [--set k=v ...] --n N --seed S --image-size Z --out DIR`."""
    sets = "".join(f" --set {name}={cli_value(value)}" for name, value in overrides_from(preset, spec).items())
    return (f"python -m lab augment {shlex.quote(photo)} --preset {preset}{sets} --n {n} --seed {seed} "
            f"--image-size {image_size} --out {shlex.quote(out)}")


def cli_value(value: Any) -> str:
    """One `--set` value as the CLI parses it: none, true/false, 'low,high', or the shortest exact number."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return ",".join(cli_value(v) for v in value)
    if isinstance(value, float):
        short = f"{value:g}"
        return short if float(short) == value else repr(value)
    return str(value)
